// The Adam update of Keras 3 over the whole parameter arena in one launch, with the
// optional decoupled weight decay of AdamW and a learning-rate schedule (engine/cpu/adam.h,
// engine/nn/lr_schedule.h):
//   lr_t    = schedule.lr_at(t - 1)    (schedule.max_lr := learning_rate; constant: lr)
//   alpha_t = lr_t * sqrt(1 - beta2^t) / (1 - beta1^t)
//   decay_t = float(lr_t * weight_decay);  w -= w * decay_t      (only when weight_decay != 0)
//   m += (g - m) * (1 - beta1);  v += (g*g - v) * (1 - beta2);  w -= m * alpha_t / (sqrt(v) + eps)
// lr_t, alpha_t and decay_t are computed in double and rounded to float once, as the CPU
// optimizer does; the element update rounds every float operation like the plain C++
// formula (no FMA), so the host-step variant is bit-identical to cpu::adam_step.
// params, grads, m, v: (n) floats each, device pointers, the four arenas of the model.
// Work is queued on `stream` without synchronising.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "engine/nn/lr_schedule.h"

namespace ser::kernels {

struct AdamHyper {
  double learning_rate = 1e-3;  // the constant rate, or the schedule's peak (its max_lr is replaced by this)
  double beta1 = 0.9;
  double beta2 = 0.999;
  double epsilon = 1e-7;
  double weight_decay = 0.0;    // AdamW's decoupled decay, in [0, 1); 0 = plain Adam (bits unchanged)
  nn::LrSchedule schedule;      // the shape of lr over the steps (default: constant)

  // lr_t of step t (t >= 1): schedule.lr_at(t - 1) with max_lr = learning_rate. The same
  // inline function runs on the device for the device-counter variant.
  SER_HOST_DEVICE double rate_of_step(int64_t t) const {
    nn::LrSchedule s = schedule;
    s.max_lr = learning_rate;
    return s.lr_at(t - 1);
  }
};

// alpha_t of step t (t >= 1), computed in double on the host and rounded to float once,
// as the CPU optimizer and the device-step variant do (lr_t from the schedule).
float adam_alpha(const AdamHyper& hyper, int64_t step);
// float(lr_t * weight_decay) of step t: AdamW's multiplier (0 without decay).
float adamw_decay(const AdamHyper& hyper, int64_t step);

// Step t given by the host (t >= 1): lr_t, alpha_t and decay_t computed on the host. Uses
// the float4 path when all four pointers are 16-byte aligned (the n % 4 tail is done by
// scalar threads), else a scalar loop. Throws ser::Error for n < 0, t < 1 or
// hyper-parameters outside their ranges (weight decay in [0, 1), a schedule's factors > 0).
void adam_step(float* params, const float* grads, float* m, float* v, int64_t n, const AdamHyper& hyper,
               int64_t step, cudaStream_t stream);

// Same update with the step counter in device memory, for a CUDA graph that replays the
// training step without host writes. step: (1) int64 on the device holding the number of
// steps ALREADY taken (0 before the first). Two launches: a one-thread kernel increments
// *step, then the update kernel reads t = *step (Keras: t = iterations + 1) and computes
// lr_t = hyper.rate_of_step(t), alpha_t and decay_t in double once per block (the hyper-
// parameters and the schedule are kernel arguments by value: constant over a run, so a
// captured graph stays valid; only t changes, and it is read from memory). Incrementing
// inside the update kernel (block 0, after use) would race: other blocks may still be about
// to read the counter. adam.cu is compiled with --fmad=false so that the device evaluates
// lr_at's double expression with the host's roundings; cos and pow themselves are the
// device's (a last-bit difference in a double before the rounding to float is possible).
void adam_step_device_counter(float* params, const float* grads, float* m, float* v, int64_t n,
                              const AdamHyper& hyper, int64_t* step, cudaStream_t stream);

}  // namespace ser::kernels
