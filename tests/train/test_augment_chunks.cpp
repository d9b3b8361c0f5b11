// The chunk shuffle of the augmentation (engine/cpu/augment.h chunks / chunk_order;
// --augment chunks=K): the window's W columns cut into K equal chunks put back in the plan's
// order, each chunk's columns kept in order; checked against a hand-worked permutation, with
// the circular shift, and the plan's draws (a permutation of [0, K) per sample, nothing
// drawn when off, the same seed the same orders).
#include <doctest/doctest.h>

#include <algorithm>
#include <set>
#include <vector>

#include "engine/core/error.h"
#include "engine/core/random.h"
#include "engine/cpu/augment.h"
#include "engine/train/augment_plan.h"

using namespace ser;

namespace {
// One (1, 1, H, W) image whose value at (h, w) is 100*h + w.
std::vector<float> ramp(int H, int W) {
  std::vector<float> x(static_cast<std::size_t>(H) * W);
  for (int h = 0; h < H; ++h)
    for (int w = 0; w < W; ++w) x[static_cast<std::size_t>(h) * W + w] = static_cast<float>(100 * h + w);
  return x;
}
}  // namespace

TEST_SUITE("train") {

TEST_CASE("chunk shuffle: columns move chunk by chunk to the plan's order, after the shift") {
  const int H = 3, W = 8;
  const std::vector<float> x = ramp(H, W);
  std::vector<float> out(x.size());
  cpu::SampleAugment a;
  a.chunks = 4;  // chunks of 2 columns; output chunk c reads source chunk order[c]
  const int order[4] = {2, 0, 3, 1};
  std::copy(order, order + 4, a.chunk_order);
  cpu::augment_images(out.data(), x.data(), &a, 1, H, W);
  const std::vector<int> expected_columns = {4, 5, 0, 1, 6, 7, 2, 3};
  for (int h = 0; h < H; ++h)
    for (int w = 0; w < W; ++w)
      CHECK(out[static_cast<std::size_t>(h) * W + w] == static_cast<float>(100 * h + expected_columns[w]));

  // With a shift of 1 column, output w reads the shuffled column of (w - 1) mod W.
  a.shift = 1;
  cpu::augment_images(out.data(), x.data(), &a, 1, H, W);
  for (int w = 0; w < W; ++w) CHECK(out[static_cast<std::size_t>(w)] == static_cast<float>(expected_columns[(w + W - 1) % W]));

  // chunks 1 (or 0) is the identity; a plan row that is no permutation, or K not dividing W, is refused.
  a.shift = 0;
  a.chunks = 1;
  cpu::augment_images(out.data(), x.data(), &a, 1, H, W);
  CHECK(out == x);
  a.chunks = 4;
  a.chunk_order[0] = 0;  // {0, 0, 3, 1}: chunk 2 missing
  CHECK_THROWS_AS(cpu::augment_images(out.data(), x.data(), &a, 1, H, W), Error);
  std::copy(order, order + 4, a.chunk_order);
  a.chunks = 3;  // 8 % 3 != 0
  CHECK_THROWS_AS(cpu::augment_images(out.data(), x.data(), &a, 1, H, W), Error);
}

TEST_CASE("draw_augment_plan chunks=K: a permutation of [0, K) per sample, all orders drawn, none when off") {
  const int H = 16, W = 128, batch = 8, count = 400;
  Generator gen(5);
  const auto plan = draw_augment_plan(gen, count, batch, H, W, train::AugmentConfig::parse("chunks=4,shift=8"));
  std::set<std::vector<int>> orders;
  for (const cpu::SampleAugment& a : plan) {
    REQUIRE(a.chunks == 4);
    std::vector<int> o(a.chunk_order, a.chunk_order + 4);
    std::vector<int> sorted = o;
    std::sort(sorted.begin(), sorted.end());
    CHECK(sorted == std::vector<int>{0, 1, 2, 3});
    CHECK(cpu::augment_plan_row_valid(a, W));
    orders.insert(o);
  }
  CHECK(orders.size() == 24);  // 4! orders, each about 400 / 24 = 17 times
  Generator again(5);
  const auto same = draw_augment_plan(again, count, batch, H, W, train::AugmentConfig::parse("chunks=4,shift=8"));
  CHECK(std::equal(plan.begin(), plan.end(), same.begin(), [](const cpu::SampleAugment& a, const cpu::SampleAugment& b) {
    return a.shift == b.shift && std::equal(a.chunk_order, a.chunk_order + 4, b.chunk_order);
  }));
  // Off: the identity order, chunks 0, and the shifts drawn as without the item.
  Generator off_gen(5), shift_gen(5);
  const auto off = draw_augment_plan(off_gen, count, batch, H, W, train::AugmentConfig::parse("shift=8"));
  for (const cpu::SampleAugment& a : off) CHECK(a.chunks == 0);
  const auto text = train::AugmentConfig::parse("chunks=8,mixup=0.2");
  CHECK(train::AugmentConfig::parse(text.text()) == text);
  CHECK(text.text().find("chunks=8") != std::string::npos);
  CHECK_THROWS_AS(train::AugmentConfig::parse("chunks=9"), Error);
  CHECK_THROWS_AS(train::AugmentConfig::parse("chunks=2.5"), Error);
  Generator g(1);
  CHECK_THROWS_AS(draw_augment_plan(g, 10, 4, 16, 100, train::AugmentConfig::parse("chunks=8")), Error);  // 100 % 8
}
}  // TEST_SUITE
