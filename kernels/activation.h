// Element-wise layer kernels over n contiguous floats (any layout): ReLU forward and
// backward, and the product with a mask (the dropout forward/backward with a given mask).
// Bit-identical to engine/cpu/elementwise.h (one compare or one multiply per element).
// Input gradients are OVERWRITTEN (=). Device pointers; queued on `stream`.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace ser::kernels {

// y = max(x, 0) (y may be x).
void relu_forward(float* y, const float* x, int64_t n, cudaStream_t stream);
// dx = x > 0 ? dy : 0 (derivative 0 at 0, as the CPU; dx may be dy).
void relu_backward(float* dx, const float* dy, const float* x, int64_t n, cudaStream_t stream);
// out = in * mask (out may be in).
void multiply(float* out, const float* in, const float* mask, int64_t n, cudaStream_t stream);

}  // namespace ser::kernels
