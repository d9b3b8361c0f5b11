// 2-D convolution (cross-correlation, no kernel flip) on the host, any kernel size,
// stride and symmetric zero padding:
//   y[n,o,i,j] = b[o] + sum_{c,p,q} w[o,c,p,q] * xpad[n,c, s*i+p, s*j+q]
// Layouts: x (N, C, H, W) NCHW, w (O, C, KH, KW) OIHW, b (O), y (N, O, Ho, Wo) with
// Ho = floor((H + 2*pad - KH)/s) + 1. Implemented as im2col + GEMM
// (OpenBLAS), the classic Caffe scheme: the GEMM does all the arithmetic; small late
// layers group several samples into one GEMM. Layers with few input taps (C*KH*KW small,
// the first conv) take direct loops instead (conv2d_direct.h) under Conv2dPath::Auto.
// Gradient semantics: dw, db ACCUMULATE (+=); dx is OVERWRITTEN (=).
#pragma once

#include <cstdint>

namespace ser::cpu {

struct Conv2dGeometry {
  int N = 1, C = 1, H = 1, W = 1;   // input
  int O = 1, KH = 3, KW = 3;        // output channels, kernel
  int stride = 1, pad = 0;
  int Ho() const { return (H + 2 * pad - KH) / stride + 1; }
  int Wo() const { return (W + 2 * pad - KW) / stride + 1; }
  int64_t col_rows() const { return static_cast<int64_t>(C) * KH * KW; }   // K of the GEMM
  int64_t col_cols() const { return static_cast<int64_t>(Ho()) * Wo(); }   // positions per sample
};

// Which implementation runs: Auto picks Direct when conv2d_direct_applies(g), else
// Im2colGemm; Direct requires stride 1 (throws otherwise). On the Direct path the input
// gradient dx, when asked for, still runs the GEMM + col2im of the Im2colGemm path.
enum class Conv2dPath { Auto, Im2colGemm, Direct };

// Samples whose columns share one GEMM (enough to make it ~4096 columns wide), and the
// scratch both functions need: columns (C*KH*KW, B*Ho*Wo) plus, for B > 1, the grouped
// output (O, B*Ho*Wo).
int conv2d_samples_per_gemm(const Conv2dGeometry& g);
int64_t conv2d_scratch_size(const Conv2dGeometry& g);

// scratch: conv2d_scratch_size(g) elements.
template <typename T>
void conv2d_forward(T* y, const T* x, const T* w, const T* b, const Conv2dGeometry& g, T* scratch,
                    Conv2dPath path = Conv2dPath::Auto);

// dy: (N, O, Ho, Wo). dx may be null (first layer: no input gradient needed).
template <typename T>
void conv2d_backward(T* dx, T* dw, T* db, const T* dy, const T* x, const T* w, const Conv2dGeometry& g,
                     T* scratch, Conv2dPath path = Conv2dPath::Auto);

}  // namespace ser::cpu
