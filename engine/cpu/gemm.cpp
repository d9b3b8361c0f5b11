// cblas_sgemm / cblas_dgemm behind ser::cpu::gemm<T> (see gemm.h), run on the engine's own
// thread pool: C is cut into one block of rows or columns per pool thread (whichever of
// M, N is larger) and each thread calls a single-threaded OpenBLAS GEMM on its block.
//
// Why not OpenBLAS's own threads: between GEMMs its idle workers spin (sched_yield) for a
// while, and on a small machine they take the cores from the pool running the im2col, batch
// norm and pooling loops around every GEMM (17 % of a seed training step's CPU time on the
// 2-core VM went to sched_yield). One pool for everything has no such fight. The split is
// along M or N only, never K, so each element of C is one dot product in one call, and a
// fixed thread count gives the same partition and the same bits on every run.
#include "engine/cpu/gemm.h"

#include <cblas.h>

#include <algorithm>
#include <cstdint>
#include <mutex>

#include "engine/cpu/parallel.h"

namespace ser::cpu {

namespace {

constexpr int64_t kMinFlopsPerThread = 1 << 21;  // smaller GEMMs run on the calling thread
constexpr int kColumnAlignment = 16;             // split N at multiples of a SIMD panel width

CBLAS_TRANSPOSE op(bool transpose) { return transpose ? CblasTrans : CblasNoTrans; }

// OpenBLAS runs every call on the calling thread from now on; its workers go idle.
void use_single_threaded_blas() {
  static std::once_flag once;
  std::call_once(once, [] { openblas_set_num_threads(1); });
}

void blas_gemm(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda, const float* B, int ldb,
               float beta, float* C, int ldc) {
  cblas_sgemm(CblasRowMajor, op(ta), op(tb), M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void blas_gemm(bool ta, bool tb, int M, int N, int K, double alpha, const double* A, int lda, const double* B,
               int ldb, double beta, double* C, int ldc) {
  cblas_dgemm(CblasRowMajor, op(ta), op(tb), M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

// Row-major element offsets of the block starting at row r / column c of a stored matrix.
int64_t at(int64_t r, int64_t c, int ld) { return r * ld + c; }

template <typename T>
void pool_gemm(bool ta, bool tb, int M, int N, int K, T alpha, const T* A, int lda, const T* B, int ldb, T beta,
               T* C, int ldc) {
  use_single_threaded_blas();
  const int64_t flops = 2 * static_cast<int64_t>(M) * N * K;
  const int64_t most = std::max<int64_t>(1, std::min<int64_t>(cpu_threads(), flops / kMinFlopsPerThread));
  if (N >= M) {  // blocks of columns: op(B)[:, j0:j1] and C[:, j0:j1]
    const int64_t panels = (N + kColumnAlignment - 1) / kColumnAlignment;
    parallel_for(panels, std::max<int64_t>(1, panels / most), [&](int64_t p0, int64_t p1) {
      const int j0 = static_cast<int>(p0 * kColumnAlignment), j1 = std::min<int>(N, static_cast<int>(p1 * kColumnAlignment));
      const T* Bj = B + (tb ? at(j0, 0, ldb) : at(0, j0, ldb));
      blas_gemm(ta, tb, M, j1 - j0, K, alpha, A, lda, Bj, ldb, beta, C + j0, ldc);
    });
  } else {  // blocks of rows: op(A)[i0:i1, :] and C[i0:i1, :]
    parallel_for(M, std::max<int64_t>(1, M / most), [&](int64_t i0, int64_t i1) {
      const T* Ai = A + (ta ? at(0, i0, lda) : at(i0, 0, lda));
      blas_gemm(ta, tb, static_cast<int>(i1 - i0), N, K, alpha, Ai, lda, B, ldb, beta, C + at(i0, 0, ldc), ldc);
    });
  }
}

}  // namespace

template <>
void gemm<float>(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda, const float* B,
                 int ldb, float beta, float* C, int ldc) {
  pool_gemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

template <>
void gemm<double>(bool ta, bool tb, int M, int N, int K, double alpha, const double* A, int lda,
                  const double* B, int ldb, double beta, double* C, int ldc) {
  pool_gemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

}  // namespace ser::cpu
