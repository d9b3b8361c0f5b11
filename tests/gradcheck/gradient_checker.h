// Central finite-difference gradient checker for Layer<double> (tests only).
// The scalar checked is L = <dy, layer(x)> for a fixed random dy, so dL/dx and
// dL/dparams are exactly what backward(dy) returns. Analytic and numeric gradients are
// computed separately and compared by compare_gradients(), so a test can perturb one
// side and prove the comparison fails.
#pragma once

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>
#include <vector>

#include "engine/nn/layer.h"

namespace ser::test {

struct Gradients {
  std::vector<double> dx, dparams;
};

// d loss / d v[i] by central differences (loss() reads v), restoring v afterwards.
inline std::vector<double> central_differences(std::vector<double>& v, const std::function<double()>& loss,
                                               double h) {
  std::vector<double> out(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    const double saved = v[i];
    v[i] = saved + h;
    const double plus = loss();
    v[i] = saved - h;
    const double minus = loss();
    v[i] = saved;
    out[i] = (plus - minus) / (2 * h);
  }
  return out;
}

// Relative error per element: |a - n| / max(|a|, |n|, floor); the maximum over all.
inline double compare_gradients(const Gradients& analytic, const Gradients& numeric, double floor = 1e-3) {
  double worst = 0.0;
  auto cmp = [&](const std::vector<double>& a, const std::vector<double>& n) {
    if (a.size() != n.size()) worst = INFINITY;
    for (std::size_t i = 0; i < std::min(a.size(), n.size()); ++i)
      worst = std::max(worst, std::fabs(a[i] - n[i]) / std::max({std::fabs(a[i]), std::fabs(n[i]), floor}));
  };
  cmp(analytic.dx, numeric.dx);
  cmp(analytic.dparams, numeric.dparams);
  return worst;
}

// One layer with its input, parameters (+ state) and upstream gradient.
struct LayerHarness {
  nn::Layer<double>& layer;
  Shape x_shape;
  std::vector<double> x, params, state, dy;
  nn::Mode mode = nn::Mode::Train;

  LayerHarness(nn::Layer<double>& l, Shape xs, std::mt19937_64& rng) : layer(l), x_shape(xs) {
    std::normal_distribution<double> normal(0.0, 1.0);
    x.resize(static_cast<std::size_t>(xs.numel()));
    for (auto& v : x) v = normal(rng);
    params.resize(static_cast<std::size_t>(nn::total_numel(l.parameter_specs())));
    for (auto& v : params) v = normal(rng) * 0.5 + 0.1;
    state.resize(static_cast<std::size_t>(nn::total_numel(l.state_specs())));
    for (auto& v : state) v = 0.5 + std::fabs(normal(rng));  // valid moving mean/var
    dy.resize(static_cast<std::size_t>(l.output_shape(xs).numel()));
    for (auto& v : dy) v = normal(rng);
  }

  double loss() {
    std::vector<double> grads(params.size()), st = state;  // BN Train updates state: keep ours fixed
    layer.bind(params.data(), grads.data(), st.data());
    const Shape ys = layer.output_shape(x_shape);
    std::vector<double> y(static_cast<std::size_t>(ys.numel()));
    layer.forward({x.data(), x_shape}, {y.data(), ys}, mode);
    double l = 0.0;
    for (std::size_t i = 0; i < y.size(); ++i) l += dy[i] * y[i];
    return l;
  }

  Gradients analytic() {
    Gradients g{std::vector<double>(x.size()), std::vector<double>(params.size(), 0.0)};
    std::vector<double> st = state;
    layer.bind(params.data(), g.dparams.data(), st.data());
    const Shape ys = layer.output_shape(x_shape);
    std::vector<double> y(static_cast<std::size_t>(ys.numel()));
    layer.forward({x.data(), x_shape}, {y.data(), ys}, mode);
    layer.backward({dy.data(), ys}, {g.dx.data(), x_shape});
    return g;
  }

  // h = 1e-5: truncation error O(h^2) ~ 1e-10 and round-off ~ 1e-16*|L|/h ~ 1e-10 for these sizes.
  Gradients numeric(double h = 1e-5) {
    return {central_differences(x, [&] { return loss(); }, h),
            central_differences(params, [&] { return loss(); }, h)};
  }
};

}  // namespace ser::test
