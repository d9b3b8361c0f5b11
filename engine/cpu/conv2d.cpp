// im2col + GEMM convolution on the host (see conv2d.h). Templated on T (float for the
// engine, double for gradient checks); explicit instantiations at the bottom.
//
// Samples are processed in groups of B (samples_per_gemm): their columns sit side by side
// in one (K, B*P) matrix so that late layers, whose P = Ho*Wo is small (144 at conv4),
// still give OpenBLAS a wide GEMM. For B > 1 the GEMM result (O, B*P) is scattered into
// NCHW (and dy gathered from it); for B = 1 the GEMM reads and writes NCHW directly.
// Geometries with few taps are handed to the direct loops (conv2d_direct.cpp).
#include "engine/cpu/conv2d.h"

#include <algorithm>

#include "engine/core/error.h"
#include "engine/cpu/conv2d_direct.h"
#include "engine/cpu/gemm.h"
#include "engine/cpu/parallel.h"

namespace ser::cpu {

namespace {

constexpr int64_t kMinElementsPerThread = 16384;  // below this a thread hand-off costs more than it saves
constexpr int64_t kTargetGemmColumns = 4096;      // group samples while a GEMM stays below this width

// Output columns j whose input column j*stride + q - pad lies inside [0, W): [begin, end).
struct ValidColumns {
  int begin, end;
};
ValidColumns valid_columns(const Conv2dGeometry& g, int q) {
  const int Wo = g.Wo(), shift = q - g.pad;  // input column of output column j: j*stride + shift
  const int begin = shift >= 0 ? 0 : (-shift + g.stride - 1) / g.stride;
  const int end = g.W - 1 - shift < 0 ? 0 : std::min(Wo, (g.W - 1 - shift) / g.stride + 1);
  return {std::min(begin, Wo), std::max(end, std::min(begin, Wo))};
}

// Columns of rows [r0, r1) of one sample: col[r, i*Wo + j] = xpad[c, s*i+p, s*j+q] with
// r = (c*KH + p)*KW + q; x: (C, H, W); consecutive rows of col are `ld` apart. The columns
// that read the zero padding are filled apart, so the inner copy has no bounds test (a plain
// memcpy at stride 1).
template <typename T>
void im2col_rows(T* col, int64_t ld, const T* x, const Conv2dGeometry g, int64_t r0, int64_t r1) {
  const int Ho = g.Ho(), Wo = g.Wo();
  for (int64_t r = r0; r < r1; ++r) {
    const int c = static_cast<int>(r / (g.KH * g.KW)), p = static_cast<int>(r / g.KW % g.KH),
              q = static_cast<int>(r % g.KW);
    const ValidColumns v = valid_columns(g, q);
    T* row = col + r * ld;
    const T* xc = x + static_cast<int64_t>(c) * g.H * g.W;
    for (int i = 0; i < Ho; ++i) {
      const int h = i * g.stride + p - g.pad;
      T* out = row + static_cast<int64_t>(i) * Wo;
      if (h < 0 || h >= g.H) {
        std::fill(out, out + Wo, T(0));
        continue;
      }
      const T* xrow = xc + static_cast<int64_t>(h) * g.W + (q - g.pad);  // xrow[j*stride] for j in v
      std::fill(out, out + v.begin, T(0));
      if (g.stride == 1)
        std::copy(xrow + v.begin, xrow + v.end, out + v.begin);
      else
        for (int j = v.begin; j < v.end; ++j) out[j] = xrow[j * g.stride];
      std::fill(out + v.end, out + Wo, T(0));
    }
  }
}

// The adjoint of im2col for channels [c0, c1) of one sample: dx (C, H, W) = sum of the col
// entries that read each pixel (overwritten). One channel per task: no two threads add
// into the same pixel. Entries that read the padding are skipped by range, not per element.
template <typename T>
void col2im_channels(T* dx, const T* col, int64_t ld, const Conv2dGeometry g, int64_t c0, int64_t c1) {
  const int Ho = g.Ho(), Wo = g.Wo();
  std::fill(dx + c0 * g.H * g.W, dx + c1 * g.H * g.W, T(0));
  for (int64_t c = c0; c < c1; ++c)
    for (int p = 0; p < g.KH; ++p)
      for (int q = 0; q < g.KW; ++q) {
        const ValidColumns v = valid_columns(g, q);
        const T* row = col + ((c * g.KH + p) * g.KW + q) * ld;
        T* dxc = dx + c * g.H * g.W;
        for (int i = 0; i < Ho; ++i) {
          const int h = i * g.stride + p - g.pad;
          if (h < 0 || h >= g.H) continue;
          T* __restrict__ dxrow = dxc + static_cast<int64_t>(h) * g.W + (q - g.pad);  // dxrow[j*stride], j in v
          const T* __restrict__ in = row + static_cast<int64_t>(i) * Wo;
          if (g.stride == 1)
            for (int j = v.begin; j < v.end; ++j) dxrow[j] += in[j];
          else
            for (int j = v.begin; j < v.end; ++j) dxrow[j * g.stride] += in[j];
        }
      }
}

// Columns of samples [n0, n0 + b) side by side: col (K, b*P).
template <typename T>
void im2col_group(T* col, const T* x, const Conv2dGeometry& g, int n0, int b) {
  const int64_t K = g.col_rows(), P = g.col_cols(), ld = b * P, sample = static_cast<int64_t>(g.C) * g.H * g.W;
  for (int s = 0; s < b; ++s) {
    const T* xs = x + (n0 + s) * sample;
    T* cs = col + s * P;
    parallel_for(K, std::max<int64_t>(1, kMinElementsPerThread / P),
                 [=](int64_t r0, int64_t r1) { im2col_rows(cs, ld, xs, g, r0, r1); });
  }
}

// Copies between the grouped GEMM layout (O, b*P) and NCHW samples [n0, n0 + b) of (N, O, P).
template <typename T>
void grouped_to_nchw(T* y, const T* grouped, int O, int64_t P, int n0, int b) {
  parallel_for(static_cast<int64_t>(b) * O, std::max<int64_t>(1, kMinElementsPerThread / P), [=](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t s = i / O, o = i % O;
      std::copy(grouped + o * b * P + s * P, grouped + o * b * P + (s + 1) * P, y + ((n0 + s) * O + o) * P);
    }
  });
}

template <typename T>
void nchw_to_grouped(T* grouped, const T* y, int O, int64_t P, int n0, int b) {
  parallel_for(static_cast<int64_t>(b) * O, std::max<int64_t>(1, kMinElementsPerThread / P), [=](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t s = i / O, o = i % O;
      std::copy(y + ((n0 + s) * O + o) * P, y + ((n0 + s) * O + o + 1) * P, grouped + o * b * P + s * P);
    }
  });
}

// Resolves Auto and checks that a forced Direct path supports g.
bool use_direct(Conv2dPath path, const Conv2dGeometry& g) {
  if (path == Conv2dPath::Auto) return conv2d_direct_applies(g);
  if (path == Conv2dPath::Im2colGemm) return false;
  SER_CHECK(conv2d_direct_supports(g),
            "conv2d: the direct path was asked for stride {} and C*KH = {} (it needs stride 1 and C*KH <= {})",
            g.stride, g.C * g.KH, kConv2dDirectMaxRows);
  return true;
}

}  // namespace

int conv2d_samples_per_gemm(const Conv2dGeometry& g) {
  const int64_t want = kTargetGemmColumns / g.col_cols();  // wide layers (P >= 4096) stay per sample
  return static_cast<int>(std::clamp<int64_t>(want, 1, g.N));
}

int64_t conv2d_scratch_size(const Conv2dGeometry& g) {
  const int64_t B = conv2d_samples_per_gemm(g), width = B * g.col_cols();
  return g.col_rows() * width + (B > 1 ? static_cast<int64_t>(g.O) * width : 0);  // col + grouped output
}

template <typename T>
void conv2d_forward(T* y, const T* x, const T* w, const T* b, const Conv2dGeometry& g, T* scratch,
                    Conv2dPath path) {
  if (use_direct(path, g)) {
    conv2d_direct_forward(y, x, w, b, g);
    return;
  }
  const int K = static_cast<int>(g.col_rows()), P = static_cast<int>(g.col_cols());
  const int B = conv2d_samples_per_gemm(g);
  T* col = scratch;                               // (K, B*P)
  T* grouped = scratch + static_cast<int64_t>(K) * B * P;  // (O, B*P), used when B > 1
  for (int n0 = 0; n0 < g.N; n0 += B) {
    const int nb = std::min(B, g.N - n0), width = nb * P;
    im2col_group(col, x, g, n0, nb);
    T* out = nb == 1 && B == 1 ? y + static_cast<int64_t>(n0) * g.O * P : grouped;  // (O, width)
    for (int o = 0; o < g.O; ++o)
      std::fill(out + static_cast<int64_t>(o) * width, out + static_cast<int64_t>(o + 1) * width, b[o]);
    // out (O, width) += w (O, K) @ col (K, width)
    gemm<T>(false, false, g.O, width, K, T(1), w, K, col, width, T(1), out, width);
    if (out == grouped) grouped_to_nchw(y, grouped, g.O, P, n0, nb);
  }
}

template <typename T>
void conv2d_backward(T* dx, T* dw, T* db, const T* dy, const T* x, const T* w, const Conv2dGeometry& g,
                     T* scratch, Conv2dPath path) {
  const int K = static_cast<int>(g.col_rows()), P = static_cast<int>(g.col_cols());
  const int B = conv2d_samples_per_gemm(g);
  T* col = scratch;                                        // (K, B*P)
  T* grouped = scratch + static_cast<int64_t>(K) * B * P;  // (O, B*P), used when B > 1
  const bool direct = use_direct(path, g);
  if (direct) {
    conv2d_direct_backward_filter(dw, db, dy, x, g);
    if (dx == nullptr) return;
  } else {
    conv2d_backward_bias(db, dy, g);  // long reduction (N*P up to 2.5e5): lane sums into double
  }
  for (int n0 = 0; n0 < g.N; n0 += B) {
    const int nb = std::min(B, g.N - n0), width = nb * P;
    const T* dyg = dy + static_cast<int64_t>(n0) * g.O * P;  // (O, width) when B == 1
    if (B > 1) {
      nchw_to_grouped(grouped, dy, g.O, P, n0, nb);
      dyg = grouped;
    }
    if (!direct) {
      im2col_group(col, x, g, n0, nb);
      // dw (O, K) += dy (O, width) @ col^T (width, K)
      gemm<T>(false, true, g.O, K, width, T(1), dyg, width, col, width, T(1), dw, K);
    }
    if (dx == nullptr) continue;
    // dcol (K, width) = w^T (K, O) @ dy (O, width), then scattered back onto each sample's dx.
    gemm<T>(true, false, K, width, g.O, T(1), w, K, dyg, width, T(0), col, width);
    const int64_t sample = static_cast<int64_t>(g.C) * g.H * g.W;
    const int64_t per_channel = static_cast<int64_t>(g.KH) * g.KW * P;
    for (int s = 0; s < nb; ++s) {
      T* dxs = dx + (n0 + s) * sample;
      const T* cs = col + static_cast<int64_t>(s) * P;
      parallel_for(g.C, std::max<int64_t>(1, kMinElementsPerThread / per_channel),
                   [=](int64_t c0, int64_t c1) { col2im_channels(dxs, cs, width, g, c0, c1); });
    }
  }
}

template void conv2d_forward<float>(float*, const float*, const float*, const float*, const Conv2dGeometry&, float*,
                                    Conv2dPath);
template void conv2d_forward<double>(double*, const double*, const double*, const double*, const Conv2dGeometry&,
                                     double*, Conv2dPath);
template void conv2d_backward<float>(float*, float*, float*, const float*, const float*, const float*,
                                     const Conv2dGeometry&, float*, Conv2dPath);
template void conv2d_backward<double>(double*, double*, double*, const double*, const double*, const double*,
                                      const Conv2dGeometry&, double*, Conv2dPath);

}  // namespace ser::cpu
