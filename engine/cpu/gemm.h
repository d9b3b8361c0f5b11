// Row-major GEMM on the host, C = alpha * op(A) @ op(B) + beta * C, for T = float
// (OpenBLAS cblas_sgemm) and T = double (cblas_dgemm). Every convolution and dense
// layer on the CPU goes through this one function, so the float engine path and the
// double-precision gradient checks run the same code.
//   op(A): (M, K), op(B): (K, N), C: (M, N); lda/ldb/ldc are row strides of the
//   matrices as stored (before the transpose).
#pragma once

namespace ser::cpu {

template <typename T>
void gemm(bool transpose_a, bool transpose_b, int M, int N, int K, T alpha, const T* A, int lda,
          const T* B, int ldb, T beta, T* C, int ldc);

}  // namespace ser::cpu
