// The fixed time axis of the front end (features/logmel.h): librosa-style trimming of silent
// ends, the layout of a clip's frames into the stored width (middle of a longer clip, a
// shorter one tiled), the high-pass against DC offsets, the named configs, and their JSON /
// cache-key forms.
#include <doctest/doctest.h>

#include <cmath>

#include <nlohmann/json.hpp>

#include "engine/core/error.h"
#include "features/logmel.h"

namespace ser::features {
namespace {

// `lead` zeros, then a 440 Hz tone at amplitude `amp` for `tone` samples, then `tail` zeros.
std::vector<float> padded_tone(int64_t lead, int64_t tone, int64_t tail, float amp = 0.5f) {
  std::vector<float> y(static_cast<std::size_t>(lead + tone + tail), 0.0f);
  for (int64_t i = 0; i < tone; ++i)
    y[static_cast<std::size_t>(lead + i)] = amp * static_cast<float>(std::sin(2 * M_PI * 440.0 * i / 16000.0));
  return y;
}

}  // namespace

TEST_SUITE("features") {
TEST_CASE("trim_silence: the frames within top_db of the loudest, as librosa.effects.trim counts them") {
  // Frame f (hop 512, frame 2048, centred) covers samples [512 f - 1024, 512 f + 1024): it
  // first reaches a tone starting at sample 8192 at f = 15 (15 * 512 + 1024 = 8704 > 8192),
  // and the last frame touching a tone ending at 24576 is f = 49 (49 * 512 - 1024 < 24576).
  // Those edge frames hold little of the tone, well under 60 dB below the loudest frame.
  const std::vector<float> y = padded_tone(8192, 16384, 8192);
  const auto [begin, end] = trim_silence(y, 60);
  CHECK(begin == 15 * 512);
  CHECK(end == 50 * 512);
  // A stricter threshold keeps fewer edge frames but all of the steady part.
  const auto [b30, e30] = trim_silence(y, 30);
  CHECK(b30 >= begin);
  CHECK(b30 <= 8192);
  CHECK(e30 <= end);
  CHECK(e30 >= 8192 + 16384);
  // All zeros: librosa's reference (the loudest frame) is 0 too, every frame sits at 0 dB
  // relative to it, and the whole signal is kept.
  CHECK(trim_silence(std::vector<float>(5000, 0.0f), 60) == std::pair<int64_t, int64_t>{0, 5000});
  // A quiet tail at -40 dB is trimmed at 30 dB and kept at 60 dB.
  std::vector<float> quiet = padded_tone(0, 16000, 0);
  const std::vector<float> tail = padded_tone(0, 16000, 0, 0.005f);
  quiet.insert(quiet.end(), tail.begin(), tail.end());
  CHECK(trim_silence(quiet, 30).second == 34 * 512);  // the last frame touching the loud part: 33
  CHECK(trim_silence(quiet, 60).second == 32000);
}

TEST_CASE("lay_out_frames: the middle of a longer clip, a shorter one tiled from its start") {
  const std::vector<float> db{1, 2, 3, 10, 20, 30};  // (2, 3)
  CHECK(lay_out_frames(db, 2, 3, 7) == std::vector<float>{1, 2, 3, 1, 2, 3, 1, 10, 20, 30, 10, 20, 30, 10});
  const std::vector<float> long_clip{0, 1, 2, 3, 4, 5, 6};  // (1, 7): the middle three are 2 3 4
  CHECK(lay_out_frames(long_clip, 1, 7, 3) == std::vector<float>{2, 3, 4});
  CHECK_THROWS_AS(lay_out_frames(db, 2, 4, 3), Error);
}

TEST_CASE("fixed front end: leading and trailing silence do not change the image") {
  const LogMelConfig cfg = LogMelConfig::named("fixed");
  LogMelExtractor extractor(cfg);
  const std::vector<float> clip = padded_tone(0, 20000, 0);
  const Tensor plain = extractor.image(padded_tone(2048, 20000, 2048));
  REQUIRE(plain.shape() == Shape{128, 256});
  // More silence, in whole trimming hops (512 samples), at either end: trimming keeps the
  // same samples (half a frame of silence beside the tone), so the image is the same.
  const Tensor padded = extractor.image(padded_tone(2048 + 512 * 20, 20000, 2048 + 512 * 31));
  CHECK(padded.to_vector() == plain.to_vector());
  // The resize front end, by contrast, squeezes the silence into the image.
  LogMelExtractor resize(LogMelConfig::named("resize"));
  const std::vector<float> a = resize.image(clip).to_vector(), b = resize.image(padded_tone(512 * 20, 20000, 512 * 31)).to_vector();
  double diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff = std::max(diff, double(std::fabs(a[i] - b[i])));
  CHECK(diff > 10);  // dB
  // A signal trimmed to nothing (all zeros) is kept whole rather than refused.
  CHECK(extractor.image(std::vector<float>(4000, 0.0f)).shape() == Shape{128, 256});
}

TEST_CASE("named front ends: resize is the notebook's config, its key and JSON as before; fixed round-trips") {
  const LogMelConfig resize = LogMelConfig::named("resize");
  CHECK(resize.key() == LogMelConfig{}.key());
  CHECK(resize.key().find("time=") == std::string::npos);  // cache keys of existing entries unchanged
  CHECK_FALSE(resize.to_json().contains("time_axis"));      // model metadata unchanged
  CHECK(resize.network_width() == 128);
  const LogMelConfig fixed = LogMelConfig::named("fixed");
  CHECK(fixed.fixed_time());
  CHECK(fixed.network_width() == 128);
  CHECK(fixed.image_width == 256);
  CHECK(fixed.hop_length == 256);
  const LogMelConfig back = LogMelConfig::from_json(fixed.to_json());
  CHECK(back.key() == fixed.key());
  CHECK(back.key() != resize.key());
  // A model file written before the fixed axis: no time_axis field, the resize axis.
  nlohmann::json old = resize.to_json();
  CHECK_FALSE(LogMelConfig::from_json(old).fixed_time());
  nlohmann::json bad = fixed.to_json();
  bad["window_frames"] = 300;  // wider than the 256 stored columns
  CHECK_THROWS_AS(LogMelConfig::from_json(bad), Error);
  bad = fixed.to_json();
  bad["time_axis"] = 3;
  CHECK_THROWS_AS(LogMelConfig::from_json(bad), Error);
  CHECK_THROWS_AS(LogMelConfig::named("stretch"), Error);
}

TEST_CASE("high-pass front end: a DC offset stays out of the lowest mel bands and changes nothing above") {
  const LogMelConfig plain_cfg = LogMelConfig::named("fixed");
  const LogMelConfig hp_cfg = LogMelConfig::named("fixed-hp");
  REQUIRE(hp_cfg.highpass_hz == 50);
  std::vector<float> tone = padded_tone(0, 20000, 0, 0.3f), offset = tone;
  for (float& v : offset) v += 0.2f;  // a recorder's DC offset
  LogMelExtractor plain(plain_cfg), hp(hp_cfg);
  const std::vector<float> a = plain.image(offset).to_vector();
  const std::vector<float> b = hp.image(offset).to_vector(), c = hp.image(tone).to_vector();
  const int w = hp_cfg.image_width;
  auto band_mean = [&](const std::vector<float>& img, int band) {
    double s = 0;
    for (int t = 0; t < w; ++t) s += img[static_cast<std::size_t>(band * w + t)];
    return s / w;
  };
  // Without the filter the offset is the loudest thing in band 0 (about 23 Hz); with it, the
  // band is as quiet as the tone alone leaves it.
  CHECK(band_mean(a, 0) > -10);
  CHECK(band_mean(b, 0) < -60);
  CHECK(std::fabs(band_mean(b, 0) - band_mean(c, 0)) < 3);
  // Above 350 Hz, once the filter's step response has died (40 ms = 3 columns in), the image
  // with the offset is the image without it. (20000 samples = 79 columns, then tiled.)
  double diff = 0;
  for (int band = 16; band < hp_cfg.n_mels; ++band)
    for (int t = 3; t < 78; ++t) {
      const auto i = static_cast<std::size_t>(band * w + t);
      diff = std::max(diff, double(std::fabs(b[i] - c[i])));
    }
  CHECK(diff < 0.05);
  // The field travels in the key and the JSON only when set.
  CHECK(plain_cfg.key().find("highpass") == std::string::npos);
  CHECK_FALSE(plain_cfg.to_json().contains("highpass_hz"));
  CHECK(LogMelConfig::from_json(hp_cfg.to_json()).key() == hp_cfg.key());
  CHECK(hp_cfg.key() != plain_cfg.key());
  nlohmann::json bad = hp_cfg.to_json();
  bad["highpass_hz"] = 8000;  // at Nyquist
  CHECK_THROWS_AS(LogMelConfig::from_json(bad), Error);
  bad["highpass_hz"] = -1;
  CHECK_THROWS_AS(LogMelConfig::from_json(bad), Error);
}
}  // TEST_SUITE

}  // namespace ser::features
