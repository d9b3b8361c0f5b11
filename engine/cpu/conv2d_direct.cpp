// Direct stride-1 convolution loops for small K = C*KH*KW (see conv2d_direct.h).
// Templated on T (float for the engine, double for gradient checks) and on the vector
// width in bytes: 16 (SSE2, the x86-64 baseline the build targets) or 32 (AVX2, compiled
// into separate entry points with GCC's target attribute and chosen at run time when the
// CPU has it; OpenBLAS, which the im2col path uses, does the same).
//
// Forward: one task per output plane (n, o). Each output row is computed in blocks of
// 4 vectors held in registers while all K taps are added, so y is written once; the
// columns whose taps reach into the zero padding (at most `pad` per side) run one by one.
// Backward filter: one task per output channel o; for every dy row and every tap the dot
// product runs in vector lanes (no reassociation needed, i.e. no -ffast-math), and each
// row's lanes are added to a double accumulator.
#include "engine/cpu/conv2d_direct.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "engine/core/error.h"
#include "engine/cpu/parallel.h"

namespace ser::cpu {

namespace {

constexpr int64_t kMinWorkPerThread = 1 << 16;  // multiply-adds below which a hand-off costs more than it saves
constexpr int kMaxRows = kConv2dDirectMaxRows;  // C*KH input rows one output row reads (stack arrays)
constexpr int kBlockVecs = 4;                   // vectors of output columns per forward register block

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define SER_DIRECT_AVX2 1
#endif

// Every helper below is force-inlined into the two entry points per width, so that the
// AVX2 entry points (target attribute) compile all of it with AVX2 instructions.
#define SER_INLINE inline __attribute__((always_inline))
// Those helpers pass 32-byte vectors by value; inlined, no call ABI is involved.
#pragma GCC diagnostic ignored "-Wpsabi"

// A kBytes-wide vector of T (GCC/Clang vector extension). Written explicitly because GCC
// kept a plain `T acc[16]` block in memory, a load and a store per tap (3.5x slower than
// im2col + GEMM, measured).
template <typename T, int kBytes>
struct Vec {
  typedef T type __attribute__((vector_size(kBytes)));
  static constexpr int kLen = kBytes / static_cast<int>(sizeof(T));
  static SER_INLINE type load(const T* p) {
    type v;
    std::memcpy(&v, p, sizeof v);  // unaligned
    return v;
  }
  static SER_INLINE void store(T* p, type v) { std::memcpy(p, &v, sizeof v); }
  static SER_INLINE double sum(type v) {
    double s = 0.0;
    for (int l = 0; l < kLen; ++l) s += v[l];
    return s;
  }
};

// Output columns whose KW taps all lie inside the unpadded row: [lo, hi) with
// 0 <= j - pad and j - pad + KW - 1 <= W - 1.
struct InteriorColumns {
  int lo, hi;
};
InteriorColumns interior_columns(const Conv2dGeometry& g) {
  const int Wo = g.Wo(), lo = std::min(g.pad, Wo);
  return {lo, std::max(lo, std::min(Wo, g.W - g.KW + g.pad + 1))};
}

// ---- forward ------------------------------------------------------------------------

// Columns [j0, j0 + kBlockVecs * kLen) of one output row, all taps added in registers.
template <typename T, int kBytes>
SER_INLINE void forward_block(T* y_row, int j0, const T* const* rows, const T* const* taps, int nrows, T bias,
                              int KW, int pad) {
  using V = Vec<T, kBytes>;
  using VT = typename V::type;
  VT acc[kBlockVecs];
  for (int v = 0; v < kBlockVecs; ++v) acc[v] = VT{} + bias;
  for (int r = 0; r < nrows; ++r) {
    const T* xr = rows[r] + (j0 - pad);  // xr[jj + q] = xpad row at column j0 + jj + q
    const T* wr = taps[r];
    for (int q = 0; q < KW; ++q) {
      const VT wv = VT{} + wr[q];
      for (int v = 0; v < kBlockVecs; ++v) acc[v] += wv * V::load(xr + q + v * V::kLen);
    }
  }
  for (int v = 0; v < kBlockVecs; ++v) V::store(y_row + j0 + v * V::kLen, acc[v]);
}

// Output column j, taps outside the unpadded row skipped (the padding columns).
template <typename T>
SER_INLINE void forward_column(T* y_row, int j, const T* const* rows, const T* const* taps, int nrows, T bias,
                               const Conv2dGeometry& g) {
  T acc = bias;
  for (int r = 0; r < nrows; ++r)
    for (int q = 0; q < g.KW; ++q) {
      const int col = j + q - g.pad;
      if (col >= 0 && col < g.W) acc += taps[r][q] * rows[r][col];
    }
  y_row[j] = acc;
}

// One output row y_row (Wo) of plane (n, o): rows[r] (W) are the `nrows` input rows it
// reads (padding rows dropped) and taps[r] (KW) their weights. The interior columns run
// in register blocks, the last block shifted left to end at inner.hi (it recomputes a
// few columns: same values, same order); columns touching the padding run one by one.
template <typename T, int kBytes>
SER_INLINE void forward_row(T* y_row, const T* const* rows, const T* const* taps, int nrows, T bias,
                            const Conv2dGeometry& g, InteriorColumns inner) {
  constexpr int kCols = kBlockVecs * Vec<T, kBytes>::kLen;
  int scalar_from = inner.lo;  // an interior narrower than one block runs one by one
  if (inner.hi - inner.lo >= kCols) {
    for (int j0 = inner.lo;; j0 += kCols) {
      const int start = std::min(j0, inner.hi - kCols);
      forward_block<T, kBytes>(y_row, start, rows, taps, nrows, bias, g.KW, g.pad);
      if (start + kCols >= inner.hi) break;
    }
    scalar_from = inner.hi;
  }
  for (int j = 0; j < inner.lo; ++j) forward_column(y_row, j, rows, taps, nrows, bias, g);
  for (int j = scalar_from; j < g.Wo(); ++j) forward_column(y_row, j, rows, taps, nrows, bias, g);
}

// Planes [p0, p1) of y viewed as (N*O, Ho, Wo).
template <typename T, int kBytes>
SER_INLINE void forward_planes(T* y, const T* x, const T* w, const T* b, const Conv2dGeometry& g, int64_t p0,
                               int64_t p1) {
  const int Ho = g.Ho(), Wo = g.Wo();
  const int64_t K = g.col_rows();
  const InteriorColumns inner = interior_columns(g);
  const T* rows[kMaxRows];
  const T* taps[kMaxRows];
  for (int64_t plane = p0; plane < p1; ++plane) {
    const int64_t n = plane / g.O, o = plane % g.O;
    const T* wo = w + o * K;                                     // (C, KH, KW)
    const T* xn = x + n * static_cast<int64_t>(g.C) * g.H * g.W;  // (C, H, W)
    T* yp = y + plane * static_cast<int64_t>(Ho) * Wo;            // (Ho, Wo)
    for (int i = 0; i < Ho; ++i) {
      int nrows = 0;
      for (int c = 0; c < g.C; ++c)
        for (int p = 0; p < g.KH; ++p) {
          const int h = i + p - g.pad;
          if (h < 0 || h >= g.H) continue;
          rows[nrows] = xn + (static_cast<int64_t>(c) * g.H + h) * g.W;
          taps[nrows++] = wo + (static_cast<int64_t>(c) * g.KH + p) * g.KW;
        }
      forward_row<T, kBytes>(yp + static_cast<int64_t>(i) * Wo, rows, taps, nrows, b[o], g, inner);
    }
  }
}

// ---- backward filter ----------------------------------------------------------------

// sum_j a[j] * b[j] for j < n: vector lanes, then the lanes and the tail in double.
template <typename T, int kBytes>
SER_INLINE double lane_dot(const T* a, const T* b, int n) {
  using V = Vec<T, kBytes>;
  typename V::type part{};
  int j = 0;
  for (; j + V::kLen <= n; j += V::kLen) part += V::load(a + j) * V::load(b + j);
  double sum = V::sum(part);
  for (; j < n; ++j) sum += static_cast<double>(a[j]) * b[j];
  return sum;
}

// sum_j a[j] for j < n, the same way.
template <typename T, int kBytes>
SER_INLINE double lane_sum(const T* a, int n) {
  using V = Vec<T, kBytes>;
  typename V::type part{};
  int j = 0;
  for (; j + V::kLen <= n; j += V::kLen) part += V::load(a + j);
  double sum = V::sum(part);
  for (; j < n; ++j) sum += a[j];
  return sum;
}

// The seed conv1 case (C*KH = 3 input rows, KW = 3, no padding column): all 9 taps of
// one dy row at once, each a vector accumulator, so every dy vector is loaded once for
// 9 products (the per-tap lane_dot loads it 9 times: 6.5 -> 4.5 ms, measured).
// a: (3, 3) double sums of the channel, rows[r] (W) the input rows of dy_row (Wo).
template <typename T, int kBytes>
SER_INLINE void backward_filter_row_3x3(double* a, const T* dy_row, const T* const* rows, int Wo) {
  using V = Vec<T, kBytes>;
  using VT = typename V::type;
  VT acc[3][3] = {};
  int j = 0;
  for (; j + V::kLen <= Wo; j += V::kLen) {  // pad 0: rows[r] (W = Wo + 2) covers j + q
    const VT d = V::load(dy_row + j);
    for (int r = 0; r < 3; ++r)
      for (int q = 0; q < 3; ++q) acc[r][q] += d * V::load(rows[r] + j + q);
  }
  for (int r = 0; r < 3; ++r)
    for (int q = 0; q < 3; ++q) {
      double sum = V::sum(acc[r][q]);
      for (int t = j; t < Wo; ++t) sum += static_cast<double>(dy_row[t]) * rows[r][t + q];
      a[r * 3 + q] += sum;
    }
}

// dw rows and db entries of output channels [o0, o1).
template <typename T, int kBytes>
SER_INLINE void backward_filter_channels(T* dw, T* db, const T* dy, const T* x, const Conv2dGeometry& g, int64_t o0,
                                         int64_t o1) {
  const int Ho = g.Ho(), Wo = g.Wo();
  const int64_t K = g.col_rows(), P = static_cast<int64_t>(Ho) * Wo;
  std::vector<double> acc(static_cast<std::size_t>(K));  // (C, KH, KW) of one channel
  const bool fused_3x3 = g.C == 1 && g.KH == 3 && g.KW == 3 && g.pad == 0;
  for (int64_t o = o0; o < o1; ++o) {
    std::fill(acc.begin(), acc.end(), 0.0);
    double bias = 0.0;
    for (int n = 0; n < g.N; ++n) {
      const T* dyp = dy + (n * static_cast<int64_t>(g.O) + o) * P;  // (Ho, Wo)
      const T* xn = x + n * static_cast<int64_t>(g.C) * g.H * g.W;   // (C, H, W)
      for (int i = 0; i < Ho; ++i) {
        const T* dy_row = dyp + static_cast<int64_t>(i) * Wo;
        bias += lane_sum<T, kBytes>(dy_row, Wo);
        if (fused_3x3) {
          const T* rows[3] = {xn + static_cast<int64_t>(i) * g.W, xn + static_cast<int64_t>(i + 1) * g.W,
                              xn + static_cast<int64_t>(i + 2) * g.W};
          backward_filter_row_3x3<T, kBytes>(acc.data(), dy_row, rows, Wo);
          continue;
        }
        for (int c = 0; c < g.C; ++c)
          for (int p = 0; p < g.KH; ++p) {
            const int h = i + p - g.pad;
            if (h < 0 || h >= g.H) continue;
            const T* x_row = xn + (static_cast<int64_t>(c) * g.H + h) * g.W;
            double* a = acc.data() + (static_cast<int64_t>(c) * g.KH + p) * g.KW;
            for (int q = 0; q < g.KW; ++q) {
              // Output columns whose tap q reads inside the row: 0 <= j + q - pad < W.
              const int lo = std::max(0, g.pad - q), hi = std::min(Wo, g.W + g.pad - q);
              if (hi > lo) a[q] += lane_dot<T, kBytes>(dy_row + lo, x_row + (lo + q - g.pad), hi - lo);
            }
          }
      }
    }
    for (int64_t k = 0; k < K; ++k) dw[o * K + k] += static_cast<T>(acc[static_cast<std::size_t>(k)]);
    db[o] += static_cast<T>(bias);
  }
}

// ---- entry points per vector width ---------------------------------------------------

template <typename T>
void forward_planes_sse(T* y, const T* x, const T* w, const T* b, const Conv2dGeometry& g, int64_t p0, int64_t p1) {
  forward_planes<T, 16>(y, x, w, b, g, p0, p1);
}
template <typename T>
void backward_filter_sse(T* dw, T* db, const T* dy, const T* x, const Conv2dGeometry& g, int64_t o0, int64_t o1) {
  backward_filter_channels<T, 16>(dw, db, dy, x, g, o0, o1);
}

#ifdef SER_DIRECT_AVX2
template <typename T>
__attribute__((target("avx2"))) void forward_planes_avx2(T* y, const T* x, const T* w, const T* b,
                                                         const Conv2dGeometry& g, int64_t p0, int64_t p1) {
  forward_planes<T, 32>(y, x, w, b, g, p0, p1);
}
template <typename T>
__attribute__((target("avx2"))) void backward_filter_avx2(T* dw, T* db, const T* dy, const T* x,
                                                          const Conv2dGeometry& g, int64_t o0, int64_t o1) {
  backward_filter_channels<T, 32>(dw, db, dy, x, g, o0, o1);
}
bool cpu_has_avx2() {
  static const bool has = __builtin_cpu_supports("avx2");
  return has;
}
#else
bool cpu_has_avx2() { return false; }
#endif

bool g_avx2_enabled = true;  // conv2d_direct_set_avx2

bool use_avx2() { return g_avx2_enabled && cpu_has_avx2(); }

}  // namespace

bool conv2d_direct_supports(const Conv2dGeometry& g) {
  return g.stride == 1 && static_cast<int64_t>(g.C) * g.KH <= kMaxRows;
}

bool conv2d_direct_applies(const Conv2dGeometry& g) {
  return conv2d_direct_supports(g) && g.col_rows() <= kConv2dDirectMaxTaps;
}

bool conv2d_direct_set_avx2(bool enabled) {
  g_avx2_enabled = enabled;
  return use_avx2();
}

template <typename T>
void conv2d_direct_forward(T* y, const T* x, const T* w, const T* b, const Conv2dGeometry& g) {
  SER_CHECK(conv2d_direct_supports(g), "conv2d_direct_forward: stride {} with C*KH = {} (needs stride 1, C*KH <= {})",
            g.stride, g.C * g.KH, kMaxRows);
  const int64_t per_plane = g.col_cols() * g.col_rows();
  const bool avx2 = use_avx2();
  parallel_for(static_cast<int64_t>(g.N) * g.O, std::max<int64_t>(1, kMinWorkPerThread / per_plane),
               [=](int64_t p0, int64_t p1) {
#ifdef SER_DIRECT_AVX2
                 if (avx2) return forward_planes_avx2(y, x, w, b, g, p0, p1);
#endif
                 forward_planes_sse(y, x, w, b, g, p0, p1);
               });
}

template <typename T>
void conv2d_direct_backward_filter(T* dw, T* db, const T* dy, const T* x, const Conv2dGeometry& g) {
  SER_CHECK(conv2d_direct_supports(g),
            "conv2d_direct_backward_filter: stride {} with C*KH = {} (needs stride 1, C*KH <= {})", g.stride,
            g.C * g.KH, kMaxRows);
  const int64_t per_channel = g.N * g.col_cols() * g.col_rows();
  const bool avx2 = use_avx2();
  parallel_for(g.O, std::max<int64_t>(1, kMinWorkPerThread / per_channel), [=](int64_t o0, int64_t o1) {
#ifdef SER_DIRECT_AVX2
    if (avx2) return backward_filter_avx2(dw, db, dy, x, g, o0, o1);
#endif
    backward_filter_sse(dw, db, dy, x, g, o0, o1);
  });
}

template <typename T>
void conv2d_backward_bias(T* db, const T* dy, const Conv2dGeometry& g) {
  const int64_t P = g.col_cols();
  const int Wo = g.Wo();
  parallel_for(g.O, std::max<int64_t>(1, kMinWorkPerThread / (g.N * P)), [=](int64_t o0, int64_t o1) {
    for (int64_t o = o0; o < o1; ++o) {
      double sum = 0.0;
      for (int n = 0; n < g.N; ++n)
        for (int64_t r = 0; r < P; r += Wo)
          sum += lane_sum<T, 16>(dy + (n * static_cast<int64_t>(g.O) + o) * P + r, Wo);
      db[o] += static_cast<T>(sum);
    }
  });
}

template void conv2d_direct_forward<float>(float*, const float*, const float*, const float*, const Conv2dGeometry&);
template void conv2d_direct_forward<double>(double*, const double*, const double*, const double*,
                                            const Conv2dGeometry&);
template void conv2d_direct_backward_filter<float>(float*, float*, const float*, const float*, const Conv2dGeometry&);
template void conv2d_direct_backward_filter<double>(double*, double*, const double*, const double*,
                                                    const Conv2dGeometry&);
template void conv2d_backward_bias<float>(float*, const float*, const Conv2dGeometry&);
template void conv2d_backward_bias<double>(double*, const double*, const Conv2dGeometry&);

}  // namespace ser::cpu
