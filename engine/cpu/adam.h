// One Adam step on the host, exactly as Keras 3 (t counts from 1):
//   alpha = lr*sqrt(1 - beta2^t)/(1 - beta1^t)
//   m += (g - m)*(1 - beta1);  v += (g*g - v)*(1 - beta2);  w -= alpha*m/(sqrt(v) + epsilon)
// AdamW (weight_decay > 0; Keras 3 AdamW, and PyTorch's AdamW with its epsilon taken as
// epsilon/sqrt(1 - beta2^t)): first w -= w*(lr*weight_decay), decoupled from the gradient,
// then the Adam step. With weight_decay == 0 nothing is multiplied (Adam's bits unchanged).
// w, m, v, g: n contiguous values (the parameter / moment / gradient arenas).
#pragma once

#include <cmath>
#include <cstdint>

#include "engine/cpu/parallel.h"

namespace ser::cpu {

template <typename T>
void adam_step(T* w, T* m, T* v, const T* g, int64_t n, double lr, double beta1, double beta2, double epsilon,
               int64_t t, double weight_decay = 0.0) {
  const double alpha = lr * std::sqrt(1.0 - std::pow(beta2, static_cast<double>(t))) /
                       (1.0 - std::pow(beta1, static_cast<double>(t)));
  const T a = static_cast<T>(alpha), one_minus_b1 = static_cast<T>(1.0 - beta1),
          one_minus_b2 = static_cast<T>(1.0 - beta2), eps = static_cast<T>(epsilon);
  if (weight_decay != 0.0) {
    const T decay = static_cast<T>(lr * weight_decay);
    parallel_for(n, 65536, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) w[i] -= w[i] * decay;
    });
  }
  parallel_for(n, 65536, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      m[i] += (g[i] - m[i]) * one_minus_b1;
      v[i] += (g[i] * g[i] - v[i]) * one_minus_b2;
      w[i] -= a * m[i] / (std::sqrt(v[i]) + eps);
    }
  });
}

}  // namespace ser::cpu
