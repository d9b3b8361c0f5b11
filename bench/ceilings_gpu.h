// The GPU's own ceilings, measured once per ser_bench process on the first CUDA device:
// device-to-device copy bandwidth and cuBLAS SGEMM throughput in FP32 and in TF32, and
// the event-timed loop every GPU case uses. CUDA build only (included from .cu files).
#pragma once

#include <benchmark/benchmark.h>
#include <cuda_runtime.h>

#include <functional>

#include "bench/roofline.h"

namespace ser::bench {

struct GpuCeilings {
  Ceilings fp32;  // memory: cudaMemcpyAsync D2D of 512 MiB (read + write counted); compute: SGEMM FP32
  Ceilings tf32;  // same memory ceiling; compute: SGEMM with TF32 tensor cores
};

// Best of several runs of each probe, L2 flushed before each; about 1 s on first call.
// SGEMM: M = N = K = 8192, column-major cublasSgemm, FP32 with CUBLAS_DEFAULT_MATH (no
// tensor-core shortcut), TF32 with CUBLAS_TF32_TENSOR_OP_MATH.
const GpuCeilings& gpu_ceilings();

// Runs launch(stream) once per benchmark iteration: L2 flushed (a memset over twice its
// size), then CUDA events around the launch only; sets the iteration's manual time.
// Returns the summed event time in seconds (for report_roofline).
double time_on_device(benchmark::State& state, const std::function<void(cudaStream_t)>& launch);
// The same on the caller's `stream` (flush, events and launch(stream) all queued there), for
// work that is queued on a stream of its own, e.g. the engine's layers on their CudaContext's.
double time_on_device(benchmark::State& state, cudaStream_t stream, const std::function<void(cudaStream_t)>& launch);

// True (after SkipWithError("no CUDA device")) when no device can be used.
bool skip_without_device(benchmark::State& state);

}  // namespace ser::bench
