// BatchNorm2d on the host with Keras semantics, per channel c over M = N*H*W values:
//   train: mu = mean(x), var = mean((x - mu)^2) (BIASED), xhat = (x - mu)/sqrt(var + eps),
//          y = gamma*xhat + beta; moving_mean = m*moving_mean + (1-m)*mu, same for var
//          with the same biased var (Keras momentum m = 0.99, eps = 1e-3).
//   eval:  y = gamma*(x - moving_mean)/sqrt(moving_var + eps) + beta.
// Layouts: x, y, dx, dy (N, C, H, W) NCHW, HW = H*W; gamma, beta, mean, var (C).
// Reductions are two-pass and accumulated in double: E[x^2]-E[x]^2 in float loses accuracy.
// Gradient semantics: dgamma, dbeta ACCUMULATE (+=); dx is OVERWRITTEN (=).
#pragma once

#include <cmath>
#include <algorithm>
#include <cstdint>

#include "engine/cpu/parallel.h"

namespace ser::cpu {

namespace detail {
constexpr int kLanes = 8;  // independent double accumulators: vectorisable, and a shorter error chain

// Channels per thread so that each thread gets at least ~32k values.
inline int64_t channels_per_thread(int N, int64_t HW) {
  return std::max<int64_t>(1, 32768 / std::max<int64_t>(1, static_cast<int64_t>(N) * HW));
}

// sum_i x[i], in double.
template <typename T>
double sum(const T* x, int64_t n) {
  double acc[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) acc[j] += static_cast<double>(x[i + j]);
  double total = 0.0;
  for (; i < n; ++i) total += x[i];
  for (double a : acc) total += a;
  return total;
}

// sum_i (x[i] - mu)^2, in double.
template <typename T>
double sum_squared_deviation(const T* x, int64_t n, double mu) {
  double acc[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) {
      const double d = static_cast<double>(x[i + j]) - mu;
      acc[j] += d * d;
    }
  double total = 0.0;
  for (; i < n; ++i) total += (x[i] - mu) * (x[i] - mu);
  for (double a : acc) total += a;
  return total;
}

// sum_i dy[i] and sum_i dy[i]*(x[i] - mu), in double.
template <typename T>
void sum_dy_and_dy_centered(const T* dy, const T* x, int64_t n, double mu, double& sum_dy, double& sum_dy_xc) {
  double a[kLanes] = {}, b[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) {
      const double g = dy[i + j];
      a[j] += g;
      b[j] += g * (static_cast<double>(x[i + j]) - mu);
    }
  for (; i < n; ++i) sum_dy += dy[i], sum_dy_xc += dy[i] * (x[i] - mu);
  for (int j = 0; j < kLanes; ++j) sum_dy += a[j], sum_dy_xc += b[j];
}
}  // namespace detail

// Writes the batch statistics mean (C) and biased var (C), then y.
template <typename T>
void batchnorm_forward_train(T* y, T* mean, T* var, const T* x, const T* gamma, const T* beta, int N, int C,
                             int64_t HW, double eps) {
  const double M = static_cast<double>(N) * HW;
  parallel_for(C, detail::channels_per_thread(N, HW), [&](int64_t c0, int64_t c1) {
  for (int c = static_cast<int>(c0); c < c1; ++c) {
    double sum = 0.0;
    for (int n = 0; n < N; ++n) sum += detail::sum(x + (static_cast<int64_t>(n) * C + c) * HW, HW);
    const double mu = sum / M;
    double sq = 0.0;
    for (int n = 0; n < N; ++n)
      sq += detail::sum_squared_deviation(x + (static_cast<int64_t>(n) * C + c) * HW, HW, mu);
    const double v = sq / M;
    mean[c] = static_cast<T>(mu);
    var[c] = static_cast<T>(v);
    const double scale = gamma[c] / std::sqrt(v + eps), shift = beta[c] - mu * scale;
    for (int n = 0; n < N; ++n) {
      const T* xc = x + (static_cast<int64_t>(n) * C + c) * HW;
      T* yc = y + (static_cast<int64_t>(n) * C + c) * HW;
      for (int64_t i = 0; i < HW; ++i) yc[i] = static_cast<T>(xc[i] * scale + shift);
    }
  }
  });
}

// moving = momentum*moving + (1 - momentum)*batch, per channel (C).
template <typename T>
void batchnorm_update_moving(T* moving_mean, T* moving_var, const T* mean, const T* var, int C, double momentum) {
  for (int c = 0; c < C; ++c) {
    moving_mean[c] = static_cast<T>(momentum * moving_mean[c] + (1.0 - momentum) * mean[c]);
    moving_var[c] = static_cast<T>(momentum * moving_var[c] + (1.0 - momentum) * var[c]);
  }
}

// Normalises with given statistics (eval mode: the moving ones).
template <typename T>
void batchnorm_forward_eval(T* y, const T* x, const T* gamma, const T* beta, const T* mean, const T* var, int N,
                            int C, int64_t HW, double eps) {
  for (int n = 0; n < N; ++n)
    for (int c = 0; c < C; ++c) {
      const double scale = gamma[c] / std::sqrt(static_cast<double>(var[c]) + eps);
      const double shift = beta[c] - mean[c] * scale;
      const T* xc = x + (static_cast<int64_t>(n) * C + c) * HW;
      T* yc = y + (static_cast<int64_t>(n) * C + c) * HW;
      for (int64_t i = 0; i < HW; ++i) yc[i] = static_cast<T>(xc[i] * scale + shift);
    }
}

// Train-mode backward through the batch statistics (mean, var as written by the forward):
//   dbeta = sum dy, dgamma = sum dy*xhat, dx = gamma/sqrt(var+eps) * (dy - dbeta/M - xhat*dgamma/M).
template <typename T>
void batchnorm_backward_train(T* dx, T* dgamma, T* dbeta, const T* dy, const T* x, const T* gamma, const T* mean,
                              const T* var, int N, int C, int64_t HW, double eps) {
  const double M = static_cast<double>(N) * HW;
  parallel_for(C, detail::channels_per_thread(N, HW), [&](int64_t c0, int64_t c1) {
  for (int c = static_cast<int>(c0); c < c1; ++c) {
    const double mu = mean[c], inv_std = 1.0 / std::sqrt(static_cast<double>(var[c]) + eps);
    double sum_dy = 0.0, sum_dy_xc = 0.0;
    for (int n = 0; n < N; ++n) {
      const int64_t off = (static_cast<int64_t>(n) * C + c) * HW;
      detail::sum_dy_and_dy_centered(dy + off, x + off, HW, mu, sum_dy, sum_dy_xc);
    }
    const double sum_dy_xhat = sum_dy_xc * inv_std;
    dbeta[c] += static_cast<T>(sum_dy);
    dgamma[c] += static_cast<T>(sum_dy_xhat);
    const double k = gamma[c] * inv_std, mean_dy = sum_dy / M, mean_dy_xhat = sum_dy_xhat / M;
    for (int n = 0; n < N; ++n) {
      const int64_t off = (static_cast<int64_t>(n) * C + c) * HW;
      // dx = a*dy + b*x + c0 with per-channel constants (one multiply-add pair per element).
      const double a = k, b = -k * inv_std * mean_dy_xhat, c0 = -k * mean_dy + k * inv_std * mean_dy_xhat * mu;
      for (int64_t i = 0; i < HW; ++i)
        dx[off + i] = static_cast<T>(a * dy[off + i] + b * x[off + i] + c0);
    }
  }
  });
}

// Eval-mode backward (statistics are constants): dx = gamma/sqrt(var+eps) * dy.
template <typename T>
void batchnorm_backward_eval(T* dx, T* dgamma, T* dbeta, const T* dy, const T* x, const T* gamma, const T* mean,
                             const T* var, int N, int C, int64_t HW, double eps) {
  for (int c = 0; c < C; ++c) {
    const double mu = mean[c], inv_std = 1.0 / std::sqrt(static_cast<double>(var[c]) + eps);
    double sum_dy = 0.0, sum_dy_xhat = 0.0;
    for (int n = 0; n < N; ++n) {
      const int64_t off = (static_cast<int64_t>(n) * C + c) * HW;
      for (int64_t i = 0; i < HW; ++i) {
        sum_dy += dy[off + i];
        sum_dy_xhat += dy[off + i] * ((x[off + i] - mu) * inv_std);
        dx[off + i] = static_cast<T>(gamma[c] * inv_std * dy[off + i]);
      }
    }
    dbeta[c] += static_cast<T>(sum_dy);
    dgamma[c] += static_cast<T>(sum_dy_xhat);
  }
}

}  // namespace ser::cpu
