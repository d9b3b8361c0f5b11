// Roofline counters shared by every benchmark case of ser_bench.
//
// A case states what one iteration must at least move (bytes: each input read once, each
// output written once) and compute (flops: multiply-adds count 2; exp, sqrt and division
// count 1), and the machine ceilings of its device (measured in the same run by
// bench/ceilings_cpu.cpp or bench/ceilings_gpu.cu). Its lower-bound time per iteration is
//   t_min = max(bytes / peak_bytes_per_second, flops / peak_flops_per_second)
// and frac_of_peak = t_min / t_measured: 1 means the case runs at the binding ceiling,
// 0.1 that it is 10x slower than the roofline allows. The label names the binding ceiling.
// The memory ceiling is DRAM (HBM) bandwidth: a case whose data stay in cache can show
// frac_of_peak > 1, which says "cache-resident", not "faster than the machine".
//
// t_measured is the seconds the case passes in (wall time of the loop for CPU cases,
// timed_loop below; CUDA-event time for GPU cases). The bytes/s and FLOP/s rate counters
// are divided by the time Google Benchmark uses for the case, so CPU cases are registered
// with UseRealTime() (the engine's pool works on other threads) and GPU cases with
// UseManualTime().
#pragma once

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <string>

namespace ser::bench {

// One device's ceilings and their names (for the label).
struct Ceilings {
  double bytes_per_second = 0;  // memory bandwidth (CPU: stream triad; GPU: device copy)
  double flops_per_second = 0;  // FP32 GEMM (CPU: OpenBLAS; GPU: cuBLAS, FP32 or TF32)
  std::string memory_name;      // e.g. "cpu_triad"
  std::string compute_name;     // e.g. "cpu_sgemm"
};

// Runs body() once per benchmark iteration; returns the wall seconds of the whole loop.
template <typename F>
double timed_loop(benchmark::State& state, F&& body) {
  const auto start = std::chrono::steady_clock::now();
  for (auto _ : state) {
    body();
    benchmark::ClobberMemory();
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Sets the counters bytes, FLOPs (per iteration), bytes/s, FLOP/s and frac_of_peak, and a
// label "<binding ceiling>-bound". seconds: measured time of all state.iterations().
inline void report_roofline(benchmark::State& state, double bytes, double flops, const Ceilings& peak,
                            double seconds) {
  using benchmark::Counter;
  state.counters["bytes"] = Counter(bytes);
  state.counters["FLOPs"] = Counter(flops);
  state.counters["bytes/s"] = Counter(bytes, Counter::kIsIterationInvariantRate, Counter::kIs1000);
  state.counters["FLOP/s"] = Counter(flops, Counter::kIsIterationInvariantRate, Counter::kIs1000);
  const double memory_seconds = peak.bytes_per_second > 0 ? bytes / peak.bytes_per_second : 0;
  const double compute_seconds = peak.flops_per_second > 0 ? flops / peak.flops_per_second : 0;
  const double t_min = std::max(memory_seconds, compute_seconds);
  if (seconds > 0) state.counters["frac_of_peak"] = Counter(t_min * double(state.iterations()) / seconds);
  state.SetLabel((memory_seconds >= compute_seconds ? peak.memory_name : peak.compute_name) + "-bound");
}

}  // namespace ser::bench
