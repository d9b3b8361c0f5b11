// Google Benchmark of the hand-written training-step kernels (kernels/*.h) at the seed
// network's shapes (and the robust recipe's: augmentation, soft-target loss, AdamW with the
// one-cycle schedule, the GAP head), batch 16 (the protocol's) and 256. Each case first checks one output
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

#include <cstring>

#include "engine/core/device.h"
#include "engine/core/philox.h"
#include "engine/core/random.h"
#include "engine/cpu/adam.h"
#include "engine/cpu/augment.h"
#include "engine/cpu/global_avg_pool.h"
#include "engine/cpu/softmax_cross_entropy.h"
#include "engine/cuda/check.h"
#include "engine/train/augment_plan.h"
#include "bench/ceilings_gpu.h"
#include "kernels/adam.h"
#include "kernels/augment.h"
#include "kernels/bias_relu.h"
#include "kernels/confusion.h"
#include "kernels/device_array.h"
#include "kernels/dropout.h"
#include "kernels/gather.h"
#include "kernels/global_avg_pool.h"
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

// The robust recipe's optimizer over the seed net's arena size: AdamW (decay 1e-2) with the
// one-cycle schedule evaluated from the device step counter (the CUDA-graph step's variant).
// Checked once: one host-step launch equals cpu::adam_step bit for bit.
void BM_adamw_onecycle_gpu(benchmark::State& state) {
  if (skip_without_device(state)) return;
  const int64_t n = kSeedNetParameters;
  const auto w0 = random_floats(n, -1, 1, 2), g = random_floats(n, -0.1f, 0.1f, 3);
  kernels::AdamHyper h;
  h.learning_rate = 2e-3;
  h.weight_decay = 1e-2;
  h.schedule.kind = nn::LrScheduleKind::OneCycle;
  h.schedule.total_steps = 60 * 40;  // robust: 60 epochs of ~40 steps
  DeviceArray<float> w(w0), d_g(g), m(n), v(n);
  DeviceArray<int64_t> step(1);
  kernels::adam_step(w.data(), d_g.data(), m.data(), v.data(), n, h, 1, nullptr);
  std::vector<float> want = w0, want_m(n, 0.0f), want_v(n, 0.0f);
  cpu::adam_step(want.data(), want_m.data(), want_v.data(), g.data(), n, h.rate_of_step(1), h.beta1, h.beta2,
                 h.epsilon, 1, h.weight_decay);
  if (!close(w.download(), want, 0)) return state.SkipWithError("AdamW differs from cpu::adam_step");
  time_and_report(state, [&](cudaStream_t s) {
    kernels::adam_step_device_counter(w.data(), d_g.data(), m.data(), v.data(), n, h, step.data(), s);
  }, double(n) * 28, 14.0 * n);
}

// SpecAugment masks + time shift (+ mixup) of a batch of 128x128 images from a drawn plan
// (the robust recipe's masks), checked once bit for bit against cpu::augment_images.
void BM_augment_gpu(benchmark::State& state, bool mixup) {
  if (skip_without_device(state)) return;
  const int n = static_cast<int>(state.range(0)), h = 128, w = 128;
  const auto x = random_floats(int64_t(n) * h * w, -2, 2, 13);
  Generator generator(5);
  const auto config =
      train::AugmentConfig::parse(mixup ? "time-masks=2x16,freq-masks=2x16,shift=16,mixup=0.2"
                                        : "time-masks=2x16,freq-masks=2x16,shift=16");
  const std::vector<cpu::SampleAugment> plan = train::draw_augment_plan(generator, n, n, h, w, config);
  DeviceArray<float> d_x(x), d_out(int64_t(n) * h * w);
  DeviceArray<cpu::SampleAugment> d_plan(plan);
  kernels::augment_images(d_out.data(), d_x.data(), d_plan.data(), n, h, w, nullptr);
  std::vector<float> want(x.size());
  cpu::augment_images(want.data(), x.data(), plan.data(), n, h, w);
  const auto got = d_out.download();
  if (std::memcmp(got.data(), want.data(), want.size() * sizeof(float)) != 0)
    return state.SkipWithError("augment differs from cpu::augment_images");
  const double pixels = double(n) * h * w;
  time_and_report(state, [&](cudaStream_t s) {
    kernels::augment_images(d_out.data(), d_x.data(), d_plan.data(), n, h, w, s);
  }, pixels * 4 * (mixup ? 3 : 2), mixup ? 3.0 * pixels : 0.0);
}

// Soft-target softmax-CE (label smoothing 0.1 + mixup), checked once against the CPU's loss.
void BM_softmax_cross_entropy_soft_gpu(benchmark::State& state) {
  if (skip_without_device(state)) return;
  const int64_t n = state.range(0);
  const auto logits = random_floats(n * kClasses, -3, 3, 14);
  const auto lambda = random_floats(n, 0.5f, 1.0f, 15);
  std::vector<int32_t> a(n), b(n);
  for (int64_t i = 0; i < n; ++i) {
    a[i] = int32_t(i % kClasses);
    b[i] = int32_t((i * 5 + 3) % kClasses);
  }
  DeviceArray<float> d_logits(logits), d_dlogits(n * kClasses), d_loss(1), d_lambda(lambda);
  DeviceArray<int32_t> d_a(a), d_b(b);
  DeviceArray<int> d_correct(1);
  auto launch = [&](cudaStream_t s) {
    kernels::softmax_cross_entropy_soft_forward_backward(d_logits.data(), d_a.data(), d_b.data(), d_lambda.data(), 0.1,
                                                         n, kClasses, d_dlogits.data(), d_loss.data(),
                                                         d_correct.data(), s);
  };
  launch(nullptr);
  std::vector<float> probs(n * kClasses), dlogits(n * kClasses);
  const double want_loss = n * cpu::softmax_cross_entropy_soft(probs.data(), dlogits.data(), logits.data(), a.data(),
                                                               b.data(), lambda.data(), 0.1, int(n), kClasses);
  if (std::fabs(d_loss.download()[0] - want_loss) > 1e-5 * std::fabs(want_loss) + 1e-6)
    return state.SkipWithError("soft loss differs from cpu::softmax_cross_entropy_soft");
  time_and_report(state, launch, double(n) * (2 * kClasses * 4 + 12), 12.0 * n * kClasses);
}

// Global average pooling at the robust network's head: (B, 256, 6, 6) -> (B, 256).
void BM_global_avg_pool_gpu(benchmark::State& state, bool backward) {
  if (skip_without_device(state)) return;
  const int64_t planes = state.range(0) * 256, hw = 36;
  const auto x = random_floats(planes * hw, -1, 1, 16), dy = random_floats(planes, -1, 1, 17);
  DeviceArray<float> d_x(x), d_y(planes), d_dy(dy), d_dx(planes * hw);
  kernels::global_avg_pool_forward(d_y.data(), d_x.data(), planes, hw, nullptr);
  std::vector<float> want(planes);
  cpu::global_avg_pool_forward(want.data(), x.data(), planes, hw);
  if (!close(d_y.download(), want, 1e-7)) return state.SkipWithError("GAP forward differs from the CPU");
  if (backward)
    time_and_report(state, [&](cudaStream_t s) {
      kernels::global_avg_pool_backward(d_dx.data(), d_dy.data(), planes, hw, s);
    }, double(planes) * (4 + 4 * hw), double(planes) * hw);
  else
    time_and_report(state, [&](cudaStream_t s) {
      kernels::global_avg_pool_forward(d_y.data(), d_x.data(), planes, hw, s);
    }, double(planes) * (4 * hw + 4), double(planes) * hw);
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
SER_GPU_BENCH(BM_adamw_onecycle_gpu);
SER_GPU_BENCH(BM_softmax_cross_entropy_soft_gpu)->Arg(16)->Arg(256);
SER_GPU_BENCH_CAPTURE(BM_augment_gpu, masks_shift, false)->Arg(16)->Arg(256);
SER_GPU_BENCH_CAPTURE(BM_augment_gpu, masks_shift_mixup, true)->Arg(16)->Arg(256);
SER_GPU_BENCH_CAPTURE(BM_global_avg_pool_gpu, forward, false)->Arg(16)->Arg(256);
SER_GPU_BENCH_CAPTURE(BM_global_avg_pool_gpu, backward, true)->Arg(16)->Arg(256);
SER_GPU_BENCH(BM_gather_rows_gpu)->Arg(16)->Arg(256);
SER_GPU_BENCH(BM_confusion_from_logits_gpu)->Arg(16)->Arg(256);
SER_GPU_BENCH_CAPTURE(BM_bias_relu_conv_gpu, forward, false)->ArgsProduct({{16, 256}, {0, 1, 2, 3}})->ArgNames({"batch", "layer"});
SER_GPU_BENCH_CAPTURE(BM_bias_relu_conv_gpu, backward, true)->ArgsProduct({{16, 256}, {0, 1, 2, 3}})->ArgNames({"batch", "layer"});
SER_GPU_BENCH_CAPTURE(BM_bias_relu_dense_gpu, forward, false)->ArgsProduct({{16, 256}, {512, 256}})->ArgNames({"batch", "features"});
SER_GPU_BENCH_CAPTURE(BM_bias_relu_dense_gpu, backward, true)->ArgsProduct({{16, 256}, {512, 256}})->ArgNames({"batch", "features"});
SER_GPU_BENCH_CAPTURE(BM_dropout_gpu, forward, false)->ArgsProduct({{16, 256}, {512, 256}})->ArgNames({"batch", "features"});
SER_GPU_BENCH_CAPTURE(BM_dropout_gpu, backward, true)->ArgsProduct({{16, 256}, {512, 256}})->ArgNames({"batch", "features"});
