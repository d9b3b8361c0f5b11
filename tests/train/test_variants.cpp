// Waveform-augmented variants of a training set (Dataset::variants): the layout checks,
// subset and gather_batch by version, draw_versions' distribution and determinism, and a
// training epoch that shows the variants (a run without them draws exactly as before).
#include <doctest/doctest.h>

#include <cstring>
#include <map>

#include "engine/core/error.h"
#include "engine/core/random.h"
#include "engine/train/dataset.h"
#include "engine/train/trainer.h"

using namespace ser;
using namespace ser::train;

namespace {

// M images (M, 1, 2, 3), image i filled with `base + i`; K variants, variant k of i with
// base + 100 k + i.
Dataset numbered(int64_t m, int64_t k_count, float base = 0) {
  Dataset d;
  d.images = Tensor(Shape{m, 1, 2, 3});
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < 6; ++j) d.images.data()[i * 6 + j] = base + static_cast<float>(i);
  for (int64_t i = 0; i < m; ++i) d.labels.push_back(static_cast<int32_t>(i % 2));
  if (k_count > 0) {
    d.variants = Tensor(Shape{k_count * m, 1, 2, 3});
    for (int64_t k = 1; k <= k_count; ++k)
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < 6; ++j)
          d.variants.data()[((k - 1) * m + i) * 6 + j] = base + static_cast<float>(100 * k + i);
  }
  return d;
}

}  // namespace

TEST_SUITE("train") {

TEST_CASE("Dataset variants: K copies of the images' shape, or refused") {
  CHECK(numbered(5, 0).variant_count() == 0);
  CHECK(numbered(5, 3).variant_count() == 3);
  CHECK_NOTHROW(numbered(5, 3).check(2));
  Dataset bad = numbered(5, 1);
  bad.variants = Tensor(Shape{7, 1, 2, 3});  // not a multiple of 5
  CHECK_THROWS_WITH_AS(bad.check(2), doctest::Contains("are not K copies of the images"), Error);
  bad.variants = Tensor(Shape{5, 1, 2, 4});
  CHECK_THROWS_WITH_AS(bad.check(2), doctest::Contains("variants of shape [5, 1, 2, 4]"), Error);
}

TEST_CASE("subset keeps each chosen row's variants; gather_batch takes the version asked for") {
  const Dataset all = numbered(6, 2);
  const Dataset part = subset(all, {4, 1});
  REQUIRE(part.variant_count() == 2);
  CHECK(part.variants.data()[0] == 104);      // copy 1 of row 4
  CHECK(part.variants.data()[6] == 101);      // copy 1 of row 1
  CHECK(part.variants.data()[2 * 6] == 204);  // copy 2 of row 4
  CHECK(part.variants.data()[3 * 6 + 5] == 201);

  Tensor batch;
  std::vector<int32_t> labels;
  const std::vector<int64_t> order{5, 0, 3, 2};
  gather_batch(all, order, std::vector<int32_t>{0, 2, 1, 0}, 1, 3, batch, labels);
  REQUIRE(batch.shape() == Shape{3, 1, 2, 3});
  CHECK(batch.data()[0] == 200);   // row 0, copy 2
  CHECK(batch.data()[6] == 103);   // row 3, copy 1
  CHECK(batch.data()[12] == 2);    // row 2 itself
  CHECK(labels == std::vector<int32_t>{0, 1, 0});
  CHECK_THROWS_WITH_AS(gather_batch(all, order, std::vector<int32_t>{3, 3, 3, 3}, 0, 1, batch, labels),
                       doctest::Contains("version 3 of a dataset with 2 variants"), Error);
}

TEST_CASE("draw_versions: uniform over the K + 1 versions, one stream, nothing drawn without variants") {
  Generator g(7);
  const uint64_t before = g.next_stream();
  CHECK(draw_versions(g, 100, 0).empty());
  CHECK(g.next_stream() == before + 1);  // K = 0 drew nothing
  Generator a(7), b(7), c(8);
  const std::vector<int32_t> va = draw_versions(a, 4000, 3);
  CHECK(va == draw_versions(b, 4000, 3));
  CHECK(va != draw_versions(c, 4000, 3));
  CHECK(a.next_stream() == 1);  // exactly one stream
  std::map<int32_t, int> counts;
  for (int32_t v : va) ++counts[v];
  REQUIRE(counts.size() == 4);
  for (const auto& entry : counts) {
    CHECK(entry.first >= 0);
    CHECK(entry.first <= 3);
    CHECK(std::abs(entry.second - 1000) < 100);  // 4000 / 4, about 3 sigma
  }
}

}  // TEST_SUITE
