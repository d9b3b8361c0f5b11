// GPU log-mel extractor behind a host-only header (no CUDA types), so the CPU-only build
// compiles against it; there every call throws "built without CUDA"
// (features/logmel_gpu_cpu_only.cpp). The CUDA implementation is features/cuda/logmel_gpu.cu:
// batched framing + Hann (float32), cuFFT R2C (float32, plan reused per batch shape), power,
// mel projection (cuBLAS SGEMM), power_to_db with a per-signal max, bilinear resize.
// Results match the CPU reference within the README's float32-FFT tolerances.
//
// Layouts: signals are host vectors (N_i,); outputs are row-major CPU tensors:
// images (B, 1, H, W); stages per signal as in LogMelStages.
#pragma once

#include <memory>
#include <vector>

#include "engine/core/tensor.h"
#include "features/logmel.h"

namespace ser::features {

class GpuLogMelExtractor {
 public:
  explicit GpuLogMelExtractor(const LogMelConfig& cfg = {});
  ~GpuLogMelExtractor();
  GpuLogMelExtractor(const GpuLogMelExtractor&) = delete;
  GpuLogMelExtractor& operator=(const GpuLogMelExtractor&) = delete;

  // Each signal: (N_i,) mono at cfg.sample_rate, N_i >= 1, finite. Returns (B, 1, H, W) on
  // `out_device` (CPU: copied back through pinned memory).
  Tensor images(const std::vector<std::vector<float>>& signals, Device out_device = Device::CPU);
  // Every intermediate array of every signal, copied to the host (for parity tests).
  std::vector<LogMelStages> stages(const std::vector<std::vector<float>>& signals);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ser::features
