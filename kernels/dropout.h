// Inverted dropout on a flat float array, with masks drawn from the counter-based Philox
// stream of engine/core/philox.h: element i of the call (seed, offset) is KEPT iff
//   philox_uniform_at(seed, offset, i) >= p
// so the CPU layer and this kernel produce bit-identical masks for the same (seed, offset).
// All pointers are device pointers; work is queued on `stream` without synchronising.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace ser::kernels {

// x, y: (n); mask: (n) out, 1 = kept, 0 = dropped.  y = kept ? x * s : 0 with the float
// s = float(1 / (1 - p)) computed in double, exactly as the CPU layer's mask value, so the
// outputs are bit-identical too. p in [0, 1) (throws otherwise); the keep test compares
// with float(p), as the CPU does. x and y may be the same array.
void dropout_forward(const float* x, float* y, uint8_t* mask, int64_t n, double p, uint64_t seed, uint64_t offset,
                     cudaStream_t stream);

// The same, with the Philox stream read from device memory: offset = *stream_base + slot.
// A CUDA graph captured once draws fresh masks on every replay when a kernel advances
// *stream_base between replays (kernels/train_step.h). stream_base: (1) uint64, device.
void dropout_forward_device_stream(const float* x, float* y, uint8_t* mask, int64_t n, double p, uint64_t seed,
                                   const uint64_t* stream_base, uint64_t slot, cudaStream_t stream);

// dy, dx: (n); mask: (n) from dropout_forward.  dx = mask ? dy * s : 0, s as above
// (overwrites; dx may be dy).
void dropout_backward(const float* dy, const uint8_t* mask, float* dx, int64_t n, double p, cudaStream_t stream);

}  // namespace ser::kernels
