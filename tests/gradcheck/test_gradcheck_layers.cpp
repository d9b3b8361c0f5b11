// Every layer's backward against central finite differences, in double precision on
// the same templated code the float engine runs. Random shapes include odd sizes and
// batch 1; inputs are kept away from kinks (ReLU at 0, max-pool ties).
#include <doctest/doctest.h>

#include <numeric>
#include <random>
#include <string>

#include "engine/cpu/softmax_cross_entropy.h"
#include "engine/nn/layers.h"
#include "gradcheck/gradient_checker.h"

using namespace ser;
using namespace ser::nn;
using ser::test::Gradients;
using ser::test::LayerHarness;

namespace {
constexpr double kTol = 1e-6;  // double-precision central differences reach ~1e-9 here

int uniform_int(std::mt19937_64& rng, int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); }

void check_layer(LayerHarness& h) {
  const Gradients a = h.analytic(), n = h.numeric();
  const double err = ser::test::compare_gradients(a, n);
  CHECK_MESSAGE(err < kTol, std::string(h.layer.kind()) << " input " << h.x_shape.str() << ": max relative error " << err);
}

// Moves every value at least `margin` away from 0 (keeps its sign).
void away_from_zero(std::vector<double>& v, double margin) {
  for (auto& x : v) x = x >= 0 ? x + margin : x - margin;
}
}  // namespace

TEST_SUITE("gradcheck") {

TEST_CASE("Conv2d: input, weight and bias gradients for random shapes, strides and paddings") {
  std::mt19937_64 rng(11);
  for (int trial = 0; trial < 6; ++trial) {
    const int N = trial == 0 ? 1 : uniform_int(rng, 1, 3), C = uniform_int(rng, 1, 3), O = uniform_int(rng, 1, 4);
    const int kh = uniform_int(rng, 1, 3), kw = uniform_int(rng, 1, 3), stride = uniform_int(rng, 1, 2),
              pad = uniform_int(rng, 0, 1);
    const int H = uniform_int(rng, kh, 7), W = uniform_int(rng, kw, 8);
    Conv2d<double> conv("conv", C, O, kh, kw, stride, pad);
    LayerHarness h(conv, Shape{N, C, H, W}, rng);
    CAPTURE(trial);
    check_layer(h);
  }
}

TEST_CASE("Dense: input, weight and bias gradients") {
  std::mt19937_64 rng(12);
  for (int trial = 0; trial < 4; ++trial) {
    const int N = trial == 0 ? 1 : uniform_int(rng, 2, 5), in = uniform_int(rng, 1, 9), out = uniform_int(rng, 1, 7);
    Dense<double> dense("fc", in, out);
    LayerHarness h(dense, Shape{N, in}, rng);
    check_layer(h);
  }
}

TEST_CASE("BatchNorm2d: training-mode gradients through the batch statistics, and eval mode") {
  std::mt19937_64 rng(13);
  for (int trial = 0; trial < 4; ++trial) {
    const int N = trial == 0 ? 1 : uniform_int(rng, 2, 3), C = uniform_int(rng, 1, 4);
    const int H = uniform_int(rng, 2, 5), W = uniform_int(rng, 1, 5);  // N*H*W >= 2: a non-degenerate batch
    BatchNorm2d<double> bn("bn", C);
    LayerHarness h(bn, Shape{N, C, H, W}, rng);
    h.mode = trial % 2 == 0 ? Mode::Train : Mode::Eval;
    CAPTURE(trial);
    check_layer(h);
  }
}

TEST_CASE("ReLU: gradient with inputs kept away from the kink at 0") {
  std::mt19937_64 rng(14);
  ReLU<double> relu("relu");
  LayerHarness h(relu, Shape{2, 3, 5, 7}, rng);
  away_from_zero(h.x, 1e-2);
  check_layer(h);
}

TEST_CASE("MaxPool2d: gradient on distinct values (no ties), odd sizes drop the last row/column") {
  std::mt19937_64 rng(15);
  for (int trial = 0; trial < 3; ++trial) {
    const int N = trial == 0 ? 1 : 2, C = uniform_int(rng, 1, 3), H = uniform_int(rng, 2, 7), W = uniform_int(rng, 2, 7);
    MaxPool2d<double> pool("pool");
    LayerHarness h(pool, Shape{N, C, H, W}, rng);
    // A shuffled ladder of values 0.01 apart: every window has a clear winner.
    std::iota(h.x.begin(), h.x.end(), 0.0);
    std::shuffle(h.x.begin(), h.x.end(), rng);
    for (auto& v : h.x) v *= 0.01;
    check_layer(h);
  }
}

TEST_CASE("Flatten and Dropout (injected mask): gradients") {
  std::mt19937_64 rng(16);
  Flatten<double> flatten("flatten");
  LayerHarness hf(flatten, Shape{3, 2, 3, 5}, rng);
  check_layer(hf);

  Dropout<double> dropout("dropout", 0.5);
  LayerHarness hd(dropout, Shape{4, 9}, rng);
  std::vector<double> mask(36);
  for (std::size_t i = 0; i < mask.size(); ++i) mask[i] = (rng() & 1) ? 2.0 : 0.0;
  dropout.inject_mask(mask);
  check_layer(hd);
}

TEST_CASE("softmax cross-entropy: d(mean loss)/d(logits)") {
  std::mt19937_64 rng(17);
  std::normal_distribution<double> normal(0.0, 2.0);
  const int N = 5, K = 6;
  std::vector<double> logits(N * K), probs(N * K), dlogits(N * K);
  for (auto& v : logits) v = normal(rng);
  std::vector<int32_t> labels(N);
  for (auto& l : labels) l = uniform_int(rng, 0, K - 1);
  cpu::softmax_cross_entropy(probs.data(), dlogits.data(), logits.data(), labels.data(), N, K);
  Gradients analytic{dlogits, {}}, numeric{std::vector<double>(N * K), {}};
  const double h = 1e-6;
  for (int i = 0; i < N * K; ++i) {
    const double saved = logits[i];
    logits[i] = saved + h;
    const double plus = cpu::softmax_cross_entropy<double>(probs.data(), nullptr, logits.data(), labels.data(), N, K);
    logits[i] = saved - h;
    const double minus = cpu::softmax_cross_entropy<double>(probs.data(), nullptr, logits.data(), labels.data(), N, K);
    logits[i] = saved;
    numeric.dx[i] = (plus - minus) / (2 * h);
  }
  CHECK(ser::test::compare_gradients(analytic, numeric) < kTol);
}

TEST_CASE("GlobalAvgPool2d: input gradient for random shapes, 1x1 planes and batch 1") {
  std::mt19937_64 rng(19);
  for (int trial = 0; trial < 5; ++trial) {
    const int N = trial == 0 ? 1 : uniform_int(rng, 1, 3), C = uniform_int(rng, 1, 4);
    const int H = trial == 1 ? 1 : uniform_int(rng, 1, 7), W = trial == 1 ? 1 : uniform_int(rng, 1, 8);
    GlobalAvgPool2d<double> gap("gap");
    LayerHarness h(gap, Shape{N, C, H, W}, rng);
    CAPTURE(trial);
    check_layer(h);
  }
}

TEST_CASE("soft-target softmax cross-entropy: d(mean loss)/d(logits) with and without label smoothing and mixup") {
  std::mt19937_64 rng(20);
  std::normal_distribution<double> normal(0.0, 2.0);
  const int N = 6, K = 5;
  std::vector<double> logits(N * K), probs(N * K), dlogits(N * K);
  for (auto& v : logits) v = normal(rng);
  std::vector<int32_t> a(N), b(N);
  for (auto& l : a) l = uniform_int(rng, 0, K - 1);
  for (auto& l : b) l = uniform_int(rng, 0, K - 1);
  b[0] = a[0];  // a pair of the same class
  std::vector<float> lambda(N);
  for (auto& l : lambda) l = static_cast<float>(std::uniform_real_distribution<double>(0.5, 1.0)(rng));
  lambda[1] = 1.0f;
  lambda[2] = 0.5f;
  struct Variant {
    const char* name;
    double smoothing;
    bool mixup;
  };
  for (const Variant v : {Variant{"plain", 0.0, false}, Variant{"smoothing 0.1", 0.1, false},
                          Variant{"mixup", 0.0, true}, Variant{"mixup + smoothing 0.2", 0.2, true}}) {
    const std::string variant = v.name;
    CAPTURE(variant);
    const int32_t* pb = v.mixup ? b.data() : nullptr;
    const float* pl = v.mixup ? lambda.data() : nullptr;
    auto loss = [&] {
      return cpu::softmax_cross_entropy_soft<double>(probs.data(), nullptr, logits.data(), a.data(), pb, pl,
                                                     v.smoothing, N, K);
    };
    cpu::softmax_cross_entropy_soft(probs.data(), dlogits.data(), logits.data(), a.data(), pb, pl, v.smoothing, N, K);
    Gradients analytic{dlogits, {}}, numeric{ser::test::central_differences(logits, loss, 1e-5), {}};
    const double err = ser::test::compare_gradients(analytic, numeric);
    // h = 1e-5: round-off ~1e-16*|loss|/h stays far below the 1e-3 floor of the comparison.
    CHECK_MESSAGE(err < kTol, variant << ": max relative error " << err);
    // Each row's gradient sums to 0 (probabilities and targets both sum to 1).
    for (int n = 0; n < N; ++n) {
      double row = 0.0;
      for (int k = 0; k < K; ++k) row += dlogits[n * K + k];
      CHECK(std::fabs(row) < 1e-15);
    }
  }
}

TEST_CASE("the checker fails on a deliberately perturbed gradient") {
  std::mt19937_64 rng(18);
  Conv2d<double> conv("conv", 2, 3, 3, 3, 1, 1);
  LayerHarness h(conv, Shape{2, 2, 5, 4}, rng);
  Gradients a = h.analytic();
  const Gradients n = h.numeric();
  REQUIRE(ser::test::compare_gradients(a, n) < kTol);  // correct gradients pass...
  a.dparams[7] *= 1.0 + 1e-4;                          // ...a 1e-4 relative slip in one weight does not
  CHECK(ser::test::compare_gradients(a, n) > kTol);
  a = h.analytic();
  a.dx[3] += 1e-3;                                     // nor a small absolute error in one input gradient
  CHECK(ser::test::compare_gradients(a, n) > kTol);
}

}  // TEST_SUITE
