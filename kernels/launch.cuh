// Device-side helpers shared by the kernels in kernels/*.cu: warp reductions (sum, max,
// argmax with first-index tie-break) and the grid size of a grid-stride launch.
// Internal to kernels/ (included by .cu files only, never by host code).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace ser::kernels::detail {

constexpr unsigned kFullWarpMask = 0xffffffffu;
constexpr int kWarpSize = 32;

// Sum of `value` over the 32 lanes of a warp; every lane gets the result.
__device__ inline float warp_sum(float value) {
  for (int delta = kWarpSize / 2; delta > 0; delta /= 2) value += __shfl_xor_sync(kFullWarpMask, value, delta);
  return value;
}

// Arg-max over the 32 lanes: on ties the smaller index wins, so the result is the FIRST
// maximum of the row as long as every lane passes its own first maximum. Every lane gets
// the result (value and index).
__device__ inline void warp_argmax(float& value, int& index) {
  for (int delta = kWarpSize / 2; delta > 0; delta /= 2) {
    const float other_value = __shfl_xor_sync(kFullWarpMask, value, delta);
    const int other_index = __shfl_xor_sync(kFullWarpMask, index, delta);
    if (other_value > value || (other_value == value && other_index < index)) {
      value = other_value;
      index = other_index;
    }
  }
}

// First maximum of row[0..k) as seen by one warp: lane j scans j, j+32, ... in order,
// keeping its first element and then only strictly greater ones. Lanes with no element
// (j >= k) report (-inf, k) and lose every tie. With NaN in the row the index is unspecified.
__device__ inline void row_argmax_warp(const float* row, int k, int lane, float& value, int& index) {
  value = -INFINITY;
  index = k;
  for (int j = lane; j < k; j += kWarpSize) {
    const float x = row[j];
    if (x > value || index == k) {  // index == k: take the first element seen even if -inf
      value = x;
      index = j;
    }
  }
  warp_argmax(value, index);
}

// Blocks for a grid-stride loop over `work_items` with `threads` per block (at least 1,
// capped so that a huge n still launches; the loop covers the rest).
inline unsigned grid_stride_blocks(int64_t work_items, unsigned threads) {
  const int64_t blocks = (work_items + threads - 1) / threads;
  constexpr int64_t kMaxBlocks = int64_t(132) * 32;  // 32 waves of blocks on an H100 is plenty
  return static_cast<unsigned>(blocks < 1 ? 1 : (blocks > kMaxBlocks ? kMaxBlocks : blocks));
}

}  // namespace ser::kernels::detail
