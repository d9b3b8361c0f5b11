// Golden tests of the layers, the whole network and Adam against the PyTorch/NumPy
// float64 references in $SER_REFERENCE_DIR/network (layouts and tolerances:
// tests/data/reference/network/README.md). Every case folder is run: layers/<case>/
// dispatches on layer.json "type", net_*/ on net.json. Each case runs the float32
// engine path (the real layers / Model / Adam) at the README's float32 tolerances and
// the double instantiation of the same code at the float64 level. The whole-network cases
// also run on CUDA (suite "gpu", skipped without a device) at the same float32 tolerances.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/core/error.h"
#include "engine/cpu/adam.h"
#include "engine/cpu/softmax_cross_entropy.h"
#include "engine/io/npy.h"
#include "engine/nn/adam.h"
#include "engine/nn/layers.h"
#include "engine/nn/model.h"
#include "engine/nn/network.h"
#include "support/gpu.h"
#include "support/reference.h"

using namespace ser;
using namespace ser::nn;
namespace fs = std::filesystem;

namespace {

// Tolerances (max-norm relative error), from the README of the network reference.
constexpr double kLayerTolF32 = 1e-5;    // "a tolerance of 1e-05 covers every single-layer case"
constexpr double kLayerTolF64 = 1e-10;   // "a float64 engine should match them to about 1e-12"
constexpr double kNetTolF64 = 1e-10;     // "and the network case(s) to about 1e-10"
// net_small_64 "suggested tol." column (max-norm): engine reductions are accumulated in double.
constexpr double kTolActivations = 5e-5, kTolBatchStats = 1e-5, kTolLogits = 5e-5, kTolEval = 1e-5,
                 kTolLoss = 1e-5, kTolGrads = 1e-4, kTolInputGrad = 5e-5, kTolActivationGrads = 5e-5,
                 kTolMovingStats = 1e-6, kTolAdamIsolated = 1e-6;

nlohmann::json read_json(const fs::path& path) {
  std::ifstream in(path);
  REQUIRE_MESSAGE(in.good(), "cannot open " << path.string());
  return nlohmann::json::parse(in);
}

struct Ref {
  std::vector<double> values;
  Shape shape;
};

Ref load(const fs::path& path) {
  const Array a = read_npy(path);
  return {a.as_double(), Shape(a.shape)};
}

template <typename T>
std::vector<T> cast(const std::vector<double>& v) {
  return std::vector<T>(v.begin(), v.end());
}

// max|a - ref| / max|ref| (0/0 counts as exact).
template <typename T>
double max_rel_error(const std::vector<T>& a, const std::vector<double>& ref) {
  REQUIRE(a.size() == ref.size());
  double diff = 0.0, scale = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff = std::max(diff, std::fabs(static_cast<double>(a[i]) - ref[i]));
    scale = std::max(scale, std::fabs(ref[i]));
  }
  return scale == 0.0 ? diff : diff / scale;
}

template <typename T>
void expect_close(const std::string& what, const std::vector<T>& got, const Ref& ref, double tol) {
  const double err = max_rel_error(got, ref.values);
  CHECK_MESSAGE(err <= tol, what << ": max-norm relative error " << err << " > " << tol);
}

// ---- single-layer cases ---------------------------------------------------------------

// Runs one layer forward (mode) and backward on the case's x / params / dy, checks y, dx,
// dparams (and the BN batch statistics and moving stats) against the reference.
template <typename T>
void run_layer_case(Layer<T>& layer, const fs::path& dir, Mode mode, double tol) {
  const std::string tag = dir.filename().string() + (sizeof(T) == 4 ? " [f32]" : " [f64]");
  const Ref x = load(dir / "x.npy");
  auto load_specs = [&](const std::vector<ParamSpec>& specs) {
    std::vector<T> arena;
    for (const auto& spec : specs) {
      const Ref p = load(dir / "params" / (spec.name + ".npy"));
      REQUIRE_MESSAGE(p.shape == spec.shape, tag << ": params/" << spec.name << " shape " << p.shape.str());
      arena.insert(arena.end(), p.values.begin(), p.values.end());
    }
    return arena;
  };
  std::vector<T> params = load_specs(layer.parameter_specs());
  std::vector<T> state = load_specs(layer.state_specs());
  std::vector<T> grads(params.size(), T(0));
  layer.bind(params.data(), grads.data(), state.data());

  const std::vector<T> xs = cast<T>(x.values);
  const Shape y_shape = layer.output_shape(x.shape);
  std::vector<T> y(static_cast<std::size_t>(y_shape.numel()));
  layer.forward({xs.data(), x.shape}, {y.data(), y_shape}, mode);
  expect_close(tag + " y", y, load(dir / "y.npy"), tol);

  const Ref dy = load(dir / "dy.npy");
  const std::vector<T> dys = cast<T>(dy.values);
  std::vector<T> dx(xs.size());
  layer.backward({dys.data(), dy.shape}, {dx.data(), x.shape});
  expect_close(tag + " dx", dx, load(dir / "dx.npy"), tol);

  int64_t offset = 0;
  for (const auto& spec : layer.parameter_specs()) {
    std::vector<T> g(grads.begin() + offset, grads.begin() + offset + spec.shape.numel());
    expect_close(tag + " dparams/" + spec.name, g, load(dir / "dparams" / (spec.name + ".npy")), tol);
    offset += spec.shape.numel();
  }
  if (auto* bn = dynamic_cast<BatchNorm2d<T>*>(&layer); bn != nullptr && mode == Mode::Train) {
    expect_close(tag + " batch_mean", bn->batch_mean(), load(dir / "batch_mean.npy"), tol);
    expect_close(tag + " batch_var", bn->batch_var(), load(dir / "batch_var.npy"), tol);
    const int64_t C = layer.state_specs()[0].shape.numel();
    expect_close(tag + " state_after/moving_mean", std::vector<T>(state.begin(), state.begin() + C),
                 load(dir / "state_after" / "moving_mean.npy"), tol);
    expect_close(tag + " state_after/moving_var", std::vector<T>(state.begin() + C, state.end()),
                 load(dir / "state_after" / "moving_var.npy"), tol);
  }
}

template <typename T>
void run_softmax_case(const fs::path& dir, double tol) {
  const std::string tag = dir.filename().string() + (sizeof(T) == 4 ? " [f32]" : " [f64]");
  const Ref x = load(dir / "x.npy");
  REQUIRE(x.shape.rank() == 2);
  const int N = static_cast<int>(x.shape[0]), K = static_cast<int>(x.shape[1]);
  const auto labels64 = read_npy(dir / "labels.npy").as_int64();
  const std::vector<int32_t> labels(labels64.begin(), labels64.end());
  const std::vector<T> logits = cast<T>(x.values);
  std::vector<T> probs(logits.size()), dlogits(logits.size());
  const double loss = cpu::softmax_cross_entropy(probs.data(), dlogits.data(), logits.data(), labels.data(), N, K);
  expect_close(tag + " probs", probs, load(dir / "y.npy"), tol);
  expect_close(tag + " loss", std::vector<double>{loss}, load(dir / "loss.npy"), tol);
  expect_close(tag + " dlogits", dlogits, load(dir / "dx.npy"), tol);
}

void run_adam_case(const fs::path& dir, const nlohmann::json& spec) {
  const std::string tag = dir.filename().string();
  const auto& a = spec.at("adam");
  const AdamConfig cfg{a.at("learning_rate").get<double>(), a.at("beta_1").get<double>(),
                       a.at("beta_2").get<double>(), a.at("epsilon").get<double>()};
  const int64_t t = a.at("t").get<int64_t>();
  const Ref w = load(dir / "w.npy"), g = load(dir / "g.npy"), m = load(dir / "m.npy"), v = load(dir / "v.npy");
  const Ref w_new = load(dir / "w_new.npy"), m_new = load(dir / "m_new.npy"), v_new = load(dir / "v_new.npy");

  // float32: the engine's Adam class, resumed at step t-1 with the given moments.
  const int64_t n = w.shape.numel();
  Adam adam(cfg, n);
  adam.set_steps(t - 1);
  Tensor params = Tensor::from_vector(Shape{n}, cast<float>(w.values));
  const Tensor grads = Tensor::from_vector(Shape{n}, cast<float>(g.values));
  adam.m().copy_from(Tensor::from_vector(Shape{n}, cast<float>(m.values)));
  adam.v().copy_from(Tensor::from_vector(Shape{n}, cast<float>(v.values)));
  adam.step(params, grads);
  CHECK(adam.steps() == t);
  expect_close(tag + " [f32] w_new", params.to_vector(), w_new, kLayerTolF32);
  expect_close(tag + " [f32] m_new", adam.m().to_vector(), m_new, kLayerTolF32);
  expect_close(tag + " [f32] v_new", adam.v().to_vector(), v_new, kLayerTolF32);

  // float64: the same update function instantiated on double.
  std::vector<double> wd = w.values, md = m.values, vd = v.values;
  cpu::adam_step(wd.data(), md.data(), vd.data(), g.values.data(), n, cfg.lr, cfg.beta1, cfg.beta2, cfg.epsilon, t);
  expect_close(tag + " [f64] w_new", wd, w_new, kLayerTolF64);
  expect_close(tag + " [f64] m_new", md, m_new, kLayerTolF64);
  expect_close(tag + " [f64] v_new", vd, v_new, kLayerTolF64);
}

template <typename T>
void run_layer_type(const fs::path& dir, const nlohmann::json& spec, double tol) {
  const std::string type = spec.at("type").get<std::string>();
  const auto& s = spec.at("spec");
  const std::string name = dir.filename().string();
  if (type == "conv2d") {
    const Shape w = load(dir / "params" / "weight.npy").shape;
    Conv2d<T> layer(name, s.at("Cin").get<int>(), s.at("Cout").get<int>(), int(w[2]), int(w[3]),
                    s.at("stride").get<int>(), s.at("padding").get<int>());
    run_layer_case(layer, dir, Mode::Train, tol);
  } else if (type == "batchnorm_train" || type == "batchnorm_eval") {
    BatchNorm2d<T> layer(name, s.at("C").get<int>(), spec.at("epsilon").get<double>(),
                         spec.at("momentum").get<double>());
    run_layer_case(layer, dir, type == "batchnorm_train" ? Mode::Train : Mode::Eval, tol);
  } else if (type == "maxpool2d") {
    MaxPool2d<T> layer(name);
    run_layer_case(layer, dir, Mode::Train, tol);
  } else if (type == "dense") {
    Dense<T> layer(name, s.at("in").get<int>(), s.at("out").get<int>());
    run_layer_case(layer, dir, Mode::Train, tol);
  } else if (type == "relu") {
    ReLU<T> layer(name);
    run_layer_case(layer, dir, Mode::Train, tol);
  } else if (type == "softmax_crossentropy") {
    run_softmax_case<T>(dir, tol);
  } else {
    FAIL("layer case " << name << ": unknown layer.json type \"" << type << "\"");
  }
}

// ---- whole-network cases --------------------------------------------------------------

Architecture architecture_of(const nlohmann::json& net) {
  Architecture a;
  const auto in = net.at("input_shape").get<std::vector<int>>();
  REQUIRE(in.size() == 4);
  a.in_channels = in[1];
  a.height = in[2];
  a.width = in[3];
  a.conv_channels = net.at("conv_channels").get<std::vector<int>>();
  a.dense_units = net.at("dense_units").get<std::vector<int>>();
  a.classes = net.at("classes").get<int>();
  a.dropout = net.at("dropout_rate").get<float>();
  // The engine's fixed choices must be the case's.
  REQUIRE(net.at("batchnorm").at("epsilon").get<double>() == BatchNorm2d<float>::kKerasEpsilon);
  REQUIRE(net.at("batchnorm").at("momentum").get<double>() == BatchNorm2d<float>::kKerasMomentum);
  REQUIRE(net.at("conv").at("kernel").get<std::vector<int>>() == std::vector<int>{3, 3});
  REQUIRE(net.at("conv").at("padding").get<std::string>() == "valid");
  return a;
}

std::map<std::string, Ref> load_folder(const fs::path& dir) {
  std::map<std::string, Ref> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".npy") out[e.path().stem().string()] = load(e.path());
  REQUIRE_MESSAGE(!out.empty(), "no .npy files in " << dir.string());
  return out;
}

std::vector<int32_t> load_labels(const fs::path& path) {
  const auto l = read_npy(path).as_int64();
  return std::vector<int32_t>(l.begin(), l.end());
}

// Index of the layer whose output is the activation `name` (e.g. "conv1_out", "logits").
template <typename T>
std::size_t activation_index(const Network<T>& net, const std::string& name) {
  for (std::size_t i = 0; i < net.layer_count(); ++i)
    if (net.activation_name(i) == name) return i;
  FAIL("the network has no activation named " << name);
  return 0;
}

template <typename T>
BatchNorm2d<T>& bn_layer(Network<T>& net, const std::string& name) {
  for (std::size_t i = 0; i < net.layer_count(); ++i)
    if (net.layer(i).name() == name) return dynamic_cast<BatchNorm2d<T>&>(net.layer(i));
  FAIL("no layer " << name);
  throw Error("unreachable");
}

// activations/<name>: layer outputs, or bn{i}_batch_mean / bn{i}_batch_var.
template <typename T>
void check_activations(Network<T>& net, const fs::path& dir, double tol_act, double tol_stats, const std::string& tag) {
  for (const auto& [name, ref] : load_folder(dir / "activations")) {
    const auto stat = name.find("_batch_");
    if (stat != std::string::npos) {
      // Batch statistics are host vectors of a CPU network only; on CUDA they are checked
      // through the moving statistics after the step and by the gpu parity suite.
      if (net.device() != Device::CPU) continue;
      auto& bn = bn_layer(net, name.substr(0, stat));
      expect_close(tag + " activations/" + name, name.substr(stat + 7) == "mean" ? bn.batch_mean() : bn.batch_var(),
                   ref, tol_stats);
    } else {
      const std::size_t i = activation_index(net, name);
      REQUIRE(net.output_shape(i) == ref.shape);
      expect_close(tag + " activations/" + name, net.output_values(i), ref, tol_act);
    }
  }
}

template <typename T>
void check_activation_grads(Network<T>& net, const fs::path& dir, double tol, const std::string& tag) {
  for (const auto& [name, ref] : load_folder(dir / "activation_grads"))
    expect_close(tag + " activation_grads/" + name, net.output_gradient_values(activation_index(net, name)), ref, tol);
}

// The float32 engine on `device` (CPU, or CUDA in strict FP32: the same tolerances hold).
void run_net_case_f32(const fs::path& dir, Device device) {
  const std::string tag = dir.filename().string() + (device == Device::CPU ? " [f32]" : " [f32 cuda]");
  const auto net_json = read_json(dir / "net.json");
  const Architecture arch = architecture_of(net_json);
  const AdamConfig adam_cfg{net_json.at("adam").at("learning_rate").get<double>(),
                            net_json.at("adam").at("beta_1").get<double>(),
                            net_json.at("adam").at("beta_2").get<double>(),
                            net_json.at("adam").at("epsilon").get<double>()};
  const auto params_ref = load_folder(dir / "params");
  std::map<std::string, Tensor> initial;
  for (const auto& [name, ref] : params_ref) initial[name] = Tensor::from_vector(ref.shape, cast<float>(ref.values));

  Model model(arch, device);
  model.load_named_state(initial);
  std::vector<Tensor> masks;
  for (std::size_t k = 1; k <= arch.dense_units.size(); ++k) {
    const Ref m = load(dir / ("dropout" + std::to_string(k) + "_mask.npy"));
    masks.push_back(Tensor::from_vector(m.shape, cast<float>(m.values)));
  }
  model.inject_dropout_masks(masks);
  model.network().set_compute_input_gradient(true);

  const Ref input = load(dir / "input.npy");
  const Tensor x = Tensor::from_vector(input.shape, cast<float>(input.values));
  const std::vector<int32_t> labels = load_labels(dir / "labels.npy");

  // Training-mode forward, loss, backward.
  const Tensor& logits = model.forward(x, Mode::Train);
  expect_close(tag + " logits", logits.to_vector(), load(dir / "logits.npy"), kTolLogits);
  check_activations(model.network(), dir, kTolActivations, kTolBatchStats, tag);
  model.zero_grad();
  const double loss = model.backward_from_labels(labels);
  expect_close(tag + " loss", std::vector<double>{loss}, load(dir / "loss.npy"), kTolLoss);
  expect_close(tag + " probs", model.probabilities().to_vector(), load(dir / "probs.npy"), kTolLogits);
  expect_close(tag + " input_grad", model.network().input_gradient(), load(dir / "input_grad.npy"), kTolInputGrad);
  check_activation_grads(model.network(), dir, kTolActivationGrads, tag);
  const auto grads_ref = load_folder(dir / "grads");
  std::map<std::string, std::vector<float>> grads;
  for (auto& named : model.named_gradients()) {  // no structured binding: C++17 lambdas cannot capture one
    const std::string& name = named.first;
    grads[name] = named.second.to_vector();
    REQUIRE_MESSAGE(grads_ref.count(name) == 1, "grads/" << name << ".npy missing");
    expect_close(tag + " grads/" + name, grads[name], grads_ref.at(name), kTolGrads);
  }
  CHECK(grads.size() == grads_ref.size());

  // Moving statistics after the Train forward, and one Adam step (t = 1, zero moments).
  Adam adam(adam_cfg, model.parameter_count(), device);
  adam.step(model.parameters(), model.gradients());
  const auto after = load_folder(dir / "after_step");
  const double lr = adam_cfg.lr, c = adam_cfg.epsilon / std::sqrt(1.0 - adam_cfg.beta2);
  for (auto& named : model.named_state()) {
    const std::string& name = named.first;
    const Tensor& t = named.second;
    REQUIRE_MESSAGE(after.count(name) == 1, "after_step/" << name << ".npy missing");
    const Ref& ref = after.at(name);
    const std::vector<float> now = t.to_vector();
    if (grads.count(name) == 0) {  // BN moving statistics
      expect_close(tag + " after_step/" + name, now, ref, kTolMovingStats);
      continue;
    }
    // README criterion: the step error must be explained by the gradient error.
    const Ref& w0 = params_ref.at(name);
    const std::vector<double>& g_ref = grads_ref.at(name).values;
    double worst = 0.0;
    for (std::size_t i = 0; i < now.size(); ++i) {
      const double w = static_cast<float>(w0.values[i]);
      const double dw = now[i] - w, dw_ref = ref.values[i] - w0.values[i];
      const double rhs = lr * std::min(2.0, std::fabs(grads[name][i] - g_ref[i]) / c) +
                         4.0 * std::ldexp(1.0, -24) * std::fabs(w) + 1e-6 * lr;
      worst = std::max(worst, std::fabs(dw - dw_ref) / rhs);
    }
    CHECK_MESSAGE(worst <= 1.0, tag << " after_step/" << name << ": worst lhs/rhs " << worst);
  }

  // Optimizer in isolation: Adam on float(params) with float(reference grads).
  {
    Model iso(arch, device);
    iso.load_named_state(initial);
    std::map<std::string, Tensor> g;
    for (const auto& [name, ref] : grads_ref) g[name] = Tensor::from_vector(ref.shape, cast<float>(ref.values));
    for (auto& [name, view] : iso.named_gradients()) view.copy_from(g.at(name));
    Adam iso_adam(adam_cfg, iso.parameter_count(), device);
    iso_adam.step(iso.parameters(), iso.gradients());
    for (auto& [name, view] : iso.named_state())
      if (grads_ref.count(name) == 1)
        expect_close(tag + " Adam in isolation " + name, view.to_vector(), after.at(name), kTolAdamIsolated);
  }

  // Inference mode with the ORIGINAL moving statistics.
  Model eval(arch, device);
  eval.load_named_state(initial);
  const std::vector<float> eval_logits = eval.forward(x, Mode::Eval).to_vector();
  expect_close(tag + " eval_logits", eval_logits, load(dir / "eval_logits.npy"), kTolEval);
  std::vector<float> eval_probs(eval_logits.size());
  cpu::softmax_cross_entropy<float>(eval_probs.data(), nullptr, eval_logits.data(), labels.data(),
                                    static_cast<int>(labels.size()), arch.classes);
  expect_close(tag + " eval_probs", eval_probs, load(dir / "eval_probs.npy"), kTolEval);
}

// The same network in double precision: every stored tensor to the float64 level.
void run_net_case_f64(const fs::path& dir) {
  const std::string tag = dir.filename().string() + " [f64]";
  const Architecture arch = architecture_of(read_json(dir / "net.json"));
  Network<double> net(arch);
  auto fill = [&](const std::vector<ParamSpec>& specs, const fs::path& folder) {
    std::vector<double> arena;
    for (const auto& spec : specs) {
      const Ref r = load(folder / (spec.name + ".npy"));
      REQUIRE(r.shape == spec.shape);
      arena.insert(arena.end(), r.values.begin(), r.values.end());
    }
    return arena;
  };
  std::vector<double> params = fill(net.parameter_specs(), dir / "params");
  std::vector<double> state = fill(net.state_specs(), dir / "params");
  std::vector<double> grads(params.size(), 0.0);
  net.bind(params.data(), grads.data(), state.data());
  auto dropouts = net.dropout_layers();
  for (std::size_t k = 0; k < dropouts.size(); ++k)
    dropouts[k]->inject_mask(load(dir / ("dropout" + std::to_string(k + 1) + "_mask.npy")).values);
  net.set_compute_input_gradient(true);

  const Ref input = load(dir / "input.npy");
  net.forward(input.values.data(), input.shape, Mode::Train, nullptr);
  check_activations(net, dir, kNetTolF64, kNetTolF64, tag);
  const std::vector<int32_t> labels = load_labels(dir / "labels.npy");
  const double loss = net.backward_from_labels(labels.data(), static_cast<int64_t>(labels.size()));
  expect_close(tag + " loss", std::vector<double>{loss}, load(dir / "loss.npy"), kNetTolF64);
  expect_close(tag + " input_grad", net.input_gradient(), load(dir / "input_grad.npy"), kNetTolF64);
  check_activation_grads(net, dir, kNetTolF64, tag);
  int64_t offset = 0;
  for (const auto& spec : net.parameter_specs()) {
    const std::vector<double> g(grads.begin() + offset, grads.begin() + offset + spec.shape.numel());
    expect_close(tag + " grads/" + spec.name, g, load(dir / "grads" / (spec.name + ".npy")), kNetTolF64);
    offset += spec.shape.numel();
  }
}

}  // namespace

TEST_SUITE("reference") {

TEST_CASE("every single-layer reference case matches in float32 and float64") {
  const auto cases = test::reference_cases("network/layers", "layer.json");
  REQUIRE_MESSAGE(!cases.empty(), "no layer cases under " << (test::reference_root() / "network/layers").string());
  for (const auto& dir : cases) {
    CAPTURE(dir.string());
    const auto spec = read_json(dir / "layer.json");
    if (spec.at("type").get<std::string>() == "adam") {
      run_adam_case(dir, spec);
    } else {
      run_layer_type<float>(dir, spec, kLayerTolF32);
      run_layer_type<double>(dir, spec, kLayerTolF64);
    }
  }
}

TEST_CASE("every whole-network reference case matches: activations, gradients, Adam step") {
  const auto cases = test::reference_cases("network", "net.json");
  REQUIRE_MESSAGE(!cases.empty(), "no net_* cases under " << (test::reference_root() / "network").string());
  for (const auto& dir : cases) {
    CAPTURE(dir.string());
    run_net_case_f32(dir, Device::CPU);
    run_net_case_f64(dir);
  }
}

}  // TEST_SUITE

TEST_SUITE("gpu") {

TEST_CASE("every whole-network reference case matches on CUDA (strict FP32)") {
  SER_REQUIRE_GPU();
  const auto cases = test::reference_cases("network", "net.json");
  REQUIRE_MESSAGE(!cases.empty(), "no net_* cases under " << (test::reference_root() / "network").string());
  for (const auto& dir : cases) {
    CAPTURE(dir.string());
    run_net_case_f32(dir, Device::CUDA);
  }
}

}  // TEST_SUITE
