// Global average pooling on the host: x (N, C, H, W) NCHW -> y (N, C), the mean of each
// channel plane (summed in double, then rounded once). Backward spreads dy evenly:
// dx[n, c, h, w] = dy[n, c] / (H*W), OVERWRITTEN (=). The head of the `robust` recipe
// (engine/train/recipe.h): 256 features into the classifier instead of 9216 flattened ones.
#pragma once

#include <cstdint>

#include "engine/cpu/parallel.h"

namespace ser::cpu {

template <typename T>
void global_avg_pool_forward(T* y, const T* x, int64_t planes, int64_t hw) {
  parallel_for(planes, 64, [&](int64_t b, int64_t e) {
    for (int64_t p = b; p < e; ++p) {
      const T* xp = x + p * hw;
      double sum = 0.0;
      for (int64_t i = 0; i < hw; ++i) sum += static_cast<double>(xp[i]);
      y[p] = static_cast<T>(sum / static_cast<double>(hw));
    }
  });
}

template <typename T>
void global_avg_pool_backward(T* dx, const T* dy, int64_t planes, int64_t hw) {
  parallel_for(planes, 64, [&](int64_t b, int64_t e) {
    for (int64_t p = b; p < e; ++p) {
      const T g = static_cast<T>(static_cast<double>(dy[p]) / static_cast<double>(hw));
      T* dxp = dx + p * hw;
      for (int64_t i = 0; i < hw; ++i) dxp[i] = g;
    }
  });
}

}  // namespace ser::cpu
