// Bad and edge-case audio files: each must give a clear ser::Error naming the file, or the
// defined result (what librosa/soundfile give), never a crash or a hang. WAV files are
// assembled byte by byte here so that malformed headers can be made on purpose.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>

#include "engine/core/error.h"
#include "features/audio.h"
#include "features/logmel.h"
#include "support/temp_dir.h"

using namespace ser;
using namespace ser::features;
namespace fs = std::filesystem;

namespace {

void put_u32(std::string& s, uint32_t v) {
  for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void put_u16(std::string& s, uint16_t v) {
  s.push_back(static_cast<char>(v & 0xff));
  s.push_back(static_cast<char>(v >> 8));
}

// A canonical RIFF/WAVE file. format_tag 1 = PCM, 3 = IEEE float. `declared_data` overrides
// the data chunk's size field (to lie about the length); otherwise it is data.size().
std::string wav_bytes(uint16_t format_tag, uint16_t channels, uint32_t rate, uint16_t bits, const std::string& data,
                      int64_t declared_data = -1) {
  const uint32_t data_size = declared_data >= 0 ? static_cast<uint32_t>(declared_data) : data.size();
  std::string s = "RIFF";
  put_u32(s, 36 + data_size);
  s += "WAVEfmt ";
  put_u32(s, 16);
  put_u16(s, format_tag);
  put_u16(s, channels);
  put_u32(s, rate);
  put_u32(s, rate * channels * (bits / 8));
  put_u16(s, static_cast<uint16_t>(channels * (bits / 8)));
  put_u16(s, bits);
  s += "data";
  put_u32(s, data_size);
  return s + data;
}

std::string pcm16(const std::vector<int16_t>& codes) {
  std::string s;
  for (int16_t c : codes) put_u16(s, static_cast<uint16_t>(c));
  return s;
}
std::string float32le(const std::vector<float>& v) {
  std::string s(v.size() * 4, '\0');
  std::memcpy(s.data(), v.data(), s.size());
  return s;
}

fs::path write(const test::TempDir& dir, const std::string& name, const std::string& bytes) {
  const fs::path p = dir / name;
  std::ofstream(p, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return p;
}

// The call must throw ser::Error whose message names the file.
template <typename F>
void check_error_names_file(F&& call, const fs::path& path) {
  try {
    call();
    FAIL("no error for ", path.string());
  } catch (const Error& e) {
    INFO("message: ", e.what());
    CHECK(std::string(e.what()).find(path.string()) != std::string::npos);
  }
}

}  // namespace

TEST_SUITE("features") {

TEST_CASE("decode_mono: PCM_16 scales code / 32768 and stereo mixes to (L + R) / 2 in float32") {
  test::TempDir dir;
  const auto p = write(dir, "stereo.wav", wav_bytes(1, 2, 16000, 16, pcm16({-32768, 32767, 1, 3, 100, -7})));
  const DecodedAudio a = decode_mono(p);
  CHECK(a.sample_rate == 16000);
  CHECK(a.channels == 2);
  REQUIRE(a.samples.size() == 3);
  CHECK(a.samples[0] == (-32768.0f / 32768.0f + 32767.0f / 32768.0f) / 2.0f);
  CHECK(a.samples[1] == (1.0f / 32768.0f + 3.0f / 32768.0f) / 2.0f);
  CHECK(a.samples[2] == (100.0f / 32768.0f + -7.0f / 32768.0f) / 2.0f);
  // Identity resampling at 16 kHz.
  CHECK(load_audio(p, 16000) == a.samples);
}

TEST_CASE("bad files give a ser::Error naming the file") {
  test::TempDir dir;
  const std::string good = wav_bytes(1, 1, 16000, 16, pcm16(std::vector<int16_t>(800, 1000)));
  SUBCASE("missing file") { check_error_names_file([&] { decode_mono(dir / "absent.wav"); }, dir / "absent.wav"); }
  SUBCASE("empty file") {
    const auto p = write(dir, "empty.wav", "");
    check_error_names_file([&] { decode_mono(p); }, p);
  }
  SUBCASE("a text file named .wav") {
    const auto p = write(dir, "text.wav", "this is not audio, just some words in a text file\n");
    check_error_names_file([&] { decode_mono(p); }, p);
  }
  SUBCASE("truncated header") {
    const auto p = write(dir, "cut_header.wav", good.substr(0, 20));
    check_error_names_file([&] { decode_mono(p); }, p);
  }
  SUBCASE("zero-length audio (valid header, no frames)") {
    const auto p = write(dir, "no_frames.wav", wav_bytes(1, 1, 16000, 16, ""));
    check_error_names_file([&] { decode_mono(p); }, p);
    check_error_names_file([&] { load_audio(p); }, p);
  }
  SUBCASE("0 Hz sample rate") {
    const auto p = write(dir, "zero_rate.wav", wav_bytes(1, 1, 0, 16, pcm16({1, 2, 3, 4})));
    check_error_names_file([&] { decode_mono(p); }, p);
  }
  SUBCASE("0 channels") {
    const auto p = write(dir, "zero_channels.wav", wav_bytes(1, 0, 16000, 16, pcm16({1, 2, 3, 4})));
    check_error_names_file([&] { decode_mono(p); }, p);
  }
  SUBCASE("absurd channel count") {
    const auto p = write(dir, "many_channels.wav", wav_bytes(1, 60000, 16000, 16, pcm16({1, 2, 3, 4})));
    check_error_names_file([&] { decode_mono(p); }, p);
  }
  SUBCASE("NaN sample") {
    const auto p = write(dir, "nan.wav", wav_bytes(3, 1, 16000, 32, float32le({0.1f, std::nanf(""), 0.2f})));
    check_error_names_file([&] { decode_mono(p); }, p);
  }
  SUBCASE("Inf sample") {
    const float inf = std::numeric_limits<float>::infinity();
    const auto p = write(dir, "inf.wav", wav_bytes(3, 2, 16000, 32, float32le({0.1f, 0.1f, -inf, 0.0f})));
    check_error_names_file([&] { decode_mono(p); }, p);
  }
}

TEST_CASE("truncated data and absurd declared sizes decode the frames actually present") {
  test::TempDir dir;
  std::vector<int16_t> codes(1000);
  for (int i = 0; i < 1000; ++i) codes[i] = static_cast<int16_t>(i * 13 - 6000);
  const std::string data = pcm16(codes);
  SUBCASE("data chunk declares 2x the bytes present") {
    const auto p = write(dir, "short_data.wav", wav_bytes(1, 1, 16000, 16, data, 2 * data.size()));
    const DecodedAudio a = decode_mono(p);
    REQUIRE(a.samples.size() == 1000);
    CHECK(a.samples[999] == codes[999] / 32768.0f);
  }
  SUBCASE("data chunk declares ~4 GiB") {
    const auto p = write(dir, "huge_decl.wav", wav_bytes(1, 1, 16000, 16, data, 0xFFFFFFF0LL));
    const DecodedAudio a = decode_mono(p);
    CHECK(a.samples.size() == 1000);
  }
  SUBCASE("file cut in the middle of a frame") {
    const std::string full = wav_bytes(1, 2, 16000, 16, data);
    const auto p = write(dir, "half_frame.wav", full.substr(0, full.size() - 3));
    const DecodedAudio a = decode_mono(p);
    CHECK(a.samples.size() <= 499);
    CHECK(a.samples.size() >= 498);
  }
}

TEST_CASE("all-silent audio gives librosa's defined image: one constant bin value, -2^-17 dB within 1e-4") {
  // README "All-zero input": librosa gives -7.6293945e-06 (= -2^-17) in every bin because
  // numpy's float32 log10 (SVML on the AVX-512 reference machine) returns -10.000001 for
  // float32(1e-10). glibc's log10f is correctly rounded (-10 exactly), so this build gives 0:
  // one float32 step apart, well inside the README's 1e-4 dB tolerance. See docs/FEATURES.md.
  test::TempDir dir;
  const auto p = write(dir, "zeros.wav", wav_bytes(1, 1, 22050, 16, pcm16(std::vector<int16_t>(5000, 0))));
  const std::vector<float> y = load_audio(p);
  CHECK(y.size() == static_cast<std::size_t>(std::ceil(5000 * (16000.0 / 22050))));
  LogMelExtractor ex;
  const Tensor img = ex.image(y);
  const std::vector<float> v = img.to_vector();
  const double expected = -std::ldexp(1.0, -17);
  CHECK(std::fabs(v[0] - expected) <= 1e-4);
  for (float x : v) REQUIRE(x == v[0]);
}

TEST_CASE("log-mel extractor rejects empty and non-finite signals and bad configs") {
  LogMelExtractor ex;
  CHECK_THROWS_AS(ex.image({}), Error);
  CHECK_THROWS_AS(ex.image({0.0f, std::nanf(""), 0.0f}), Error);
  LogMelConfig bad;
  bad.hop_length = 0;
  CHECK_THROWS_AS(LogMelExtractor{bad}, Error);
  CHECK_THROWS_AS(resample({1.0f, 2.0f}, 0, 16000), Error);
}

TEST_CASE("signals shorter than one window and of exactly one hop give T = 1 + N / hop frames") {
  LogMelExtractor ex;
  for (int n : {1, 100, 511, 512, 513, 2047, 2048}) {
    std::vector<float> y(n);
    for (int i = 0; i < n; ++i) y[i] = std::sin(0.05f * i) * 0.3f;
    const LogMelStages s = ex.stages(y);
    CHECK(s.stft_power.size(1) == 1 + n / 512);
    CHECK(s.image.shape() == Shape{128, 128});
    // ref = max and top_db 80: values in [-80, 0] up to float32 rounding of the dB terms.
    for (float v : s.image.to_vector()) REQUIRE((v <= 1e-4f && v >= -80.0f - 1e-4f));
  }
}

TEST_CASE("LogMelConfig: key changes with every field; JSON round trip; unknown field rejected") {
  const LogMelConfig base;
  CHECK(LogMelConfig::from_json(base.to_json()).key() == base.key());
  LogMelConfig c = base;
  c.top_db = 70;
  CHECK(c.key() != base.key());
  c = base;
  c.fmax = 7600;
  CHECK(c.key() != base.key());
  c = base;
  c.image_width = 64;
  CHECK(c.key() != base.key());
  CHECK_THROWS_AS(LogMelConfig::from_json({{"n_ffts", 1024}}), Error);
  CHECK_THROWS_AS(LogMelConfig::from_json({{"n_fft", 0}}), Error);
}

}  // TEST_SUITE
