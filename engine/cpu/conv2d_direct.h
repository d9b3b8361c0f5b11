// Direct (loop) 2-D convolution on the host for layers whose im2col GEMM would be skinny:
// few input taps K = C*KH*KW (the first conv of the seed network: C = 1, 3x3, K = 9).
// There im2col + GEMM ran at 0.10-0.18 of the SGEMM rate (bench/RESULTS.md), because a
// K = 9 GEMM is all memory traffic; these loops read x and dy once from L1 instead.
//   forward:         y[n,o,i,j] = b[o] + sum_{c,p,q} w[o,c,p,q] * xpad[n,c, i+p, j+q]
//   backward filter: dw[o,c,p,q] += sum_{n,i,j} dy[n,o,i,j] * xpad[n,c, i+p, j+q]
//                    db[o]       += sum_{n,i,j} dy[n,o,i,j]
// Layouts as conv2d.h: x (N, C, H, W) NCHW, w (O, C, KH, KW) OIHW, b (O), y/dy (N, O, Ho, Wo);
// xpad is x with `pad` zeros on every side. Stride 1 only (conv2d_direct_applies); the
// input gradient stays on the GEMM path (conv2d.cpp), the first layer never asks for it.
// Gradient semantics: dw, db ACCUMULATE (+=); y is OVERWRITTEN.
// Not a bit-exact match of the GEMM path (other summation order): within float rounding.
#pragma once

#include <cstdint>

#include "engine/cpu/conv2d.h"

namespace ser::cpu {

// Largest K = C*KH*KW taken by the direct path under Conv2dPath::Auto. Measured on the
// 2-core EPYC, one thread (SER_CPU_THREADS=1 OPENBLAS_NUM_THREADS=1), 128x128 input,
// batch 16, 32 output channels, 3x3 valid, forward / backward (dw, db) in ms:
//   C = 1 (K =  9): direct 2.9 / 6.1 (fused 3x3 backward),  im2col + GEMM 3.3 / 6.3
//   C = 2 (K = 18): direct 5.0 / 10.7,                        im2col + GEMM 5.4 / 8.9
//   C = 8 (K = 72): direct 18.3 / 39.0,                       im2col + GEMM 18.6 / 22.7
// The generic backward loses from K = 18 on, so only K <= 9 (the first conv) goes direct.
// With 2 threads the direct loops also avoid the pool <-> OpenBLAS hand-offs (RESULTS.md).
constexpr int64_t kConv2dDirectMaxTaps = 9;
// The loops keep pointers to the C*KH input rows of one output row on the stack.
constexpr int kConv2dDirectMaxRows = 256;

// True when the direct loops support g (stride 1, any padding) and are the faster path.
bool conv2d_direct_applies(const Conv2dGeometry& g);
// True when the direct loops support g at all (stride 1, C*KH <= kConv2dDirectMaxRows);
// used by Conv2dPath::Direct.
bool conv2d_direct_supports(const Conv2dGeometry& g);

// The loops use AVX2 (32-byte vectors) when the CPU has it, else SSE2 (16-byte). Tests and
// benchmarks may turn AVX2 off (false) or back on; returns whether AVX2 is now in use.
// Not thread-safe: call it before any convolution runs.
bool conv2d_direct_set_avx2(bool enabled);

// y: (N, O, Ho, Wo), overwritten.
template <typename T>
void conv2d_direct_forward(T* y, const T* x, const T* w, const T* b, const Conv2dGeometry& g);

// dw: (O, C, KH, KW) and db: (O), accumulated. Each output channel is reduced by one
// thread (deterministic); every row's dot product runs in 8 float lanes and is added to a
// double accumulator, so sums over N*Ho*Wo ~ 2.5e5 terms keep float32 reference accuracy.
template <typename T>
void conv2d_direct_backward_filter(T* dw, T* db, const T* dy, const T* x, const Conv2dGeometry& g);

// db[o] += sum over (n, i, j) of dy[n, o, i, j]; dy: (N, O, Ho, Wo). Parallel over o,
// lane-blocked row sums into double (used by the GEMM path too).
template <typename T>
void conv2d_backward_bias(T* db, const T* dy, const Conv2dGeometry& g);

}  // namespace ser::cpu
