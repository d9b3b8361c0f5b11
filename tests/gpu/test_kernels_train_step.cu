// GPU kernel tests of the CUDA-graph training step's bookkeeping (kernels/train_step.h)
// and of dropout with its Philox stream read from device memory, each against a CPU
// loop or the host-offset kernel. Skip without a CUDA device.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "kernels/device_array.h"
#include "kernels/dropout.h"
#include "kernels/train_step.h"
#include "support/gpu.h"
#include "test_kernels_support.h"

using namespace ser;
using kernels::DeviceArray;
using kernels::TrainStepCounters;

namespace {

// Gathers `b` rows at `cursor` from M rows of width D in the order `order` and checks each
// row and label against the CPU (NaN rows and label -1 past the end / for bad indices).
void check_gather_at_cursor(int64_t m, int64_t d, const std::vector<int64_t>& order, int64_t cursor, int64_t b) {
  CAPTURE(m);
  CAPTURE(d);
  CAPTURE(cursor);
  CAPTURE(b);
  const std::vector<float> images = test::uniform_values(m * d, -1, 1, 3);
  std::vector<int32_t> labels(static_cast<std::size_t>(m));
  for (int64_t i = 0; i < m; ++i) labels[i] = static_cast<int32_t>(100 + i);
  DeviceArray<float> d_images(images), d_x(b * d);
  DeviceArray<int32_t> d_labels(labels), d_y(b);
  DeviceArray<int64_t> d_order(order);
  TrainStepCounters counters;
  counters.cursor = cursor;
  DeviceArray<TrainStepCounters> d_counters(std::vector<TrainStepCounters>{counters});
  kernels::gather_batch_at_cursor(d_x.data(), d_y.data(), d_images.data(), d_labels.data(), m, d, d_order.data(),
                                  d_counters.data(), b, nullptr);
  const std::vector<float> x = d_x.download();
  const std::vector<int32_t> y = d_y.download();
  for (int64_t r = 0; r < b; ++r) {
    CAPTURE(r);
    const int64_t position = cursor + r;
    const int64_t index = position < m ? order[position] : -1;
    const bool valid = index >= 0 && index < m;
    CHECK(y[r] == (valid ? labels[index] : -1));
    for (int64_t k = 0; k < d; ++k) {
      if (valid)
        REQUIRE(x[r * d + k] == images[index * d + k]);
      else
        REQUIRE(std::isnan(x[r * d + k]));
    }
  }
}

}  // namespace

TEST_SUITE("gpu") {

TEST_CASE("gather_batch_at_cursor copies rows order[cursor + b] and their labels") {
  SER_REQUIRE_GPU();
  check_gather_at_cursor(10, 128 * 128, {3, 0, 9, 3, 1, 2, 4, 5, 6, 7}, 0, 4);  // float4 path, repeated index
  check_gather_at_cursor(10, 128 * 128, {3, 0, 9, 3, 1, 2, 4, 5, 6, 7}, 8, 2);  // the last (partial) rows
  check_gather_at_cursor(6, 7, {5, 4, 3, 2, 1, 0}, 2, 3);                       // D % 4 != 0: scalar path
  check_gather_at_cursor(4, 12, {1, -1, 9, 2}, 0, 4);                           // bad indices -> NaN, -1
  check_gather_at_cursor(4, 12, {1, 0, 3, 2}, 3, 3);                            // past the end -> NaN, -1
}

TEST_CASE("finish_training_step adds the step's totals and advances cursor and dropout stream") {
  SER_REQUIRE_GPU();
  TrainStepCounters start;
  start.cursor = 32;
  start.dropout_stream = (uint64_t(1) << 40) + 3;
  start.adam_step = 9;
  start.correct = 5;
  start.loss_sum = 1.5;
  DeviceArray<TrainStepCounters> counters(std::vector<TrainStepCounters>{start});
  kernels::StepLoss step;
  step.loss_sum = 2.25f;
  step.correct = 7;
  DeviceArray<kernels::StepLoss> d_step(std::vector<kernels::StepLoss>{step});
  kernels::finish_training_step(counters.data(), d_step.data(), 16, 2, nullptr);
  kernels::finish_training_step(counters.data(), d_step.data(), 5, 2, nullptr);
  const TrainStepCounters got = counters.download()[0];
  CHECK(got.cursor == 32 + 16 + 5);
  CHECK(got.dropout_stream == start.dropout_stream + 4);
  CHECK(got.adam_step == 9);  // Adam advances its own counter
  CHECK(got.correct == 5 + 14);
  CHECK(got.loss_sum == 1.5 + 2 * 2.25);
}

TEST_CASE("dropout with the stream read from device memory equals the host-offset kernel") {
  SER_REQUIRE_GPU();
  for (int64_t n : {int64_t(1), int64_t(1001), int64_t(4096)}) {
    CAPTURE(n);
    const std::vector<float> host_x = test::uniform_values(n, -2, 2, 11);
    DeviceArray<float> x(host_x), y_host(n), y_device(n);
    DeviceArray<uint8_t> mask_host(n), mask_device(n);
    const uint64_t base = (uint64_t(1) << 35) + 17, slot = 1;
    DeviceArray<uint64_t> d_base(std::vector<uint64_t>{base});
    kernels::dropout_forward(x.data(), y_host.data(), mask_host.data(), n, 0.5f, 42, base + slot, nullptr);
    kernels::dropout_forward_device_stream(x.data(), y_device.data(), mask_device.data(), n, 0.5f, 42, d_base.data(),
                                           slot, nullptr);
    CHECK(mask_device.download() == mask_host.download());
    CHECK(y_device.download() == y_host.download());
  }
  CHECK_THROWS_AS(kernels::dropout_forward_device_stream(nullptr, nullptr, nullptr, 4, 0.5f, 1, nullptr, 0, nullptr),
                  Error);
}

}  // TEST_SUITE
