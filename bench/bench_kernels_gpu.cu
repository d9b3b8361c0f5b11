// Google Benchmark of the hand-written training-step kernels (kernels/*.h) at the seed
// network's shapes, batch 16 (the protocol's) and 256. Each case first checks one output
// against a CPU loop, then times the kernel alone with CUDA events (UseManualTime) after
// flushing L2 (a cudaMemsetAsync over twice the L2 size), and reports the bytes the
// kernel must move, its FLOPs (multiply-adds as 2, exp/sqrt/division as 1) and
// frac_of_peak against the GPU ceilings measured in the same run (bench/roofline.h).
// Without a device every case calls SkipWithError("no CUDA device"): never a fabricated time.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>
#include <vector>

#include "engine/core/device.h"
#include "engine/core/philox.h"
#include "engine/cuda/check.h"
#include "bench/ceilings_gpu.h"
#include "kernels/adam.h"
#include "kernels/bias_relu.h"
#include "kernels/confusion.h"
#include "kernels/device_array.h"
#include "kernels/dropout.h"
#include "kernels/gather.h"
#include "kernels/softmax_cross_entropy.h"

using namespace ser;
using kernels::DeviceArray;

namespace {

constexpr int kClasses = 8;                      // RAVDESS emotions
constexpr int64_t kSeedNetParameters = 5241288;  // conv 387840 + BN gamma/beta 960 + dense 4852488
constexpr int64_t kSampleFloats = 128 * 128;     // one log-mel image
constexpr int64_t kResidentSamples = 2048;       // training set kept on the device

std::vector<float> random_floats(int64_t n, float low, float high, uint32_t seed) {
  std::mt19937 engine(seed);
  std::uniform_real_distribution<float> dist(low, high);
  std::vector<float> v(static_cast<std::size_t>(n));
  for (float& x : v) x = dist(engine);
  return v;
}

// Event-timed loop (L2 flushed, bench/ceilings_gpu.h), then the roofline counters against
// the GPU ceilings (copy bandwidth; FP32 SGEMM): these kernels are all memory-bound.
void time_and_report(benchmark::State& state, const std::function<void(cudaStream_t)>& launch, double bytes,
                     double flops) {
  const double seconds = bench::time_on_device(state, launch);
  bench::report_roofline(state, bytes, flops, bench::gpu_ceilings().fp32, seconds);
}

using bench::skip_without_device;

bool close(const std::vector<float>& got, const std::vector<float>& want, double tolerance) {
  for (std::size_t i = 0; i < got.size(); ++i)
    if (!(std::fabs(double(got[i]) - double(want[i])) <= tolerance)) return false;
  return got.size() == want.size();
}

// ---- cases ----------------------------------------------------------------------------

void BM_softmax_cross_entropy_gpu(benchmark::State& state) {
  if (skip_without_device(state)) return;
  const int64_t n = state.range(0);
  const auto logits = random_floats(n * kClasses, -3, 3, 1);
  std::vector<int32_t> labels(n);
  for (int64_t i = 0; i < n; ++i) labels[i] = int32_t(i % kClasses);
  DeviceArray<float> d_logits(logits), d_dlogits(n * kClasses), d_loss(1);
  DeviceArray<int32_t> d_labels(labels);
  DeviceArray<int> d_correct(1);
  auto launch = [&](cudaStream_t s) {
    kernels::softmax_cross_entropy_forward_backward(d_logits.data(), d_labels.data(), n, kClasses, d_dlogits.data(),
                                                    d_loss.data(), d_correct.data(), s);
  };
  launch(nullptr);
  double want_loss = 0;  // CPU check of the loss sum (double)
  for (int64_t r = 0; r < n; ++r) {
    const float* x = &logits[r * kClasses];
    const double mx = *std::max_element(x, x + kClasses);
    double sum = 0;
    for (int j = 0; j < kClasses; ++j) sum += std::exp(x[j] - mx);
    want_loss += mx + std::log(sum) - x[labels[r]];
  }
  if (std::fabs(d_loss.download()[0] - want_loss) > 1e-5 * std::fabs(want_loss) + 1e-6)
    return state.SkipWithError("loss differs from the CPU loop");
  time_and_report(state, launch, double(n) * (2 * kClasses * 4 + 4), 8.0 * n * kClasses);
}

void BM_adam_step_gpu(benchmark::State& state) {
  if (skip_without_device(state)) return;
  const int64_t n = kSeedNetParameters;
  const auto w0 = random_floats(n, -1, 1, 2), g = random_floats(n, -0.1f, 0.1f, 3);
  DeviceArray<float> w(w0), d_g(g), m(n), v(n);
  const kernels::AdamHyper h;
  kernels::adam_step(w.data(), d_g.data(), m.data(), v.data(), n, h, 1, nullptr);
  std::vector<double> want(n);  // one step from m = v = 0, in double
  const double alpha = h.learning_rate * std::sqrt(1 - h.beta2) / (1 - h.beta1);
  for (int64_t i = 0; i < n; ++i) {
    const double mi = g[i] * (1 - h.beta1), vi = double(g[i]) * g[i] * (1 - h.beta2);
    want[i] = w0[i] - mi * alpha / (std::sqrt(vi) + h.epsilon);
  }
  const auto got = w.download();
  for (int64_t i = 0; i < n; ++i)
    if (std::fabs(got[i] - want[i]) > 1e-6) return state.SkipWithError("Adam differs from the CPU loop");
  int64_t t = 1;
  time_and_report(state, [&](cudaStream_t s) { kernels::adam_step(w.data(), d_g.data(), m.data(), v.data(), n, h, ++t, s); },
                 double(n) * 28, 12.0 * n);
}

// Seed-net conv outputs (C, HW) by layer index 0..3.
constexpr int64_t kConvChannels[4] = {32, 64, 128, 256};
constexpr int64_t kConvPlane[4] = {126 * 126, 61 * 61, 28 * 28, 12 * 12};

void BM_bias_relu_conv_gpu(benchmark::State& state, bool backward) {
  if (skip_without_device(state)) return;
  const int64_t n = state.range(0), c = kConvChannels[state.range(1)], hw = kConvPlane[state.range(1)];
  const int64_t total = n * c * hw;
  const auto z = random_floats(total, -1, 1, 4), bias = random_floats(c, -0.2f, 0.2f, 5);
  DeviceArray<float> y(z), d_bias(bias), dy(random_floats(total, -1, 1, 6)), dbias(c);
  DeviceArray<float> workspace(kernels::bias_relu_backward_workspace_floats(n, c, hw));
  kernels::bias_relu_forward(y.data(), d_bias.data(), n, c, hw, nullptr);
  std::vector<float> want(total);
  for (int64_t i = 0; i < total; ++i) want[i] = std::max(z[i] + bias[(i / hw) % c], 0.0f);
  if (!close(y.download(), want, 0)) return state.SkipWithError("bias_relu_forward differs from the CPU loop");
  if (backward)
    time_and_report(state, [&](cudaStream_t s) {
      kernels::bias_relu_backward(dy.data(), y.data(), n, c, hw, dbias.data(), workspace.data(), s);
    }, double(total) * 12, 2.0 * total);
  else
    time_and_report(state, [&](cudaStream_t s) { kernels::bias_relu_forward(y.data(), d_bias.data(), n, c, hw, s); },
                   double(total) * 8, 2.0 * total);
}

void BM_bias_relu_dense_gpu(benchmark::State& state, bool backward) {
  if (skip_without_device(state)) return;
  const int64_t n = state.range(0), c = state.range(1);
  const auto z = random_floats(n * c, -1, 1, 7), bias = random_floats(c, -0.2f, 0.2f, 8);
  DeviceArray<float> y(z), d_bias(bias), dy(random_floats(n * c, -1, 1, 9)), dbias(c);
  kernels::bias_relu_dense_forward(y.data(), d_bias.data(), n, c, nullptr);
  std::vector<float> want(n * c);
  for (int64_t i = 0; i < n * c; ++i) want[i] = std::max(z[i] + bias[i % c], 0.0f);
  if (!close(y.download(), want, 0)) return state.SkipWithError("bias_relu_dense_forward differs from the CPU loop");
  if (backward)
    time_and_report(state, [&](cudaStream_t s) {
      kernels::bias_relu_dense_backward(dy.data(), y.data(), n, c, dbias.data(), s);
    }, double(n * c) * 12, 2.0 * n * c);
  else
    time_and_report(state, [&](cudaStream_t s) { kernels::bias_relu_dense_forward(y.data(), d_bias.data(), n, c, s); },
                   double(n * c) * 8, 2.0 * n * c);
}

void BM_dropout_gpu(benchmark::State& state, bool backward) {
  if (skip_without_device(state)) return;
  const int64_t n = state.range(0) * state.range(1);  // (B, features)
  const float p = 0.5f;
  DeviceArray<float> x(random_floats(n, -1, 1, 10)), y(n);
  DeviceArray<uint8_t> mask(n);
  kernels::dropout_forward(x.data(), y.data(), mask.data(), n, p, 42, 7, nullptr);
  const auto got = mask.download();
  for (int64_t i = 0; i < n; ++i)
    if (got[i] != (philox_uniform_at(42, 7, uint64_t(i)) >= p ? 1 : 0))
      return state.SkipWithError("dropout mask differs from philox_uniform_at");
  if (backward)
    time_and_report(state, [&](cudaStream_t s) { kernels::dropout_backward(y.data(), mask.data(), x.data(), n, p, s); },
                   double(n) * 9, double(n));
  else
    time_and_report(state, [&](cudaStream_t s) {
      kernels::dropout_forward(x.data(), y.data(), mask.data(), n, p, 42, 7, s);
    }, double(n) * 9, double(n));
}

void BM_gather_rows_gpu(benchmark::State& state) {
  if (skip_without_device(state)) return;
  const int64_t b = state.range(0), m = kResidentSamples, d = kSampleFloats;
  const auto src = random_floats(m * d, -1, 1, 11);
  std::vector<int64_t> indices(b);
  for (int64_t i = 0; i < b; ++i) indices[i] = (i * 7919) % m;
  DeviceArray<float> d_src(src), dst(b * d);
  DeviceArray<int64_t> d_indices(indices);
  kernels::gather_rows(dst.data(), d_src.data(), m, d, d_indices.data(), b, nullptr);
  std::vector<float> want(b * d);
  for (int64_t r = 0; r < b; ++r) std::copy_n(&src[indices[r] * d], d, &want[r * d]);
  if (!close(dst.download(), want, 0)) return state.SkipWithError("gather differs from the CPU loop");
  time_and_report(state, [&](cudaStream_t s) {
    kernels::gather_rows(dst.data(), d_src.data(), m, d, d_indices.data(), b, s);
  }, double(b) * (2 * d * 4 + 8), 0);
}

void BM_confusion_from_logits_gpu(benchmark::State& state) {
  if (skip_without_device(state)) return;
  const int64_t n = state.range(0);
  const auto logits = random_floats(n * kClasses, -3, 3, 12);
  std::vector<int32_t> labels(n);
  for (int64_t i = 0; i < n; ++i) labels[i] = int32_t((i * 3) % kClasses);
  DeviceArray<float> d_logits(logits);
  DeviceArray<int32_t> d_labels(labels);
  DeviceArray<int> confusion(kClasses * kClasses);
  kernels::confusion_update_from_logits(d_logits.data(), d_labels.data(), n, kClasses, confusion.data(), nullptr);
  std::vector<int> want(kClasses * kClasses, 0);
  for (int64_t r = 0; r < n; ++r) {
    const float* x = &logits[r * kClasses];
    ++want[labels[r] * kClasses + int(std::max_element(x, x + kClasses) - x)];  // first maximum
  }
  if (confusion.download() != want) return state.SkipWithError("confusion differs from the CPU loop");
  time_and_report(state, [&](cudaStream_t s) {
    kernels::confusion_update_from_logits(d_logits.data(), d_labels.data(), n, kClasses, confusion.data(), s);
  }, double(n) * (kClasses * 4 + 4), double(n) * kClasses);
}

}  // namespace

#define SER_GPU_BENCH(fn) BENCHMARK(fn)->UseManualTime()->Unit(benchmark::kMicrosecond)
#define SER_GPU_BENCH_CAPTURE(fn, name, backward) \
  BENCHMARK_CAPTURE(fn, name, backward)->UseManualTime()->Unit(benchmark::kMicrosecond)
SER_GPU_BENCH(BM_softmax_cross_entropy_gpu)->Arg(16)->Arg(256);
SER_GPU_BENCH(BM_adam_step_gpu);
SER_GPU_BENCH(BM_gather_rows_gpu)->Arg(16)->Arg(256);
SER_GPU_BENCH(BM_confusion_from_logits_gpu)->Arg(16)->Arg(256);
SER_GPU_BENCH_CAPTURE(BM_bias_relu_conv_gpu, forward, false)->ArgsProduct({{16, 256}, {0, 1, 2, 3}})->ArgNames({"batch", "layer"});
SER_GPU_BENCH_CAPTURE(BM_bias_relu_conv_gpu, backward, true)->ArgsProduct({{16, 256}, {0, 1, 2, 3}})->ArgNames({"batch", "layer"});
SER_GPU_BENCH_CAPTURE(BM_bias_relu_dense_gpu, forward, false)->ArgsProduct({{16, 256}, {512, 256}})->ArgNames({"batch", "features"});
SER_GPU_BENCH_CAPTURE(BM_bias_relu_dense_gpu, backward, true)->ArgsProduct({{16, 256}, {512, 256}})->ArgNames({"batch", "features"});
SER_GPU_BENCH_CAPTURE(BM_dropout_gpu, forward, false)->ArgsProduct({{16, 256}, {512, 256}})->ArgNames({"batch", "features"});
SER_GPU_BENCH_CAPTURE(BM_dropout_gpu, backward, true)->ArgsProduct({{16, 256}, {512, 256}})->ArgNames({"batch", "features"});
