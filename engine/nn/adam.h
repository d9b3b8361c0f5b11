// Adam exactly as Keras 3 (t counts from 1, epsilon added to sqrt(v), bias correction
// folded into the step size):
//   alpha_t = lr*sqrt(1 - beta2^t)/(1 - beta1^t)
//   m += (g - m)*(1 - beta1);  v += (g*g - v)*(1 - beta2);  w -= alpha_t*m/(sqrt(v) + epsilon)
// The moments m, v are two arenas (1-D Tensors) laid out like the parameter arena.
// weight_decay > 0 makes it AdamW (decoupled: w -= w*lr_t*weight_decay before the step),
// and `schedule` sets the rate of each step: lr_t = schedule.lr_at(t - 1) (lr_schedule.h).
// The defaults (no decay, constant lr) are Keras' Adam bit for bit.
#pragma once

#include <cstdint>

#include "engine/core/tensor.h"
#include "engine/nn/lr_schedule.h"

namespace ser::nn {

struct AdamConfig {
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-7;
  double weight_decay = 0.0;
  LrSchedule schedule;  // its max_lr is taken from lr by the constructor
};

class Adam {
 public:
  Adam(AdamConfig cfg, int64_t parameter_count, Device device = Device::CPU);
  // t += 1, then the update of every element of params (parameter_count()) from grads.
  void step(Tensor& params, const Tensor& grads);
  const AdamConfig& config() const { return cfg_; }
  int64_t steps() const { return t_; }
  // The learning rate of step t (1-based): schedule.lr_at(t - 1).
  double lr_of_step(int64_t t) const { return cfg_.schedule.lr_at(t - 1); }
  Tensor& m() { return m_; }  // (parameter_count())
  Tensor& v() { return v_; }  // (parameter_count())
  void set_steps(int64_t t);  // for checkpoints
  // Replaces the learning-rate schedule (its max_lr stays config().lr): a run lays out its
  // schedule once it knows its steps per epoch.
  void set_schedule(LrSchedule schedule);

 private:
  AdamConfig cfg_;
  int64_t count_;
  Device device_;
  Tensor m_, v_;
  int64_t t_ = 0;
};

}  // namespace ser::nn
