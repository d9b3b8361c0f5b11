// GPU kernel tests: bias+ReLU (conv and dense, forward and backward with the bias
// gradient), Philox dropout (masks bit-identical to the host formula) and the batch row
// gather, each against a CPU loop written here. Odd sizes: batch 1, HW and n not
// multiples of the block size or of 4, misaligned pointers. Skip without a CUDA device.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "engine/core/philox.h"
#include "kernels/bias_relu.h"
#include "kernels/device_array.h"
#include "kernels/dropout.h"
#include "kernels/gather.h"
#include "support/gpu.h"
#include "test_kernels_support.h"

using namespace ser;
using kernels::DeviceArray;

namespace {

// Forward: y = max(z + bias, 0) in float is exact to reproduce, so it is compared exactly.
// Backward: dz exactly; dbias (which starts at 0.25 and accumulates) against a double sum
// with 1e-5 of the sum of |dz| of the channel (float partial sums in a fixed tree).
void check_bias_relu_conv(int64_t n, int64_t c, int64_t hw) {
  CAPTURE(n);
  CAPTURE(c);
  CAPTURE(hw);
  const int64_t total = n * c * hw;
  const auto z = test::uniform_values(total, -1.0f, 1.0f, 61);
  const auto bias = test::uniform_values(c, -0.3f, 0.3f, 62);
  const auto dy = test::uniform_values(total, -1.0f, 1.0f, 63);
  std::vector<float> want_y(total), want_dz(total);
  std::vector<double> want_dbias(c, 0.25), abs_sum(c, 0.0);
  for (int64_t i = 0; i < total; ++i) {
    const int64_t ch = (i / hw) % c;
    want_y[i] = std::max(z[i] + bias[ch], 0.0f);
    want_dz[i] = want_y[i] > 0.0f ? dy[i] : 0.0f;
    want_dbias[ch] += want_dz[i];
    abs_sum[ch] += std::fabs(want_dz[i]);
  }
  DeviceArray<float> d_y(z), d_bias(bias), d_dy(dy), d_dbias(std::vector<float>(c, 0.25f));
  DeviceArray<float> workspace(kernels::bias_relu_backward_workspace_floats(n, c, hw));
  kernels::bias_relu_forward(d_y.data(), d_bias.data(), n, c, hw, nullptr);
  CHECK(d_y.download() == want_y);
  kernels::bias_relu_backward(d_dy.data(), d_y.data(), n, c, hw, d_dbias.data(), workspace.data(), nullptr);
  CHECK(d_dy.download() == want_dz);
  const std::vector<float> dbias = d_dbias.download();
  for (int64_t ch = 0; ch < c; ++ch) CHECK(std::fabs(dbias[ch] - want_dbias[ch]) <= 1e-5 * abs_sum[ch] + 1e-7);
  // Deterministic: the same backward again adds the identical float sum.
  DeviceArray<float> d_dy2(dy), d_dbias2(std::vector<float>(c, 0.25f));
  kernels::bias_relu_backward(d_dy2.data(), d_y.data(), n, c, hw, d_dbias2.data(), workspace.data(), nullptr);
  CHECK(d_dbias2.download() == dbias);
}

void check_bias_relu_dense(int64_t n, int64_t c) {
  CAPTURE(n);
  CAPTURE(c);
  const auto z = test::uniform_values(n * c, -1.0f, 1.0f, 71);
  const auto bias = test::uniform_values(c, -0.3f, 0.3f, 72);
  const auto dy = test::uniform_values(n * c, -1.0f, 1.0f, 73);
  std::vector<float> want_y(n * c), want_dz(n * c);
  std::vector<double> want_dbias(c, -0.5), abs_sum(c, 0.0);
  for (int64_t i = 0; i < n * c; ++i) {
    want_y[i] = std::max(z[i] + bias[i % c], 0.0f);
    want_dz[i] = want_y[i] > 0.0f ? dy[i] : 0.0f;
    want_dbias[i % c] += want_dz[i];
    abs_sum[i % c] += std::fabs(want_dz[i]);
  }
  DeviceArray<float> d_y(z), d_bias(bias), d_dy(dy), d_dbias(std::vector<float>(c, -0.5f));
  kernels::bias_relu_dense_forward(d_y.data(), d_bias.data(), n, c, nullptr);
  CHECK(d_y.download() == want_y);
  kernels::bias_relu_dense_backward(d_dy.data(), d_y.data(), n, c, d_dbias.data(), nullptr);
  CHECK(d_dy.download() == want_dz);
  const std::vector<float> dbias = d_dbias.download();
  for (int64_t col = 0; col < c; ++col) CHECK(std::fabs(dbias[col] - want_dbias[col]) <= 1e-5 * abs_sum[col] + 1e-7);
}

// Masks and outputs compared exactly: both sides evaluate philox_uniform_at and x * s with
// s = float(1 / (1 - p)) rounded once from double (the CPU layer's mask value).
void check_dropout(int64_t n, float p, uint64_t seed, uint64_t offset, bool in_place) {
  CAPTURE(n);
  CAPTURE(p);
  CAPTURE(offset);
  CAPTURE(in_place);
  const auto x = test::uniform_values(n, -2.0f, 2.0f, 81);
  const auto dy = test::uniform_values(n, -2.0f, 2.0f, 82);
  const float scale = static_cast<float>(1.0 / (1.0 - static_cast<double>(p)));
  std::vector<uint8_t> want_mask(n);
  std::vector<float> want_y(n), want_dx(n);
  for (int64_t i = 0; i < n; ++i) {
    want_mask[i] = philox_uniform_at(seed, offset, static_cast<uint64_t>(i)) >= p ? 1 : 0;
    want_y[i] = want_mask[i] ? x[i] * scale : 0.0f;
    want_dx[i] = want_mask[i] ? dy[i] * scale : 0.0f;
  }
  DeviceArray<float> d_x(x), d_y(n), d_dy(dy), d_dx(n);
  DeviceArray<uint8_t> d_mask(n);
  float* y = in_place ? d_x.data() : d_y.data();
  kernels::dropout_forward(d_x.data(), y, d_mask.data(), n, p, seed, offset, nullptr);
  kernels::dropout_backward(d_dy.data(), d_mask.data(), in_place ? d_dy.data() : d_dx.data(), n, p, nullptr);
  CHECK(d_mask.download() == want_mask);
  CHECK((in_place ? d_x : d_y).download() == want_y);
  CHECK((in_place ? d_dy : d_dx).download() == want_dx);
}

// gather: a plain copy, compared exactly; `misalign` shifts both arrays by one float.
void check_gather(int64_t m, int64_t d, const std::vector<int64_t>& indices, int misalign) {
  CAPTURE(m);
  CAPTURE(d);
  CAPTURE(misalign);
  const int64_t b = static_cast<int64_t>(indices.size());
  const auto src = test::uniform_values(m * d + misalign, -1.0f, 1.0f, 91);
  DeviceArray<float> d_src(src), d_dst(b * d + misalign);
  DeviceArray<int64_t> d_indices(indices);
  kernels::gather_rows(d_dst.data() + misalign, d_src.data() + misalign, m, d, d_indices.data(), b, nullptr);
  const std::vector<float> dst = d_dst.download();
  for (int64_t r = 0; r < b; ++r) {
    CAPTURE(r);
    const bool valid = indices[r] >= 0 && indices[r] < m;
    bool row_ok = true;
    for (int64_t j = 0; j < d; ++j) {
      const float got = dst[misalign + r * d + j];
      row_ok = row_ok && (valid ? got == src[misalign + indices[r] * d + j] : std::isnan(got));
    }
    CHECK(row_ok);
  }
}

}  // namespace

TEST_SUITE("gpu") {

TEST_CASE("bias_relu_forward/backward (N, C, HW) match a CPU loop") {
  SER_REQUIRE_GPU();
  check_bias_relu_conv(1, 3, 5);           // batch 1, tiny plane
  check_bias_relu_conv(3, 5, 37);          // odd everything
  check_bias_relu_conv(2, 32, 126 * 126);  // seed conv1 plane
  check_bias_relu_conv(1, 2, 20000);        // HW > 64 chunks * 256 threads: the in-plane loop wraps
  check_bias_relu_conv(16, 256, 12 * 12);  // seed conv4, batch 16
  check_bias_relu_conv(300, 2, 3);         // many splits per channel, N > 256
}

TEST_CASE("bias_relu_dense_forward/backward (N, C) match a CPU loop") {
  SER_REQUIRE_GPU();
  check_bias_relu_dense(1, 1);
  check_bias_relu_dense(37, 513);
  check_bias_relu_dense(256, 512);
}

TEST_CASE("dropout masks are bit-identical to philox_uniform_at on the host") {
  SER_REQUIRE_GPU();
  for (int64_t n : {int64_t(1), int64_t(5), int64_t(1001), int64_t(4099)}) {
    check_dropout(n, 0.5f, 42, 0, false);
    check_dropout(n, 0.3f, 7, (uint64_t(1) << 33) + 5, true);  // offset above 32 bits, in place
  }
  check_dropout(257, 0.0f, 42, 3, false);  // p = 0 keeps everything, y = x
}

TEST_CASE("dropout keeps about 1 - p of a large array and rejects p outside [0, 1)") {
  SER_REQUIRE_GPU();
  const int64_t n = 1 << 16;
  DeviceArray<float> x(std::vector<float>(n, 1.0f)), y(n);
  DeviceArray<uint8_t> mask(n);
  kernels::dropout_forward(x.data(), y.data(), mask.data(), n, 0.5f, 1234, 9, nullptr);
  int64_t kept = 0;
  for (uint8_t k : mask.download()) kept += k;
  CHECK(std::fabs(double(kept) / n - 0.5) < 0.01);  // 5 standard deviations
  CHECK_THROWS_AS(kernels::dropout_forward(x.data(), y.data(), mask.data(), n, 1.0f, 1, 0, nullptr), Error);
  CHECK_THROWS_AS(kernels::dropout_backward(y.data(), mask.data(), x.data(), n, -0.1f, nullptr), Error);
}

TEST_CASE("gather_rows copies the indexed rows (float4 and scalar paths)") {
  SER_REQUIRE_GPU();
  check_gather(10, 128 * 128, {3, 0, 9, 3}, 0);           // seed sample size, repeated index, float4
  check_gather(10, 128 * 128, {7}, 1);                    // batch 1, misaligned: scalar
  check_gather(6, 7, {5, 4, 3, 2, 1, 0, 0}, 0);           // D % 4 != 0
  check_gather(4, 12, {1, -1, 4, 2}, 0);                  // out-of-range indices -> NaN rows
  check_gather(3, 1, {2, 2, 0}, 0);                       // D = 1
}

}  // TEST_SUITE
