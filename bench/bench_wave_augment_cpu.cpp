// CPU cost of the waveform augmentation ops (features/wave_augment.h) on one 3-second
// 16 kHz clip (48000 samples), one core; items/s = clips per second:
//   BM_WaveSpeedPerturb/{900,1100}   speed_perturb, factor / 1000 (libsoxr HQ)
//   BM_WaveColouredNoise/{0,1,2}     coloured_noise of 48000 samples, exponent (one 65536 FFT)
//   BM_WaveBabble                    babble of 3 talkers
//   BM_WaveAddNoise                  add_noise with a ready noise
//   BM_WaveGain, BM_WaveMuLaw        elementwise
//   BM_WaveTelephoneBand             4 biquads
//   BM_WaveSpectralTilt              one 65536 FFT pair
//   BM_WaveReverb/{200,500,800}      synthetic_reverb, rt60 ms (IR + 3 FFTs)
//   BM_WaveCutToSeconds              cut-2s
//   BM_WaveCodec/{vorbis,mp3}        codec_roundtrip (only the codecs this libsndfile writes)
//   BM_WaveAugment/{typical,all}     augment_waveform over fresh streams: the training config
//                                    of the header, and every op at probability 1
// Run: ./build/bench/ser_bench --benchmark_filter=BM_Wave
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "features/wave_augment.h"

namespace {
using namespace ser::features;

constexpr int kRate = 16000;
constexpr std::size_t kClip = 48000;  // 3 s

// A speech-like test signal: harmonic stack with vibrato, (n,).
std::vector<float> voice(std::size_t n, double f0 = 140) {
  std::vector<float> y(n);
  for (std::size_t i = 0; i < n; ++i) {
    const double t = static_cast<double>(i) / kRate, f = f0 * (1 + 0.03 * std::sin(2 * M_PI * 5 * t));
    double v = 0;
    for (int h = 1; h <= 20; ++h) v += std::sin(2 * M_PI * f * h * t) / h;
    y[i] = static_cast<float>(0.15 * v);
  }
  return y;
}

void per_clip(benchmark::State& state) { state.SetItemsProcessed(state.iterations()); }

void BM_WaveSpeedPerturb(benchmark::State& state) {
  const std::vector<float> x = voice(kClip);
  const double factor = state.range(0) / 1000.0;
  for (auto _ : state) benchmark::DoNotOptimize(speed_perturb(x, factor, kRate).data());
  per_clip(state);
}
BENCHMARK(BM_WaveSpeedPerturb)->Arg(900)->Arg(1100)->Unit(benchmark::kMicrosecond);

void BM_WaveColouredNoise(benchmark::State& state) {
  uint64_t offset = 0;
  for (auto _ : state) benchmark::DoNotOptimize(coloured_noise(kClip, static_cast<double>(state.range(0)), 1, offset++).data());
  per_clip(state);
}
BENCHMARK(BM_WaveColouredNoise)->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kMicrosecond);

void BM_WaveBabble(benchmark::State& state) {
  const std::vector<float> a = voice(40000, 120), b = voice(52000, 190), c = voice(30000, 230);
  for (auto _ : state) benchmark::DoNotOptimize(babble({&a, &b, &c}, kClip, 3).data());
  per_clip(state);
}
BENCHMARK(BM_WaveBabble)->Unit(benchmark::kMicrosecond);

void BM_WaveAddNoise(benchmark::State& state) {
  const std::vector<float> x = voice(kClip), noise = coloured_noise(kClip, 1.0, 1, 0);
  for (auto _ : state) benchmark::DoNotOptimize(add_noise(x, noise, 10.0).data());
  per_clip(state);
}
BENCHMARK(BM_WaveAddNoise)->Unit(benchmark::kMicrosecond);

void BM_WaveGain(benchmark::State& state) {
  const std::vector<float> x = voice(kClip);
  for (auto _ : state) benchmark::DoNotOptimize(apply_gain_db(x, -6.0).data());
  per_clip(state);
}
BENCHMARK(BM_WaveGain)->Unit(benchmark::kMicrosecond);

void BM_WaveMuLaw(benchmark::State& state) {
  const std::vector<float> x = voice(kClip);
  for (auto _ : state) benchmark::DoNotOptimize(mu_law_roundtrip(x).data());
  per_clip(state);
}
BENCHMARK(BM_WaveMuLaw)->Unit(benchmark::kMicrosecond);

void BM_WaveTelephoneBand(benchmark::State& state) {
  const std::vector<float> x = voice(kClip);
  for (auto _ : state) benchmark::DoNotOptimize(telephone_band(x, kRate).data());
  per_clip(state);
}
BENCHMARK(BM_WaveTelephoneBand)->Unit(benchmark::kMicrosecond);

void BM_WaveSpectralTilt(benchmark::State& state) {
  const std::vector<float> x = voice(kClip);
  for (auto _ : state) benchmark::DoNotOptimize(spectral_tilt(x, kRate, 4.0).data());
  per_clip(state);
}
BENCHMARK(BM_WaveSpectralTilt)->Unit(benchmark::kMicrosecond);

void BM_WaveReverb(benchmark::State& state) {
  const std::vector<float> x = voice(kClip);
  const double rt60 = state.range(0) / 1000.0;
  uint64_t offset = 0;
  for (auto _ : state) benchmark::DoNotOptimize(synthetic_reverb(x, kRate, rt60, 1, offset++, 1.0).data());
  per_clip(state);
}
BENCHMARK(BM_WaveReverb)->Arg(200)->Arg(500)->Arg(800)->Unit(benchmark::kMicrosecond);

void BM_WaveCutToSeconds(benchmark::State& state) {
  const std::vector<float> x = voice(kClip);
  for (auto _ : state) benchmark::DoNotOptimize(cut_to_seconds(x, kRate, 2.0).data());
  per_clip(state);
}
BENCHMARK(BM_WaveCutToSeconds)->Unit(benchmark::kMicrosecond);

void BM_WaveCodec(benchmark::State& state, AudioCodec codec) {
  const std::vector<float> x = voice(kClip);
  for (auto _ : state) benchmark::DoNotOptimize(codec_roundtrip(x, kRate, codec).data());
  per_clip(state);
}
// Registered only for the codecs this libsndfile writes (a skipped case would print
// "ERROR OCCURRED", which fails bench_quick).
const bool kCodecCasesRegistered = [] {
  for (AudioCodec codec : {AudioCodec::kVorbis, AudioCodec::kMp3})
    if (codec_supported(codec, kRate))
      benchmark::RegisterBenchmark(("BM_WaveCodec/" + codec_name(codec)).c_str(), BM_WaveCodec, codec)
          ->Unit(benchmark::kMillisecond);
  return true;
}();

// Mean cost per clip over consecutive streams, so every op runs at its probability.
void BM_WaveAugment(benchmark::State& state) {
  const char* text = state.range(0) == 0
                         ? "speed=0.9-1.1,noise=0.5@5-20:white+pink+brown+babble,gain=-12-6,telephone=0.2,"
                           "tilt=0.3@-6-6,reverb=0.3@0.2-0.8"
                         : "speed=0.9-1.1,reverb=0.2-0.8,noise=5-20:pink,tilt=-6-6,telephone=1,gain=-12-6";
  const WaveAugmentConfig cfg = WaveAugmentConfig::parse(text);
  const std::vector<float> x = voice(kClip), a = voice(40000, 120), b = voice(52000, 190), c = voice(30000, 230);
  const std::vector<const std::vector<float>*> pool = {&a, &b, &c};
  uint64_t stream = 0;
  for (auto _ : state) benchmark::DoNotOptimize(augment_waveform(x, kRate, cfg, 7, stream++, pool).data());
  per_clip(state);
  state.SetLabel(text);
}
BENCHMARK(BM_WaveAugment)->ArgName("all")->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

}  // namespace
