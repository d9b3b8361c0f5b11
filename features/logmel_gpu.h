// GPU log-mel extractor behind a host-only header (no CUDA types), so the CPU-only build
// compiles against it; there every call throws "built without CUDA"
// (features/logmel_gpu_cpu_only.cpp). The CUDA implementation is features/cuda/logmel_gpu.cu:
// batched framing + Hann (float32), cuFFT R2C (float32, plan reused per batch shape), power,
// mel projection (cuBLAS SGEMM), power_to_db with a per-signal max, bilinear resize.
// Results match the CPU reference within the README's float32-FFT tolerances.
//
// Asynchronous use (double-buffered, for overlapping CPU decoding with device work):
// submit(signals) packs the batch into one of two pinned staging slots, queues the upload,
// the kernels and the download on the extractor's stream, records the slot's CUDA event and
// returns a Ticket at once; collect(ticket) waits on that event and returns the images. At
// most two batches may be in flight; a third submit before a collect is an error. images()
// is submit + collect. One stream: batches run on the device one after the other (the
// device scratch is shared); what overlaps is the CPU work (decoding, packing the next
// slot) with the device work of the batch in flight.
//
// Layouts: signals are host vectors (N_i,); outputs are row-major CPU tensors:
// images (B, 1, H, W); stages per signal as in LogMelStages.
#pragma once

#include <cstdint>
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

  // A batch in flight: which staging slot holds it and a serial number that makes a stale or
  // repeated collect an error. Opaque to callers.
  struct Ticket {
    int slot = -1;
    uint64_t serial = 0;
  };
  static constexpr int kSlots = 2;  // batches that may be in flight at once

  // Each signal: (N_i,) mono at cfg.sample_rate, N_i >= 1, finite; B >= 1 signals. The signals
  // are copied into pinned memory before submit returns, so the caller may free them.
  // out_device: where collect() returns the images (CUDA: a device tensor, no host copy).
  Ticket submit(const std::vector<std::vector<float>>& signals, Device out_device = Device::CPU);
  // Waits for the ticket's batch and returns its images (B, 1, H, W) on the submit's device.
  // Frees the slot. Throws for an unknown, stale or already collected ticket.
  Tensor collect(const Ticket& ticket);
  // Batches submitted and not yet collected (0..kSlots).
  int in_flight() const;

  // submit + collect. B = 0 gives an empty (0, 1, H, W) tensor.
  Tensor images(const std::vector<std::vector<float>>& signals, Device out_device = Device::CPU);
  // Every intermediate array of every signal, copied to the host (for parity tests).
  // Synchronous; requires no batch in flight.
  std::vector<LogMelStages> stages(const std::vector<std::vector<float>>& signals);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ser::features
