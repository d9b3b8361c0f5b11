// 2x2 max pooling with stride 2 on the host, floor rounding: x (N, C, H, W) NCHW ->
// y (N, C, H/2, W/2); an odd trailing row/column is dropped (its gradient is zero).
// The forward records, per output, the flat index (within its channel plane) of the
// FIRST maximum of its window in row-major order; the backward sends dy there only.
// (Ties are real: a window of four ReLU zeros maps to four identical BN outputs.)
// dx is OVERWRITTEN (=).
#pragma once

#include <algorithm>
#include <cstdint>

#include "engine/cpu/parallel.h"

namespace ser::cpu {

namespace detail {
// Planes [p0, p1) of the forward; plain arguments so the hot loop keeps them in registers.
template <typename T>
void maxpool2x2_planes(T* y, int32_t* argmax, const T* x, int64_t p0, int64_t p1, int H, int W) {
  const int Ho = H / 2, Wo = W / 2;
  for (int64_t plane = p0; plane < p1; ++plane) {
    const T* xp = x + plane * H * W;
    T* yp = y + plane * Ho * Wo;
    int32_t* ap = argmax + plane * Ho * Wo;
    for (int i = 0; i < Ho; ++i)
      for (int j = 0; j < Wo; ++j) {
        int32_t best = (2 * i) * W + 2 * j;
        const int32_t candidates[3] = {best + 1, best + W, best + W + 1};  // row-major order
        for (int32_t k : candidates)
          if (xp[k] > xp[best]) best = k;  // strict: an equal later value never wins
        yp[i * Wo + j] = xp[best];
        ap[i * Wo + j] = best;
      }
  }
}
}  // namespace detail

// argmax: (N, C, H/2, W/2) indices h*W + w into the (H, W) plane of the same (n, c).
template <typename T>
void maxpool2x2_forward(T* y, int32_t* argmax, const T* x, int N, int C, int H, int W) {
  parallel_for(static_cast<int64_t>(N) * C, std::max(1, 65536 / (H * W)),
               [=](int64_t p0, int64_t p1) { detail::maxpool2x2_planes(y, argmax, x, p0, p1, H, W); });
}

template <typename T>
void maxpool2x2_backward(T* dx, const T* dy, const int32_t* argmax, int N, int C, int H, int W) {
  const int Ho = H / 2, Wo = W / 2;
  parallel_for(static_cast<int64_t>(N) * C, std::max(1, 65536 / (H * W)), [&](int64_t p0, int64_t p1) {
    std::fill(dx + p0 * H * W, dx + p1 * H * W, T(0));
    for (int64_t plane = p0; plane < p1; ++plane)
      for (int k = 0; k < Ho * Wo; ++k) dx[plane * H * W + argmax[plane * Ho * Wo + k]] += dy[plane * Ho * Wo + k];
  });
}

}  // namespace ser::cpu
