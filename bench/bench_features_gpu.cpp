// GPU log-mel throughput (Google Benchmark): images per second for batches of 3-second
// 16 kHz clips through GpuLogMelExtractor, host signals in, host images out (so the time
// includes the pinned staging copies, so it is wall time, not CUDA events). Before timing,
// the first image is checked against the CPU reference (LogMelExtractor) within the 1e-2 dB
// of tests/gpu/test_features_gpu.cpp. Skips with "no CUDA device" when the binary has no
// CUDA backend or no device is present.
//
// BM_GpuExtractImages/overlap:{0,1}: extract_images with Device::CUDA end to end from 512
// PCM_16 WAV files of 3 s at 48 kHz (decode + soxr resample on all cores, log-mel on the
// GPU in batches of 128), items/s = files/s; overlap:1 decodes batch k+1 while the GPU
// runs batch k, overlap:0 takes turns (ExtractOptions::gpu_overlap). Wall time.
// Run: ./build-cuda/bench/ser_bench --benchmark_filter='GpuLogMel|GpuExtract'
#include <benchmark/benchmark.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "engine/core/device.h"
#include "data/demo_corpus.h"
#include "features/extract.h"
#include "features/logmel_gpu.h"

namespace {
namespace fs = std::filesystem;
using namespace ser::features;

// `seconds` of a two-tone signal at `rate` Hz, (n,).
std::vector<float> two_tones(int rate, double seconds) {
  std::vector<float> y(static_cast<std::size_t>(rate * seconds));
  for (std::size_t i = 0; i < y.size(); ++i) {
    const double t = static_cast<double>(i) / rate;
    y[i] = static_cast<float>(0.3 * std::sin(2 * M_PI * 220 * t) + 0.1 * std::sin(2 * M_PI * 1870 * t));
  }
  return y;
}

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

void BM_GpuExtractImages(benchmark::State& state) {
  if (!ser::cuda_device_available()) {
    state.SkipWithError("no CUDA device");
    return;
  }
  constexpr int kFiles = 512;
  const fs::path dir = fs::temp_directory_path() / ("ser-bench-extract-gpu-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::vector<float> signal = two_tones(48000, 3.0);  // decoded + resampled per file, same cost
  std::vector<fs::path> files;
  for (int i = 0; i < kFiles; ++i) {
    files.push_back(dir / ("clip" + std::to_string(i) + ".wav"));
    ser::data::write_wav_pcm16(files.back(), signal, 48000);
  }
  ExtractOptions opts;
  opts.progress = false;
  opts.device = ser::Device::CUDA;
  opts.gpu_batch = 128;
  opts.gpu_overlap = state.range(0) != 0;
  const ExtractResult warm = extract_images(files, LogMelConfig{}, opts);  // plan, buffers, page cache
  if (!warm.failures.empty() || warm.images.shape()[0] != kFiles) {
    state.SkipWithError("extraction failed on the benchmark files");
  } else {
    for (auto _ : state) benchmark::DoNotOptimize(extract_images(files, LogMelConfig{}, opts).images.data());
    state.SetItemsProcessed(state.iterations() * kFiles);
  }
  fs::remove_all(dir);
}
BENCHMARK(BM_GpuExtractImages)->ArgName("overlap")->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
