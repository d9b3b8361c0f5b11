// The seed network's layer shapes and the roofline cost of one forward or backward of each
// layer, shared by the CPU and GPU layer benchmarks (bench/bench_layers_cpu.cpp,
// bench/bench_layers_gpu.cu) so that both count the same bytes and FLOPs.
// Tensors: x (N, C, H, W) NCHW; conv weights W (Cout, Cin, 3, 3) OIHW; dense x (N, in),
// W (out, in). bytes = the least traffic (each tensor the op touches read or written once,
// 4 bytes per float); FLOPs = multiply-adds as 2, other arithmetic as 1 (bench/roofline.h).
#pragma once

#include <cstdint>

#include "engine/core/shape.h"

namespace ser::bench {

// Seed network per conv block b = 0..3: input channels, output channels, input side
// (square), conv output side (3x3 valid); the 2x2 pool halves the output side.
constexpr int kConvIn[4] = {1, 32, 64, 128};
constexpr int kConvOut[4] = {32, 64, 128, 256};
constexpr int kConvInSide[4] = {128, 63, 30, 14};
constexpr int kConvOutSide[4] = {126, 61, 28, 12};

struct LayerCost {
  double bytes = 0;  // per call
  double flops = 0;  // per call
};

// Conv block b input (N, Cin, S, S) and output (N, Cout, S-2, S-2).
inline Shape conv_input_shape(int64_t n, int block) {
  return Shape{n, kConvIn[block], kConvInSide[block], kConvInSide[block]};
}
inline Shape conv_output_shape(int64_t n, int block) {
  return Shape{n, kConvOut[block], kConvOutSide[block], kConvOutSide[block]};
}

// 3x3 valid conv with bias. Forward reads x, W and writes y: one im2col GEMM of
// 2 * |y| * Cin * 9 FLOPs. Backward reads dy, x, W and writes dx, dW (and db, ignored):
// the data and filter GEMMs, twice the forward's FLOPs.
inline LayerCost conv2d_cost(int64_t n, int block, bool backward) {
  const double x = double(conv_input_shape(n, block).numel()), y = double(conv_output_shape(n, block).numel());
  const double w = 9.0 * kConvIn[block] * kConvOut[block];
  const double gemm = 2.0 * y * kConvIn[block] * 9;
  return {4 * (backward ? y + x + w + 2 * w + x : x + w + y), backward ? 2 * gemm : gemm};
}

// Training-mode batch norm over `elements` values: forward reads x and writes y; backward
// reads dy and x, writes dx. ~8 / ~10 FLOPs per element.
inline LayerCost batchnorm2d_cost(double elements, bool backward) {
  return {4 * elements * (backward ? 3 : 2), elements * (backward ? 10 : 8)};
}

// ReLU: forward reads x, writes y; backward reads dy and y (or x), writes dx. 1 FLOP each.
inline LayerCost relu_cost(double elements, bool backward) {
  return {4 * elements * (backward ? 3 : 2), elements};
}

// 2x2 max-pool over `in_elements` inputs: forward reads x, writes y and an int32 argmax per
// output; backward reads dy and argmax, writes dx. 3 comparisons per output.
inline LayerCost maxpool2d_cost(double in_elements, bool backward) {
  const double out = in_elements / 4;
  return {4 * in_elements + 8 * out, backward ? 0 : 3 * out};
}

// Dense (N, in) -> (N, out). Forward reads x, W and writes y; backward reads dy, x, W and
// writes dW (read-modify-write: accumulated) and dx.
inline LayerCost dense_cost(int64_t n, int64_t in, int64_t out, bool backward) {
  const double gemm = 2.0 * n * in * out, w = double(in) * out;
  const double bytes = 4 * (backward ? double(n) * out + double(n) * in + 3 * w + double(n) * in
                                     : double(n) * in + w + double(n) * out);
  return {bytes, backward ? 2 * gemm : gemm};
}

}  // namespace ser::bench
