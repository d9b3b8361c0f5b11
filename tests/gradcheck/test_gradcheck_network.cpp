// Whole-network gradient check in double precision: the seed architecture at a tiny size
// (2 x 1 x 22 x 22, three conv blocks, two dense layers with fixed dropout masks, BN in
// training mode) through the mean softmax cross-entropy, against central differences of
// the loss for EVERY parameter and every input element.
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

// Smallest |pre-ReLU conv output| and smallest non-zero top-2 gap of the pool windows
// (exact ties come from ReLU zeros and stay tied under any perturbation).
void distance_to_kinks(Network<double>& net, double& min_conv, double& min_gap) {
  min_conv = min_gap = INFINITY;
  for (std::size_t i = 0; i < net.layer_count(); ++i) {
    const std::string kind = net.layer(i).kind();
    if (kind == "Conv2d")
      for (double v : net.output(i)) min_conv = std::min(min_conv, std::fabs(v));
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

}  // namespace

TEST_SUITE("gradcheck") {

TEST_CASE("whole network: every parameter gradient and the input gradient match central differences") {
  Network<double> net(tiny_architecture());
  std::vector<double> params(net.parameter_count()), grads(net.parameter_count(), 0.0), state(net.state_count());
  net.bind(params.data(), grads.data(), state.data());
  Generator gen(7);
  net.initialize(gen);
  std::mt19937_64 rng(25);
  std::normal_distribution<double> normal(0.0, 1.0);
  for (auto& p : params) p += 0.1 * normal(rng);  // non-trivial biases, gamma, beta
  const int N = 2;
  const Shape xs{N, 1, 22, 22};
  std::vector<double> x(xs.numel());
  for (auto& v : x) v = normal(rng);
  const std::vector<int32_t> labels{0, 2};
  const auto dropouts = net.dropout_layers();
  for (std::size_t k = 0; k < dropouts.size(); ++k) {  // fixed masks (N, units): drop every third unit
    std::vector<double> mask(static_cast<std::size_t>(N) * net.architecture().dense_units[k]);
    for (std::size_t i = 0; i < mask.size(); ++i) mask[i] = (i % 3 == 1) ? 0.0 : 2.0;
    dropouts[k]->inject_mask(mask);
  }

  net.set_compute_input_gradient(true);
  net.forward(x.data(), xs, Mode::Train, nullptr);
  double min_conv, min_gap;
  distance_to_kinks(net, min_conv, min_gap);
  // h = 1e-5: smaller steps lose to round-off in the mean loss (measured: 5e-6 at 1e-6, 5e-5 at 1e-7).
  const double h = 1e-5;
  // A step h moves a conv output by about h * |weight or activation| <~ 3e-5: stay >10x away from the kinks.
  REQUIRE_MESSAGE(min_conv > 4e-4, "a conv output is near the ReLU kink: " << min_conv);
  REQUIRE_MESSAGE(min_gap > 4e-4, "a max-pool window is nearly tied: " << min_gap);
  net.backward_from_labels(labels.data(), N);
  ser::test::Gradients analytic{net.input_gradient(), grads};

  std::vector<double> probs(static_cast<std::size_t>(N) * 3);
  auto loss = [&]() {
    const double* logits = net.forward(x.data(), xs, Mode::Train, nullptr);
    return cpu::softmax_cross_entropy<double>(probs.data(), nullptr, logits, labels.data(), N, 3);
  };
  ser::test::Gradients numeric;
  numeric.dparams = ser::test::central_differences(params, loss, h);
  numeric.dx = ser::test::central_differences(x, loss, h);
  const double err = ser::test::compare_gradients(analytic, numeric);
  CHECK_MESSAGE(err < 1e-6, "whole-network max relative gradient error " << err);
  // Every parameter tensor got a gradient (none silently left at zero).
  int64_t offset = 0;
  for (const auto& spec : net.parameter_specs()) {
    const auto begin = grads.begin() + offset, end = begin + spec.shape.numel();
    CHECK_MESSAGE(std::any_of(begin, end, [](double g) { return g != 0.0; }), spec.name << " has an all-zero gradient");
    offset += spec.shape.numel();
  }
}

}  // TEST_SUITE
