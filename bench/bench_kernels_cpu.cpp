// CPU counterparts of the hand-written GPU kernels (bench/bench_kernels_gpu.cu), through
// the engine's host ops (engine/cpu, engine/train), at the same shapes: batch 16 and 256.
//   BM_adam_step_cpu               cpu::adam_step over the seed net's parameter arena
//   BM_softmax_cross_entropy_cpu   cpu::softmax_cross_entropy, logits (N, 8), probs + dlogits
//   BM_dropout_cpu                 Philox mask + multiply (forward), multiply (backward), (N, F)
//   BM_gather_cpu                  train::gather_batch of N images (1, 128, 128) out of 2048
// Wall time (the engine's pool may split the work); roofline counters against the host
// ceilings (bench/roofline.h).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "bench/bench_data.h"
#include "bench/ceilings_cpu.h"
#include "engine/cpu/adam.h"
#include "engine/cpu/elementwise.h"
#include "engine/cpu/softmax_cross_entropy.h"
#include "engine/nn/architecture.h"
#include "engine/nn/model.h"
#include "engine/train/dataset.h"

using namespace ser;
using ser::bench::random_floats;

namespace {

constexpr int kClasses = 8;                   // RAVDESS emotions, as the GPU cases
constexpr int64_t kSampleFloats = 128 * 128;  // one log-mel image
constexpr int64_t kResidentSamples = 2048;    // training set held in memory

#define SER_CPU_BENCH(fn) BENCHMARK(fn)->Unit(benchmark::kMicrosecond)->UseRealTime()

// w, m, v, g: (P,) with P = the seed network's parameter count (5.24 M). Per element:
// reads w, m, v, g and writes w, m, v (28 bytes); 12 FLOPs (sqrt and division as 1).
void BM_adam_step_cpu(benchmark::State& st) {
  const int64_t n = nn::Model(nn::Architecture::seed(kClasses)).parameter_count();
  auto w = random_floats(n, -1, 1, 1), g = random_floats(n, -0.1f, 0.1f, 2);
  std::vector<float> m(w.size()), v(w.size());
  int64_t t = 0;
  const double seconds = bench::timed_loop(
      st, [&] { cpu::adam_step(w.data(), m.data(), v.data(), g.data(), n, 1e-3, 0.9, 0.999, 1e-7, ++t); });
  bench::report_roofline(st, 28.0 * n, 12.0 * n, bench::cpu_ceilings(), seconds);
  st.counters["parameters"] = double(n);
}
SER_CPU_BENCH(BM_adam_step_cpu);

// logits, probs, dlogits: (N, K) row-major; labels (N). Reads logits and labels, writes
// probs and dlogits; ~8 FLOPs per logit (max, exp twice, sum, normalise).
void BM_softmax_cross_entropy_cpu(benchmark::State& st) {
  const int n = int(st.range(0));
  const auto logits = random_floats(int64_t(n) * kClasses, -3, 3, 3);
  std::vector<float> probs(logits.size()), dlogits(logits.size());
  std::vector<int32_t> labels(n);
  for (int i = 0; i < n; ++i) labels[i] = i % kClasses;
  const double seconds = bench::timed_loop(st, [&] {
    benchmark::DoNotOptimize(
        cpu::softmax_cross_entropy(probs.data(), dlogits.data(), logits.data(), labels.data(), n, kClasses));
  });
  bench::report_roofline(st, double(n) * (12.0 * kClasses + 4), 8.0 * n * kClasses, bench::cpu_ceilings(), seconds);
}
SER_CPU_BENCH(BM_softmax_cross_entropy_cpu)->ArgName("batch")->Arg(16)->Arg(256);

// Inverted dropout (p = 0.5) over (N, F), as the Dropout layer runs it: forward draws the
// float mask from Philox (mask[i] = 2 or 0) and multiplies; backward multiplies dy by the
// mask. Each reads one array and the mask or writes the mask: 12 bytes and 1 FLOP per
// element (the Philox rounds are integer work, not counted).
void BM_dropout_cpu(benchmark::State& st) {
  const int64_t n = st.range(0) * st.range(1);
  const bool backward = st.range(2) != 0;
  const auto x = random_floats(n, -1, 1, 4);
  std::vector<float> mask(x.size()), y(x.size());
  uint64_t stream = 0;
  cpu::dropout_mask(mask.data(), n, 0.5, 42, stream);
  const double seconds = bench::timed_loop(st, [&] {
    if (!backward) cpu::dropout_mask(mask.data(), n, 0.5, 42, ++stream);
    cpu::multiply_by_mask(y.data(), x.data(), mask.data(), n);
  });
  bench::report_roofline(st, 12.0 * n, double(n), bench::cpu_ceilings(), seconds);
}
SER_CPU_BENCH(BM_dropout_cpu)->ArgNames({"batch", "features", "backward"})->ArgsProduct({{16, 256}, {512, 256}, {0, 1}});

// Gathers N rows (1, 128, 128) of a resident set (2048, 1, 128, 128) in a shuffled order
// into a batch (N, 1, 128, 128) and its labels: reads and writes each row once.
void BM_gather_cpu(benchmark::State& st) {
  const int64_t n = st.range(0);
  train::Dataset data;
  data.images = Tensor::from_vector(Shape{kResidentSamples, 1, 128, 128},
                                    random_floats(kResidentSamples * kSampleFloats, -1, 1, 5));
  data.labels.resize(kResidentSamples);
  for (int64_t i = 0; i < kResidentSamples; ++i) data.labels[i] = int32_t(i % kClasses);
  std::vector<int64_t> order(kResidentSamples);
  for (int64_t i = 0; i < kResidentSamples; ++i) order[i] = (i * 7919) % kResidentSamples;  // a permutation
  Tensor batch;
  std::vector<int32_t> labels;
  int64_t begin = 0;
  const double seconds = bench::timed_loop(st, [&] {
    train::gather_batch(data, order, begin, n, batch, labels);
    begin = (begin + n) % (kResidentSamples - n);  // walk the epoch so the rows vary
  });
  bench::report_roofline(st, double(n) * (8.0 * kSampleFloats + 12), 0, bench::cpu_ceilings(), seconds);
}
SER_CPU_BENCH(BM_gather_cpu)->ArgName("batch")->Arg(16)->Arg(256);

}  // namespace
