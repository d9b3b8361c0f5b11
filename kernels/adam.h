// The Adam update of Keras 3 over the whole parameter arena in one launch:
//   alpha_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t)
//   m += (g - m) * (1 - beta1);  v += (g*g - v) * (1 - beta2);  w -= m * alpha_t / (sqrt(v) + eps)
// params, grads, m, v: (n) floats each, device pointers, the four arenas of the model.
// Work is queued on `stream` without synchronising.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace ser::kernels {

struct AdamHyper {
  double learning_rate = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double epsilon = 1e-7;
};

// alpha_t of step t (t >= 1), computed in double on the host and rounded to float once,
// as the CPU optimizer and the device-step variant do.
float adam_alpha(const AdamHyper& hyper, int64_t step);

// Step t given by the host (t >= 1). Uses the float4 path when all four pointers are
// 16-byte aligned (the n % 4 tail is done by scalar threads), else a scalar loop.
// Throws ser::Error for n < 0, t < 1 or hyper-parameters outside their ranges.
void adam_step(float* params, const float* grads, float* m, float* v, int64_t n, const AdamHyper& hyper,
               int64_t step, cudaStream_t stream);

// Same update with the step counter in device memory, for a CUDA graph that replays the
// training step without host writes. step: (1) int64 on the device holding the number of
// steps ALREADY taken (0 before the first). Two launches: a one-thread kernel increments
// *step, then the update kernel reads t = *step (Keras: t = iterations + 1) and computes
// alpha_t in double once per block. Incrementing inside the update kernel (block 0, after
// use) would race: other blocks may still be about to read the counter.
void adam_step_device_counter(float* params, const float* grads, float* m, float* v, int64_t n,
                              const AdamHyper& hyper, int64_t* step, cudaStream_t stream);

}  // namespace ser::kernels
