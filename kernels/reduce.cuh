// Deterministic block reductions in double for the per-channel kernels of
// kernels/channel_ops.cu. A fixed shuffle tree inside each warp, then the warp sums in
// index order: the same inputs always give the same bits (no atomics).
// Internal to kernels/ (included by .cu files only).
#pragma once

#include <cuda_runtime.h>

#include "kernels/launch.cuh"

namespace ser::kernels::detail {

__device__ inline double warp_sum_double(double value) {
  for (int delta = kWarpSize / 2; delta > 0; delta /= 2) value += __shfl_xor_sync(kFullWarpMask, value, delta);
  return value;
}

// Sum of `value` over the block (blockDim.x a multiple of 32, at most 1024). shared: 32
// doubles. The result is valid in thread 0 only.
__device__ inline double block_sum_double(double value, double* shared) {
  const int lane = threadIdx.x % kWarpSize, warp = threadIdx.x / kWarpSize;
  value = warp_sum_double(value);
  if (lane == 0) shared[warp] = value;
  __syncthreads();
  double total = 0.0;
  if (threadIdx.x == 0)
    for (int w = 0; w < int(blockDim.x) / kWarpSize; ++w) total += shared[w];
  __syncthreads();  // shared may be reused by a second reduction
  return total;
}

}  // namespace ser::kernels::detail
