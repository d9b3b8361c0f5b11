// Formats beyond WAV: decode_mono reads whatever libsndfile reads. FLAC is lossless, so its
// 16-bit codes must decode exactly to code / 32768 (soundfile's scaling); 24-bit FLAC to
// code / 2^23. Files are written here with libsndfile itself.
#include <doctest/doctest.h>
#include <sndfile.h>

#include <cmath>
#include <filesystem>
#include <vector>

#include "features/audio.h"
#include "support/temp_dir.h"

using namespace ser;
using namespace ser::features;
namespace fs = std::filesystem;

namespace {

// Writes interleaved int32 codes (left-aligned, as libsndfile's int API expects) to `path`.
void write_ints(const fs::path& path, int format, int rate, int channels, const std::vector<int>& codes) {
  SF_INFO info{};
  info.samplerate = rate;
  info.channels = channels;
  info.format = format;
  SNDFILE* f = sf_open(path.c_str(), SFM_WRITE, &info);
  REQUIRE_MESSAGE(f != nullptr, sf_strerror(nullptr));
  CHECK(sf_writef_int(f, codes.data(), static_cast<sf_count_t>(codes.size() / channels)) ==
        static_cast<sf_count_t>(codes.size() / channels));
  sf_close(f);
}

}  // namespace

TEST_SUITE("features") {

TEST_CASE("FLAC 16-bit stereo decodes exactly like the WAV of the same codes") {
  test::TempDir dir;
  std::vector<int> codes;  // (frames, 2) interleaved 16-bit codes, left-aligned in int32
  for (int i = 0; i < 3000; ++i) {
    codes.push_back(static_cast<int>(std::lround(20000 * std::sin(0.01 * i))) * 65536);  // * 2^16, not << 16: left-shifting a negative int is UB in C++17
    codes.push_back(static_cast<int>((i * 37) % 65536 - 32768) * 65536);
  }
  write_ints(dir / "a.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 22050, 2, codes);
  write_ints(dir / "a.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 22050, 2, codes);
  const DecodedAudio flac = decode_mono(dir / "a.flac"), wav = decode_mono(dir / "a.wav");
  CHECK(flac.sample_rate == 22050);
  CHECK(flac.channels == 2);
  REQUIRE(flac.samples.size() == 3000);
  CHECK(flac.samples == wav.samples);
  for (int i = 0; i < 3000; ++i) {
    const float l = static_cast<float>(codes[2 * i] >> 16) / 32768.0f;
    const float r = static_cast<float>(codes[2 * i + 1] >> 16) / 32768.0f;
    REQUIRE(flac.samples[i] == (l + r) / 2.0f);
  }
  CHECK(load_audio(dir / "a.flac") == load_audio(dir / "a.wav"));
}

TEST_CASE("FLAC 24-bit decodes to code / 2^23") {
  test::TempDir dir;
  std::vector<int> codes;
  for (int i = 0; i < 1000; ++i) codes.push_back(((i * 7919) % (1 << 24) - (1 << 23)) * 256);
  write_ints(dir / "b.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_24, 48000, 1, codes);
  const DecodedAudio a = decode_mono(dir / "b.flac");
  REQUIRE(a.samples.size() == codes.size());
  for (std::size_t i = 0; i < codes.size(); ++i) REQUIRE(a.samples[i] == static_cast<float>(codes[i] / 256) / 8388608.0f);
}

}  // TEST_SUITE
