// im2col + GEMM convolution on the host (see conv2d.h). Templated on T (float for the
// engine, double for gradient checks); explicit instantiations at the bottom.
#include "engine/cpu/conv2d.h"

#include <algorithm>

#include "engine/cpu/gemm.h"
#include "engine/cpu/parallel.h"

namespace ser::cpu {

namespace {

constexpr int64_t kMinElementsPerThread = 16384;  // below this a thread hand-off costs more than it saves

// col[(c*KH + p)*KW + q, i*Wo + j] = xpad[c, s*i+p, s*j+q] for one sample x: (C, H, W).
template <typename T>
void im2col(T* col, const T* x, const Conv2dGeometry& g) {
  const int Ho = g.Ho(), Wo = g.Wo();
  const int64_t rows = g.col_rows();
  parallel_for(rows, std::max<int64_t>(1, kMinElementsPerThread / (int64_t(Ho) * Wo)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
        const int c = static_cast<int>(r / (g.KH * g.KW)), p = static_cast<int>(r / g.KW % g.KH),
                  q = static_cast<int>(r % g.KW);
        T* row = col + r * Ho * Wo;
        const T* xc = x + static_cast<int64_t>(c) * g.H * g.W;
        for (int i = 0; i < Ho; ++i) {
          const int h = i * g.stride + p - g.pad;
          T* out = row + static_cast<int64_t>(i) * Wo;
          if (h < 0 || h >= g.H) {
            std::fill(out, out + Wo, T(0));
            continue;
          }
          const T* xrow = xc + static_cast<int64_t>(h) * g.W;
          for (int j = 0; j < Wo; ++j) {
            const int wi = j * g.stride + q - g.pad;
            out[j] = (wi >= 0 && wi < g.W) ? xrow[wi] : T(0);
          }
        }
    }
  });
}

// The adjoint of im2col: dx (C, H, W) = sum of the col entries that read each pixel.
template <typename T>
void col2im(T* dx, const T* col, const Conv2dGeometry& g) {
  const int Ho = g.Ho(), Wo = g.Wo();
  std::fill(dx, dx + static_cast<int64_t>(g.C) * g.H * g.W, T(0));
  // One channel per task: no two threads add into the same pixel.
  const int64_t per_channel = static_cast<int64_t>(g.KH) * g.KW * Ho * Wo;
  parallel_for(g.C, std::max<int64_t>(1, kMinElementsPerThread / per_channel), [&](int64_t c0, int64_t c1) {
  for (int c = static_cast<int>(c0); c < c1; ++c)
    for (int p = 0; p < g.KH; ++p)
      for (int q = 0; q < g.KW; ++q) {
        const T* row = col + ((static_cast<int64_t>(c) * g.KH + p) * g.KW + q) * Ho * Wo;
        T* dxc = dx + static_cast<int64_t>(c) * g.H * g.W;
        for (int i = 0; i < Ho; ++i) {
          const int h = i * g.stride + p - g.pad;
          if (h < 0 || h >= g.H) continue;
          T* dxrow = dxc + static_cast<int64_t>(h) * g.W;
          const T* in = row + static_cast<int64_t>(i) * Wo;
          for (int j = 0; j < Wo; ++j) {
            const int wi = j * g.stride + q - g.pad;
            if (wi >= 0 && wi < g.W) dxrow[wi] += in[j];
          }
        }
      }
  });
}

}  // namespace

template <typename T>
void conv2d_forward(T* y, const T* x, const T* w, const T* b, const Conv2dGeometry& g, T* col) {
  const int K = static_cast<int>(g.col_rows()), P = static_cast<int>(g.col_cols());
  for (int n = 0; n < g.N; ++n) {
    const T* xn = x + static_cast<int64_t>(n) * g.C * g.H * g.W;  // (C, H, W)
    T* yn = y + static_cast<int64_t>(n) * g.O * P;                 // (O, Ho*Wo)
    im2col(col, xn, g);
    for (int o = 0; o < g.O; ++o) std::fill(yn + static_cast<int64_t>(o) * P, yn + static_cast<int64_t>(o + 1) * P, b[o]);
    // yn (O, P) += w (O, K) @ col (K, P)
    gemm<T>(false, false, g.O, P, K, T(1), w, K, col, P, T(1), yn, P);
  }
}

template <typename T>
void conv2d_backward(T* dx, T* dw, T* db, const T* dy, const T* x, const T* w, const Conv2dGeometry& g, T* col) {
  const int K = static_cast<int>(g.col_rows()), P = static_cast<int>(g.col_cols());
  for (int n = 0; n < g.N; ++n) {
    const T* xn = x + static_cast<int64_t>(n) * g.C * g.H * g.W;  // (C, H, W)
    const T* dyn = dy + static_cast<int64_t>(n) * g.O * P;         // (O, P)
    for (int o = 0; o < g.O; ++o) {
      const T* row = dyn + static_cast<int64_t>(o) * P;
      double sum = 0.0;  // long reduction (P up to 1.6e4) kept in double
      for (int i = 0; i < P; ++i) sum += row[i];
      db[o] += static_cast<T>(sum);
    }
    im2col(col, xn, g);
    // dw (O, K) += dy_n (O, P) @ col^T (P, K)
    gemm<T>(false, true, g.O, K, P, T(1), dyn, P, col, P, T(1), dw, K);
    if (dx != nullptr) {
      // dcol (K, P) = w^T (K, O) @ dy_n (O, P), then scattered back onto dx_n.
      gemm<T>(true, false, K, P, g.O, T(1), w, K, dyn, P, T(0), col, P);
      col2im(dx + static_cast<int64_t>(n) * g.C * g.H * g.W, col, g);
    }
  }
}

template void conv2d_forward<float>(float*, const float*, const float*, const float*, const Conv2dGeometry&, float*);
template void conv2d_forward<double>(double*, const double*, const double*, const double*, const Conv2dGeometry&,
                                     double*);
template void conv2d_backward<float>(float*, float*, float*, const float*, const float*, const float*,
                                     const Conv2dGeometry&, float*);
template void conv2d_backward<double>(double*, double*, double*, const double*, const double*, const double*,
                                      const Conv2dGeometry&, double*);

}  // namespace ser::cpu
