// The frequency warp of the augmentation (engine/cpu/augment.h band_scale; --augment
// warp=F): output band h reads source band h * s, linearly interpolated, the top band
// repeated beyond the image; s = 1 leaves the image as it is. Checked against values worked
// out by hand, and the plan's draws against their range.
#include <doctest/doctest.h>

#include <vector>

#include "engine/core/random.h"
#include "engine/cpu/augment.h"
#include "engine/train/augment_plan.h"

using namespace ser;

namespace {
// One (1, 1, H, W) image whose value at (h, w) is 10*h + w: rows are easy to recognise.
std::vector<float> ramp(int H, int W) {
  std::vector<float> x(static_cast<std::size_t>(H) * W);
  for (int h = 0; h < H; ++h)
    for (int w = 0; w < W; ++w) x[static_cast<std::size_t>(h) * W + w] = static_cast<float>(10 * h + w);
  return x;
}
}  // namespace

TEST_SUITE("train") {

TEST_CASE("frequency warp: s = 1 is the identity, s = 0.5 interpolates halfway, the top band repeats") {
  const int H = 8, W = 3;
  const std::vector<float> x = ramp(H, W);
  std::vector<float> out(x.size());
  cpu::SampleAugment a;
  cpu::augment_images(out.data(), x.data(), &a, 1, H, W);
  CHECK(out == x);

  a.band_scale = 0.5f;  // band h reads source band h/2: rows 0, 0.5, 1, 1.5, ...
  cpu::augment_images(out.data(), x.data(), &a, 1, H, W);
  for (int h = 0; h < H; ++h)
    for (int w = 0; w < W; ++w) CHECK(out[static_cast<std::size_t>(h) * W + w] == doctest::Approx(5.0 * h + w));

  a.band_scale = 1.5f;  // band h reads 1.5 h: beyond band 7 the top band repeats
  cpu::augment_images(out.data(), x.data(), &a, 1, H, W);
  CHECK(out[0] == 0.0f);
  CHECK(out[1 * W] == doctest::Approx(15.0));      // band 1 -> 1.5
  CHECK(out[4 * W + 2] == doctest::Approx(62.0));  // band 4 -> 6, column 2
  for (int h = 5; h < H; ++h) CHECK(out[static_cast<std::size_t>(h) * W + 1] == 71.0f);  // >= 7: band 7

  a.shift = 1;  // warp and shift together: column w reads column w - 1
  a.band_scale = 0.5f;
  cpu::augment_images(out.data(), x.data(), &a, 1, H, W);
  CHECK(out[2 * W + 1] == doctest::Approx(10.0));  // band 2 -> 1, column 1 -> 0
  CHECK(out[2 * W + 0] == doctest::Approx(12.0));  // column 0 -> 2 (circular)
}

TEST_CASE("frequency warp: plan factors within [1/(1+w), 1/(1-w)], drawn only when asked for") {
  Generator g(5);
  const train::AugmentConfig warp = train::AugmentConfig::parse("warp=0.1");
  const auto plan = train::draw_augment_plan(g, 200, 32, 128, 128, warp);
  float lo = 10, hi = 0;
  for (const auto& a : plan) {
    lo = std::min(lo, a.band_scale);
    hi = std::max(hi, a.band_scale);
    CHECK(a.shift == 0);
    CHECK(a.lambda == 1.0f);
  }
  CHECK(lo >= 1.0f / 1.1f - 1e-6f);
  CHECK(hi <= 1.0f / 0.9f + 1e-6f);
  CHECK(hi - lo > 0.15f);  // 200 draws spread over most of the range
  const auto plain = train::draw_augment_plan(g, 10, 4, 128, 128, train::AugmentConfig::parse("shift=3"));
  for (const auto& a : plain) CHECK(a.band_scale == 1.0f);
  CHECK(warp.text() == "warp=0.1");
  CHECK_THROWS(train::AugmentConfig::parse("warp=0.7"));
}
}
