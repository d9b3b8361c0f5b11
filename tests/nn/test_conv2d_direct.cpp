// The direct convolution loops (engine/cpu/conv2d_direct.h) against the im2col + GEMM
// path and against a naive double-precision loop of the defining formula (y, dx, dw, db), on odd sizes:
// batch 1, 3x5 images, Cout 1 and 7, non-square kernels, zero padding 0-2, widths that
// leave a remainder after the 16-column blocks. Layouts: x (N, C, H, W), w (O, C, KH, KW),
// y/dy (N, O, Ho, Wo). Tolerance: max-norm relative error (max|a - ref| / max|ref|) of
// 2e-6 in float32 (K <= 27 products per output, sums of <= 1e3 products per weight
// gradient: each ~1e-7 relative, blocked) and 1e-13 in float64.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <sstream>
#include <vector>

#include "engine/core/error.h"
#include "engine/cpu/conv2d.h"
#include "engine/cpu/conv2d_direct.h"

using namespace ser;
using ser::cpu::Conv2dGeometry;
using ser::cpu::Conv2dPath;

namespace {

Conv2dGeometry geometry(int N, int C, int H, int W, int O, int KH, int KW, int pad) {
  Conv2dGeometry g;
  g.N = N, g.C = C, g.H = H, g.W = W, g.O = O, g.KH = KH, g.KW = KW, g.pad = pad;
  return g;
}

std::string describe(const Conv2dGeometry& g) {
  std::ostringstream s;
  s << "x (" << g.N << "," << g.C << "," << g.H << "," << g.W << ") w (" << g.O << "," << g.C << "," << g.KH << ","
    << g.KW << ") pad " << g.pad;
  return s.str();
}

template <typename T>
std::vector<T> random_values(std::size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  std::vector<T> v(n);
  for (auto& e : v) e = static_cast<T>(u(rng));
  return v;
}

template <typename T>
double max_relative_error(const std::vector<T>& a, const std::vector<double>& ref) {
  double diff = 0.0, scale = 0.0;
  for (std::size_t i = 0; i < ref.size(); ++i) {
    diff = std::max(diff, std::abs(static_cast<double>(a[i]) - ref[i]));
    scale = std::max(scale, std::abs(ref[i]));
  }
  return diff / std::max(scale, 1e-30);
}

// xpad[n, c, h, w] with zeros outside the image.
template <typename T>
double xpad(const std::vector<T>& x, const Conv2dGeometry& g, int n, int c, int h, int w) {
  if (h < 0 || h >= g.H || w < 0 || w >= g.W) return 0.0;
  return x[((static_cast<std::size_t>(n) * g.C + c) * g.H + h) * g.W + w];
}

// The defining sums in double, from zero: y (N, O, Ho, Wo), dx (N, C, H, W),
// dw (O, C, KH, KW), db (O). dx[n, c, h, w] = sum of dy[n, o, i, j] * w[o, c, p, q] over
// the taps with i + p - pad == h and j + q - pad == w (padding positions receive nothing).
template <typename T>
void naive_reference(const Conv2dGeometry& g, const std::vector<T>& x, const std::vector<T>& w,
                     const std::vector<T>& b, const std::vector<T>& dy, std::vector<double>& y,
                     std::vector<double>& dx, std::vector<double>& dw, std::vector<double>& db) {
  const int Ho = g.Ho(), Wo = g.Wo();
  y.assign(static_cast<std::size_t>(g.N) * g.O * Ho * Wo, 0.0);
  dx.assign(x.size(), 0.0);
  dw.assign(w.size(), 0.0);
  db.assign(b.size(), 0.0);
  for (int n = 0; n < g.N; ++n)
    for (int o = 0; o < g.O; ++o)
      for (int i = 0; i < Ho; ++i)
        for (int j = 0; j < Wo; ++j) {
          const std::size_t yi = ((static_cast<std::size_t>(n) * g.O + o) * Ho + i) * Wo + j;
          double sum = b[o];
          db[o] += dy[yi];
          for (int c = 0; c < g.C; ++c)
            for (int p = 0; p < g.KH; ++p)
              for (int q = 0; q < g.KW; ++q) {
                const std::size_t wi = ((static_cast<std::size_t>(o) * g.C + c) * g.KH + p) * g.KW + q;
                const int h = i + p - g.pad, ww = j + q - g.pad;
                const double xv = xpad(x, g, n, c, h, ww);
                sum += w[wi] * xv;
                dw[wi] += dy[yi] * xv;
                if (h >= 0 && h < g.H && ww >= 0 && ww < g.W)
                  dx[((static_cast<std::size_t>(n) * g.C + c) * g.H + h) * g.W + ww] += dy[yi] * double(w[wi]);
              }
          y[yi] = sum;
        }
}

template <typename T>
void check_paths_agree(const Conv2dGeometry& g, double tol) {
  CAPTURE(describe(g));
  REQUIRE(cpu::conv2d_direct_supports(g));
  const std::size_t nx = static_cast<std::size_t>(g.N) * g.C * g.H * g.W;
  const std::size_t nw = static_cast<std::size_t>(g.O) * g.C * g.KH * g.KW;
  const std::size_t ny = static_cast<std::size_t>(g.N) * g.O * g.Ho() * g.Wo();
  const auto x = random_values<T>(nx, 1), w = random_values<T>(nw, 2), b = random_values<T>(g.O, 3),
             dy = random_values<T>(ny, 4), dw0 = random_values<T>(nw, 5), db0 = random_values<T>(g.O, 6);
  std::vector<double> y_ref, dx_ref, dw_ref, db_ref;
  naive_reference(g, x, w, b, dy, y_ref, dx_ref, dw_ref, db_ref);
  for (std::size_t k = 0; k < nw; ++k) dw_ref[k] += dw0[k];  // the gradients accumulate onto dw0, db0
  for (int o = 0; o < g.O; ++o) db_ref[o] += db0[o];

  std::vector<T> scratch(static_cast<std::size_t>(cpu::conv2d_scratch_size(g)));
  for (Conv2dPath path : {Conv2dPath::Direct, Conv2dPath::Im2colGemm}) {
    CAPTURE(path == Conv2dPath::Direct ? "direct" : "im2col");
    std::vector<T> y(ny, T(-99)), dx(nx, T(-99)), dw = dw0, db = db0;
    cpu::conv2d_forward(y.data(), x.data(), w.data(), b.data(), g, scratch.data(), path);
    cpu::conv2d_backward(dx.data(), dw.data(), db.data(), dy.data(), x.data(), w.data(), g, scratch.data(), path);
    CHECK(max_relative_error(y, y_ref) < tol);
    CHECK(max_relative_error(dw, dw_ref) < tol);
    CHECK(max_relative_error(db, db_ref) < tol);
    CHECK(max_relative_error(dx, dx_ref) < tol);  // overwritten: no -99 left anywhere
  }
}

// Odd sizes: batch 1, tiny images, 1 and 7 output channels, C up to 3, padding 0-2,
// widths 5, 21, 38, 40 (one or two register blocks of 16/32 floats + a shifted last
// block, with and without padding); (2, 1, 9, 21) and (1, 1, 40, 130) take the fused 3x3
// backward (C = 1, 3x3, pad 0).
std::vector<Conv2dGeometry> odd_geometries() {
  return {geometry(1, 1, 3, 5, 1, 3, 3, 0),   geometry(1, 1, 3, 5, 7, 3, 3, 1),
          geometry(1, 1, 3, 5, 7, 3, 3, 2),   geometry(2, 1, 9, 21, 7, 3, 3, 0),
          geometry(3, 2, 7, 40, 5, 2, 3, 1),  geometry(2, 3, 6, 38, 7, 3, 3, 1),
          geometry(1, 1, 4, 19, 1, 1, 1, 0),  geometry(1, 2, 5, 33, 3, 3, 5, 2),
          geometry(1, 1, 40, 130, 7, 3, 3, 0)};
}

}  // namespace

TEST_SUITE("nn") {

// Both vector widths: AVX2 where the CPU has it (else this runs SSE2 twice), then SSE2.
TEST_CASE("conv2d direct path: forward, dW, db match im2col + GEMM and the defining sums (float32)") {
  for (bool avx2 : {true, false}) {
    CAPTURE(cpu::conv2d_direct_set_avx2(avx2));
    for (const auto& g : odd_geometries()) check_paths_agree<float>(g, 2e-6);
  }
  cpu::conv2d_direct_set_avx2(true);
}

TEST_CASE("conv2d direct path: forward, dW, db match im2col + GEMM and the defining sums (float64)") {
  for (bool avx2 : {true, false}) {
    CAPTURE(cpu::conv2d_direct_set_avx2(avx2));
    for (const auto& g : odd_geometries()) check_paths_agree<double>(g, 1e-13);
  }
  cpu::conv2d_direct_set_avx2(true);
}

TEST_CASE("conv2d direct path: chosen for few taps and stride 1 only") {
  CHECK(cpu::conv2d_direct_applies(geometry(16, 1, 128, 128, 32, 3, 3, 0)));    // seed conv1, K = 9
  CHECK(cpu::conv2d_direct_applies(geometry(4, 1, 20, 30, 8, 3, 3, 1)));       // K = 9 with padding
  CHECK_FALSE(cpu::conv2d_direct_applies(geometry(16, 2, 128, 128, 32, 3, 3, 0)));  // K = 18: GEMM faster
  CHECK_FALSE(cpu::conv2d_direct_applies(geometry(16, 32, 63, 63, 64, 3, 3, 0)));  // seed conv2, K = 288
  auto strided = geometry(1, 1, 9, 9, 2, 3, 3, 0);
  strided.stride = 2;
  CHECK_FALSE(cpu::conv2d_direct_applies(strided));
  std::vector<float> x(81, 1.0f), w(18, 1.0f), b(2, 0.0f), y(2 * 4 * 4), scratch(cpu::conv2d_scratch_size(strided));
  CHECK_THROWS_AS(cpu::conv2d_forward(y.data(), x.data(), w.data(), b.data(), strided, scratch.data(),
                                      Conv2dPath::Direct),
                  Error);
  cpu::conv2d_forward(y.data(), x.data(), w.data(), b.data(), strided, scratch.data());  // Auto: im2col
  CHECK(y[0] == 9.0f);
}

}  // TEST_SUITE
