// Network<T>: the layer sequence of an Architecture with its activation and gradient
// buffers, templated on T so the float engine (Model) and the double-precision gradient
// checks run the same code. Parameters, their gradients and the BN moving statistics
// live in three caller-owned arenas (bind()); each layer gets contiguous slices in
// layer order, with the names of the reference data:
//   conv{i}.weight (Cout, Cin, 3, 3) OIHW, conv{i}.bias, bn{i}.gamma, bn{i}.beta,
//   fc{k}.weight (out, in), fc{k}.bias, out.weight, out.bias      (trainable arena)
//   bn{i}.moving_mean, bn{i}.moving_var                              (state arena)
// Layer names: conv{i} relu{i} bn{i} pool{i} flatten fc{k} fc{k}_relu dropout{k} out;
// the output of layer L is the activation "L_out" (the last one is "logits").
// Device: CPU by default; use_cuda(ctx) (float only) puts every activation and gradient
// buffer in device memory and runs each layer's CUDA implementation on ctx's stream; the
// arenas bound then must be device pointers too. Nothing here synchronises except the loss,
// whose value is read back.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/core/random.h"
#include "engine/nn/architecture.h"
#include "engine/nn/layers.h"

namespace ser::nn {

template <typename T>
class Network {
 public:
  explicit Network(const Architecture& arch);

  const Architecture& architecture() const { return arch_; }
  // Full names ("conv1.weight") and shapes, in arena order.
  const std::vector<ParamSpec>& parameter_specs() const { return param_specs_; }
  const std::vector<ParamSpec>& state_specs() const { return state_specs_; }
  int64_t parameter_count() const { return total_numel(param_specs_); }
  int64_t state_count() const { return total_numel(state_specs_); }

  // Runs on the GPU from now on (T = float only; before bind() and the first forward).
  void use_cuda(cuda::CudaContext* ctx);
  Device device() const { return device_; }

  void bind(T* params, T* grads, T* state);
  // Keras initialisation of the bound arenas: Glorot-uniform kernels, zero biases,
  // gamma 1, beta 0, moving mean 0, moving var 1. One Generator stream per kernel.
  void initialize(Generator& gen);

  // x: (N, C, H, W) -> logits (N, classes), valid until the next forward, on device().
  // `device` is where x lives and must be device(). Dropout draws from rng.
  const T* forward(const T* x, const Shape& x_shape, Mode mode, Generator* rng, Device device = Device::CPU);
  // Softmax-CE on the last logits, then the backward of every layer: parameter gradients
  // accumulate into the grads arena. labels: (N) host values in [0, classes). Returns the
  // mean loss (on CUDA: the loss kernel's value, read back).
  double backward_from_labels(const int32_t* labels, int64_t count);
  // The same with soft targets (label smoothing and mixup; cpu::softmax_cross_entropy_soft):
  // row n's target mixes labels_a[n] (weight lambda[n]) and labels_b[n], then is smoothed.
  // labels_b and lambda may be null (no mixup). labels: (count) host values in [0, classes).
  // On CUDA: the soft-target loss kernel (float, like backward_from_labels there), the
  // probabilities from the logits read back; returns with the stream idle.
  double backward_from_soft_targets(const int32_t* labels_a, const int32_t* labels_b, const float* lambda,
                                    double smoothing, int64_t count);
  // CUDA only, nothing synchronises (for the CUDA-graph training step): the fused loss of
  // the last forward's logits against `labels` (N) int32 on the device, ADDED to
  // step_loss[0] (float, sum over rows) and step_correct[0] (int, first arg-max == label),
  // then the backward of every layer. No probabilities, no input gradient.
  void backward_from_device_labels(const int32_t* labels, float* step_loss, int* step_correct);
  // The same with soft targets (kernels::softmax_cross_entropy_soft_forward_backward):
  // labels_a (N) int32, labels_b (N) int32 or null, lambda (N) float or null, on the device;
  // step_correct counts rows whose first arg-max is labels_a.
  void backward_from_device_soft_targets(const int32_t* labels_a, const int32_t* labels_b, const float* lambda,
                                         double smoothing, float* step_loss, int* step_correct);
  // CUDA graphs: the k-th dropout layer that draws a mask (rate > 0) takes Philox stream
  // *stream_base + k (see Dropout::set_device_stream); nullptr returns every layer to
  // generator->next_stream().
  void set_dropout_device_stream(const uint64_t* stream_base);
  // Generator streams one Train forward consumes: one per dropout layer with rate > 0 (a
  // rate-0 layer is the identity and draws nothing, on either device).
  int dropout_streams_per_step();

  // When set, backward also writes dL/dx into input_gradient(): (N, C, H, W).
  void set_compute_input_gradient(bool on) { want_input_gradient_ = on; }
  const std::vector<T>& input_gradient() const { return input_gradient_; }
  const std::vector<T>& probabilities() const { return probs_; }  // (N, classes) of the last loss, host

  // Layers, their outputs and d(loss)/d(output) of the last forward/backward.
  std::size_t layer_count() const { return layers_.size(); }
  Layer<T>& layer(std::size_t i) { return *layers_[i]; }
  std::string activation_name(std::size_t i) const;
  const Shape& output_shape(std::size_t i) const { return shapes_[i + 1]; }
  // Host buffers of a CPU network (throw on CUDA: use the *_values copies there).
  const std::vector<T>& output(std::size_t i) const;
  const std::vector<T>& output_gradient(std::size_t i) const;
  // Host copies, any device (CUDA: synchronises with the stream first).
  std::vector<T> output_values(std::size_t i) const;
  std::vector<T> output_gradient_values(std::size_t i) const;
  // The dropout layers in order (masks may be injected there).
  std::vector<Dropout<T>*> dropout_layers();

 private:
  void add(std::unique_ptr<Layer<T>> layer);
  void resize_buffers(const Shape& x_shape);
  void grow_device_buffers(const std::vector<Shape>& shapes);
  T* output_data(std::size_t i);       // layer i's output on device()
  T* output_grad_data(std::size_t i);  // d(loss)/d(output i) on device()
  double loss_on_cuda(const int32_t* labels, int64_t n);
  double soft_loss_on_cuda(const int32_t* labels_a, const int32_t* labels_b, const float* lambda, double smoothing,
                           int64_t n);
  void check_labels(const char* entry, const int32_t* labels, int64_t count) const;
  void backward_layers();  // from d(loss)/d(logits), already written, to the input
  void size_cpu_gradient_buffers();
  std::vector<T> download(const T* data, int64_t count) const;

  Architecture arch_;
  std::vector<std::unique_ptr<Layer<T>>> layers_;
  std::vector<ParamSpec> param_specs_, state_specs_;
  std::vector<Shape> shapes_;  // shapes_[0] = input, shapes_[i+1] = output of layer i
  std::vector<std::vector<T>> outputs_, output_grads_;  // CPU network
  // CUDA network: device buffers of at least the current shapes (grown, never shrunk, so a
  // smaller batch keeps the pointers a captured CUDA graph uses; device_capacity_ in
  // elements per layer), the labels (3N 4-byte slots: labels, partner labels (int32) and
  // mixup weights (float) of the soft-target loss), loss scratch, and the input gradient (N, C, H, W).
  std::vector<std::shared_ptr<void>> device_outputs_, device_output_grads_;
  std::vector<int64_t> device_capacity_;
  int64_t device_labels_capacity_ = 0, device_input_gradient_numel_ = 0;
  std::shared_ptr<void> device_labels_, device_loss_scratch_, device_input_gradient_;
  Device device_ = Device::CPU;
  cuda::CudaContext* cuda_ = nullptr;
  std::vector<T> probs_, input_gradient_;
  T* params_ = nullptr;
  T* state_ = nullptr;
  const T* input_ = nullptr;
  Device input_device_ = Device::CPU;
  bool want_input_gradient_ = false, has_forward_ = false;
};

}  // namespace ser::nn
