// Host-side entry points of the elementwise utility kernels in kernels/fill.cu.
// All take device pointers and queue work on `stream` (no synchronisation).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace ser::kernels {

// out[i] = value, i in [0, n).
void fill(float* out, int64_t n, float value, cudaStream_t stream);
// out[i] = alpha * x[i] + beta * out[i].
void axpby(float* out, const float* x, int64_t n, float alpha, float beta, cudaStream_t stream);

}  // namespace ser::kernels
