// GPU kernel tests of the batch augmentation (kernels/augment.h) against the CPU reference
// cpu::augment_images, BIT FOR BIT (tolerance 0: the kernel evaluates the CPU's own inline
// per-pixel functions and rounds the mixup's two products and sum like the CPU's float
// code). Plans come from train::draw_augment_plan (the trainer's own draws) and from hand-
// written rows for the edges: masks touching the first/last row and column, shift W - 1,
// lambda 1 with a partner (the partner is then not read), sizes with W > 128 threads and
// H > 64 row blocks. The cursor variant of the CUDA-graph step is checked at every batch
// of an epoch (partial last batch included) with its mixup labels, and its NaN rows for
// unusable plan rows. Skip without a CUDA device; the host-side argument checks need none.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "engine/core/error.h"
#include "engine/core/random.h"
#include "engine/cpu/augment.h"
#include "engine/train/augment_plan.h"
#include "kernels/augment.h"
#include "kernels/device_array.h"
#include "support/gpu.h"
#include "test_kernels_support.h"

using namespace ser;
using kernels::DeviceArray;

namespace {

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// cpu::augment_images of the batch x (N, 1, H, W) with plan rows plan[0..N).
std::vector<float> cpu_augment(const std::vector<float>& x, const cpu::SampleAugment* plan, int n, int h, int w) {
  std::vector<float> out(x.size());
  cpu::augment_images(out.data(), x.data(), plan, n, h, w);
  return out;
}

std::vector<float> gpu_augment(const std::vector<float>& x, const std::vector<cpu::SampleAugment>& plan, int n, int h,
                               int w) {
  DeviceArray<float> d_x(x), d_out(static_cast<int64_t>(x.size()));
  DeviceArray<cpu::SampleAugment> d_plan(plan);
  kernels::augment_images(d_out.data(), d_x.data(), d_plan.data(), n, h, w, nullptr);
  return d_out.download();
}

void check_augment(int n, int h, int w, const std::string& text, uint32_t seed) {
  CAPTURE(n);
  CAPTURE(h);
  CAPTURE(w);
  CAPTURE(text);
  const train::AugmentConfig config = train::AugmentConfig::parse(text);
  Generator generator(seed);
  const std::vector<cpu::SampleAugment> plan = train::draw_augment_plan(generator, n, n, h, w, config);
  const std::vector<float> x = test::uniform_values(int64_t(n) * h * w, -3, 3, seed + 1);
  CHECK(same_bits(gpu_augment(x, plan, n, h, w), cpu_augment(x, plan.data(), n, h, w)));
  if (config.mixes() && n > 2) {  // the case exercises the mixing branch, not only lambda == 1
    bool mixed = false;
    for (const auto& a : plan) mixed = mixed || a.lambda < 1.0f;
    CHECK(mixed);
  }
}

}  // namespace

TEST_SUITE("gpu") {

TEST_CASE("augment_images equals cpu::augment_images bit for bit (drawn plans)") {
  SER_REQUIRE_GPU();
  check_augment(1, 8, 8, "time-masks=1x4", 1);                                        // batch 1
  check_augment(5, 7, 33, "time-masks=2x8,freq-masks=2x3,shift=10,mixup=0.4", 2);    // odd sizes
  check_augment(16, 128, 128, "time-masks=2x16,freq-masks=2x16,shift=16", 3);        // the robust recipe
  check_augment(16, 128, 128, "time-masks=2x16,freq-masks=2x16,shift=16,mixup=0.2", 4);
  check_augment(3, 130, 200, "freq-masks=4x60,shift=199,mixup=1", 5);                // H > 64 row blocks
  check_augment(9, 64, 257, "time-masks=4x128,mixup=100", 6);                        // W > 128 threads
  check_augment(33, 16, 16, "shift=15,mixup=0.3", 7);
  check_augment(16, 128, 128, "time-masks=2x16,freq-masks=2x16,shift=16,chunks=4", 8);  // chunk shuffle
  check_augment(6, 16, 96, "chunks=8,shift=40,mixup=0.5", 9);
}

TEST_CASE("augment_images equals the CPU on hand-written edge rows") {
  SER_REQUIRE_GPU();
  const int n = 4, h = 9, w = 11;
  std::vector<cpu::SampleAugment> plan(n);
  for (int i = 0; i < n; ++i) plan[i].partner = i;
  plan[0].time_start[0] = w - 3;  // the last three columns
  plan[0].time_width[0] = 3;
  plan[0].freq_start[1] = 0;      // the first row
  plan[0].freq_width[1] = 1;
  plan[0].shift = w - 1;
  plan[1].partner = 2;            // lambda 1 with a partner: the own image, the partner unread
  plan[1].lambda = 1.0f;
  plan[1].time_start[3] = 0;      // the first column, mask slot 3
  plan[1].time_width[3] = 1;
  plan[2].partner = 3;
  plan[2].lambda = 0.5f;          // an exact half
  plan[2].freq_start[0] = h - 1;  // the last row
  plan[2].freq_width[0] = 1;
  plan[2].shift = 1;
  plan[3].partner = 0;            // partner with its own masks and shift
  plan[3].lambda = 0.7f;          // not a binary fraction: 1 - lambda rounds
  plan[3].time_start[0] = 2;
  plan[3].time_width[0] = 0;      // an unused mask (width 0)
  plan[3].band_scale = 1.0f / 1.07f;  // frequency warp: interpolated bands, partner of sample 0
  plan[1].band_scale = 1.25f;         // bands beyond the top repeat it
  const std::vector<float> x = test::uniform_values(int64_t(n) * h * w, -1, 1, 9);
  CHECK(same_bits(gpu_augment(x, plan, n, h, w), cpu_augment(x, plan.data(), n, h, w)));
}

TEST_CASE("augment_batch_at_cursor augments every batch of an epoch like the CPU and gives the mixup targets") {
  SER_REQUIRE_GPU();
  const int64_t m = 37;
  const int batch = 8, h = 12, w = 20;
  const train::AugmentConfig config = train::AugmentConfig::parse("time-masks=2x5,freq-masks=1x4,shift=6,warp=0.1,mixup=0.4");
  Generator generator(21);
  const std::vector<cpu::SampleAugment> plan = train::draw_augment_plan(generator, m, batch, h, w, config);
  DeviceArray<cpu::SampleAugment> d_plan(plan);
  for (int64_t cursor = 0; cursor < m; cursor += batch) {
    const int n = static_cast<int>(std::min<int64_t>(batch, m - cursor));
    CAPTURE(cursor);
    CAPTURE(n);
    const std::vector<float> x = test::uniform_values(int64_t(n) * h * w, -2, 2, 30 + uint32_t(cursor));
    const std::vector<int32_t> labels = test::random_ints<int32_t>(n, 0, 7, 40 + uint32_t(cursor));
    DeviceArray<float> d_x(x), d_out(int64_t(n) * h * w), d_lambda(n);
    DeviceArray<int32_t> d_labels(labels), d_labels_b(n);
    DeviceArray<int64_t> d_cursor(std::vector<int64_t>{cursor});
    kernels::augment_batch_at_cursor(d_out.data(), d_labels_b.data(), d_lambda.data(), d_x.data(), d_labels.data(),
                                     d_plan.data(), m, d_cursor.data(), n, h, w, nullptr);
    CHECK(same_bits(d_out.download(), cpu_augment(x, plan.data() + cursor, n, h, w)));
    const std::vector<int32_t> labels_b = d_labels_b.download();
    const std::vector<float> lambda = d_lambda.download();
    for (int b = 0; b < n; ++b) {
      CAPTURE(b);
      const cpu::SampleAugment& a = plan[static_cast<std::size_t>(cursor + b)];
      CHECK(labels_b[b] == labels[a.partner]);
      CHECK(lambda[b] == a.lambda);
    }
    // Without the targets: the same images.
    DeviceArray<float> d_out2(int64_t(n) * h * w);
    kernels::augment_batch_at_cursor(d_out2.data(), nullptr, nullptr, d_x.data(), nullptr, d_plan.data(), m,
                                     d_cursor.data(), n, h, w, nullptr);
    CHECK(same_bits(d_out2.download(), d_out.download()));
  }
}

TEST_CASE("augment_batch_at_cursor: unusable plan rows give NaN rows and label -1, never a bad read") {
  SER_REQUIRE_GPU();
  const int h = 3, w = 5, n = 4;
  std::vector<cpu::SampleAugment> plan(5);  // partner 0 = "myself" for a batch of one at any cursor
  plan[2].partner = 9;   // outside the batch
  plan[3].shift = w;     // outside [0, W)
  const int64_t cursor = 1;  // batch rows 0..3 read plan positions 1..4
  const std::vector<float> x = test::uniform_values(int64_t(n) * h * w, -1, 1, 50);
  DeviceArray<float> d_x(x), d_out(int64_t(n) * h * w), d_lambda(n);
  DeviceArray<int32_t> d_labels(std::vector<int32_t>{10, 11, 12, 13}), d_labels_b(n);
  DeviceArray<cpu::SampleAugment> d_plan(plan);
  DeviceArray<int64_t> d_cursor(std::vector<int64_t>{cursor});
  // plan_size 4: position 4 (row 3) is past the plan's end.
  kernels::augment_batch_at_cursor(d_out.data(), d_labels_b.data(), d_lambda.data(), d_x.data(), d_labels.data(),
                                   d_plan.data(), 4, d_cursor.data(), n, h, w, nullptr);
  const std::vector<float> out = d_out.download();
  const std::vector<int32_t> labels_b = d_labels_b.download();
  const std::vector<float> lambda = d_lambda.download();
  // Row 0 (position 1): partner 0 of the batch = row 0 itself, lambda 1 -> shifted copy (shift 0): x itself.
  for (int i = 0; i < h * w; ++i) CHECK(out[i] == x[i]);
  CHECK(labels_b[0] == 10);
  CHECK(lambda[0] == 1.0f);
  for (int b = 1; b < n; ++b) {  // bad partner, bad shift, past the end
    CAPTURE(b);
    for (int i = 0; i < h * w; ++i) REQUIRE(std::isnan(out[b * h * w + i]));
    CHECK(labels_b[b] == -1);
    CHECK(std::isnan(lambda[b]));
  }
}

// Argument checks run on the host before any launch: this case needs no device.
TEST_CASE("augment kernels reject bad sizes and pointers on the host") {
  float* fake = reinterpret_cast<float*>(16);
  const auto* plan = reinterpret_cast<const cpu::SampleAugment*>(64);
  const auto* cursor = reinterpret_cast<const int64_t*>(128);
  CHECK_THROWS_AS(kernels::augment_images(fake, fake + 64, plan, -1, 4, 4, nullptr), Error);
  CHECK_THROWS_AS(kernels::augment_images(fake, fake + 64, plan, 2, 0, 4, nullptr), Error);
  CHECK_THROWS_AS(kernels::augment_images(fake, fake + 64, plan, 2, 4, 0, nullptr), Error);
  CHECK_THROWS_AS(kernels::augment_images(fake, fake, plan, 2, 4, 4, nullptr), Error);  // in place
  CHECK_THROWS_AS(kernels::augment_images(fake, fake + 64, nullptr, 2, 4, 4, nullptr), Error);
  CHECK_THROWS_AS(kernels::augment_batch_at_cursor(fake, nullptr, nullptr, fake + 64, nullptr, plan, 8, nullptr, 2, 4,
                                                   4, nullptr),
                  Error);  // no cursor
  CHECK_THROWS_AS(kernels::augment_batch_at_cursor(fake, nullptr, fake + 200, fake + 64, nullptr, plan, 8, cursor, 2,
                                                   4, 4, nullptr),
                  Error);  // lambda without labels
  CHECK_NOTHROW(kernels::augment_images(fake, fake + 64, plan, 0, 4, 4, nullptr));  // N = 0 queues nothing
}

}  // TEST_SUITE
