// Fully connected layer on the host: y = x @ W^T + b.
// Layouts: x (N, in), W (out, in) (PyTorch layout; Keras stores [in, out]), b (out), y (N, out).
// Gradient semantics: dW, db ACCUMULATE (+=); dx is OVERWRITTEN (=).
#pragma once

#include "engine/cpu/gemm.h"

namespace ser::cpu {

template <typename T>
void dense_forward(T* y, const T* x, const T* w, const T* b, int N, int in, int out) {
  for (int n = 0; n < N; ++n)
    for (int o = 0; o < out; ++o) y[n * out + o] = b[o];
  gemm<T>(false, true, N, out, in, T(1), x, in, w, in, T(1), y, out);  // y (N,out) += x (N,in) @ W^T (in,out)
}

// dx may be null (no input gradient wanted).
template <typename T>
void dense_backward(T* dx, T* dw, T* db, const T* dy, const T* x, const T* w, int N, int in, int out) {
  for (int o = 0; o < out; ++o) {
    double sum = 0.0;
    for (int n = 0; n < N; ++n) sum += dy[n * out + o];
    db[o] += static_cast<T>(sum);
  }
  gemm<T>(true, false, out, in, N, T(1), dy, out, x, in, T(1), dw, in);          // dW (out,in) += dy^T @ x
  if (dx != nullptr) gemm<T>(false, false, N, in, out, T(1), dy, out, w, in, T(0), dx, in);  // dx = dy @ W
}

}  // namespace ser::cpu
