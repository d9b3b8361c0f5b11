// Golden tests of the layers, the whole network and Adam against the PyTorch/NumPy
// float64 references in $SER_REFERENCE_DIR/network (layouts and tolerances:
// tests/data/reference/network/README.md). Every case folder is run: layers/<case>/
// dispatches on layer.json "type", net_*/ on net.json. Each case runs the float32
// engine path (the real layers / Model / Adam) at the README's float32 tolerances and
// the double instantiation of the same code at the float64 level. The whole-network cases
// also run on CUDA (suite "gpu", skipped without a device) at the same float32 tolerances.
// Recipe cases (make_recipe_cases.py): global_avg_pool, softmax_crossentropy_soft (label
// smoothing, mixup), adamw, onecycle_lr, augment layer cases, and net_* cases with a GAP head,
// either block order, label smoothing and one AdamW step at step t of an lr schedule; a net.json
// may state its own float32 tolerances ("float32_tolerances"), else net_small_64's apply.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/core/error.h"
#include "engine/cpu/adam.h"
#include "engine/cpu/augment.h"
#include "engine/cpu/softmax_cross_entropy.h"
#include "engine/io/npy.h"
#include "engine/nn/adam.h"
#include "engine/nn/layers.h"
#include "engine/nn/lr_schedule.h"
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
// onecycle_lr cases: element by element, the schedule is evaluated in double on every device.
constexpr double kScheduleTolF64 = 1e-12;

// Whole-network float32 tolerances (max-norm). Defaults: net_small_64's "suggested tol."
// column (engine reductions are accumulated in double); a net.json with
// "float32_tolerances" states its own, measured the same way (README.md).
struct NetTolerances {
  double activations = 5e-5, batch_stats = 1e-5, logits = 5e-5, eval = 1e-5, loss = 1e-5, grads = 1e-4,
         input_grad = 5e-5, activation_grads = 5e-5, moving_stats = 1e-6, adam_isolated = 1e-6;
};

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

// SER_REFERENCE_VERBOSE=1 prints every comparison (to report the engine's measured errors).
bool verbose() {
  static const bool on = std::getenv("SER_REFERENCE_VERBOSE") != nullptr;
  return on;
}

template <typename T>
void expect_close(const std::string& what, const std::vector<T>& got, const Ref& ref, double tol) {
  const double err = max_rel_error(got, ref.values);
  if (verbose()) std::printf("%-70s %.2e (tol %.0e)\n", what.c_str(), err, tol);
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

// Soft targets: labels_a, and (mixup) labels_b + lambda; label_smoothing in layer.json.
template <typename T>
void run_softmax_soft_case(const fs::path& dir, const nlohmann::json& spec, double tol) {
  const std::string tag = dir.filename().string() + (sizeof(T) == 4 ? " [f32]" : " [f64]");
  const Ref x = load(dir / "x.npy");
  REQUIRE(x.shape.rank() == 2);
  const int N = static_cast<int>(x.shape[0]), K = static_cast<int>(x.shape[1]);
  const double smoothing = spec.at("spec").at("label_smoothing").get<double>();
  auto labels_of = [&](const char* file) {
    const auto l = read_npy(dir / file).as_int64();
    REQUIRE(static_cast<int>(l.size()) == N);
    return std::vector<int32_t>(l.begin(), l.end());
  };
  const std::vector<int32_t> labels_a = labels_of("labels_a.npy");
  std::vector<int32_t> labels_b;
  std::vector<float> lambda;
  if (fs::exists(dir / "labels_b.npy")) {  // mixup; without it b = a, lambda = 1 (null pointers)
    labels_b = labels_of("labels_b.npy");
    const Ref l = load(dir / "lambda.npy");
    lambda = cast<float>(l.values);
    for (std::size_t i = 0; i < lambda.size(); ++i)
      REQUIRE_MESSAGE(static_cast<double>(lambda[i]) == l.values[i], tag << ": lambda must be float32-exact");
  }
  const std::vector<T> logits = cast<T>(x.values);
  std::vector<T> probs(logits.size()), dlogits(logits.size());
  const double loss = cpu::softmax_cross_entropy_soft(probs.data(), dlogits.data(), logits.data(), labels_a.data(),
                                                      labels_b.empty() ? nullptr : labels_b.data(),
                                                      lambda.empty() ? nullptr : lambda.data(), smoothing, N, K);
  expect_close(tag + " probs", probs, load(dir / "y.npy"), tol);
  expect_close(tag + " loss", std::vector<double>{loss}, load(dir / "loss.npy"), tol);
  expect_close(tag + " dlogits", dlogits, load(dir / "dx.npy"), tol);
}

// Adam (type "adam") and AdamW (type "adamw": adam.weight_decay > 0), one step at step t.
void run_adam_case(const fs::path& dir, const nlohmann::json& spec) {
  const std::string tag = dir.filename().string();
  const auto& a = spec.at("adam");
  AdamConfig cfg;
  cfg.lr = a.at("learning_rate").get<double>();
  cfg.beta1 = a.at("beta_1").get<double>();
  cfg.beta2 = a.at("beta_2").get<double>();
  cfg.epsilon = a.at("epsilon").get<double>();
  cfg.weight_decay = a.value("weight_decay", 0.0);
  REQUIRE_MESSAGE((spec.at("type").get<std::string>() == "adamw") == (cfg.weight_decay > 0.0),
                  tag << ": type adamw <=> weight_decay > 0");
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
  cpu::adam_step(wd.data(), md.data(), vd.data(), g.values.data(), n, cfg.lr, cfg.beta1, cfg.beta2, cfg.epsilon, t,
                 cfg.weight_decay);
  expect_close(tag + " [f64] w_new", wd, w_new, kLayerTolF64);
  expect_close(tag + " [f64] m_new", md, m_new, kLayerTolF64);
  expect_close(tag + " [f64] v_new", vd, v_new, kLayerTolF64);
}

// A "onecycle" schedule description (layer.json "schedule", net.json "adam.schedule").
LrSchedule schedule_of(const nlohmann::json& s, double max_lr) {
  REQUIRE(s.value("kind", std::string("onecycle")) == "onecycle");
  REQUIRE(s.value("anneal_strategy", std::string("cos")) == "cos");
  REQUIRE_FALSE(s.value("three_phase", false));
  LrSchedule sched;
  sched.kind = LrScheduleKind::OneCycle;
  sched.max_lr = max_lr;
  sched.total_steps = s.at("total_steps").get<int64_t>();
  sched.pct_start = s.at("pct_start").get<double>();
  sched.div_factor = s.at("div_factor").get<double>();
  sched.final_div_factor = s.at("final_div_factor").get<double>();
  return sched;
}

// lr.npy[s] = the rate step s (0-based) uses: LrSchedule::lr_at(s), and Adam's step s + 1.
void run_onecycle_case(const fs::path& dir, const nlohmann::json& spec) {
  const std::string tag = dir.filename().string();
  const LrSchedule sched = schedule_of(spec.at("schedule"), spec.at("schedule").at("max_lr").get<double>());
  const Ref lr = load(dir / "lr.npy");
  REQUIRE(lr.shape.numel() == sched.total_steps);
  AdamConfig cfg;
  cfg.lr = sched.max_lr;
  cfg.schedule = sched;
  const Adam adam(cfg, 1);
  double worst = 0.0, worst_adam = 0.0;
  int64_t worst_step = 0;
  for (int64_t s = 0; s < sched.total_steps; ++s) {
    const double ref = lr.values[static_cast<std::size_t>(s)];
    const double err = std::fabs(sched.lr_at(s) - ref) / std::fabs(ref);
    if (err > worst) {
      worst = err;
      worst_step = s;
    }
    worst_adam = std::max(worst_adam, std::fabs(adam.lr_of_step(s + 1) - ref) / std::fabs(ref));
  }
  if (verbose()) std::printf("%-70s %.2e (tol %.0e, per element)\n", (tag + " lr_at").c_str(), worst, kScheduleTolF64);
  CHECK_MESSAGE(worst <= kScheduleTolF64, tag << ": lr_at relative error " << worst << " at step " << worst_step);
  CHECK_MESSAGE(worst_adam <= kScheduleTolF64, tag << ": Adam::lr_of_step relative error " << worst_adam);
  // Past the end the last rate is kept (PyTorch refuses to step further).
  CHECK(sched.lr_at(sched.total_steps + 5) == sched.lr_at(sched.total_steps - 1));
}

// The augmentation op (float32 only: it acts on the data, before the network).
void run_augment_case(const fs::path& dir, const nlohmann::json& spec) {
  const std::string tag = dir.filename().string() + " [f32]";
  const Ref x = load(dir / "x.npy");
  REQUIRE(x.shape.rank() == 4);
  REQUIRE(x.shape[1] == 1);
  const int N = static_cast<int>(x.shape[0]), H = static_cast<int>(x.shape[2]), W = static_cast<int>(x.shape[3]);
  REQUIRE(spec.at("spec").at("max_masks").get<int>() == cpu::kMaxAugmentMasks);
  auto ints = [&](const char* name, int64_t per_sample) {
    const auto v = read_npy(dir / "plan" / name).as_int64();
    REQUIRE_MESSAGE(static_cast<int64_t>(v.size()) == N * per_sample, tag << ": plan/" << name);
    return v;
  };
  const auto shift = ints("shift.npy", 1), partner = ints("partner.npy", 1);
  const auto ts = ints("time_start.npy", cpu::kMaxAugmentMasks), tw = ints("time_width.npy", cpu::kMaxAugmentMasks);
  const auto fs_ = ints("freq_start.npy", cpu::kMaxAugmentMasks), fw = ints("freq_width.npy", cpu::kMaxAugmentMasks);
  const Ref lambda = load(dir / "plan" / "lambda.npy");
  // Optional: the frequency warp (absent in cases made before it existed: no warp).
  const bool warped = fs::exists(dir / "plan" / "band_scale.npy");
  const Ref band_scale = warped ? load(dir / "plan" / "band_scale.npy") : Ref{std::vector<double>(N, 1.0), Shape{N}};
  std::vector<cpu::SampleAugment> plan(static_cast<std::size_t>(N));
  for (int n = 0; n < N; ++n) {
    cpu::SampleAugment& a = plan[static_cast<std::size_t>(n)];
    a.shift = static_cast<int32_t>(shift[n]);
    a.partner = static_cast<int32_t>(partner[n]);
    a.lambda = static_cast<float>(lambda.values[static_cast<std::size_t>(n)]);
    REQUIRE_MESSAGE(static_cast<double>(a.lambda) == lambda.values[static_cast<std::size_t>(n)],
                    tag << ": lambda must be float32-exact");
    a.band_scale = static_cast<float>(band_scale.values[static_cast<std::size_t>(n)]);
    REQUIRE_MESSAGE(static_cast<double>(a.band_scale) == band_scale.values[static_cast<std::size_t>(n)],
                    tag << ": band_scale must be float32-exact");
    for (int m = 0; m < cpu::kMaxAugmentMasks; ++m) {
      const int64_t i = static_cast<int64_t>(n) * cpu::kMaxAugmentMasks + m;
      a.time_start[m] = static_cast<int32_t>(ts[i]);
      a.time_width[m] = static_cast<int32_t>(tw[i]);
      a.freq_start[m] = static_cast<int32_t>(fs_[i]);
      a.freq_width[m] = static_cast<int32_t>(fw[i]);
    }
  }
  const std::vector<float> xs = cast<float>(x.values);
  std::vector<float> y(xs.size(), -1.0f);
  cpu::augment_images(y.data(), xs.data(), plan.data(), N, H, W);
  expect_close(tag + " y", y, load(dir / "y.npy"), kLayerTolF32);
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
  } else if (type == "global_avg_pool") {
    GlobalAvgPool2d<T> layer(name);
    run_layer_case(layer, dir, Mode::Train, tol);
  } else if (type == "softmax_crossentropy") {
    run_softmax_case<T>(dir, tol);
  } else if (type == "softmax_crossentropy_soft") {
    run_softmax_soft_case<T>(dir, spec, tol);
  } else {
    FAIL("layer case " << name << ": unknown layer.json type \"" << type << "\"");
  }
}

// ---- whole-network cases --------------------------------------------------------------

// What a net.json describes. Fields added for the recipe cases are optional and default to
// net_small_64's (seed) values: block conv-relu-bn, head flatten, no label smoothing, Adam
// without weight decay at t = 1 from zero moments with a constant rate.
struct NetCase {
  Architecture arch;
  double label_smoothing = 0.0;
  AdamConfig adam;
  int64_t t = 1;               // the step taken (1-based); moments in adam_state/ when t > 1
  bool has_adam_state = false;
  NetTolerances tol;
};

NetCase read_net_case(const fs::path& dir) {
  const auto net = read_json(dir / "net.json");
  NetCase c;
  Architecture& a = c.arch;
  const auto in = net.at("input_shape").get<std::vector<int>>();
  REQUIRE(in.size() == 4);
  a.in_channels = in[1];
  a.height = in[2];
  a.width = in[3];
  a.conv_channels = net.at("conv_channels").get<std::vector<int>>();
  a.dense_units = net.at("dense_units").get<std::vector<int>>();
  a.classes = net.at("classes").get<int>();
  a.dropout = net.at("dropout_rate").get<float>();
  a.block = net.value("block", std::string("conv-relu-bn"));
  a.head = net.value("head", std::string("flatten"));
  a.bn_momentum = net.at("batchnorm").at("momentum").get<double>();
  // The engine's fixed choices must be the case's.
  REQUIRE(net.at("batchnorm").at("epsilon").get<double>() == BatchNorm2d<float>::kKerasEpsilon);
  REQUIRE(net.at("conv").at("kernel").get<std::vector<int>>() == std::vector<int>{3, 3});
  REQUIRE(net.at("conv").at("padding").get<std::string>() == "valid");
  a.validate();
  if (net.contains("loss")) c.label_smoothing = net.at("loss").value("label_smoothing", 0.0);
  const auto& adam = net.at("adam");
  c.adam.lr = adam.at("learning_rate").get<double>();
  c.adam.beta1 = adam.at("beta_1").get<double>();
  c.adam.beta2 = adam.at("beta_2").get<double>();
  c.adam.epsilon = adam.at("epsilon").get<double>();
  c.adam.weight_decay = adam.value("weight_decay", 0.0);
  if (adam.contains("schedule")) c.adam.schedule = schedule_of(adam.at("schedule"), c.adam.lr);
  c.adam.schedule.max_lr = c.adam.lr;
  c.t = adam.value("t", int64_t{1});
  c.has_adam_state = fs::is_directory(dir / "adam_state");
  REQUIRE_MESSAGE(c.has_adam_state == (c.t > 1), dir.string() << ": adam_state/ must hold the moments of step t-1 > 0");
  if (adam.contains("lr_t")) {  // the rate of step t, as the case computed it (PyTorch's scheduler)
    const Adam probe(c.adam, 1);
    const double lr_t = adam.at("lr_t").get<double>();
    CHECK_MESSAGE(std::fabs(probe.lr_of_step(c.t) - lr_t) <= kScheduleTolF64 * lr_t,
                  dir.string() << ": lr of step " << c.t << " is " << probe.lr_of_step(c.t) << ", the case says " << lr_t);
  }
  if (net.contains("float32_tolerances")) {
    const auto& m = net.at("float32_tolerances").at("max_rel");
    NetTolerances& t = c.tol;
    t.activations = m.at("activations").get<double>();
    t.batch_stats = m.at("batch_stats").get<double>();
    t.logits = m.at("logits_probs").get<double>();
    t.eval = m.at("eval").get<double>();
    t.loss = m.at("loss").get<double>();
    t.grads = m.at("grads").get<double>();
    t.input_grad = m.at("input_grad").get<double>();
    t.activation_grads = m.at("activation_grads").get<double>();
    t.moving_stats = m.at("moving_stats").get<double>();
    t.adam_isolated = m.at("adam_isolated").get<double>();
  }
  return c;
}

std::map<std::string, Ref> load_folder(const fs::path& dir) {
  std::map<std::string, Ref> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".npy") out[e.path().stem().string()] = load(e.path());
  REQUIRE_MESSAGE(!out.empty(), "no .npy files in " << dir.string());
  return out;
}

// The tensors of `folder`/<name>.npy for each spec, concatenated in spec order (an arena).
std::vector<double> arena_of(const std::vector<ParamSpec>& specs, const fs::path& folder) {
  std::vector<double> arena;
  for (const auto& spec : specs) {
    const Ref r = load(folder / (spec.name + ".npy"));
    REQUIRE_MESSAGE(r.shape == spec.shape, (folder / spec.name).string() << " has shape " << r.shape.str());
    arena.insert(arena.end(), r.values.begin(), r.values.end());
  }
  return arena;
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

// Loads the case's Adam state into `adam`: step count t-1 and (t > 1) the moments.
void load_adam_state(Adam& adam, Network<float>& net, const NetCase& c, const fs::path& dir) {
  adam.set_steps(c.t - 1);
  if (!c.has_adam_state) return;
  const int64_t n = net.parameter_count();
  adam.m().copy_from(Tensor::from_vector(Shape{n}, cast<float>(arena_of(net.parameter_specs(), dir / "adam_state" / "m"))));
  adam.v().copy_from(Tensor::from_vector(Shape{n}, cast<float>(arena_of(net.parameter_specs(), dir / "adam_state" / "v"))));
}

// The float32 engine on `device` (CPU, or CUDA in strict FP32: the same tolerances hold).
void run_net_case_f32(const fs::path& dir, Device device) {
  const std::string tag = dir.filename().string() + (device == Device::CPU ? " [f32]" : " [f32 cuda]");
  const NetCase c = read_net_case(dir);
  const Architecture& arch = c.arch;
  const NetTolerances& tol = c.tol;
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
  expect_close(tag + " logits", logits.to_vector(), load(dir / "logits.npy"), tol.logits);
  check_activations(model.network(), dir, tol.activations, tol.batch_stats, tag);

  // What the CUDA backend does not have yet is skipped there, visibly (the CPU runs it all).
  const bool soft = c.label_smoothing > 0.0;
  const bool adamw = c.adam.weight_decay > 0.0 || c.adam.schedule.kind != LrScheduleKind::Constant;
  const bool skip_backward = device == Device::CUDA && soft;
  const bool skip_adam = device == Device::CUDA && (soft || adamw);
  if (skip_backward)
    MESSAGE(tag << ": backward and optimizer checks skipped: soft-target loss (label smoothing) is CPU-only "
                   "(Network::backward_from_soft_targets)");
  else if (skip_adam)
    MESSAGE(tag << ": optimizer checks skipped: Adam::step on CUDA has no weight decay / lr schedule");

  std::map<std::string, std::vector<float>> grads;
  const auto grads_ref = load_folder(dir / "grads");
  if (!skip_backward) {
    model.zero_grad();
    const double loss = soft ? model.backward_from_soft_targets(labels, {}, {}, c.label_smoothing)
                             : model.backward_from_labels(labels);
    expect_close(tag + " loss", std::vector<double>{loss}, load(dir / "loss.npy"), tol.loss);
    expect_close(tag + " probs", model.probabilities().to_vector(), load(dir / "probs.npy"), tol.logits);
    expect_close(tag + " input_grad", model.network().input_gradient(), load(dir / "input_grad.npy"), tol.input_grad);
    check_activation_grads(model.network(), dir, tol.activation_grads, tag);
    for (auto& named : model.named_gradients()) {  // no structured binding: C++17 lambdas cannot capture one
      const std::string& name = named.first;
      grads[name] = named.second.to_vector();
      REQUIRE_MESSAGE(grads_ref.count(name) == 1, "grads/" << name << ".npy missing");
      expect_close(tag + " grads/" + name, grads[name], grads_ref.at(name), tol.grads);
    }
    CHECK(grads.size() == grads_ref.size());
  }

  if (!skip_adam) {
    // Moving statistics after the Train forward, and one Adam(W) step at step t.
    Adam adam(c.adam, model.parameter_count(), device);
    load_adam_state(adam, model.network(), c, dir);
    adam.step(model.parameters(), model.gradients());
    CHECK(adam.steps() == c.t);
    const auto after = load_folder(dir / "after_step");
    std::map<std::string, Ref> m_ref, v_ref;
    if (c.has_adam_state) {
      m_ref = load_folder(dir / "adam_state" / "m");
      v_ref = load_folder(dir / "adam_state" / "v");
    }
    const double lr = adam.lr_of_step(c.t), b1 = c.adam.beta1, b2 = c.adam.beta2, eps = c.adam.epsilon,
                 wd = c.adam.weight_decay, ulp = std::ldexp(1.0, -24);
    const double cz = eps / std::sqrt(1.0 - b2);
    const double alpha = lr * std::sqrt(1.0 - std::pow(b2, double(c.t))) / (1.0 - std::pow(b1, double(c.t)));
    for (auto& named : model.named_state()) {
      const std::string& name = named.first;
      REQUIRE_MESSAGE(after.count(name) == 1, "after_step/" << name << ".npy missing");
      const Ref& ref = after.at(name);
      const std::vector<float> now = named.second.to_vector();
      if (grads.count(name) == 0) {  // BN moving statistics
        expect_close(tag + " after_step/" + name, now, ref, tol.moving_stats);
        continue;
      }
      const Ref& w0 = params_ref.at(name);
      const std::vector<double>& g_ref = grads_ref.at(name).values;
      double worst = 0.0;
      if (!c.has_adam_state) {
        // README criterion (t = 1, zero moments): the step error must be explained by the
        // gradient error. The decoupled decay is the same function of w on both sides.
        for (std::size_t i = 0; i < now.size(); ++i) {
          const double w = static_cast<float>(w0.values[i]);
          const double dw = now[i] - w, dw_ref = ref.values[i] - w0.values[i];
          const double rhs = lr * std::min(2.0, std::fabs(grads[name][i] - g_ref[i]) / cz) + 4.0 * ulp * std::fabs(w) +
                             1e-6 * lr;
          worst = std::max(worst, std::fabs(dw - dw_ref) / rhs);
        }
      } else {
        // t > 1 (net.json float32_tolerances.after_step): the float64 AdamW update at the
        // engine's OWN gradient and float32 w, m, v, within float32 rounding of the step.
        const std::vector<double>& m0 = m_ref.at(name).values;
        const std::vector<double>& v0 = v_ref.at(name).values;
        std::vector<double> expected(now.size());
        double step_max = 0.0;
        for (std::size_t i = 0; i < now.size(); ++i) {
          const double w = static_cast<float>(w0.values[i]), g = grads[name][i];
          const double m = static_cast<float>(m0[i]) + (g - static_cast<float>(m0[i])) * (1.0 - b1);
          const double v = static_cast<float>(v0[i]) + (g * g - static_cast<float>(v0[i])) * (1.0 - b2);
          expected[i] = w - w * (lr * wd) - alpha * m / (std::sqrt(v) + eps);
          step_max = std::max(step_max, std::fabs(expected[i] - w));
        }
        for (std::size_t i = 0; i < now.size(); ++i) {
          const double w = static_cast<float>(w0.values[i]);
          const double rhs = 1e-6 * step_max + 4.0 * ulp * std::fabs(w) + 1e-6 * lr;
          worst = std::max(worst, std::fabs(now[i] - expected[i]) / rhs);
        }
      }
      if (verbose()) std::printf("%-70s %.2e (lhs/rhs <= 1)\n", (tag + " after_step/" + name).c_str(), worst);
      CHECK_MESSAGE(worst <= 1.0, tag << " after_step/" << name << ": worst lhs/rhs " << worst);
    }

    // Optimizer in isolation: Adam(W) on float(params) with float(reference grads) (and state).
    Model iso(arch, device);
    iso.load_named_state(initial);
    std::map<std::string, Tensor> g;
    for (const auto& [name, ref] : grads_ref) g[name] = Tensor::from_vector(ref.shape, cast<float>(ref.values));
    for (auto& [name, view] : iso.named_gradients()) view.copy_from(g.at(name));
    Adam iso_adam(c.adam, iso.parameter_count(), device);
    load_adam_state(iso_adam, iso.network(), c, dir);
    iso_adam.step(iso.parameters(), iso.gradients());
    for (auto& [name, view] : iso.named_state())
      if (grads_ref.count(name) == 1)
        expect_close(tag + " Adam in isolation " + name, view.to_vector(), after.at(name), tol.adam_isolated);
  }

  // Inference mode with the ORIGINAL moving statistics.
  Model eval(arch, device);
  eval.load_named_state(initial);
  const std::vector<float> eval_logits = eval.forward(x, Mode::Eval).to_vector();
  expect_close(tag + " eval_logits", eval_logits, load(dir / "eval_logits.npy"), tol.eval);
  std::vector<float> eval_probs(eval_logits.size());
  cpu::softmax_cross_entropy<float>(eval_probs.data(), nullptr, eval_logits.data(), labels.data(),
                                    static_cast<int>(labels.size()), arch.classes);
  expect_close(tag + " eval_probs", eval_probs, load(dir / "eval_probs.npy"), tol.eval);
}

// The same network in double precision: every stored tensor to the float64 level, including
// the Adam(W) step and the moving statistics after it.
void run_net_case_f64(const fs::path& dir) {
  const std::string tag = dir.filename().string() + " [f64]";
  const NetCase c = read_net_case(dir);
  Network<double> net(c.arch);
  std::vector<double> params = arena_of(net.parameter_specs(), dir / "params");
  std::vector<double> state = arena_of(net.state_specs(), dir / "params");
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
  const auto n = static_cast<int64_t>(labels.size());
  const double loss = c.label_smoothing > 0.0
                          ? net.backward_from_soft_targets(labels.data(), nullptr, nullptr, c.label_smoothing, n)
                          : net.backward_from_labels(labels.data(), n);
  expect_close(tag + " loss", std::vector<double>{loss}, load(dir / "loss.npy"), kNetTolF64);
  expect_close(tag + " input_grad", net.input_gradient(), load(dir / "input_grad.npy"), kNetTolF64);
  check_activation_grads(net, dir, kNetTolF64, tag);
  int64_t offset = 0;
  for (const auto& spec : net.parameter_specs()) {
    const std::vector<double> g(grads.begin() + offset, grads.begin() + offset + spec.shape.numel());
    expect_close(tag + " grads/" + spec.name, g, load(dir / "grads" / (spec.name + ".npy")), kNetTolF64);
    offset += spec.shape.numel();
  }

  // One Adam(W) step in double: the engine's update function on the double arenas.
  std::vector<double> m(params.size(), 0.0), v(params.size(), 0.0);
  if (c.has_adam_state) {
    m = arena_of(net.parameter_specs(), dir / "adam_state" / "m");
    v = arena_of(net.parameter_specs(), dir / "adam_state" / "v");
  }
  const Adam probe(c.adam, 1);
  cpu::adam_step(params.data(), m.data(), v.data(), grads.data(), net.parameter_count(), probe.lr_of_step(c.t),
                 c.adam.beta1, c.adam.beta2, c.adam.epsilon, c.t, c.adam.weight_decay);
  auto check_after = [&](const std::vector<ParamSpec>& specs, const std::vector<double>& arena) {
    int64_t at = 0;
    for (const auto& spec : specs) {
      const std::vector<double> now(arena.begin() + at, arena.begin() + at + spec.shape.numel());
      expect_close(tag + " after_step/" + spec.name, now, load(dir / "after_step" / (spec.name + ".npy")), kNetTolF64);
      at += spec.shape.numel();
    }
  };
  check_after(net.parameter_specs(), params);
  check_after(net.state_specs(), state);  // moving statistics, updated by the Train forward
}

}  // namespace

TEST_SUITE("reference") {

TEST_CASE("every single-layer reference case matches in float32 and float64") {
  const auto cases = test::reference_cases("network/layers", "layer.json");
  REQUIRE_MESSAGE(!cases.empty(), "no layer cases under " << (test::reference_root() / "network/layers").string());
  for (const auto& dir : cases) {
    CAPTURE(dir.string());
    const auto spec = read_json(dir / "layer.json");
    const std::string type = spec.at("type").get<std::string>();
    if (type == "adam" || type == "adamw") {
      run_adam_case(dir, spec);
    } else if (type == "onecycle_lr") {
      run_onecycle_case(dir, spec);
    } else if (type == "augment") {
      run_augment_case(dir, spec);
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
