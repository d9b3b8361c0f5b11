// GPU ceilings (see ceilings_gpu.h), the event-timed loop of every GPU case, and the
// ceiling cases that open a CUDA run: BM_ceiling_copy_gpu and BM_ceiling_sgemm_gpu/{fp32,
// tf32}. Each probe's output is checked once against the host before anything is timed:
// the copy byte for byte, the SGEMM on 64 sampled entries against a double dot product
// (tolerance relative to sum |a_ik b_kj|: 1e-5 for FP32, 5e-4 for TF32's 10-bit mantissa).
// A probe that fails its check leaves its ceiling at 0 (no frac_of_peak against it) and
// its case reports the error. Without a device every case skips with "no CUDA device".
#include "bench/ceilings_gpu.h"

#include <cublas_v2.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "bench/bench_data.h"
#include "engine/core/device.h"
#include "engine/cuda/check.h"
#include "kernels/device_array.h"

namespace ser::bench {
namespace {

using kernels::DeviceArray;

constexpr int64_t kCopyBytes = int64_t(512) << 20;  // 512 MiB, far beyond any L2
constexpr int kGemmSize = 8192;                     // M = N = K

// L2 flush buffer, stream and events shared by every timed launch.
struct Timer {
  DeviceArray<uint8_t> flush;
  cudaStream_t stream = nullptr;
  cudaEvent_t start = nullptr, stop = nullptr;
  Timer() {
    int device = 0, l2_bytes = 0;
    CUDA_CHECK(cudaGetDevice(&device));
    CUDA_CHECK(cudaDeviceGetAttribute(&l2_bytes, cudaDevAttrL2CacheSize, device));
    flush = DeviceArray<uint8_t>(2 * int64_t(l2_bytes));
    CUDA_CHECK(cudaStreamCreate(&stream));
    CUDA_CHECK(cudaEventCreate(&start));
    CUDA_CHECK(cudaEventCreate(&stop));
  }
  // Seconds of one launch on stream `s` (the timer's own by default), L2 flushed before it.
  double once(const std::function<void(cudaStream_t)>& launch) { return once(stream, launch); }
  double once(cudaStream_t s, const std::function<void(cudaStream_t)>& launch) {
    CUDA_CHECK(cudaMemsetAsync(flush.data(), 0, flush.bytes(), s));
    CUDA_CHECK(cudaEventRecord(start, s));
    launch(s);
    CUDA_CHECK(cudaEventRecord(stop, s));
    CUDA_CHECK(cudaEventSynchronize(stop));
    float ms = 0;
    CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
    return ms * 1e-3;
  }
};

Timer& timer() {
  static Timer t;  // lives for the process: the driver tears the context down at exit
  return t;
}

// Shortest of `runs` launches after one warm-up.
double best_seconds(int runs, const std::function<void(cudaStream_t)>& launch) {
  timer().once(launch);
  double best = 1e30;
  for (int r = 0; r < runs; ++r) best = std::min(best, timer().once(launch));
  return best;
}

// Device-to-device copy of kCopyBytes; counts read + write.
struct CopyProbe {
  DeviceArray<uint8_t> src, dst;
  CopyProbe() : src(kCopyBytes), dst(kCopyBytes) {}
  void launch(cudaStream_t s) {
    CUDA_CHECK(cudaMemcpyAsync(dst.data(), src.data(), std::size_t(kCopyBytes), cudaMemcpyDeviceToDevice, s));
  }
  static double bytes() { return 2.0 * double(kCopyBytes); }
  // Fills src with a pattern, copies once, compares every byte on the host.
  bool matches_host() {
    std::vector<uint8_t> pattern(static_cast<std::size_t>(kCopyBytes));
    for (std::size_t i = 0; i < pattern.size(); ++i) pattern[i] = uint8_t((i * 131) >> 3);
    src.upload(pattern);
    launch(nullptr);
    return dst.download() == pattern;
  }
};

// C (n, n) = A (n, n) @ B (n, n), column-major, cuBLAS SGEMM in the given math mode.
struct SgemmProbe {
  std::vector<float> a_host, b_host;
  DeviceArray<float> a, b, c;
  cublasHandle_t handle = nullptr;
  SgemmProbe()
      : a_host(random_floats(int64_t(kGemmSize) * kGemmSize, -1, 1, 21)),
        b_host(random_floats(int64_t(kGemmSize) * kGemmSize, -1, 1, 22)),
        a(a_host),
        b(b_host),
        c(int64_t(kGemmSize) * kGemmSize) {
    CUBLAS_CHECK(cublasCreate(&handle));
  }
  void launch(cudaStream_t s, cublasMath_t mode) {
    const float one = 1.0f, zero = 0.0f;
    CUBLAS_CHECK(cublasSetStream(handle, s));
    CUBLAS_CHECK(cublasSetMathMode(handle, mode));
    CUBLAS_CHECK(cublasSgemm(handle, CUBLAS_OP_N, CUBLAS_OP_N, kGemmSize, kGemmSize, kGemmSize, &one, a.data(),
                             kGemmSize, b.data(), kGemmSize, &zero, c.data(), kGemmSize));
  }
  static double flops() { return 2.0 * kGemmSize * double(kGemmSize) * kGemmSize; }
  static double bytes() { return 3.0 * 4.0 * kGemmSize * double(kGemmSize); }
  // 64 sampled entries of C against double dot products on the host.
  bool matches_host(cublasMath_t mode, double tolerance) {
    launch(nullptr, mode);
    const std::vector<float> got = c.download();
    for (int s = 0; s < 64; ++s) {
      const int64_t i = (s * 2654435761LL) % kGemmSize, j = (s * 40503LL + 7) % kGemmSize;
      double want = 0, scale = 0;
      for (int64_t k = 0; k < kGemmSize; ++k) {
        const double p = double(a_host[i + k * kGemmSize]) * b_host[k + j * kGemmSize];
        want += p;
        scale += std::fabs(p);
      }
      if (!(std::fabs(got[i + j * kGemmSize] - want) <= tolerance * scale)) return false;
    }
    return true;
  }
};

CopyProbe& copy_probe() {
  static CopyProbe p;
  return p;
}
SgemmProbe& sgemm_probe() {
  static SgemmProbe p;
  return p;
}

constexpr double kFp32Tolerance = 1e-5, kTf32Tolerance = 5e-4;

GpuCeilings measure_gpu_ceilings() {
  GpuCeilings g;
  double copy_rate = 0, fp32_rate = 0, tf32_rate = 0;
  if (copy_probe().matches_host())
    copy_rate = CopyProbe::bytes() / best_seconds(5, [](cudaStream_t s) { copy_probe().launch(s); });
  if (sgemm_probe().matches_host(CUBLAS_DEFAULT_MATH, kFp32Tolerance))
    fp32_rate = SgemmProbe::flops() /
                best_seconds(3, [](cudaStream_t s) { sgemm_probe().launch(s, CUBLAS_DEFAULT_MATH); });
  if (sgemm_probe().matches_host(CUBLAS_TF32_TENSOR_OP_MATH, kTf32Tolerance))
    tf32_rate = SgemmProbe::flops() /
                best_seconds(3, [](cudaStream_t s) { sgemm_probe().launch(s, CUBLAS_TF32_TENSOR_OP_MATH); });
  g.fp32 = Ceilings{copy_rate, fp32_rate, "gpu_copy", "gpu_sgemm_fp32"};
  g.tf32 = Ceilings{copy_rate, tf32_rate, "gpu_copy", "gpu_sgemm_tf32"};
  return g;
}

void BM_ceiling_copy_gpu(benchmark::State& state) {
  if (skip_without_device(state)) return;
  if (!copy_probe().matches_host()) return state.SkipWithError("device copy differs from the host pattern");
  const GpuCeilings& peak = gpu_ceilings();
  const double seconds = time_on_device(state, [](cudaStream_t s) { copy_probe().launch(s); });
  report_roofline(state, CopyProbe::bytes(), 0, peak.fp32, seconds);
}

void BM_ceiling_sgemm_gpu(benchmark::State& state, bool tf32) {
  if (skip_without_device(state)) return;
  const cublasMath_t mode = tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH;
  if (!sgemm_probe().matches_host(mode, tf32 ? kTf32Tolerance : kFp32Tolerance))
    return state.SkipWithError("cuBLAS SGEMM differs from the host dot products");
  const GpuCeilings& peak = gpu_ceilings();
  const double seconds = time_on_device(state, [mode](cudaStream_t s) { sgemm_probe().launch(s, mode); });
  report_roofline(state, SgemmProbe::bytes(), SgemmProbe::flops(), tf32 ? peak.tf32 : peak.fp32, seconds);
}

}  // namespace

bool skip_without_device(benchmark::State& state) {
  if (cuda_device_available()) return false;
  state.SkipWithError("no CUDA device");
  return true;
}

double time_on_device(benchmark::State& state, const std::function<void(cudaStream_t)>& launch) {
  return time_on_device(state, timer().stream, launch);
}

double time_on_device(benchmark::State& state, cudaStream_t stream, const std::function<void(cudaStream_t)>& launch) {
  double total_seconds = 0;
  for (auto _ : state) {
    const double seconds = timer().once(stream, launch);
    state.SetIterationTime(seconds);
    total_seconds += seconds;
  }
  return total_seconds;
}

const GpuCeilings& gpu_ceilings() {
  static const GpuCeilings measured = measure_gpu_ceilings();
  return measured;
}

BENCHMARK(BM_ceiling_copy_gpu)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ceiling_sgemm_gpu, fp32, false)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ceiling_sgemm_gpu, tf32, true)->UseManualTime()->Unit(benchmark::kMillisecond);

}  // namespace ser::bench
