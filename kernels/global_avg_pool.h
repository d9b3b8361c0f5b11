// Global average pooling kernels: x (planes, hw) -> y (planes), the mean of each plane
// (N*C planes of H*W values, NCHW), and its backward dx[p, i] = dy[p] / hw (OVERWRITTEN).
// Sums in double, rounded once, as engine/cpu/global_avg_pool.h: the results equal the
// CPU's except where the two double sums, added in other orders, round differently (the
// mean of at most a few thousand floats: in practice never). Device pointers; queued on `stream`.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace ser::kernels {

void global_avg_pool_forward(float* y, const float* x, int64_t planes, int64_t hw, cudaStream_t stream);
void global_avg_pool_backward(float* dx, const float* dy, int64_t planes, int64_t hw, cudaStream_t stream);

}  // namespace ser::kernels
