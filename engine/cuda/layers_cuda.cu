// The float32 CUDA implementations of the layers other than Conv2d (layers_conv.cu):
//   BatchNorm2d  own kernels, Keras semantics (kernels/channel_ops.h: biased moving var)
//   ReLU         own kernels (kernels/activation.h)
//   MaxPool2d    own kernels, first maximum in row-major order (kernels/maxpool.h)
//   Flatten      a device-to-device copy (NCHW is already C,H,W order)
//   GlobalAvgPool2d  own kernels (kernels/global_avg_pool.h), double sums as the CPU
//   Dense        cuBLAS SGEMM (strict FP32 / TF32 per CudaContext::set_math_mode) + bias kernels
//   Dropout      the Philox kernels (kernels/dropout.h: the CPU's masks), or an injected mask
// All work is queued on the layer's CudaContext stream; nothing synchronises.
// Scratch (reduction partials) comes from the context's shared workspace: every use is
// ordered on the one stream, so uses never overlap in time.
#include "engine/cuda/check.h"
#include "engine/cuda/context.h"
#include "engine/nn/layers.h"
#include "kernels/activation.h"
#include "kernels/channel_ops.h"
#include "kernels/device_array.h"
#include "kernels/dropout.h"
#include "kernels/global_avg_pool.h"
#include "kernels/maxpool.h"

namespace ser::cuda {

struct BatchNormState {
  kernels::DeviceArray<float> batch_mean, batch_var;  // (C) each, of the last Train forward
};

struct MaxPoolState {
  kernels::DeviceArray<int32_t> argmax;  // (N, C, H/2, W/2)
};

struct DropoutState {
  kernels::DeviceArray<uint8_t> keep;  // (n) 1 = kept, from the Philox kernel
  kernels::DeviceArray<float> mask;    // (n) injected multipliers (0 or 1/(1-p))
  bool use_injected = false;           // which of the two the last Train forward used
  bool identity = true;                // the last forward was Eval or rate 0
};

}  // namespace ser::cuda

namespace ser::nn {

namespace {
// Makes `a` hold at least n elements: grown (zero-filled), never shrunk, so a smaller batch
// (the last partial one) reuses the buffer and a captured CUDA graph's pointers stay valid.
// DeviceArray zeroes with cudaMemset on the legacy stream, which the context's non-blocking
// stream does not wait for: synchronise once here. A growth is recorded in the context's
// memory generation (graphs captured before it are stale); it never happens inside a
// capture, because every shape runs eagerly once before it is captured.
template <typename T>
void ensure_capacity(kernels::DeviceArray<T>& a, int64_t n, cuda::CudaContext& ctx) {
  if (a.size() >= n) return;
  ctx.check_not_capturing("a layer buffer grows");
  a = kernels::DeviceArray<T>(n);
  CUDA_CHECK(cudaDeviceSynchronize());
  ctx.note_reallocation();
}

double* scratch_doubles(cuda::CudaContext& ctx, int64_t count) {
  return static_cast<double*>(ctx.workspace(sizeof(double) * static_cast<std::size_t>(count)));
}
}  // namespace

// ---- BatchNorm2d --------------------------------------------------------------------
template <>
void BatchNorm2d<float>::forward_cuda(const float* x, float* y, Mode mode) {
  cuda::CudaContext& ctx = this->cuda_context();
  const Shape& s = this->input_shape();
  const int64_t n = s[0], hw = s[2] * s[3];
  if (!cuda_state_) cuda_state_ = std::make_shared<cuda::BatchNormState>();
  ensure_capacity(cuda_state_->batch_mean, channels_, ctx);
  ensure_capacity(cuda_state_->batch_var, channels_, ctx);
  SER_CHECK(this->state_ != nullptr, "layer {} (BatchNorm2d): moving statistics not bound", this->name());
  double* workspace = scratch_doubles(ctx, kernels::channel_ops_workspace_doubles(n, channels_));
  const float* gamma = this->params_;
  const float* beta = this->params_ + channels_;
  float* moving_mean = this->state_;
  float* moving_var = this->state_ + channels_;
  if (mode == Mode::Train)
    kernels::batchnorm_forward_train(y, cuda_state_->batch_mean.data(), cuda_state_->batch_var.data(), moving_mean,
                                     moving_var, x, gamma, beta, n, channels_, hw, epsilon_, momentum_, workspace,
                                     ctx.stream());
  else
    kernels::batchnorm_forward_eval(y, x, gamma, beta, moving_mean, moving_var, n, channels_, hw, epsilon_, workspace,
                                    ctx.stream());
}

template <>
void BatchNorm2d<float>::backward_cuda(const float* dy, float* dx) {
  cuda::CudaContext& ctx = this->cuda_context();
  const Shape& s = this->input_shape();
  const int64_t n = s[0], hw = s[2] * s[3];
  double* workspace = scratch_doubles(ctx, kernels::channel_ops_workspace_doubles(n, channels_));
  const bool train = this->saved_mode() == Mode::Train;
  const float* mean = train ? cuda_state_->batch_mean.data() : this->state_;
  const float* var = train ? cuda_state_->batch_var.data() : this->state_ + channels_;
  kernels::batchnorm_backward(dx, this->grads_, this->grads_ + channels_, dy, this->saved_input(), this->params_,
                              mean, var, n, channels_, hw, epsilon_, train, workspace, ctx.stream());
}

// ---- ReLU ---------------------------------------------------------------------------
template <>
void ReLU<float>::forward_cuda(const float* x, float* y, Mode) {
  kernels::relu_forward(y, x, this->input_shape().numel(), this->cuda_context().stream());
}

template <>
void ReLU<float>::backward_cuda(const float* dy, float* dx) {
  if (dx != nullptr)
    kernels::relu_backward(dx, dy, this->saved_input(), this->input_shape().numel(), this->cuda_context().stream());
}

// ---- MaxPool2d ----------------------------------------------------------------------
template <>
void MaxPool2d<float>::forward_cuda(const float* x, float* y, Mode) {
  const Shape& s = this->input_shape();
  const int64_t outputs = output_shape(s).numel();
  if (!cuda_state_) cuda_state_ = std::make_shared<cuda::MaxPoolState>();
  ensure_capacity(cuda_state_->argmax, outputs, this->cuda_context());
  kernels::maxpool2x2_forward(y, cuda_state_->argmax.data(), x, s[0] * s[1], int(s[2]), int(s[3]),
                              this->cuda_context().stream());
}

template <>
void MaxPool2d<float>::backward_cuda(const float* dy, float* dx) {
  const Shape& s = this->input_shape();
  if (dx != nullptr)
    kernels::maxpool2x2_backward(dx, dy, cuda_state_->argmax.data(), s[0] * s[1], int(s[2]), int(s[3]),
                                 this->cuda_context().stream());
}

// ---- Flatten ------------------------------------------------------------------------
template <>
void Flatten<float>::forward_cuda(const float* x, float* y, Mode) {
  CUDA_CHECK(cudaMemcpyAsync(y, x, sizeof(float) * this->input_shape().numel(), cudaMemcpyDeviceToDevice,
                             this->cuda_context().stream()));
}

template <>
void Flatten<float>::backward_cuda(const float* dy, float* dx) {
  if (dx != nullptr)
    CUDA_CHECK(cudaMemcpyAsync(dx, dy, sizeof(float) * this->input_shape().numel(), cudaMemcpyDeviceToDevice,
                               this->cuda_context().stream()));
}

// ---- GlobalAvgPool2d ----------------------------------------------------------------
template <>
void GlobalAvgPool2d<float>::forward_cuda(const float* x, float* y, Mode) {
  const Shape& s = this->input_shape();
  kernels::global_avg_pool_forward(y, x, s[0] * s[1], s[2] * s[3], this->cuda_context().stream());
}

template <>
void GlobalAvgPool2d<float>::backward_cuda(const float* dy, float* dx) {
  const Shape& s = this->input_shape();
  if (dx != nullptr) kernels::global_avg_pool_backward(dx, dy, s[0] * s[1], s[2] * s[3], this->cuda_context().stream());
}

// ---- Dense --------------------------------------------------------------------------
// Row-major x (N, in), W (out, in), y (N, out) are column-major x^T (in, N), W^T (in, out),
// y^T (out, N) to cuBLAS, so:  y^T = op_T(W^T) x^T  ->  gemm(T, N, out, N, in).
template <>
void Dense<float>::forward_cuda(const float* x, float* y, Mode) {
  cuda::CudaContext& ctx = this->cuda_context();
  const int n = static_cast<int>(this->input_shape()[0]);
  const float one = 1.0f, zero = 0.0f;
  const float* w = this->params_;
  CUBLAS_CHECK(cublasSgemm(ctx.cublas(), CUBLAS_OP_T, CUBLAS_OP_N, out_, n, in_, &one, w, in_, x, in_, &zero, y, out_));
  kernels::bias_add(y, w + static_cast<int64_t>(out_) * in_, n, out_, 1, ctx.stream());
}

template <>
void Dense<float>::backward_cuda(const float* dy, float* dx) {
  cuda::CudaContext& ctx = this->cuda_context();
  const int n = static_cast<int>(this->input_shape()[0]);
  const float one = 1.0f, zero = 0.0f;
  float* dw = this->grads_;
  float* db = this->grads_ + static_cast<int64_t>(out_) * in_;
  kernels::bias_backward(db, dy, n, out_, 1, scratch_doubles(ctx, kernels::channel_ops_workspace_doubles(n, out_)),
                         ctx.stream());
  // dW^T (in, out) += x^T (in, N) @ (dy^T (out, N))^T      (beta = 1: accumulate)
  CUBLAS_CHECK(cublasSgemm(ctx.cublas(), CUBLAS_OP_N, CUBLAS_OP_T, in_, out_, n, &one, this->saved_input(), in_, dy,
                           out_, &one, dw, in_));
  // dx^T (in, N) = W^T (in, out) @ dy^T (out, N)            (beta = 0: overwrite)
  if (dx != nullptr)
    CUBLAS_CHECK(cublasSgemm(ctx.cublas(), CUBLAS_OP_N, CUBLAS_OP_N, in_, n, out_, &one, this->params_, in_, dy, out_,
                             &zero, dx, in_));
}

// ---- Dropout ------------------------------------------------------------------------
template <>
void Dropout<float>::forward_cuda(const float* x, float* y, Mode mode) {
  cuda::CudaContext& ctx = this->cuda_context();
  const int64_t n = this->input_shape().numel();
  if (!cuda_state_) cuda_state_ = std::make_shared<cuda::DropoutState>();
  cuda::DropoutState& s = *cuda_state_;
  s.identity = mode != Mode::Train || (injected_.empty() && rate_ == 0.0);
  s.use_injected = mode == Mode::Train && !injected_.empty();
  if (s.identity) {
    CUDA_CHECK(cudaMemcpyAsync(y, x, sizeof(float) * n, cudaMemcpyDeviceToDevice, ctx.stream()));
  } else if (s.use_injected) {
    SER_CHECK(static_cast<int64_t>(injected_.size()) == n,
              "layer {} (Dropout): injected mask has {} values, the input {} has {}", this->name(), injected_.size(),
              this->input_shape().str(), n);
    ensure_capacity(s.mask, n, ctx);
    CUDA_CHECK(cudaMemcpyAsync(s.mask.data(), injected_.data(), sizeof(float) * n, cudaMemcpyHostToDevice,
                               ctx.stream()));
    kernels::multiply(y, x, s.mask.data(), n, ctx.stream());
  } else {
    SER_CHECK(generator_ != nullptr,
              "layer {} (Dropout): Train mode with rate {} needs a Generator (or an injected mask)", this->name(),
              rate_);
    ensure_capacity(s.keep, n, ctx);
    // Same (seed, stream) pair as the CPU layer draws: bit-identical keep decisions.
    if (device_stream_base_ != nullptr)
      kernels::dropout_forward_device_stream(x, y, s.keep.data(), n, rate_, generator_->seed(),
                                             device_stream_base_, device_stream_slot_, ctx.stream());
    else
      kernels::dropout_forward(x, y, s.keep.data(), n, rate_, generator_->seed(),
                               generator_->next_stream(), ctx.stream());
  }
}

template <>
void Dropout<float>::backward_cuda(const float* dy, float* dx) {
  if (dx == nullptr) return;
  cuda::CudaContext& ctx = this->cuda_context();
  const cuda::DropoutState& s = *cuda_state_;
  const int64_t n = this->input_shape().numel();
  if (s.identity)
    CUDA_CHECK(cudaMemcpyAsync(dx, dy, sizeof(float) * n, cudaMemcpyDeviceToDevice, ctx.stream()));
  else if (s.use_injected)
    kernels::multiply(dx, dy, s.mask.data(), n, ctx.stream());
  else
    kernels::dropout_backward(dy, s.keep.data(), dx, n, rate_, ctx.stream());
}

}  // namespace ser::nn
