// Host ceilings (see ceilings_cpu.h) and the two benchmark cases that show them in every
// run: BM_ceiling_copy_cpu, BM_ceiling_triad_cpu and BM_ceiling_sgemm_cpu. The memory
// ceiling is the better of copy and triad (which is higher varies by machine; both count
// the STREAM way, without write-allocate traffic). Their frac_of_peak is near 1 by
// construction (the same probe, timed again by Google Benchmark); a figure well below 1
// means the machine was busier during the run than when the ceiling was taken.
// These sources are listed first in bench/CMakeLists.txt so the cases run first.
#include "bench/ceilings_cpu.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <vector>

#include "engine/cpu/gemm.h"
#include "engine/cpu/parallel.h"

namespace ser::bench {
namespace {

constexpr int64_t kTriadFloats = int64_t(1) << 25;  // 128 MiB per array, far beyond any L3
constexpr int kGemmSize = 2048;                       // M = N = K

// a = b + s * c over (kTriadFloats,) arrays, first touched by the threads that use them.
struct Triad {
  std::vector<float> a, b, c;
  Triad() : a(kTriadFloats), b(kTriadFloats), c(kTriadFloats) {
    cpu::parallel_for(kTriadFloats, 1 << 20, [this](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) a[i] = 0.0f, b[i] = 1.0f, c[i] = 2.0f;
    });
  }
  void run(float s) {
    float* pa = a.data();
    const float* pb = b.data();
    const float* pc = c.data();
    cpu::parallel_for(kTriadFloats, 1 << 20, [pa, pb, pc, s](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) pa[i] = pb[i] + s * pc[i];
    });
  }
  // a = b, chunk by chunk with memcpy.
  void copy() {
    float* pa = a.data();
    const float* pb = b.data();
    cpu::parallel_for(kTriadFloats, 1 << 20, [pa, pb](int64_t begin, int64_t end) {
      std::memcpy(pa + begin, pb + begin, std::size_t(end - begin) * sizeof(float));
    });
  }
  static double bytes() { return 3.0 * 4.0 * double(kTriadFloats); }
  static double copy_bytes() { return 2.0 * 4.0 * double(kTriadFloats); }
};

// C (n, n) = A (n, n) @ B (n, n), row-major float.
struct Sgemm {
  std::vector<float> a, b, c;
  Sgemm() : a(std::size_t(kGemmSize) * kGemmSize, 0.5f), b(a.size(), 0.25f), c(a.size()) {}
  void run() {
    cpu::gemm<float>(false, false, kGemmSize, kGemmSize, kGemmSize, 1.0f, a.data(), kGemmSize, b.data(), kGemmSize,
                     0.0f, c.data(), kGemmSize);
  }
  static double flops() { return 2.0 * kGemmSize * double(kGemmSize) * kGemmSize; }
};

Triad& triad() {
  static Triad t;
  return t;
}
Sgemm& sgemm() {
  static Sgemm g;
  return g;
}

// Shortest wall time of `runs` calls of f, after one warm-up call.
template <typename F>
double best_seconds(int runs, F&& f) {
  f();
  double best = 1e30;
  for (int r = 0; r < runs; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

Ceilings measure_cpu_ceilings() {
  Ceilings c;
  c.compute_name = "cpu_sgemm";
  const double triad_rate = Triad::bytes() / best_seconds(5, [] { triad().run(3.0f); });
  const double copy_rate = Triad::copy_bytes() / best_seconds(5, [] { triad().copy(); });
  c.memory_name = copy_rate > triad_rate ? "cpu_copy" : "cpu_triad";
  c.bytes_per_second = std::max(copy_rate, triad_rate);
  c.flops_per_second = Sgemm::flops() / best_seconds(3, [] { sgemm().run(); });
  return c;
}

void BM_ceiling_copy_cpu(benchmark::State& state) {
  const Ceilings& peak = cpu_ceilings();
  const double seconds = timed_loop(state, [] { triad().copy(); });
  report_roofline(state, Triad::copy_bytes(), 0, peak, seconds);
}
BENCHMARK(BM_ceiling_copy_cpu)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_ceiling_triad_cpu(benchmark::State& state) {
  const Ceilings& peak = cpu_ceilings();
  const double seconds = timed_loop(state, [] { triad().run(3.0f); });
  report_roofline(state, Triad::bytes(), 2.0 * double(kTriadFloats), peak, seconds);
}
BENCHMARK(BM_ceiling_triad_cpu)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_ceiling_sgemm_cpu(benchmark::State& state) {
  const Ceilings& peak = cpu_ceilings();
  const double seconds = timed_loop(state, [] { sgemm().run(); });
  report_roofline(state, 3.0 * 4.0 * kGemmSize * double(kGemmSize), Sgemm::flops(), peak, seconds);
}
BENCHMARK(BM_ceiling_sgemm_cpu)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

const Ceilings& cpu_ceilings() {
  static const Ceilings measured = measure_cpu_ceilings();
  return measured;
}

}  // namespace ser::bench
