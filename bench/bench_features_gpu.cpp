// GPU log-mel throughput (Google Benchmark): images per second for batches of 3-second
// 16 kHz clips through GpuLogMelExtractor, host signals in, host images out (so the time
// includes the pinned staging copies, so it is wall time, not CUDA events). Before timing,
// the first image is checked against the CPU reference (LogMelExtractor) within the 1e-2 dB
// of tests/gpu/test_features_gpu.cpp. Skips with "no CUDA device" when the binary has no
// CUDA backend or no device is present.
// Run: ./build-cuda/bench/ser_bench --benchmark_filter=GpuLogMel
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>

#include "engine/core/device.h"
#include "features/logmel_gpu.h"

namespace {
using namespace ser::features;

void BM_GpuLogMelImages(benchmark::State& state) {
  if (!ser::cuda_device_available()) {
    state.SkipWithError("no CUDA device");
    return;
  }
  const int batch = static_cast<int>(state.range(0));
  std::vector<std::vector<float>> signals(static_cast<std::size_t>(batch));
  for (int b = 0; b < batch; ++b) {
    signals[b].resize(48000);  // 3 s at 16 kHz, (48000,)
    for (int i = 0; i < 48000; ++i) signals[b][i] = 0.3f * std::sin(0.01f * (b + 1) * i);
  }
  GpuLogMelExtractor gpu;
  const std::vector<float> got = gpu.images(signals).to_vector();  // warm-up: buffers and plan
  LogMelExtractor cpu;
  const std::vector<float> want = cpu.image(signals[0]).to_vector();  // (H, W) of signal 0
  double max_db_diff = 0;
  for (std::size_t i = 0; i < want.size(); ++i) max_db_diff = std::max(max_db_diff, std::fabs(double(got[i]) - want[i]));
  if (!(max_db_diff <= 1e-2)) {
    state.SkipWithError("GPU log-mel image differs from the CPU reference by more than 1e-2 dB");
    return;
  }
  for (auto _ : state) benchmark::DoNotOptimize(gpu.images(signals).data());
  state.SetItemsProcessed(state.iterations() * batch);
}
BENCHMARK(BM_GpuLogMelImages)->Arg(64)->Arg(512)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
