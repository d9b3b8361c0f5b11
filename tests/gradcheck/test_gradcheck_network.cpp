// Whole-network gradient check in double precision: the seed architecture at a tiny size
// (2 x 1 x 22 x 22, three conv blocks, two dense layers with fixed dropout masks, BN in
// training mode) through the mean softmax cross-entropy, against central differences of
// the loss for EVERY parameter and every input element. The same for the recipe variants:
// head "gap" (global average pooling) with no dense layers through the soft-target loss
// (label smoothing, mixup), and block "conv-bn-relu" with either head.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "engine/cpu/softmax_cross_entropy.h"
#include "engine/nn/network.h"
#include "gradcheck/gradient_checker.h"

using namespace ser;
using namespace ser::nn;

namespace {

Architecture tiny_architecture() {
  Architecture a;
  a.in_channels = 1;
  a.height = a.width = 22;  // 22 -> 20 -> 10 -> 8 -> 4 -> 2 -> 1
  a.conv_channels = {2, 3, 4};
  a.dense_units = {5, 4};
  a.classes = 3;
  a.dropout = 0.5f;
  return a;
}

// Smallest |ReLU input| (a conv output, a BN output for conv-bn-relu, or a dense output)
// and smallest non-zero top-2 gap of the pool windows (exact ties come from ReLU zeros and
// stay tied under any perturbation).
void distance_to_kinks(Network<double>& net, double& min_relu, double& min_gap) {
  min_relu = min_gap = INFINITY;
  for (std::size_t i = 1; i < net.layer_count(); ++i) {
    const std::string kind = net.layer(i).kind();
    if (kind == "ReLU")
      for (double v : net.output(i - 1)) min_relu = std::min(min_relu, std::fabs(v));
    if (kind == "MaxPool2d") {
      const Shape& s = net.output_shape(i - 1);  // the pool's input
      const std::vector<double>& x = net.output(i - 1);
      const int64_t H = s[2], W = s[3];
      for (int64_t p = 0; p < s[0] * s[1]; ++p)
        for (int64_t r = 0; r + 1 < H; r += 2)
          for (int64_t c = 0; c + 1 < W; c += 2) {
            const double* b = x.data() + p * H * W + r * W + c;
            double w[4] = {b[0], b[1], b[W], b[W + 1]};
            std::sort(w, w + 4);
            if (w[3] != w[2]) min_gap = std::min(min_gap, w[3] - w[2]);
          }
    }
  }
}

// The loss: hard labels (softmax_cross_entropy) or soft targets (labels_b / lambda may be
// empty: no mixup).
struct Targets {
  std::vector<int32_t> labels, labels_b;
  std::vector<float> lambda;
  double smoothing = 0.0;
  bool soft() const { return smoothing > 0.0 || !labels_b.empty(); }
};

// Every parameter gradient and the input gradient of `arch` (initialised from `init_seed`,
// perturbed so biases, gamma and beta are non-trivial) against central differences. The
// seeds of each case are ones whose points all lie outside the kink margins required below
// (with a few thousand ReLU inputs, about half of all seeds put one within 4e-4 of 0).
void check_network(const Architecture& arch, int N, const Targets& targets, uint64_t init_seed, uint64_t data_seed) {
  Network<double> net(arch);
  std::vector<double> params(net.parameter_count()), grads(net.parameter_count(), 0.0), state(net.state_count());
  net.bind(params.data(), grads.data(), state.data());
  Generator gen(init_seed);
  net.initialize(gen);
  std::mt19937_64 rng(data_seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  for (auto& p : params) p += 0.1 * normal(rng);  // non-trivial biases, gamma, beta
  const Shape xs{N, arch.in_channels, arch.height, arch.width};
  std::vector<double> x(xs.numel());
  for (auto& v : x) v = normal(rng);
  const auto dropouts = net.dropout_layers();
  for (std::size_t k = 0; k < dropouts.size(); ++k) {  // fixed masks (N, units): drop every third unit
    std::vector<double> mask(static_cast<std::size_t>(N) * arch.dense_units[k]);
    for (std::size_t i = 0; i < mask.size(); ++i) mask[i] = (i % 3 == 1) ? 0.0 : 2.0;
    dropouts[k]->inject_mask(mask);
  }
  REQUIRE(static_cast<int>(targets.labels.size()) == N);
  const int32_t* labels_b = targets.labels_b.empty() ? nullptr : targets.labels_b.data();
  const float* lambda = targets.lambda.empty() ? nullptr : targets.lambda.data();

  net.set_compute_input_gradient(true);
  net.forward(x.data(), xs, Mode::Train, nullptr);
  double min_relu, min_gap;
  distance_to_kinks(net, min_relu, min_gap);
  // h = 1e-5: smaller steps lose to round-off in the mean loss (measured: 5e-6 at 1e-6, 5e-5 at 1e-7).
  const double h = 1e-5;
  // A step h moves a ReLU input by about h * |weight or activation| <~ 3e-5: stay >10x away from the kinks.
  REQUIRE_MESSAGE(min_relu > 4e-4, "a ReLU input is near the kink: " << min_relu);
  REQUIRE_MESSAGE(min_gap > 4e-4, "a max-pool window is nearly tied: " << min_gap);
  if (targets.soft())
    net.backward_from_soft_targets(targets.labels.data(), labels_b, lambda, targets.smoothing, N);
  else
    net.backward_from_labels(targets.labels.data(), N);
  ser::test::Gradients analytic{net.input_gradient(), grads};

  std::vector<double> probs(static_cast<std::size_t>(N) * arch.classes);
  auto loss = [&]() {
    const double* logits = net.forward(x.data(), xs, Mode::Train, nullptr);
    if (targets.soft())
      return cpu::softmax_cross_entropy_soft<double>(probs.data(), nullptr, logits, targets.labels.data(), labels_b,
                                                     lambda, targets.smoothing, N, arch.classes);
    return cpu::softmax_cross_entropy<double>(probs.data(), nullptr, logits, targets.labels.data(), N, arch.classes);
  };
  ser::test::Gradients numeric;
  numeric.dparams = ser::test::central_differences(params, loss, h);
  numeric.dx = ser::test::central_differences(x, loss, h);
  const double err = ser::test::compare_gradients(analytic, numeric);
  CHECK_MESSAGE(err < 1e-6, "whole-network max relative gradient error " << err);
  // Every parameter tensor got a gradient (none silently left at zero), except the conv biases
  // of conv-bn-relu: BN right after the conv removes any per-channel shift, so theirs is 0.
  const double g_max = *std::max_element(grads.begin(), grads.end(), [](double a, double b) { return std::fabs(a) < std::fabs(b); });
  int64_t offset = 0;
  for (const auto& spec : net.parameter_specs()) {
    const auto begin = grads.begin() + offset, end = begin + spec.shape.numel();
    const bool zero_by_design = arch.block == "conv-bn-relu" && spec.name.rfind("conv", 0) == 0 &&
                                spec.name.size() > 5 && spec.name.substr(spec.name.size() - 5) == ".bias";
    if (zero_by_design)
      CHECK_MESSAGE(std::all_of(begin, end, [&](double g) { return std::fabs(g) <= 1e-12 * std::fabs(g_max); }),
                    spec.name << " should have a zero gradient (BN follows)");
    else
      CHECK_MESSAGE(std::any_of(begin, end, [](double g) { return g != 0.0; }), spec.name << " has an all-zero gradient");
    offset += spec.shape.numel();
  }
}

}  // namespace

TEST_SUITE("gradcheck") {

TEST_CASE("whole network: every parameter gradient and the input gradient match central differences") {
  Targets t;
  t.labels = {0, 2};
  check_network(tiny_architecture(), 2, t, 7, 25);
}

TEST_CASE("whole network, head gap with no dense layers (the robust recipe's shape): soft targets") {
  Architecture a = tiny_architecture();
  a.height = a.width = 14;  // 14 -> 12 -> 6 -> 4 -> 2: the GAP averages 2x2 planes
  a.conv_channels = {2, 3};
  a.head = "gap";
  a.dense_units = {};
  a.bn_momentum = 0.9;
  SUBCASE("label smoothing 0.1") {
    Targets t;
    t.labels = {0, 2, 1};
    t.smoothing = 0.1;
    check_network(a, 3, t, 9, 27);
  }
  SUBCASE("mixup pairs and label smoothing 0.1") {
    Targets t;
    t.labels = {0, 2, 1};
    t.labels_b = {2, 0, 1};
    t.lambda = {0.7f, 0.55f, 1.0f};
    t.smoothing = 0.1;
    check_network(a, 3, t, 9, 27);
  }
  SUBCASE("hard labels") {
    Targets t;
    t.labels = {1, 2, 0};
    check_network(a, 3, t, 9, 27);
  }
}

TEST_CASE("whole network, block conv-bn-relu: head gap and head flatten (with dense layers and dropout)") {
  Architecture a = tiny_architecture();
  a.block = "conv-bn-relu";
  SUBCASE("head flatten, two dense layers, hard labels") {
    Targets t;
    t.labels = {0, 2};
    check_network(a, 2, t, 15, 33);
  }
  SUBCASE("head gap, one dense layer, mixup + smoothing") {
    a.height = a.width = 14;
    a.conv_channels = {2, 3};
    a.head = "gap";
    a.dense_units = {5};
    Targets t;
    t.labels = {1, 0, 2};
    t.labels_b = {0, 0, 1};
    t.lambda = {0.6f, 0.9f, 0.5f};
    t.smoothing = 0.2;
    check_network(a, 3, t, 16, 34);
  }
}

}  // TEST_SUITE
