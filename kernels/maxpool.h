// 2x2 max pooling, stride 2, floor rounding, on the device: x (N, C, H, W) NCHW ->
// y (N, C, H/2, W/2). Same rule as engine/cpu/maxpool.h: each output records the flat
// index (h*W + w within its channel plane) of the FIRST maximum of its window in row-major
// order (a later equal value never wins), and the backward sends dy there only.
// Why not cuDNN: cudnnPoolingBackward does not document which of several tied maxima gets
// the gradient, and ties are common here (a window of four ReLU zeros becomes four equal BN
// outputs); our own kernel makes the CPU and GPU agree bit for bit.
// dx is OVERWRITTEN (=); an odd trailing row/column gets zero. Device pointers; `stream`.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace ser::kernels {

// argmax: (N, C, H/2, W/2) int32 out. planes = N*C.
void maxpool2x2_forward(float* y, int32_t* argmax, const float* x, int64_t planes, int h, int w,
                        cudaStream_t stream);
// dy: (N, C, H/2, W/2), dx: (N, C, H, W).
void maxpool2x2_backward(float* dx, const float* dy, const int32_t* argmax, int64_t planes, int h, int w,
                         cudaStream_t stream);

}  // namespace ser::kernels
