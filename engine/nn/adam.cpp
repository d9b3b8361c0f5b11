// Adam (see adam.h): argument checks, then the engine/cpu update or, for device arenas,
// the Adam(W) kernel on the shared CUDA context's stream (engine/nn/cuda_backend.h), which
// rounds like the CPU update: the same weights bit for bit from the same gradients.
#include "engine/nn/adam.h"

#include "engine/core/error.h"
#include "engine/cpu/adam.h"
#include "engine/nn/cuda_backend.h"

namespace ser::nn {

Adam::Adam(AdamConfig cfg, int64_t parameter_count, Device device)
    : cfg_(cfg), count_(parameter_count), device_(device) {
  SER_CHECK(parameter_count > 0, "Adam: parameter count {} must be positive", parameter_count);
  SER_CHECK(cfg.lr > 0 && cfg.beta1 >= 0 && cfg.beta1 < 1 && cfg.beta2 >= 0 && cfg.beta2 < 1 && cfg.epsilon > 0,
            "Adam: invalid config lr={} beta1={} beta2={} epsilon={}", cfg.lr, cfg.beta1, cfg.beta2, cfg.epsilon);
  SER_CHECK(cfg.weight_decay >= 0 && cfg.weight_decay < 1, "Adam: weight decay {} must lie in [0, 1)", cfg.weight_decay);
  cfg_.schedule.max_lr = cfg.lr;
  m_ = Tensor(Shape{count_}, device);
  v_ = Tensor(Shape{count_}, device);
}

void Adam::step(Tensor& params, const Tensor& grads) {
  SER_CHECK(params.numel() == count_ && grads.numel() == count_,
            "Adam::step: params ({}) and grads ({}) must both hold {} values", params.numel(), grads.numel(), count_);
  SER_CHECK(params.device() == device_ && grads.device() == device_,
            "Adam::step: params on {}, grads on {}, optimizer on {}", device_name(params.device()),
            device_name(grads.device()), device_name(device_));
  ++t_;
  if (device_ == Device::CUDA) {
    // Same stream as the Model's kernels; the moments may have just been written by plain
    // (legacy-stream) copies, e.g. a checkpoint load. Returns with the stream idle, so the
    // parameters can be read back with plain copies.
    cuda::CudaContext& ctx = cuda::default_context();
    cuda::wait_for_legacy_stream(ctx);
    // lr_t = schedule.lr_at(t - 1) (max_lr = cfg_.lr) and AdamW's decay, as the CPU branch.
    cuda::adam_step(ctx, params.data(), grads.data(), m_.data(), v_.data(), count_, cfg_.lr, cfg_.beta1, cfg_.beta2,
                    cfg_.epsilon, cfg_.weight_decay, cfg_.schedule, t_);
    cuda::synchronize(ctx);
    return;
  }
  cpu::adam_step(params.data(), m_.data(), v_.data(), grads.data(), count_, lr_of_step(t_), cfg_.beta1, cfg_.beta2,
                 cfg_.epsilon, t_, cfg_.weight_decay);
}

void Adam::set_schedule(LrSchedule schedule) {
  schedule.max_lr = cfg_.lr;
  cfg_.schedule = schedule;
}

void Adam::set_steps(int64_t t) {
  SER_CHECK(t >= 0, "Adam::set_steps: step count {} must be >= 0", t);
  t_ = t;
}

}  // namespace ser::nn
