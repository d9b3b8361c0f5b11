// CPU/GPU parity of every layer and of whole training steps (suite "gpu"). Each case
// runs the same layer (or Model) on both devices from identical parameters, inputs and
// upstream gradients, and compares forward outputs, input gradients, ACCUMULATED parameter
// gradients (both start from the same non-zero values) and BN moving statistics.
// Strict FP32 (the context's default math mode) throughout. Tolerances, max-norm relative
// to max(1, max |CPU value|) (GlobalAvgPool2d: one float ulp, argued at its case):
//   exact (0)  ReLU, MaxPool (ties forced by quantised inputs), Flatten, dropout (Philox or
//              injected masks): one compare / copy / multiply per element, the same on both
//              devices (the kept factor float(1/(1-p)) is rounded once from double on both).
//   1e-5       BN (double accumulation on both sides; only the order of the double sums
//              and the final float rounding differ), Dense and Conv2d (FP32 dot products
//              of <= a few hundred terms in different orders: error ~ sqrt(K)*2^-24*|x||w|).
// Skip without a device. Compiled in the CPU-only build as well (they skip there too).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <memory>
#include <random>
#include <vector>

#include "engine/core/tensor.h"
#include "engine/nn/adam.h"
#include "engine/nn/cuda_backend.h"
#include "engine/nn/layers.h"
#include "engine/nn/model.h"
#include "engine/train/trainer.h"
#include "support/architectures.h"
#include "support/gpu.h"
#include "support/values.h"

using namespace ser;
using namespace ser::nn;

namespace {


// Values from {-1, 0, 0.5, 2}: many exact ties inside 2x2 windows and exact ReLU zeros.
std::vector<float> quantised(int64_t n, uint32_t seed) {
  std::mt19937 engine(seed);
  const float levels[4] = {-1.0f, 0.0f, 0.5f, 2.0f};
  std::vector<float> v(static_cast<std::size_t>(n));
  for (float& x : v) x = levels[engine() % 4];
  return v;
}


Tensor on_gpu(const std::vector<float>& host) {
  return Tensor::from_vector(Shape{static_cast<int64_t>(host.size())}, host).to(Device::CUDA);
}

std::vector<float> from_gpu(const Tensor& t) {
  cuda::synchronize(cuda::default_context());  // layer calls return with work still queued
  return t.to_vector();
}

struct ParityCase {
  std::function<std::unique_ptr<Layer<float>>()> make;
  Shape input;
  Mode mode = Mode::Train;
  double tolerance = 0;
  bool quantised_input = false;
  bool want_dx = true;
};

void check_parity(const ParityCase& c) {
  auto cpu = c.make();
  auto gpu = c.make();
  CAPTURE(cpu->kind());
  CAPTURE(c.input.str());
  const Shape out = cpu->output_shape(c.input);
  const int64_t np = total_numel(cpu->parameter_specs()), ns = total_numel(cpu->state_specs());
  std::vector<float> params = test::uniform_values(np, -0.5f, 0.5f, 1), grads = test::uniform_values(np, -0.1f, 0.1f, 2);
  std::vector<float> state = test::uniform_values(ns, 0.2f, 1.5f, 3);  // BN moving var must be positive
  std::vector<float> x = c.quantised_input ? quantised(c.input.numel(), 4) : test::uniform_values(c.input.numel(), -2, 2, 4);
  std::vector<float> dy = test::uniform_values(out.numel(), -1, 1, 5);
  std::vector<float> cpu_params = params, cpu_grads = grads, cpu_state = state;
  Tensor g_params = on_gpu(params.empty() ? std::vector<float>{0} : params);
  Tensor g_grads = on_gpu(grads.empty() ? std::vector<float>{0} : grads);
  Tensor g_state = on_gpu(state.empty() ? std::vector<float>{0} : state);
  Tensor g_x = on_gpu(x), g_y(Shape{out.numel()}, Device::CUDA), g_dy = on_gpu(dy);
  Tensor g_dx(Shape{c.input.numel()}, Device::CUDA);
  cpu->bind(cpu_params.data(), cpu_grads.data(), cpu_state.data());
  gpu->bind(g_params.data(), g_grads.data(), g_state.data());
  cuda::CudaContext& ctx = cuda::default_context();
  gpu->set_cuda_context(&ctx);
  cuda::wait_for_legacy_stream(ctx);
  Generator cpu_rng(99), gpu_rng(99);
  if (auto* d = dynamic_cast<Dropout<float>*>(cpu.get())) d->set_generator(&cpu_rng);
  if (auto* d = dynamic_cast<Dropout<float>*>(gpu.get())) d->set_generator(&gpu_rng);

  std::vector<float> y(static_cast<std::size_t>(out.numel())), dx(static_cast<std::size_t>(c.input.numel()));
  for (int repeat = 0; repeat < 2; ++repeat) {  // twice: cached plans / buffers, moving stats updated twice
    CAPTURE(repeat);
    cpu->forward({x.data(), c.input}, {y.data(), out}, c.mode);
    gpu->forward({g_x.data(), c.input, Device::CUDA}, {g_y.data(), out, Device::CUDA}, c.mode);
    CHECK(test::max_norm_relative_error(from_gpu(g_y), y) <= c.tolerance);
    cpu->backward({dy.data(), out}, {c.want_dx ? dx.data() : nullptr, c.input});
    gpu->backward({g_dy.data(), out, Device::CUDA}, {c.want_dx ? g_dx.data() : nullptr, c.input, Device::CUDA});
    if (c.want_dx) CHECK(test::max_norm_relative_error(from_gpu(g_dx), dx) <= c.tolerance);
    if (np > 0) CHECK(test::max_norm_relative_error(from_gpu(g_grads), cpu_grads) <= c.tolerance);
    if (ns > 0) CHECK(test::max_norm_relative_error(from_gpu(g_state), cpu_state) <= c.tolerance);
  }
}

}  // namespace

TEST_SUITE("gpu") {

TEST_CASE("Conv2d on CUDA matches the CPU (valid and strided/padded, odd sizes)") {
  SER_REQUIRE_GPU();
  check_parity({[] { return std::make_unique<Conv2d<float>>("conv", 3, 5, 3, 3); }, Shape{2, 3, 9, 11}, Mode::Train,
                1e-5});
  check_parity({[] { return std::make_unique<Conv2d<float>>("conv", 2, 7, 3, 3, 2, 1); }, Shape{3, 2, 8, 7},
                Mode::Train, 1e-5});
  // First layer: no input gradient wanted, the filter gradient still accumulates.
  check_parity({[] { return std::make_unique<Conv2d<float>>("conv", 1, 4, 3, 3); }, Shape{1, 1, 12, 10}, Mode::Train,
                1e-5, false, false});
}

TEST_CASE("BatchNorm2d on CUDA matches the CPU in Train (biased moving var) and Eval") {
  SER_REQUIRE_GPU();
  auto make = [] { return std::make_unique<BatchNorm2d<float>>("bn", 4); };
  check_parity({make, Shape{3, 4, 5, 7}, Mode::Train, 1e-5});
  check_parity({make, Shape{3, 4, 5, 7}, Mode::Eval, 1e-5});
  check_parity({make, Shape{1, 4, 1, 3}, Mode::Train, 1e-5});  // M = 3: biased vs unbiased differ by 1.5x
  check_parity({[] { return std::make_unique<BatchNorm2d<float>>("bn", 300); }, Shape{2, 300, 3, 3}, Mode::Train,
                1e-5});
}

TEST_CASE("ReLU, MaxPool2d (ties, odd sizes), Flatten on CUDA match the CPU exactly") {
  SER_REQUIRE_GPU();
  check_parity({[] { return std::make_unique<ReLU<float>>("relu"); }, Shape{2, 3, 5, 5}, Mode::Train, 0, true});
  check_parity({[] { return std::make_unique<MaxPool2d<float>>("pool"); }, Shape{2, 3, 8, 10}, Mode::Train, 0, true});
  check_parity({[] { return std::make_unique<MaxPool2d<float>>("pool"); }, Shape{2, 3, 7, 9}, Mode::Train, 0, true});
  check_parity({[] { return std::make_unique<Flatten<float>>("flatten"); }, Shape{2, 3, 4, 5}, Mode::Train, 0});
}

// Global average pooling: dx = float(dy / HW) in double on both devices (exact). The forward
// sums in double on both, in another order (a warp's lanes, then a shuffle tree): the two
// double sums agree to ~1e-16 relative and round to the same float except when the mean
// sits within that of a rounding boundary, hence one float ulp (2^-23 relative) allowed.
TEST_CASE("GlobalAvgPool2d on CUDA matches the CPU (planes per block, HW over a warp, HW = 1)") {
  SER_REQUIRE_GPU();
  auto make = [] { return std::make_unique<GlobalAvgPool2d<float>>("gap"); };
  const double one_ulp = 1.0 / 8388608.0;
  check_parity({make, Shape{3, 5, 6, 6}, Mode::Train, one_ulp});     // the robust head's 6x6 planes
  check_parity({make, Shape{1, 17, 13, 11}, Mode::Train, one_ulp});  // HW = 143 > 32 lanes; 17 planes > 8 per block
  check_parity({make, Shape{2, 9, 1, 1}, Mode::Eval, one_ulp});      // HW = 1: a copy
  check_parity({make, Shape{4, 256, 6, 6}, Mode::Train, one_ulp});   // the robust network's size (batch 4)
  check_parity({make, Shape{2, 3, 64, 70}, Mode::Train, one_ulp, true});  // long planes, quantised values
}

TEST_CASE("Dense on CUDA matches the CPU") {
  SER_REQUIRE_GPU();
  check_parity({[] { return std::make_unique<Dense<float>>("fc", 37, 11); }, Shape{5, 37}, Mode::Train, 1e-5});
  check_parity({[] { return std::make_unique<Dense<float>>("fc", 300, 3); }, Shape{1, 300}, Mode::Train, 1e-5});
}

TEST_CASE("Dropout on CUDA draws the CPU's Philox masks; injected masks and Eval are exact") {
  SER_REQUIRE_GPU();
  check_parity({[] { return std::make_unique<Dropout<float>>("drop", 0.5); }, Shape{4, 33}, Mode::Train, 0});
  // 0.3 is not a binary fraction: 1/(1-p) rounds, and both devices must round it the same way.
  check_parity({[] { return std::make_unique<Dropout<float>>("drop", 0.3); }, Shape{4, 33}, Mode::Train, 0});
  check_parity({[] { return std::make_unique<Dropout<float>>("drop", 0.3); }, Shape{4, 33}, Mode::Eval, 0});
  auto injected = [] {
    auto d = std::make_unique<Dropout<float>>("drop", 0.5);
    std::vector<float> mask(4 * 9);
    for (std::size_t i = 0; i < mask.size(); ++i) mask[i] = i % 3 == 0 ? 0.0f : 2.0f;
    d->inject_mask(mask);
    return d;
  };
  check_parity({injected, Shape{4, 9}, Mode::Train, 0});
}

// N whole training steps (forward, loss, backward, Adam) of a small seed-like network on
// both devices from the same initial weights, batches and dropout streams.
// Tolerances: the loss of each step within 1e-4 relative (FP32 reductions in a different
// order, compounded through 5 updates); after the steps, each weight tensor within
// 2e-3*max(1, max|w|): Adam normalises the update, so an element whose gradient is pure
// rounding noise (|g| ~ 1e-9) can move by up to lr = 1e-3 per step in either direction on
// either device, which bounds the drift at steps*lr and no tighter for those elements.
TEST_CASE("Model on CUDA tracks the CPU over 5 training steps; state moves between devices") {
  SER_REQUIRE_GPU();
  const Architecture arch = test::small_architecture();
  Model cpu(arch), gpu(arch, Device::CUDA);
  Generator init(7);
  cpu.initialize(init);
  gpu.load_named_state(train::copy_state(cpu));
  CHECK(test::max_norm_relative_error(gpu.parameters().to_vector(), cpu.parameters().to_vector()) == 0.0);
  Adam cpu_adam({}, cpu.parameter_count()), gpu_adam({}, gpu.parameter_count(), Device::CUDA);
  Generator cpu_rng(11), gpu_rng(11);
  const int batch = 8, steps = 5;
  for (int step = 0; step < steps; ++step) {
    CAPTURE(step);
    const Tensor x = Tensor::from_vector(Shape{batch, 1, 32, 32}, test::uniform_values(batch * 32 * 32, -1, 1, 100 + step));
    std::vector<int32_t> labels(batch);
    for (int i = 0; i < batch; ++i) labels[i] = (i * 3 + step) % arch.classes;
    cpu.zero_grad();
    gpu.zero_grad();
    const std::vector<float> cpu_logits = cpu.forward(x, Mode::Train, &cpu_rng).to_vector();
    const std::vector<float> gpu_logits = gpu.forward(x, Mode::Train, &gpu_rng).to_vector();
    CHECK(test::max_norm_relative_error(gpu_logits, cpu_logits) <= 1e-4);
    const double cpu_loss = cpu.backward_from_labels(labels), gpu_loss = gpu.backward_from_labels(labels);
    CHECK(std::fabs(gpu_loss - cpu_loss) <= 1e-4 * std::fabs(cpu_loss));
    CHECK(test::max_norm_relative_error(gpu.probabilities().to_vector(), cpu.probabilities().to_vector()) <= 1e-4);
    CHECK(test::max_norm_relative_error(gpu.gradients().to_vector(), cpu.gradients().to_vector()) <= 1e-3);
    cpu_adam.step(cpu.parameters(), cpu.gradients());
    gpu_adam.step(gpu.parameters(), gpu.gradients());
  }
  auto cpu_state = cpu.named_state();
  auto gpu_state = gpu.named_state();
  for (std::size_t i = 0; i < cpu_state.size(); ++i) {
    CAPTURE(cpu_state[i].first);
    CHECK(gpu_state[i].first == cpu_state[i].first);
    CHECK(gpu_state[i].second.device() == Device::CUDA);
    CHECK(test::max_norm_relative_error(gpu_state[i].second.to_vector(), cpu_state[i].second.to_vector()) <= 2e-3);
  }
  // Save on the GPU, load on the CPU (and back): Eval logits agree.
  Model cpu_copy(arch), gpu_copy(arch, Device::CUDA);
  cpu_copy.load_named_state(train::copy_state(gpu));
  gpu_copy.load_named_state(train::copy_state(cpu_copy));
  const Tensor x = Tensor::from_vector(Shape{3, 1, 32, 32}, test::uniform_values(3 * 32 * 32, -1, 1, 200));
  const std::vector<float> want = cpu_copy.forward(x, Mode::Eval).to_vector();
  CHECK(test::max_norm_relative_error(gpu.forward(x.to(Device::CUDA), Mode::Eval).to_vector(), want) <= 1e-5);
  CHECK(test::max_norm_relative_error(gpu_copy.forward(x, Mode::Eval).to_vector(), want) <= 1e-5);
}

}  // TEST_SUITE
