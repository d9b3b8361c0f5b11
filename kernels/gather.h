// Batch gather from the dataset resident in device memory: row b of the batch is row
// indices[b] of the source (the epoch's shuffled order picks the indices).
// All pointers are device pointers; work is queued on `stream` without synchronising.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace ser::kernels {

// dst: (B, D) out; src: (M, D); indices: (B) int64, each in [0, M).
// float4 copies when D % 4 == 0 and both arrays are 16-byte aligned, else scalar.
// An index outside [0, M) cannot throw from the device: its dst row is filled with NaN
// (never an out-of-bounds read), which the loss then shows.
void gather_rows(float* dst, const float* src, int64_t m, int64_t d, const int64_t* indices, int64_t b,
                 cudaStream_t stream);

}  // namespace ser::kernels
