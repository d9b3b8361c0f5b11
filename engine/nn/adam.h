// Adam exactly as Keras 3 (t counts from 1, epsilon added to sqrt(v), bias correction
// folded into the step size):
//   alpha_t = lr*sqrt(1 - beta2^t)/(1 - beta1^t)
//   m += (g - m)*(1 - beta1);  v += (g*g - v)*(1 - beta2);  w -= alpha_t*m/(sqrt(v) + epsilon)
// The moments m, v are two arenas (1-D Tensors) laid out like the parameter arena.
#pragma once

#include <cstdint>

#include "engine/core/tensor.h"

namespace ser::nn {

struct AdamConfig {
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-7;
};

class Adam {
 public:
  Adam(AdamConfig cfg, int64_t parameter_count, Device device = Device::CPU);
  // t += 1, then the update of every element of params (parameter_count()) from grads.
  void step(Tensor& params, const Tensor& grads);
  const AdamConfig& config() const { return cfg_; }
  int64_t steps() const { return t_; }
  Tensor& m() { return m_; }  // (parameter_count())
  Tensor& v() { return v_; }  // (parameter_count())
  void set_steps(int64_t t);  // for checkpoints

 private:
  AdamConfig cfg_;
  int64_t count_;
  Device device_;
  Tensor m_, v_;
  int64_t t_ = 0;
};

}  // namespace ser::nn
