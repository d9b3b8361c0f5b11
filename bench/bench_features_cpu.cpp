// CPU audio front-end throughput (Google Benchmark):
//   BM_LogMelImage       images per second on one core for 3-second 16 kHz clips
//                        (STFT 2048/512 float64 FFTW, mel 128, dB, resize 128x128)
//   BM_DecodeResample    decode (libsndfile, PCM_16 WAV) + mono + soxr HQ to 16 kHz of a
//                        3-second clip at the given input rate; "x_realtime" = audio
//                        seconds processed per wall second
//   BM_ExtractImages     the whole batch path (decode + resample + log-mel) over 32 files
//                        on all cores, no cache; items/s = files per second
// Run: ./build-cpu/bench/ser_bench --benchmark_filter='LogMel|Decode|Extract'
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

#include "data/demo_corpus.h"
#include "features/audio.h"
#include "features/extract.h"
#include "features/logmel.h"

namespace {
namespace fs = std::filesystem;
using namespace ser::features;

constexpr double kClipSeconds = 3.0;

// A speech-like test signal: harmonic stack with vibrato plus a little noise, (n,).
std::vector<float> test_signal(int rate, double seconds) {
  const int n = static_cast<int>(rate * seconds);
  std::vector<float> y(n);
  uint32_t s = 12345;
  for (int i = 0; i < n; ++i) {
    const double t = static_cast<double>(i) / rate;
    const double f0 = 140.0 * (1.0 + 0.03 * std::sin(2 * M_PI * 5 * t));
    double v = 0;
    for (int h = 1; h <= 20; ++h) v += std::sin(2 * M_PI * f0 * h * t) / h;
    s = s * 1664525u + 1013904223u;
    y[i] = static_cast<float>(0.2 * v + 0.01 * ((s >> 8) / 16777216.0 - 0.5));
  }
  return y;
}

// Writes a mono PCM_16 WAV of the test signal; returns its path (in a per-process temp folder).
fs::path write_test_wav(int rate, const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("ser-bench-features-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path p = dir / name;
  ser::data::write_wav_pcm16(p, test_signal(rate, kClipSeconds), rate);
  return p;
}

void BM_LogMelImage(benchmark::State& state) {
  const std::vector<float> y = test_signal(16000, kClipSeconds);  // (48000,)
  LogMelExtractor ex;
  for (auto _ : state) benchmark::DoNotOptimize(ex.image(y).data());
  state.SetItemsProcessed(state.iterations());
  state.counters["x_realtime"] =
      benchmark::Counter(kClipSeconds * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_LogMelImage)->Unit(benchmark::kMillisecond);

void BM_DecodeResample(benchmark::State& state) {
  const int rate = static_cast<int>(state.range(0));
  const fs::path wav = write_test_wav(rate, "clip_" + std::to_string(rate) + ".wav");
  for (auto _ : state) benchmark::DoNotOptimize(load_audio(wav, 16000).data());
  state.SetItemsProcessed(state.iterations());
  state.counters["x_realtime"] =
      benchmark::Counter(kClipSeconds * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  fs::remove_all(wav.parent_path());
}
BENCHMARK(BM_DecodeResample)->Arg(16000)->Arg(22050)->Arg(44100)->Arg(48000)->Unit(benchmark::kMillisecond);

void BM_ExtractImages(benchmark::State& state) {
  std::vector<fs::path> files;
  for (int i = 0; i < 32; ++i) files.push_back(write_test_wav(i % 2 ? 48000 : 22050, "f" + std::to_string(i) + ".wav"));
  ExtractOptions opts;
  opts.progress = false;
  for (auto _ : state) benchmark::DoNotOptimize(extract_images(files, LogMelConfig{}, opts).images.data());
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(files.size()));
  fs::remove_all(files[0].parent_path());
}
BENCHMARK(BM_ExtractImages)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
