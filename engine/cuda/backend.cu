// The CUDA side of engine/nn/cuda_backend.h: the shared context, stream ordering helpers,
// the losses (hard and soft targets) and the optimizer step (Adam / AdamW with a learning-
// rate schedule) behind plain C++ signatures.
#include <mutex>

#include "engine/core/device.h"
#include "engine/cuda/check.h"
#include "engine/cuda/context.h"
#include "engine/nn/cuda_backend.h"
#include "kernels/adam.h"
#include "kernels/softmax_cross_entropy.h"

namespace ser::cuda {

// Deliberately never destroyed: a static destructor would run cudnnDestroy/cublasDestroy
// while the CUDA runtime may already be shutting down (its own exit handlers), which some
// driver versions answer with a crash at exit. The process's end releases the device.
CudaContext& default_context() {
  static std::once_flag once;
  static CudaContext* context = nullptr;
  std::call_once(once, [] {
    SER_CHECK(cuda_device_available(), "no usable CUDA device: {}", cuda_device_description());
    context = new CudaContext();
  });
  SER_CHECK(context != nullptr, "the CUDA context could not be created earlier in this process");
  return *context;
}

void wait_for_legacy_stream(CudaContext& ctx) {
  cudaEvent_t event = nullptr;
  CUDA_CHECK(cudaEventCreateWithFlags(&event, cudaEventDisableTiming));
  CUDA_CHECK(cudaEventRecord(event, cudaStreamLegacy));
  CUDA_CHECK(cudaStreamWaitEvent(ctx.stream(), event, 0));
  CUDA_CHECK(cudaEventDestroy(event));  // released once the wait completes
}

void synchronize(CudaContext& ctx) { ctx.synchronize(); }

void copy_device_to_device(CudaContext& ctx, void* dst, const void* src, std::size_t bytes) {
  CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, ctx.stream()));
}

void copy_host_to_device(CudaContext& ctx, void* dst, const void* src, std::size_t bytes) {
  CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, ctx.stream()));
}

void fill_zero(CudaContext& ctx, void* dst, std::size_t bytes) {
  CUDA_CHECK(cudaMemsetAsync(dst, 0, bytes, ctx.stream()));
}

double softmax_cross_entropy(CudaContext& ctx, const float* logits, const int32_t* labels, int64_t n, int k,
                             float* dlogits, float* loss_sum, int32_t* correct) {
  CUDA_CHECK(cudaMemsetAsync(loss_sum, 0, sizeof(float), ctx.stream()));
  CUDA_CHECK(cudaMemsetAsync(correct, 0, sizeof(int32_t), ctx.stream()));
  kernels::softmax_cross_entropy_forward_backward(logits, labels, n, k, dlogits, loss_sum,
                                                  reinterpret_cast<int*>(correct), ctx.stream());
  float total = 0.0f;
  CUDA_CHECK(cudaMemcpyAsync(&total, loss_sum, sizeof(float), cudaMemcpyDeviceToHost, ctx.stream()));
  ctx.synchronize();
  return static_cast<double>(total) / static_cast<double>(n);
}

void softmax_cross_entropy_accumulate(CudaContext& ctx, const float* logits, const int32_t* labels, int64_t n, int k,
                                      float* dlogits, float* loss_sum, int* correct) {
  kernels::softmax_cross_entropy_forward_backward(logits, labels, n, k, dlogits, loss_sum, correct, ctx.stream());
}

double softmax_cross_entropy_soft(CudaContext& ctx, const float* logits, const int32_t* labels_a,
                                  const int32_t* labels_b, const float* lambda, double smoothing, int64_t n, int k,
                                  float* dlogits, float* loss_sum, int32_t* correct) {
  CUDA_CHECK(cudaMemsetAsync(loss_sum, 0, sizeof(float), ctx.stream()));
  CUDA_CHECK(cudaMemsetAsync(correct, 0, sizeof(int32_t), ctx.stream()));
  kernels::softmax_cross_entropy_soft_forward_backward(logits, labels_a, labels_b, lambda, smoothing, n, k, dlogits,
                                                       loss_sum, reinterpret_cast<int*>(correct), ctx.stream());
  float total = 0.0f;
  CUDA_CHECK(cudaMemcpyAsync(&total, loss_sum, sizeof(float), cudaMemcpyDeviceToHost, ctx.stream()));
  ctx.synchronize();
  return static_cast<double>(total) / static_cast<double>(n);
}

void softmax_cross_entropy_soft_accumulate(CudaContext& ctx, const float* logits, const int32_t* labels_a,
                                           const int32_t* labels_b, const float* lambda, double smoothing, int64_t n,
                                           int k, float* dlogits, float* loss_sum, int* correct) {
  kernels::softmax_cross_entropy_soft_forward_backward(logits, labels_a, labels_b, lambda, smoothing, n, k, dlogits,
                                                       loss_sum, correct, ctx.stream());
}

void set_allow_tf32(CudaContext& ctx, bool allow) {
  ctx.set_math_mode(allow ? MathMode::AllowTf32 : MathMode::StrictFp32);
}

void note_reallocation(CudaContext& ctx) { ctx.note_reallocation(); }
void check_not_capturing(CudaContext& ctx, const char* what) { ctx.check_not_capturing(what); }

void adam_step(CudaContext& ctx, float* params, const float* grads, float* m, float* v, int64_t n, double lr,
               double beta1, double beta2, double epsilon, double weight_decay, const nn::LrSchedule& schedule,
               int64_t t) {
  kernels::AdamHyper hyper;
  hyper.learning_rate = lr;
  hyper.beta1 = beta1;
  hyper.beta2 = beta2;
  hyper.epsilon = epsilon;
  hyper.weight_decay = weight_decay;
  hyper.schedule = schedule;
  kernels::adam_step(params, grads, m, v, n, hyper, t, ctx.stream());
}

}  // namespace ser::cuda
