// The concrete layers of the CNN, each a thin Layer<T> over an engine/cpu op:
//   Conv2d      x (N, Cin, H, W) -> (N, Cout, Ho, Wo); weight (Cout, Cin, KH, KW) OIHW, bias (Cout)
//   BatchNorm2d x (N, C, H, W) -> same; gamma, beta (C) trainable; moving_mean, moving_var (C) state
//   ReLU        any shape -> same
//   MaxPool2d   x (N, C, H, W) -> (N, C, H/2, W/2): 2x2, stride 2, floor, first maximum wins
//   Flatten     x (N, C, H, W) -> (N, C*H*W) in C,H,W order
//   GlobalAvgPool2d  x (N, C, H, W) -> (N, C): the mean of each channel plane
//   Dense       x (N, in) -> (N, out); weight (out, in), bias (out)
//   Dropout     any shape -> same; inverted (kept values scaled by 1/(1-p)); identity in Eval
// Gradient semantics: see layer.h (params +=, inputs =).
// CUDA (float32 only): forward_cuda/backward_cuda are specialised for T = float in
// engine/cuda/layers_*.cu (cuDNN convolution, cuBLAS dense, own kernels for the rest; see
// docs/GPU_BACKEND.md); their per-layer device state (descriptors, chosen algorithms,
// argmax, masks, batch statistics) lives behind the cuda::*State pointers.
#pragma once

#include <memory>
#include <vector>

#include "engine/core/random.h"
#include "engine/cpu/conv2d.h"
#include "engine/nn/layer.h"

namespace ser::cuda {
struct ConvState;
struct BatchNormState;
struct MaxPoolState;
struct DropoutState;
}  // namespace ser::cuda

namespace ser::nn {

#define SER_LAYER_CUDA_OVERRIDES                                \
  void forward_cuda(const T* x, T* y, Mode mode) override;      \
  void backward_cuda(const T* dy, T* dx) override;

template <typename T>
class Conv2d final : public Layer<T> {
 public:
  Conv2d(std::string name, int in_channels, int out_channels, int kernel_h, int kernel_w, int stride = 1,
         int padding = 0);
  const char* kind() const override { return "Conv2d"; }
  Shape output_shape(const Shape& input) const override;
  std::vector<ParamSpec> parameter_specs() const override;

 private:
  void forward_cpu(const T* x, T* y, Mode mode) override;
  void backward_cpu(const T* dy, T* dx) override;
  SER_LAYER_CUDA_OVERRIDES
  cpu::Conv2dGeometry geometry(const Shape& input) const;
  int cin_, cout_, kh_, kw_, stride_, pad_;
  std::vector<T> col_;  // im2col scratch: cpu::conv2d_scratch_size() elements
  std::shared_ptr<cuda::ConvState> cuda_state_;  // descriptors + algorithms per input shape
};

template <typename T>
class BatchNorm2d final : public Layer<T> {
 public:
  static constexpr double kKerasEpsilon = 1e-3, kKerasMomentum = 0.99;
  BatchNorm2d(std::string name, int channels, double epsilon = kKerasEpsilon, double momentum = kKerasMomentum);
  const char* kind() const override { return "BatchNorm2d"; }
  Shape output_shape(const Shape& input) const override;
  std::vector<ParamSpec> parameter_specs() const override;  // gamma, beta
  std::vector<ParamSpec> state_specs() const override;      // moving_mean, moving_var
  // Statistics of the last Train-mode batch: (C) each, var biased.
  const std::vector<T>& batch_mean() const { return batch_mean_; }
  const std::vector<T>& batch_var() const { return batch_var_; }

 private:
  void forward_cpu(const T* x, T* y, Mode mode) override;
  void backward_cpu(const T* dy, T* dx) override;
  SER_LAYER_CUDA_OVERRIDES
  int channels_;
  double epsilon_, momentum_;
  std::vector<T> batch_mean_, batch_var_;  // (C)
  std::vector<T> scratch_dx_;              // dx when the caller wants none (param grads still needed)
  std::shared_ptr<cuda::BatchNormState> cuda_state_;  // device batch mean/var (C)
};

template <typename T>
class ReLU final : public Layer<T> {
 public:
  using Layer<T>::Layer;
  const char* kind() const override { return "ReLU"; }
  Shape output_shape(const Shape& input) const override { return input; }

 private:
  void forward_cpu(const T* x, T* y, Mode mode) override;
  void backward_cpu(const T* dy, T* dx) override;
  SER_LAYER_CUDA_OVERRIDES
};

template <typename T>
class MaxPool2d final : public Layer<T> {
 public:
  using Layer<T>::Layer;
  const char* kind() const override { return "MaxPool2d"; }
  Shape output_shape(const Shape& input) const override;

 private:
  void forward_cpu(const T* x, T* y, Mode mode) override;
  void backward_cpu(const T* dy, T* dx) override;
  SER_LAYER_CUDA_OVERRIDES
  std::vector<int32_t> argmax_;  // (N, C, H/2, W/2)
  std::shared_ptr<cuda::MaxPoolState> cuda_state_;  // device argmax (N, C, H/2, W/2)
};

template <typename T>
class Flatten final : public Layer<T> {
 public:
  using Layer<T>::Layer;
  const char* kind() const override { return "Flatten"; }
  Shape output_shape(const Shape& input) const override;

 private:
  void forward_cpu(const T* x, T* y, Mode mode) override;
  void backward_cpu(const T* dy, T* dx) override;
  SER_LAYER_CUDA_OVERRIDES
};

template <typename T>
class GlobalAvgPool2d final : public Layer<T> {
 public:
  using Layer<T>::Layer;
  const char* kind() const override { return "GlobalAvgPool2d"; }
  Shape output_shape(const Shape& input) const override;

 private:
  void forward_cpu(const T* x, T* y, Mode mode) override;
  void backward_cpu(const T* dy, T* dx) override;
  SER_LAYER_CUDA_OVERRIDES
};

template <typename T>
class Dense final : public Layer<T> {
 public:
  Dense(std::string name, int in_features, int out_features);
  const char* kind() const override { return "Dense"; }
  Shape output_shape(const Shape& input) const override;
  std::vector<ParamSpec> parameter_specs() const override;

 private:
  void forward_cpu(const T* x, T* y, Mode mode) override;
  void backward_cpu(const T* dy, T* dx) override;
  SER_LAYER_CUDA_OVERRIDES
  int in_, out_;
};

template <typename T>
class Dropout final : public Layer<T> {
 public:
  Dropout(std::string name, double rate);
  const char* kind() const override { return "Dropout"; }
  Shape output_shape(const Shape& input) const override { return input; }
  double rate() const { return rate_; }
  // Train-mode masks come from this generator (one stream per forward)...
  void set_generator(Generator* generator) { generator_ = generator; }
  // ...unless a mask (values 0 or 1/(1-p), the output's size) is injected (tests, references).
  void inject_mask(std::vector<T> mask) { injected_ = std::move(mask); }
  void clear_injected_mask() { injected_.clear(); }
  bool has_injected_mask() const { return !injected_.empty(); }
  const std::vector<T>& mask() const { return mask_; }
  // CUDA graphs: take the Philox stream from device memory, *stream_base + slot, instead of
  // generator->next_stream() (the generator then only gives the seed; the caller advances
  // both). stream_base: (1) uint64 device pointer; nullptr returns to the host stream.
  void set_device_stream(const uint64_t* stream_base, uint64_t slot) {
    device_stream_base_ = stream_base;
    device_stream_slot_ = slot;
  }

 private:
  void forward_cpu(const T* x, T* y, Mode mode) override;
  void backward_cpu(const T* dy, T* dx) override;
  SER_LAYER_CUDA_OVERRIDES
  double rate_;
  Generator* generator_ = nullptr;
  const uint64_t* device_stream_base_ = nullptr;
  uint64_t device_stream_slot_ = 0;
  std::vector<T> injected_, mask_;  // mask_: the last forward's multiplier, input-shaped (CPU runs)
  std::shared_ptr<cuda::DropoutState> cuda_state_;  // device mask of the last CUDA forward
};

#undef SER_LAYER_CUDA_OVERRIDES

// The float32 CUDA implementations (defined in engine/cuda/layers_*.cu, or throwing stubs
// in engine/nn/layers_cuda_cpu_only.cpp); every other T uses Layer<T>'s throwing default.
#define SER_DECLARE_CUDA_SPECIALISATION(L)                   \
  template <>                                                \
  void L<float>::forward_cuda(const float* x, float* y, Mode mode); \
  template <>                                                \
  void L<float>::backward_cuda(const float* dy, float* dx);
SER_DECLARE_CUDA_SPECIALISATION(Conv2d)
SER_DECLARE_CUDA_SPECIALISATION(BatchNorm2d)
SER_DECLARE_CUDA_SPECIALISATION(ReLU)
SER_DECLARE_CUDA_SPECIALISATION(MaxPool2d)
SER_DECLARE_CUDA_SPECIALISATION(Flatten)
SER_DECLARE_CUDA_SPECIALISATION(GlobalAvgPool2d)
SER_DECLARE_CUDA_SPECIALISATION(Dense)
SER_DECLARE_CUDA_SPECIALISATION(Dropout)
#undef SER_DECLARE_CUDA_SPECIALISATION

}  // namespace ser::nn
