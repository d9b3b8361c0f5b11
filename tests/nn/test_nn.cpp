// Layer and model invariances: dropout and BN mode equivalences, clear errors for bad
// shapes and arguments, arena views, Keras initialisation, architecture JSON, and Adam
// against the textbook bias-corrected formula.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <random>

#include "engine/core/error.h"
#include "engine/cpu/parallel.h"
#include "engine/nn/adam.h"
#include "engine/nn/layers.h"
#include "engine/nn/model.h"

using namespace ser;
using namespace ser::nn;

namespace {

std::vector<float> random_values(int64_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> v(static_cast<std::size_t>(n));
  for (auto& x : v) x = normal(rng);
  return v;
}

Architecture small_architecture(float dropout = 0.5f) {
  Architecture a;
  a.height = a.width = 30;  // 30 -> 28 -> 14 -> 12 -> 6 -> 4 -> 2
  a.conv_channels = {4, 6, 8};
  a.dense_units = {16, 8};
  a.classes = 4;
  a.dropout = dropout;
  return a;
}

// Runs layer.forward on x (shape s) and returns y.
std::vector<float> run(Layer<float>& layer, const std::vector<float>& x, const Shape& s, Mode mode) {
  const Shape ys = layer.output_shape(s);
  std::vector<float> y(static_cast<std::size_t>(ys.numel()));
  layer.forward({x.data(), s}, {y.data(), ys}, mode);
  return y;
}

}  // namespace

TEST_SUITE("nn") {

TEST_CASE("dropout with p = 0 in training equals evaluation, and needs no generator") {
  Dropout<float> dropout("dropout", 0.0);
  const Shape s{3, 10};
  const auto x = random_values(s.numel(), 1);
  CHECK(run(dropout, x, s, Mode::Train) == x);
  CHECK(run(dropout, x, s, Mode::Eval) == x);
}

TEST_CASE("dropout with a generator: inverted scaling, about 1-p kept, reproducible streams") {
  Dropout<float> dropout("dropout", 0.5);
  const Shape s{16, 512};
  const std::vector<float> ones(static_cast<std::size_t>(s.numel()), 1.0f);
  CHECK_THROWS_AS(run(dropout, ones, s, Mode::Train), Error);  // Train, p > 0, no generator
  Generator gen(5);
  dropout.set_generator(&gen);
  const auto y1 = run(dropout, ones, s, Mode::Train);
  int64_t kept = 0;
  CHECK(std::all_of(y1.begin(), y1.end(), [](float v) { return v == 0.0f || v == 2.0f; }));
  for (float v : y1) kept += v != 0.0f;
  CHECK(std::abs(static_cast<double>(kept) / s.numel() - 0.5) < 0.02);
  const auto y2 = run(dropout, ones, s, Mode::Train);
  CHECK(y1 != y2);  // one stream per forward
  Generator same(5);
  dropout.set_generator(&same);
  CHECK(run(dropout, ones, s, Mode::Train) == y1);
  CHECK(run(dropout, ones, s, Mode::Eval) == ones);
}

TEST_CASE("BatchNorm eval with moving stats set to the batch stats equals training mode on that batch") {
  const int C = 3;
  BatchNorm2d<float> bn("bn", C);
  std::vector<float> params{1.5f, 0.5f, 2.0f, 0.1f, -0.2f, 0.3f};  // gamma (C), beta (C)
  std::vector<float> grads(6), state{0, 0, 0, 1, 1, 1};            // moving mean (C), var (C)
  bn.bind(params.data(), grads.data(), state.data());
  const Shape s{4, C, 5, 6};
  auto x = random_values(s.numel(), 2);
  for (auto& v : x) v = 3.0f * v + 1.0f;
  const auto y_train = run(bn, x, s, Mode::Train);
  for (int c = 0; c < C; ++c) {  // moving stats moved 1 % toward the batch stats
    CHECK(state[c] == doctest::Approx(0.01 * bn.batch_mean()[c]).epsilon(1e-5));
    CHECK(state[C + c] == doctest::Approx(0.99 + 0.01 * bn.batch_var()[c]).epsilon(1e-5));
  }
  for (int c = 0; c < C; ++c) {
    state[c] = bn.batch_mean()[c];
    state[C + c] = bn.batch_var()[c];
  }
  const auto y_eval = run(bn, x, s, Mode::Eval);
  for (std::size_t i = 0; i < y_train.size(); ++i) CHECK(y_eval[i] == doctest::Approx(y_train[i]).epsilon(1e-5));
}

TEST_CASE("max pooling sends the gradient of a tied window to its first maximum") {
  MaxPool2d<float> pool("pool");
  const Shape s{1, 1, 3, 5};  // odd: last row and column dropped
  const std::vector<float> x{2, 2, 1, 7, 9,  //
                             2, 0, 7, 7, 9,  //
                             9, 9, 9, 9, 9};
  CHECK(run(pool, x, s, Mode::Train) == std::vector<float>{2, 7});
  const std::vector<float> dy{1, 10};
  std::vector<float> dx(15, -1.0f);
  pool.backward({dy.data(), Shape{1, 1, 1, 2}}, {dx.data(), s});
  CHECK(dx == std::vector<float>{1, 0, 0, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
}

TEST_CASE("shape and argument errors are clear ser::Errors") {
  Conv2d<float> conv("conv1", 2, 4, 3, 3);
  std::vector<float> p(static_cast<std::size_t>(total_numel(conv.parameter_specs()))), g(p.size());
  conv.bind(p.data(), g.data(), nullptr);
  std::vector<float> x(1 * 3 * 8 * 8), y(1 * 4 * 6 * 6);
  try {
    conv.forward({x.data(), Shape{1, 3, 8, 8}}, {y.data(), Shape{1, 4, 6, 6}}, Mode::Train);
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("conv1") != std::string::npos);
    CHECK(std::string(e.what()).find("channels") != std::string::npos);
  }
  CHECK_THROWS_AS(conv.forward({x.data(), Shape{1, 2, 8, 8}}, {y.data(), Shape{1, 4, 8, 8}}, Mode::Train), Error);
  CHECK_THROWS_AS(conv.backward({y.data(), Shape{1, 4, 6, 6}}, {x.data(), Shape{1, 2, 8, 8}}), Error);  // no forward
  CHECK_THROWS_AS(conv.output_shape(Shape{1, 2, 2, 2}), Error);  // smaller than the kernel
  CHECK_THROWS_AS(conv.forward({x.data(), Shape{1, 2, 8, 8}, Device::CUDA}, {y.data(), Shape{1, 4, 6, 6}}, Mode::Eval),
                  Error);  // no CUDA implementation: an error, never a fallback
  CHECK_THROWS_AS(Dense<float>("fc", 0, 3), Error);
  CHECK_THROWS_AS(Dropout<float>("d", 1.0), Error);
  CHECK_THROWS_AS(Dense<float>("fc", 5, 3).output_shape(Shape{2, 4}), Error);

  Model model(small_architecture());
  Generator gen(1);
  model.initialize(gen);
  CHECK_THROWS_AS(model.forward(Tensor(Shape{2, 1, 28, 30}), Mode::Eval), Error);
  CHECK_THROWS_AS(model.backward_from_labels({0, 1}), Error);  // no forward yet
  model.forward(Tensor(Shape{2, 1, 30, 30}), Mode::Eval);
  CHECK_THROWS_AS(model.backward_from_labels({0}), Error);      // wrong count
  CHECK_THROWS_AS(model.backward_from_labels({0, 4}), Error);   // label out of range
  CHECK_THROWS_AS(model.forward(Tensor(Shape{2, 1, 30, 30}), Mode::Train), Error);  // dropout needs a generator
  if (!cuda_device_available()) CHECK_THROWS_AS(Model(small_architecture(), Device::CUDA), Error);
  Architecture too_small = small_architecture();
  too_small.height = 10;
  CHECK_THROWS_AS(Model{too_small}, Error);
}

TEST_CASE("the model's named tensors are views into the contiguous arenas") {
  Model model(small_architecture());
  Generator gen(3);
  model.initialize(gen);
  auto state = model.named_state();
  int64_t trainable = 0;
  const float* base = model.parameters().data();
  for (auto& [name, t] : state) {
    if (name.find("moving") != std::string::npos) continue;
    CHECK(t.data() == base + trainable);  // contiguous, in order
    trainable += t.numel();
  }
  CHECK(trainable == model.parameter_count());
  CHECK(model.parameters().numel() == model.parameter_count());
  CHECK(model.gradients().numel() == model.parameter_count());
  // Writing through a view changes the arena, and the other way round.
  state[0].second[0] = 42.0f;
  CHECK(model.parameters()[0] == 42.0f);
  model.parameters()[1] = -7.0f;
  CHECK(state[0].second[1] == -7.0f);
  auto grads = model.named_gradients();
  CHECK(grads[2].second.data() == model.gradients().data() + (state[2].second.data() - base));
  // Names as in the reference data.
  CHECK(state[0].first == "conv1.weight");
  CHECK(state[1].first == "conv1.bias");
  CHECK(state[2].first == "bn1.gamma");
  CHECK(state.back().first == "bn3.moving_var");
}

TEST_CASE("seed architecture: parameter count, Keras initialisation, JSON round trip") {
  const Architecture seed = Architecture::seed();
  Model model(seed);
  // Counted by hand from the layer sizes: conv (Cout*Cin*9 + Cout), BN (2C), dense (out*in + out).
  int64_t expected = 0, cin = 1;
  for (int64_t c : {32, 64, 128, 256}) expected += c * cin * 9 + c + 2 * c, cin = c;
  expected += (256 * 6 * 6) * 512 + 512 + 512 * 256 + 256 + 256 * 6 + 6;
  CHECK(model.parameter_count() == expected);  // 5 240 774

  Generator gen(42);
  model.initialize(gen);
  for (auto& named : model.named_state()) {  // no structured binding: C++17 lambdas cannot capture one
    const std::string& name = named.first;
    const auto v = named.second.to_vector();
    if (name == "conv2.weight" || name == "fc1.weight") {
      const double fan_in = name == "conv2.weight" ? 32 * 9 : 9216, fan_out = name == "conv2.weight" ? 64 * 9 : 512;
      const double limit = std::sqrt(6.0 / (fan_in + fan_out));
      double max_abs = 0.0, sum = 0.0;
      for (float x : v) max_abs = std::max(max_abs, std::fabs(double(x))), sum += x;
      CHECK(max_abs <= limit);
      CHECK(max_abs > 0.95 * limit);  // uniform over the whole range
      CHECK(std::fabs(sum / v.size()) < 0.05 * limit);
    }
    const bool is_one = name.find("gamma") != std::string::npos || name.find("moving_var") != std::string::npos;
    if (name.find("bias") != std::string::npos || name.find("beta") != std::string::npos ||
        name.find("moving_mean") != std::string::npos || is_one)
      CHECK_MESSAGE(std::all_of(v.begin(), v.end(), [&](float x) { return x == (is_one ? 1.0f : 0.0f); }), name);
  }
  Model again(seed);
  Generator gen2(42);
  again.initialize(gen2);
  CHECK(again.parameters().to_vector() == model.parameters().to_vector());

  const Architecture back = Architecture::from_json(seed.to_json());
  CHECK(back == seed);
  CHECK_THROWS_AS(Architecture::from_json("{not json"), Error);
  CHECK_THROWS_AS(Architecture::from_json(R"({"in_channels": 1})"), Error);
  auto bad = nlohmann::json::parse(seed.to_json());
  bad["classes"] = "six";
  CHECK_THROWS_AS(Architecture::from_json(bad.dump()), Error);
  bad["classes"] = 1;
  CHECK_THROWS_AS(Architecture::from_json(bad.dump()), Error);
}

TEST_CASE("load_named_state checks names and shapes") {
  Model a(small_architecture()), b(small_architecture());
  Generator gen(9);
  a.initialize(gen);
  std::map<std::string, Tensor> state;
  for (auto& [name, t] : a.named_state()) state[name] = t.clone();
  b.load_named_state(state);
  CHECK(b.parameters().to_vector() == a.parameters().to_vector());
  auto missing = state;
  missing.erase("fc1.bias");
  CHECK_THROWS_AS(b.load_named_state(missing), Error);
  auto extra = state;
  extra["fc9.weight"] = Tensor(Shape{1});
  CHECK_THROWS_AS(b.load_named_state(extra), Error);
  auto wrong = state;
  wrong["out.bias"] = Tensor(Shape{5});
  CHECK_THROWS_AS(b.load_named_state(wrong), Error);
}

TEST_CASE("Adam matches the bias-corrected textbook form of the Keras update on a tiny case") {
  // Keras' alpha_t*m/(sqrt(v)+eps) equals lr*m_hat/(sqrt(v_hat) + eps/sqrt(1-beta2^t)).
  const AdamConfig cfg;
  Adam adam(cfg, 2);
  Tensor w = Tensor::from_vector(Shape{2}, {1.0f, -2.0f});
  double wd[2] = {1.0, -2.0}, m[2] = {0, 0}, v[2] = {0, 0};
  const double grads[3][2] = {{0.5, -1e-6}, {-0.25, 0.0}, {0.125, 3.0}};
  for (int t = 1; t <= 3; ++t) {
    const Tensor g = Tensor::from_vector(Shape{2}, {float(grads[t - 1][0]), float(grads[t - 1][1])});
    adam.step(w, g);
    // First step from zero moments: m_hat = g, v_hat = g^2, so a gradient much larger than
    // epsilon moves its weight by lr against its sign, whatever its size (0.5 here).
    if (t == 1) CHECK(1.0 - w[0] == doctest::Approx(cfg.lr).epsilon(1e-3));
    for (int i = 0; i < 2; ++i) {
      const double gi = static_cast<float>(grads[t - 1][i]);
      m[i] = cfg.beta1 * m[i] + (1 - cfg.beta1) * gi;
      v[i] = cfg.beta2 * v[i] + (1 - cfg.beta2) * gi * gi;
      const double m_hat = m[i] / (1 - std::pow(cfg.beta1, t)), v_hat = v[i] / (1 - std::pow(cfg.beta2, t));
      wd[i] -= cfg.lr * m_hat / (std::sqrt(v_hat) + cfg.epsilon / std::sqrt(1 - std::pow(cfg.beta2, t)));
      CHECK(w[i] == doctest::Approx(wd[i]).epsilon(1e-6));
      CHECK(adam.m()[i] == doctest::Approx(m[i]).epsilon(1e-5));
      CHECK(adam.v()[i] == doctest::Approx(v[i]).epsilon(1e-5));
    }
  }
  CHECK(adam.steps() == 3);
  Tensor short_params(Shape{3});
  CHECK_THROWS_AS(adam.step(short_params, Tensor(Shape{2})), Error);
}

TEST_CASE("a training step on a small model lowers the loss on a fixed batch") {
  Model model(small_architecture(0.0f));
  Generator gen(4);
  model.initialize(gen);
  const Tensor x = Tensor::from_vector(Shape{8, 1, 30, 30}, random_values(8 * 900, 4));
  const std::vector<int32_t> labels{0, 1, 2, 3, 0, 1, 2, 3};
  Adam adam(AdamConfig{}, model.parameter_count());
  double first = 0, last = 0;
  for (int step = 0; step < 30; ++step) {
    model.forward(x, Mode::Train);
    model.zero_grad();
    last = model.backward_from_labels(labels);
    if (step == 0) first = last;
    adam.step(model.parameters(), model.gradients());
  }
  CHECK(last < 0.5 * first);
}

}  // TEST_SUITE

TEST_SUITE("nn") {

TEST_CASE("parallel_for covers every index once and passes exceptions to the caller") {
  std::vector<int> hits(100003, 0);
  cpu::parallel_for(static_cast<int64_t>(hits.size()), 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) ++hits[i];
  });
  CHECK(std::all_of(hits.begin(), hits.end(), [](int h) { return h == 1; }));
  // The last chunk throws: a worker's with 2+ threads, the caller's with one.
  CHECK_THROWS_AS(cpu::parallel_for(1000, 1, [](int64_t b, int64_t e) { SER_CHECK(e != 1000, "chunk {}..{}", b, e); }),
                  Error);
  // The pool still works after an exception: every index is again covered exactly once
  // (a worker lost to the exception would leave its chunk at 0, or hang the call).
  std::fill(hits.begin(), hits.end(), 0);
  cpu::parallel_for(static_cast<int64_t>(hits.size()), 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) ++hits[i];
  });
  CHECK(std::all_of(hits.begin(), hits.end(), [](int h) { return h == 1; }));
}

}  // TEST_SUITE
