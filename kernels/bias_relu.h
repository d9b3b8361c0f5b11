// Bias + ReLU after a convolution (NCHW, spatial dims flattened to HW) or a dense layer
// (rows of C), forward in place, and its backward with the bias gradient.
// cuDNN's convolution / cuBLAS's GEMM leave z = conv(x) (or x W^T) in y; these kernels
// finish y = max(z + bias, 0) in one read-write pass instead of two.
// Gradient semantics: dy is overwritten by dz = dL/dz, dbias ACCUMULATES (+=).
// All pointers are device pointers; work is queued on `stream` without synchronising.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace ser::kernels {

// y: (N, C, HW) in place; bias: (C).  y = max(y + bias[c], 0).
void bias_relu_forward(float* y, const float* bias, int64_t n, int64_t c, int64_t hw, cudaStream_t stream);

// Floats of scratch bias_relu_backward needs for these sizes (depends on the shape only).
int64_t bias_relu_backward_workspace_floats(int64_t n, int64_t c, int64_t hw);

// dy: (N, C, HW) in place -> dz = dy where y > 0, else 0.  y: (N, C, HW), the forward output.
// dbias: (C) += sum over N and HW of dz.  workspace: bias_relu_backward_workspace_floats().
// Deterministic: block (c, s) sums its batch items n = s, s+S, ... in a fixed order with a
// fixed tree; a second kernel adds the S partials of each channel in order. No float atomics.
void bias_relu_backward(float* dy, const float* y, int64_t n, int64_t c, int64_t hw, float* dbias, float* workspace,
                        cudaStream_t stream);

// Dense layer: y: (N, C) rows in place, bias: (C).  y = max(y + bias[col], 0).
void bias_relu_dense_forward(float* y, const float* bias, int64_t n, int64_t c, cudaStream_t stream);

// Dense layer: dy: (N, C) in place -> dz; y: (N, C); dbias: (C) += column sums of dz.
// One thread per column walks the rows in order (coalesced across the warp): deterministic.
void bias_relu_dense_backward(float* dy, const float* y, int64_t n, int64_t c, float* dbias, cudaStream_t stream);

}  // namespace ser::kernels
