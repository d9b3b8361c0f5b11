// Implementations of the layers in layers.h: argument checks, then the engine/cpu ops.
#include "engine/nn/layers.h"

#include <algorithm>
#include <cstring>

#include "engine/core/error.h"
#include "engine/cpu/batchnorm.h"
#include "engine/cpu/dense.h"
#include "engine/cpu/elementwise.h"
#include "engine/cpu/global_avg_pool.h"
#include "engine/cpu/maxpool.h"

namespace ser::nn {

namespace {
void check_rank(const std::string& layer, const char* kind, const Shape& s, int rank, const char* layout) {
  SER_CHECK(s.rank() == rank, "layer {} ({}): input shape {} must be {} (rank {})", layer, kind, s.str(), layout,
            rank);
}
}  // namespace

// ---- Conv2d -------------------------------------------------------------------------
template <typename T>
Conv2d<T>::Conv2d(std::string name, int in_channels, int out_channels, int kernel_h, int kernel_w, int stride,
                  int padding)
    : Layer<T>(std::move(name)), cin_(in_channels), cout_(out_channels), kh_(kernel_h), kw_(kernel_w),
      stride_(stride), pad_(padding) {
  SER_CHECK(cin_ > 0 && cout_ > 0 && kh_ > 0 && kw_ > 0 && stride_ > 0 && pad_ >= 0,
            "Conv2d {}: invalid arguments in={} out={} kernel={}x{} stride={} padding={}", this->name(), cin_, cout_,
            kh_, kw_, stride_, pad_);
}

template <typename T>
cpu::Conv2dGeometry Conv2d<T>::geometry(const Shape& s) const {
  cpu::Conv2dGeometry g;
  g.N = static_cast<int>(s[0]);
  g.C = static_cast<int>(s[1]);
  g.H = static_cast<int>(s[2]);
  g.W = static_cast<int>(s[3]);
  g.O = cout_;
  g.KH = kh_;
  g.KW = kw_;
  g.stride = stride_;
  g.pad = pad_;
  return g;
}

template <typename T>
Shape Conv2d<T>::output_shape(const Shape& input) const {
  check_rank(this->name(), kind(), input, 4, "(N, C, H, W)");
  SER_CHECK(input[1] == cin_, "layer {} (Conv2d): input {} has {} channels, expected {}", this->name(),
            input.str(), input[1], cin_);
  SER_CHECK(input[2] + 2 * pad_ >= kh_ && input[3] + 2 * pad_ >= kw_,
            "layer {} (Conv2d): input {} is smaller than the {}x{} kernel (padding {})", this->name(), input.str(),
            kh_, kw_, pad_);
  const auto g = geometry(input);
  return Shape{input[0], cout_, g.Ho(), g.Wo()};
}

template <typename T>
std::vector<ParamSpec> Conv2d<T>::parameter_specs() const {
  const int64_t receptive = static_cast<int64_t>(kh_) * kw_;
  return {{"weight", Shape{cout_, cin_, kh_, kw_}, Init::GlorotUniform, cin_ * receptive, cout_ * receptive},
          {"bias", Shape{cout_}, Init::Zeros}};
}

template <typename T>
void Conv2d<T>::forward_cpu(const T* x, T* y, Mode) {
  const auto g = geometry(this->input_shape());
  col_.resize(static_cast<std::size_t>(cpu::conv2d_scratch_size(g)));
  const T* w = this->params_;
  cpu::conv2d_forward(y, x, w, w + static_cast<int64_t>(cout_) * cin_ * kh_ * kw_, g, col_.data());
}

template <typename T>
void Conv2d<T>::backward_cpu(const T* dy, T* dx) {
  const auto g = geometry(this->input_shape());
  col_.resize(static_cast<std::size_t>(cpu::conv2d_scratch_size(g)));
  const int64_t wsize = static_cast<int64_t>(cout_) * cin_ * kh_ * kw_;
  cpu::conv2d_backward(dx, this->grads_, this->grads_ + wsize, dy, this->saved_input(), this->params_, g,
                       col_.data());
}

// ---- BatchNorm2d --------------------------------------------------------------------
template <typename T>
BatchNorm2d<T>::BatchNorm2d(std::string name, int channels, double epsilon, double momentum)
    : Layer<T>(std::move(name)), channels_(channels), epsilon_(epsilon), momentum_(momentum) {
  SER_CHECK(channels_ > 0 && epsilon_ > 0 && momentum_ >= 0 && momentum_ <= 1,
            "BatchNorm2d {}: invalid channels={} epsilon={} momentum={}", this->name(), channels_, epsilon_,
            momentum_);
}

template <typename T>
Shape BatchNorm2d<T>::output_shape(const Shape& input) const {
  check_rank(this->name(), kind(), input, 4, "(N, C, H, W)");
  SER_CHECK(input[1] == channels_, "layer {} (BatchNorm2d): input {} has {} channels, expected {}", this->name(),
            input.str(), input[1], channels_);
  return input;
}

template <typename T>
std::vector<ParamSpec> BatchNorm2d<T>::parameter_specs() const {
  return {{"gamma", Shape{channels_}, Init::Ones}, {"beta", Shape{channels_}, Init::Zeros}};
}

template <typename T>
std::vector<ParamSpec> BatchNorm2d<T>::state_specs() const {
  return {{"moving_mean", Shape{channels_}, Init::Zeros}, {"moving_var", Shape{channels_}, Init::Ones}};
}

template <typename T>
void BatchNorm2d<T>::forward_cpu(const T* x, T* y, Mode mode) {
  const Shape& s = this->input_shape();
  const int N = static_cast<int>(s[0]);
  const int64_t HW = s[2] * s[3];
  const T* gamma = this->params_;
  const T* beta = this->params_ + channels_;
  T* moving_mean = this->state_;
  T* moving_var = this->state_ + channels_;
  SER_CHECK(moving_mean != nullptr, "layer {} (BatchNorm2d): moving statistics not bound", this->name());
  if (mode == Mode::Train) {
    batch_mean_.resize(channels_);
    batch_var_.resize(channels_);
    cpu::batchnorm_forward_train(y, batch_mean_.data(), batch_var_.data(), x, gamma, beta, N, channels_, HW,
                                 epsilon_);
    cpu::batchnorm_update_moving(moving_mean, moving_var, batch_mean_.data(), batch_var_.data(), channels_,
                                 momentum_);
  } else {
    cpu::batchnorm_forward_eval(y, x, gamma, beta, moving_mean, moving_var, N, channels_, HW, epsilon_);
  }
}

template <typename T>
void BatchNorm2d<T>::backward_cpu(const T* dy, T* dx) {
  const Shape& s = this->input_shape();
  const int N = static_cast<int>(s[0]);
  const int64_t HW = s[2] * s[3];
  if (dx == nullptr) {
    scratch_dx_.resize(static_cast<std::size_t>(s.numel()));
    dx = scratch_dx_.data();
  }
  const T* gamma = this->params_;
  T* dgamma = this->grads_;
  T* dbeta = this->grads_ + channels_;
  if (this->saved_mode() == Mode::Train) {
    cpu::batchnorm_backward_train(dx, dgamma, dbeta, dy, this->saved_input(), gamma, batch_mean_.data(),
                                  batch_var_.data(), N, channels_, HW, epsilon_);
  } else {
    cpu::batchnorm_backward_eval(dx, dgamma, dbeta, dy, this->saved_input(), gamma, this->state_,
                                 this->state_ + channels_, N, channels_, HW, epsilon_);
  }
}

// ---- ReLU ---------------------------------------------------------------------------
template <typename T>
void ReLU<T>::forward_cpu(const T* x, T* y, Mode) {
  cpu::relu_forward(y, x, this->input_shape().numel());
}

template <typename T>
void ReLU<T>::backward_cpu(const T* dy, T* dx) {
  if (dx != nullptr) cpu::relu_backward(dx, dy, this->saved_input(), this->input_shape().numel());
}

// ---- MaxPool2d ----------------------------------------------------------------------
template <typename T>
Shape MaxPool2d<T>::output_shape(const Shape& input) const {
  check_rank(this->name(), kind(), input, 4, "(N, C, H, W)");
  SER_CHECK(input[2] >= 2 && input[3] >= 2, "layer {} (MaxPool2d): input {} is smaller than the 2x2 window",
            this->name(), input.str());
  return Shape{input[0], input[1], input[2] / 2, input[3] / 2};
}

template <typename T>
void MaxPool2d<T>::forward_cpu(const T* x, T* y, Mode) {
  const Shape& s = this->input_shape();
  argmax_.resize(static_cast<std::size_t>(output_shape(s).numel()));
  cpu::maxpool2x2_forward(y, argmax_.data(), x, int(s[0]), int(s[1]), int(s[2]), int(s[3]));
}

template <typename T>
void MaxPool2d<T>::backward_cpu(const T* dy, T* dx) {
  const Shape& s = this->input_shape();
  if (dx != nullptr) cpu::maxpool2x2_backward(dx, dy, argmax_.data(), int(s[0]), int(s[1]), int(s[2]), int(s[3]));
}

// ---- Flatten ------------------------------------------------------------------------
template <typename T>
Shape Flatten<T>::output_shape(const Shape& input) const {
  check_rank(this->name(), kind(), input, 4, "(N, C, H, W)");
  return Shape{input[0], input[1] * input[2] * input[3]};
}

template <typename T>
void Flatten<T>::forward_cpu(const T* x, T* y, Mode) {
  std::memcpy(y, x, static_cast<std::size_t>(this->input_shape().numel()) * sizeof(T));  // NCHW is already C,H,W
}

template <typename T>
void Flatten<T>::backward_cpu(const T* dy, T* dx) {
  if (dx != nullptr) std::memcpy(dx, dy, static_cast<std::size_t>(this->input_shape().numel()) * sizeof(T));
}

// ---- GlobalAvgPool2d ----------------------------------------------------------------
template <typename T>
Shape GlobalAvgPool2d<T>::output_shape(const Shape& input) const {
  check_rank(this->name(), kind(), input, 4, "(N, C, H, W)");
  SER_CHECK(input[2] >= 1 && input[3] >= 1, "layer {} (GlobalAvgPool2d): input {} has an empty plane", this->name(),
            input.str());
  return Shape{input[0], input[1]};
}

template <typename T>
void GlobalAvgPool2d<T>::forward_cpu(const T* x, T* y, Mode) {
  const Shape& s = this->input_shape();
  cpu::global_avg_pool_forward(y, x, s[0] * s[1], s[2] * s[3]);
}

template <typename T>
void GlobalAvgPool2d<T>::backward_cpu(const T* dy, T* dx) {
  const Shape& s = this->input_shape();
  if (dx != nullptr) cpu::global_avg_pool_backward(dx, dy, s[0] * s[1], s[2] * s[3]);
}

// ---- Dense --------------------------------------------------------------------------
template <typename T>
Dense<T>::Dense(std::string name, int in_features, int out_features)
    : Layer<T>(std::move(name)), in_(in_features), out_(out_features) {
  SER_CHECK(in_ > 0 && out_ > 0, "Dense {}: invalid in={} out={}", this->name(), in_, out_);
}

template <typename T>
Shape Dense<T>::output_shape(const Shape& input) const {
  check_rank(this->name(), kind(), input, 2, "(N, features)");
  SER_CHECK(input[1] == in_, "layer {} (Dense): input {} has {} features, expected {}", this->name(), input.str(),
            input[1], in_);
  return Shape{input[0], out_};
}

template <typename T>
std::vector<ParamSpec> Dense<T>::parameter_specs() const {
  return {{"weight", Shape{out_, in_}, Init::GlorotUniform, in_, out_}, {"bias", Shape{out_}, Init::Zeros}};
}

template <typename T>
void Dense<T>::forward_cpu(const T* x, T* y, Mode) {
  const int N = static_cast<int>(this->input_shape()[0]);
  cpu::dense_forward(y, x, this->params_, this->params_ + static_cast<int64_t>(out_) * in_, N, in_, out_);
}

template <typename T>
void Dense<T>::backward_cpu(const T* dy, T* dx) {
  const int N = static_cast<int>(this->input_shape()[0]);
  cpu::dense_backward(dx, this->grads_, this->grads_ + static_cast<int64_t>(out_) * in_, dy, this->saved_input(),
                      this->params_, N, in_, out_);
}

// ---- Dropout ------------------------------------------------------------------------
template <typename T>
Dropout<T>::Dropout(std::string name, double rate) : Layer<T>(std::move(name)), rate_(rate) {
  SER_CHECK(rate_ >= 0.0 && rate_ < 1.0, "Dropout {}: rate {} must lie in [0, 1)", this->name(), rate_);
}

template <typename T>
void Dropout<T>::forward_cpu(const T* x, T* y, Mode mode) {
  const int64_t n = this->input_shape().numel();
  mask_.assign(static_cast<std::size_t>(n), T(1));
  if (mode == Mode::Train) {
    if (!injected_.empty()) {
      SER_CHECK(static_cast<int64_t>(injected_.size()) == n,
                "layer {} (Dropout): injected mask has {} values, the input {} has {}", this->name(),
                injected_.size(), this->input_shape().str(), n);
      mask_ = injected_;
    } else if (rate_ > 0.0) {
      SER_CHECK(generator_ != nullptr,
                "layer {} (Dropout): Train mode with rate {} needs a Generator (or an injected mask)", this->name(),
                rate_);
      cpu::dropout_mask(mask_.data(), n, rate_, generator_->seed(), generator_->next_stream());
    }
  }
  cpu::multiply_by_mask(y, x, mask_.data(), n);
}

template <typename T>
void Dropout<T>::backward_cpu(const T* dy, T* dx) {
  if (dx != nullptr) cpu::multiply_by_mask(dx, dy, mask_.data(), this->input_shape().numel());
}

// ---- CUDA entries for T != float ----------------------------------------------------
// The float specialisations are declared in layers.h; other types keep the base error.
#define SER_CUDA_NOT_FOR_THIS_TYPE(L)                                                        \
  template <typename T>                                                                        \
  void L<T>::forward_cuda(const T* x, T* y, Mode mode) {                                       \
    ::ser::nn::Layer<T>::forward_cuda(x, y, mode);                                             \
  }                                                                                            \
  template <typename T>                                                                        \
  void L<T>::backward_cuda(const T* dy, T* dx) {                                               \
    ::ser::nn::Layer<T>::backward_cuda(dy, dx);                                                \
  }
SER_CUDA_NOT_FOR_THIS_TYPE(Conv2d)
SER_CUDA_NOT_FOR_THIS_TYPE(BatchNorm2d)
SER_CUDA_NOT_FOR_THIS_TYPE(ReLU)
SER_CUDA_NOT_FOR_THIS_TYPE(MaxPool2d)
SER_CUDA_NOT_FOR_THIS_TYPE(Flatten)
SER_CUDA_NOT_FOR_THIS_TYPE(GlobalAvgPool2d)
SER_CUDA_NOT_FOR_THIS_TYPE(Dense)
SER_CUDA_NOT_FOR_THIS_TYPE(Dropout)
#undef SER_CUDA_NOT_FOR_THIS_TYPE

#define SER_INSTANTIATE_LAYERS(T) \
  template class Conv2d<T>;       \
  template class BatchNorm2d<T>;  \
  template class ReLU<T>;         \
  template class MaxPool2d<T>;    \
  template class Flatten<T>;      \
  template class GlobalAvgPool2d<T>; \
  template class Dense<T>;        \
  template class Dropout<T>;
SER_INSTANTIATE_LAYERS(float)
SER_INSTANTIATE_LAYERS(double)
#undef SER_INSTANTIATE_LAYERS

}  // namespace ser::nn
