// AudioStream delivers, block by block, exactly the samples load_audio returns (same
// decode, mix-down, libsoxr HQ and fix_length), whatever the rate, channel count or length,
// and reports bad files like decode_mono.
#include <doctest/doctest.h>
#include <sndfile.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <vector>

#include "engine/core/error.h"
#include "features/audio.h"
#include "support/temp_dir.h"

using namespace ser;
using namespace ser::features;
namespace fs = std::filesystem;

namespace {

// Writes (frames, channels) interleaved floats as a float WAV (keeps NaN and exact values).
void write_float_wav(const fs::path& path, int rate, int channels, const std::vector<float>& interleaved) {
  SF_INFO info{};
  info.samplerate = rate;
  info.channels = channels;
  info.format = SF_FORMAT_WAV | SF_FORMAT_FLOAT;
  SNDFILE* f = sf_open(path.c_str(), SFM_WRITE, &info);
  REQUIRE_MESSAGE(f != nullptr, sf_strerror(nullptr));
  const auto frames = static_cast<sf_count_t>(interleaved.size() / static_cast<std::size_t>(channels));
  CHECK(sf_writef_float(f, interleaved.data(), frames) == frames);
  sf_close(f);
}

// A chirp plus a second tone on the other channels: content at every frequency band.
std::vector<float> test_signal(int64_t frames, int channels, int rate) {
  std::vector<float> x(static_cast<std::size_t>(frames * channels));
  for (int64_t i = 0; i < frames; ++i) {
    const double t = double(i) / rate;
    for (int c = 0; c < channels; ++c)
      x[static_cast<std::size_t>(i * channels + c)] =
          static_cast<float>(0.4 * std::sin(2 * M_PI * (100 + 2000 * t) * t + c) + 0.1 * std::sin(2 * M_PI * 3000 * t));
  }
  return x;
}

std::vector<float> read_all(AudioStream& stream) {
  std::vector<float> out;
  int calls = 0;
  while (stream.read(out)) ++calls;
  CHECK(calls >= 1);
  CHECK(!stream.read(out));  // stays finished
  return out;
}

}  // namespace

TEST_SUITE("features") {

TEST_CASE("AudioStream gives load_audio's samples bit for bit, in blocks") {
  test::TempDir dir;
  struct Case {
    int rate, channels;
    int64_t frames;
  };
  // Rates equal (pass-through), down- and up-sampling; shorter than one block, several blocks,
  // and a length where ceil(n * ratio) rounds.
  for (const Case c : {Case{16000, 1, 1000}, Case{16000, 2, 150001}, Case{44100, 2, 200003}, Case{48000, 1, 70000},
                       Case{8000, 1, 30001}, Case{22050, 3, 5}}) {
    CAPTURE(c.rate);
    CAPTURE(c.channels);
    CAPTURE(c.frames);
    const fs::path file = dir / "x.wav";
    write_float_wav(file, c.rate, c.channels, test_signal(c.frames, c.channels, c.rate));
    const std::vector<float> whole = load_audio(file, 16000);
    AudioStream stream(file, 16000);
    CHECK(stream.header().sample_rate == c.rate);
    CHECK(stream.header().frames == c.frames);
    const std::vector<float> streamed = read_all(stream);
    REQUIRE(streamed.size() == whole.size());
    CHECK(stream.delivered() == static_cast<int64_t>(whole.size()));
    int64_t differ = 0;
    for (std::size_t i = 0; i < whole.size(); ++i) differ += streamed[i] != whole[i];
    CHECK(differ == 0);
  }
}

TEST_CASE("AudioStream refuses what decode_mono refuses, naming the file and the sample") {
  test::TempDir dir;
  std::vector<float> x = test_signal(100000, 1, 16000);
  x[70001] = std::numeric_limits<float>::quiet_NaN();  // in the second block
  write_float_wav(dir / "nan.wav", 16000, 1, x);
  AudioStream stream(dir / "nan.wav", 16000);
  std::vector<float> out;
  CHECK(stream.read(out));  // the first block is fine
  try {
    while (stream.read(out)) {
    }
    FAIL("no error for a NaN sample");
  } catch (const Error& e) {
    const std::string why = e.message();
    CHECK(why.find("nan.wav: sample 70001 is nan") != std::string::npos);
  }
  CHECK_THROWS_WITH_AS(AudioStream(dir / "missing.wav", 16000), doctest::Contains("missing.wav: no such file"), Error);
  std::ofstream(dir / "text.wav") << "not audio at all";
  CHECK_THROWS_WITH_AS(AudioStream(dir / "text.wav", 16000), doctest::Contains("text.wav: cannot decode audio"), Error);
  write_float_wav(dir / "empty.wav", 16000, 1, {});
  AudioStream empty(dir / "empty.wav", 16000);
  CHECK_THROWS_WITH_AS(empty.read(out), doctest::Contains("empty.wav: holds no audio frames"), Error);
}

}  // TEST_SUITE
