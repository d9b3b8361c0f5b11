// GPU kernel tests: fused softmax cross-entropy and the confusion matrix, each against a
// plain CPU loop in double written here; the soft-target variant (label smoothing, mixup)
// against the CPU reference cpu::softmax_cross_entropy_soft. Odd sizes (N = 1, N not a
// multiple of the 8 rows per block, K > 32 so lanes loop) and ties in the arg-max. Skip
// without a CUDA device.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "engine/core/error.h"
#include "engine/cpu/softmax_cross_entropy.h"
#include "kernels/confusion.h"
#include "kernels/device_array.h"
#include "kernels/softmax_cross_entropy.h"
#include "support/gpu.h"
#include "test_kernels_support.h"

using namespace ser;
using kernels::DeviceArray;

namespace {

struct CrossEntropyReference {
  std::vector<double> dlogits;  // (N, K)
  double loss_sum = 0;
  int correct = 0;
};

// First arg-max of row (K).
int first_argmax(const float* row, int k) {
  int best = 0;
  for (int j = 1; j < k; ++j)
    if (row[j] > row[best]) best = j;
  return best;
}

// logits: (N, K); labels: (N).
CrossEntropyReference cross_entropy_reference(const std::vector<float>& logits, const std::vector<int32_t>& labels,
                                              int64_t n, int k) {
  CrossEntropyReference ref;
  ref.dlogits.resize(static_cast<std::size_t>(n * k));
  for (int64_t r = 0; r < n; ++r) {
    const float* x = &logits[r * k];
    double max_value = x[0];
    for (int j = 1; j < k; ++j) max_value = std::max(max_value, double(x[j]));
    double sum = 0;
    for (int j = 0; j < k; ++j) sum += std::exp(x[j] - max_value);
    ref.loss_sum += max_value + std::log(sum) - x[labels[r]];
    for (int j = 0; j < k; ++j)
      ref.dlogits[r * k + j] = (std::exp(x[j] - max_value) / sum - (j == labels[r] ? 1.0 : 0.0)) / double(n);
    ref.correct += first_argmax(x, k) == labels[r] ? 1 : 0;
  }
  return ref;
}

struct CrossEntropyResult {
  std::vector<float> dlogits;
  float loss_sum;
  int correct;
};

CrossEntropyResult run_cross_entropy(const std::vector<float>& logits, const std::vector<int32_t>& labels, int64_t n,
                                     int k) {
  DeviceArray<float> d_logits(logits), d_dlogits(n * k), d_loss(1);
  DeviceArray<int32_t> d_labels(labels);
  DeviceArray<int> d_correct(1);
  kernels::softmax_cross_entropy_forward_backward(d_logits.data(), d_labels.data(), n, k, d_dlogits.data(),
                                                  d_loss.data(), d_correct.data(), nullptr);
  return {d_dlogits.download(), d_loss.download()[0], d_correct.download()[0]};
}

// Tolerances: float log-sum-exp with max subtraction vs double. dlogits entries lie in
// [-1/N, 1/N]: 1e-6 absolute is ~10 float ulps of 1. The loss sum is N float terms added
// by atomics in any order: 1e-5 relative (plus 1e-6 for tiny sums).
void check_cross_entropy(int64_t n, int k, float logit_range, uint32_t seed) {
  CAPTURE(n);
  CAPTURE(k);
  const auto logits = test::uniform_values(n * k, -logit_range, logit_range, seed);
  const auto labels = test::random_ints<int32_t>(n, 0, k - 1, seed + 1);
  const CrossEntropyReference want = cross_entropy_reference(logits, labels, n, k);
  const CrossEntropyResult got = run_cross_entropy(logits, labels, n, k);
  CHECK(test::max_abs_error(got.dlogits, want.dlogits) <= 1e-6);
  CHECK(std::fabs(got.loss_sum - want.loss_sum) <= 1e-5 * std::fabs(want.loss_sum) + 1e-6);
  CHECK(got.correct == want.correct);
}

struct SoftResult {
  std::vector<float> dlogits;
  float loss_sum;  // added to the 0.25 the buffer starts with
  int correct;     // added to the 3 the counter starts with
};

// labels_b / lambda empty: passed as null.
SoftResult run_soft(const std::vector<float>& logits, const std::vector<int32_t>& a, const std::vector<int32_t>& b,
                    const std::vector<float>& lambda, double smoothing, int64_t n, int k) {
  DeviceArray<float> d_logits(logits), d_dlogits(n * k), d_loss(std::vector<float>{0.25f}), d_lambda(lambda);
  DeviceArray<int32_t> d_a(a), d_b(b);
  DeviceArray<int> d_correct(std::vector<int>{3});
  kernels::softmax_cross_entropy_soft_forward_backward(d_logits.data(), d_a.data(), b.empty() ? nullptr : d_b.data(),
                                                       lambda.empty() ? nullptr : d_lambda.data(), smoothing, n, k,
                                                       d_dlogits.data(), d_loss.data(), d_correct.data(), nullptr);
  return {d_dlogits.download(), d_loss.download()[0] - 0.25f, d_correct.download()[0] - 3};
}

// Tolerances as the hard kernel's: dlogits 1e-6 absolute (float softmax vs the CPU's double,
// targets rounded from the same double), loss sum 1e-5 relative (+1e-6; float sums and
// atomics, and the 0.25 start value subtracted back).
void check_soft(int64_t n, int k, float logit_range, double smoothing, bool partner, bool mix, uint32_t seed) {
  CAPTURE(n);
  CAPTURE(k);
  CAPTURE(smoothing);
  CAPTURE(partner);
  CAPTURE(mix);
  const auto logits = test::uniform_values(n * k, -logit_range, logit_range, seed);
  const auto a = test::random_ints<int32_t>(n, 0, k - 1, seed + 1);
  const std::vector<int32_t> b = partner ? test::random_ints<int32_t>(n, 0, k - 1, seed + 2) : std::vector<int32_t>{};
  std::vector<float> lambda;
  if (mix) {
    lambda = test::uniform_values(n, 0.5f, 1.0f, seed + 3);
    lambda[0] = 1.0f;  // mixup's "no partner" value
  }
  std::vector<float> probs(n * k), want_dlogits(n * k);
  const double mean = cpu::softmax_cross_entropy_soft(probs.data(), want_dlogits.data(), logits.data(), a.data(),
                                                      b.empty() ? nullptr : b.data(),
                                                      lambda.empty() ? nullptr : lambda.data(), smoothing,
                                                      static_cast<int>(n), k);
  int want_correct = 0;
  for (int64_t r = 0; r < n; ++r) want_correct += first_argmax(&logits[r * k], k) == a[r] ? 1 : 0;
  const SoftResult got = run_soft(logits, a, b, lambda, smoothing, n, k);
  CHECK(test::max_abs_error(got.dlogits, std::vector<double>(want_dlogits.begin(), want_dlogits.end())) <= 1e-6);
  CHECK(std::fabs(got.loss_sum - mean * n) <= 1e-5 * std::fabs(mean * n) + 1e-6);
  CHECK(got.correct == want_correct);
}

}  // namespace

TEST_SUITE("gpu") {

TEST_CASE("softmax_cross_entropy_forward_backward matches a double CPU loop") {
  SER_REQUIRE_GPU();
  check_cross_entropy(1, 8, 3.0f, 11);       // batch 1
  check_cross_entropy(16, 8, 3.0f, 12);      // the seed net's batch
  check_cross_entropy(37, 7, 5.0f, 13);      // N not a multiple of 8 rows per block
  check_cross_entropy(5, 1000, 4.0f, 14);    // K > 32: each lane walks several columns
  check_cross_entropy(9, 1024, 2.0f, 15);    // the largest K
  check_cross_entropy(3, 1, 1.0f, 16);       // one class: loss 0, gradient 0
  check_cross_entropy(64, 8, 200.0f, 17);    // exp would overflow without the max subtraction
}

TEST_CASE("softmax cross-entropy counts the first maximum of a tied row") {
  SER_REQUIRE_GPU();
  // Row 0: max 2 at columns 1 and 40, label 1 -> correct. Row 1: same row, label 40 -> wrong.
  const int k = 48;
  std::vector<float> logits(2 * k, 0.0f);
  for (int r = 0; r < 2; ++r) logits[r * k + 1] = logits[r * k + 40] = 2.0f;
  const CrossEntropyResult got = run_cross_entropy(logits, {1, 40}, 2, k);
  CHECK(got.correct == 1);
}

TEST_CASE("softmax cross-entropy: a label outside [0, K) gives a NaN loss") {
  SER_REQUIRE_GPU();
  const CrossEntropyResult got = run_cross_entropy({1.0f, 2.0f, 3.0f}, {3}, 1, 3);
  CHECK(std::isnan(got.loss_sum));
  CHECK(got.correct == 0);
}

// Argument checks run on the host before any launch: this case needs no device.
TEST_CASE("softmax cross-entropy and confusion reject K outside their range on the host") {
  CHECK_THROWS_AS(kernels::confusion_update(nullptr, nullptr, 4, 0, nullptr, nullptr), Error);
  CHECK_THROWS_AS(kernels::confusion_update_from_logits(nullptr, nullptr, 4, 1025, nullptr, nullptr), Error);
  CHECK_THROWS_AS(kernels::softmax_cross_entropy_forward_backward(nullptr, nullptr, 1, 0, nullptr, nullptr, nullptr,
                                                                  nullptr),
                  Error);
  CHECK_THROWS_AS(kernels::softmax_cross_entropy_forward_backward(nullptr, nullptr, 1, 1025, nullptr, nullptr,
                                                                  nullptr, nullptr),
                  Error);
}

TEST_CASE("confusion_update counts (label, predicted) pairs and skips invalid ones") {
  SER_REQUIRE_GPU();
  const int k = 8;
  for (int64_t n : {int64_t(1), int64_t(1000), int64_t(70001)}) {
    CAPTURE(n);
    auto predicted = test::random_ints<int32_t>(n, 0, k - 1, 21);
    const auto labels = test::random_ints<int32_t>(n, 0, k - 1, 22);
    if (n > 2) predicted[2] = k;  // outside [0, K): not counted
    std::vector<int> want(k * k, 1);  // starts from ones: the kernel accumulates
    for (int64_t i = 0; i < n; ++i)
      if (predicted[i] < k) ++want[labels[i] * k + predicted[i]];
    DeviceArray<int32_t> d_pred(predicted), d_labels(labels);
    DeviceArray<int> d_confusion(std::vector<int>(k * k, 1));
    kernels::confusion_update(d_pred.data(), d_labels.data(), n, k, d_confusion.data(), nullptr);
    CHECK(d_confusion.download() == want);
  }
}

TEST_CASE("confusion_update_from_logits uses the first arg-max of each row") {
  SER_REQUIRE_GPU();
  for (int k : {1, 7, 100}) {
    const int64_t n = 45;
    CAPTURE(k);
    // Values from a small set so that ties within a row are common.
    const auto ints = test::random_ints<int>(n * k, 0, 3, 31);
    const std::vector<float> logits(ints.begin(), ints.end());
    const auto labels = test::random_ints<int32_t>(n, 0, k - 1, 32);
    std::vector<int> want(k * k, 0);
    for (int64_t r = 0; r < n; ++r) ++want[labels[r] * k + first_argmax(&logits[r * k], k)];
    DeviceArray<float> d_logits(logits);
    DeviceArray<int32_t> d_labels(labels);
    DeviceArray<int> d_confusion(k * k);
    kernels::confusion_update_from_logits(d_logits.data(), d_labels.data(), n, k, d_confusion.data(), nullptr);
    CHECK(d_confusion.download() == want);
  }
}

TEST_CASE("softmax_cross_entropy_soft_forward_backward matches cpu::softmax_cross_entropy_soft") {
  SER_REQUIRE_GPU();
  check_soft(1, 8, 3.0f, 0.1, false, false, 61);     // batch 1, smoothing only
  check_soft(16, 8, 3.0f, 0.1, true, true, 62);      // the robust recipe's batch shape, mixup + smoothing
  check_soft(37, 7, 5.0f, 0.0, true, true, 63);      // mixup alone; N not a multiple of 8 rows per block
  check_soft(5, 1000, 4.0f, 0.2, true, true, 64);    // K > 32: each lane walks several columns
  check_soft(9, 1024, 2.0f, 0.05, false, false, 65); // the largest K
  check_soft(3, 1, 1.0f, 0.1, true, true, 66);       // one class: loss 0, gradient 0
  check_soft(64, 8, 200.0f, 0.1, true, true, 67);    // exp would overflow without the max subtraction
  check_soft(20, 6, 3.0f, 0.0, true, false, 68);     // a partner label without lambda: weight 0
}

TEST_CASE("soft softmax cross-entropy without smoothing or mixup gives the hard kernel's bits") {
  SER_REQUIRE_GPU();
  const int64_t n = 29;
  const int k = 8;
  const auto logits = test::uniform_values(n * k, -4, 4, 70);
  const auto labels = test::random_ints<int32_t>(n, 0, k - 1, 71);
  const CrossEntropyResult hard = run_cross_entropy(logits, labels, n, k);
  const SoftResult soft = run_soft(logits, labels, {}, {}, 0.0, n, k);
  CHECK(soft.dlogits == hard.dlogits);
  CHECK(soft.correct == hard.correct);
  // The per-row losses are the same floats; the atomics may add the blocks in another order.
  CHECK(std::fabs(soft.loss_sum - hard.loss_sum) <= 1e-6 * std::fabs(hard.loss_sum));
  // labels_b == labels_a with lambda 1 (what the trainer passes without mixup): the same again.
  const SoftResult same = run_soft(logits, labels, labels, std::vector<float>(n, 1.0f), 0.0, n, k);
  CHECK(same.dlogits == hard.dlogits);
}

TEST_CASE("soft softmax cross-entropy: a partner label outside [0, K) gives a NaN loss") {
  SER_REQUIRE_GPU();
  const SoftResult got = run_soft({1.0f, 2.0f, 3.0f}, {2}, {-1}, {0.6f}, 0.1, 1, 3);
  CHECK(std::isnan(got.loss_sum));
  CHECK(got.correct == 0);  // a bad row is never counted
}

// Argument checks run on the host before any launch: this case needs no device.
TEST_CASE("soft softmax cross-entropy rejects K and smoothing outside their ranges on the host") {
  CHECK_THROWS_AS(kernels::softmax_cross_entropy_soft_forward_backward(nullptr, nullptr, nullptr, nullptr, 0.1, 1, 0,
                                                                       nullptr, nullptr, nullptr, nullptr),
                  Error);
  CHECK_THROWS_AS(kernels::softmax_cross_entropy_soft_forward_backward(nullptr, nullptr, nullptr, nullptr, 1.0, 1, 8,
                                                                       nullptr, nullptr, nullptr, nullptr),
                  Error);
  CHECK_THROWS_AS(kernels::softmax_cross_entropy_soft_forward_backward(nullptr, nullptr, nullptr, nullptr, -0.1, 1, 8,
                                                                       nullptr, nullptr, nullptr, nullptr),
                  Error);
  CHECK_THROWS_AS(kernels::softmax_cross_entropy_soft_forward_backward(nullptr, nullptr, nullptr, nullptr, 0.1, -1, 8,
                                                                       nullptr, nullptr, nullptr, nullptr),
                  Error);
}

}  // TEST_SUITE
