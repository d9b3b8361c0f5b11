// The seam between the host-only engine (engine/nn, compiled in every build) and the CUDA
// backend (engine/cuda, compiled only with CUDA). Plain C++ declarations, no CUDA headers:
// the CUDA build defines them in engine/cuda/backend.cu, the CPU-only build in
// engine/nn/cuda_backend_cpu_only.cpp, where every entry throws a clear "built without
// CUDA" error (never a silent fallback).
//
// Stream discipline: all layer work is queued on the context's stream, which is
// NON-BLOCKING (it does not order itself after the legacy default stream that plain
// cudaMemcpy / cudaMemset use). Tensor copies and allocations go through the legacy stream,
// so the Model calls wait_for_legacy_stream() before it queues work that reads them, and
// synchronize() before it hands device results to code that reads them with cudaMemcpy.
#pragma once

#include <cstddef>
#include <cstdint>

#include "engine/nn/lr_schedule.h"

namespace ser::cuda {

class CudaContext;

// The process-wide context of device 0 (created on first use; throws without a device).
// Model and Adam on Device::CUDA share it, so all their work is ordered on one stream.
CudaContext& default_context();

// Makes the context's stream wait for everything queued so far on the legacy default
// stream (event record + stream wait; the host does not block).
void wait_for_legacy_stream(CudaContext& ctx);
// Blocks the host until the context's stream is idle.
void synchronize(CudaContext& ctx);

// Asynchronous on the context's stream.
void copy_device_to_device(CudaContext& ctx, void* dst, const void* src, std::size_t bytes);
void copy_host_to_device(CudaContext& ctx, void* dst, const void* src, std::size_t bytes);
void fill_zero(CudaContext& ctx, void* dst, std::size_t bytes);

// Softmax cross-entropy of logits (N, K) (device) against labels (N) (device int32):
// writes dlogits (N, K) (device) and returns the mean loss (synchronises: it reads it back).
// loss_sum: (1) float, correct: (1) int32, device scratch.
double softmax_cross_entropy(CudaContext& ctx, const float* logits, const int32_t* labels, int64_t n, int k,
                             float* dlogits, float* loss_sum, int32_t* correct);

// The same loss with nothing read back (CUDA-graph training step): dlogits (N, K) written,
// the batch's loss sum ADDED to *loss_sum (float) and its correct count to *correct (int).
void softmax_cross_entropy_accumulate(CudaContext& ctx, const float* logits, const int32_t* labels, int64_t n, int k,
                                      float* dlogits, float* loss_sum, int* correct);

// Soft targets (label smoothing, mixup; kernels::softmax_cross_entropy_soft_forward_backward):
// labels_a (N) int32, labels_b (N) int32 or null, lambda (N) float or null, all on the device.
// Writes dlogits (N, K) and returns the mean loss (synchronises: it reads it back).
// loss_sum: (1) float, correct: (1) int32, device scratch.
double softmax_cross_entropy_soft(CudaContext& ctx, const float* logits, const int32_t* labels_a,
                                  const int32_t* labels_b, const float* lambda, double smoothing, int64_t n, int k,
                                  float* dlogits, float* loss_sum, int32_t* correct);

// The same with nothing read back (CUDA-graph training step): the batch's loss sum ADDED to
// *loss_sum (float), its count of rows whose first arg-max is labels_a ADDED to *correct.
void softmax_cross_entropy_soft_accumulate(CudaContext& ctx, const float* logits, const int32_t* labels_a,
                                           const int32_t* labels_b, const float* lambda, double smoothing, int64_t n,
                                           int k, float* dlogits, float* loss_sum, int* correct);

// Strict FP32 (false) or TF32 tensor-core math (true) for the context's cuBLAS and cuDNN calls.
void set_allow_tf32(CudaContext& ctx, bool allow);

// Memory generation bookkeeping for CUDA graphs (CudaContext::note_reallocation,
// CudaContext::check_not_capturing), for host-only callers.
void note_reallocation(CudaContext& ctx);
void check_not_capturing(CudaContext& ctx, const char* what);

// One Keras Adam step t (t >= 1) over n values of device arenas, queued on the stream:
// rate schedule.lr_at(t - 1) with the schedule's max_lr = lr, and AdamW's decoupled decay
// first when weight_decay != 0 (engine/cpu/adam.h's rounding: bit-identical to the CPU).
void adam_step(CudaContext& ctx, float* params, const float* grads, float* m, float* v, int64_t n, double lr,
               double beta1, double beta2, double epsilon, double weight_decay, const nn::LrSchedule& schedule,
               int64_t t);

}  // namespace ser::cuda
