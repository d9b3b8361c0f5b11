// Model: the float32 engine's network. Owns three contiguous arenas (Tensors, 1-D):
// parameters and their gradients (parameter_count() each, same layout) and the BN
// moving statistics; every named tensor is a Tensor::slice view into one of them, so
// the optimizer is one pass and a checkpoint one write. The maths is Network<float>
// (engine/nn/network.h), whose layer entries check shapes and devices.
// Device::CUDA: the arenas, activations and logits live on the GPU and every layer runs
// its CUDA implementation on cuda::default_context()'s stream; the public API is the same
// (forward takes a CPU or CUDA x; named_state() are device views; load_named_state copies
// from tensors on any device). Each public call returns with the stream idle, so plain
// Tensor copies (to(Device::CPU)) of its results are safe. The synchronisation-free path
// for training is engine/train/device_trainer.h.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "engine/core/random.h"
#include "engine/core/tensor.h"
#include "engine/nn/architecture.h"
#include "engine/nn/network.h"

namespace ser::nn {

class Model {
 public:
  explicit Model(const Architecture& arch, Device device = Device::CPU);
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  const Architecture& architecture() const { return net_.architecture(); }
  Device device() const { return device_; }
  void initialize(Generator& gen);  // Keras init
  int64_t parameter_count() const { return net_.parameter_count(); }  // trainable elements

  // x: (N, C, H, W) float32 on any device -> logits (N, classes) on the model's device; keeps what
  // backward needs. Train mode with dropout > 0 needs dropout_rng (or injected masks).
  const Tensor& forward(const Tensor& x, Mode mode, Generator* dropout_rng = nullptr);
  // Softmax-CE on the last forward's logits with labels (N) in [0, classes); runs the
  // whole backward (parameter gradients accumulate: call zero_grad() first). Returns the mean loss.
  double backward_from_labels(const std::vector<int32_t>& labels);
  // Soft targets (label smoothing, mixup; Network::backward_from_soft_targets): labels_b and
  // lambda empty, or one per row. On CUDA the loss kernel runs on the device and the call
  // synchronises (the graph step uses Network::backward_from_device_soft_targets instead).
  double backward_from_soft_targets(const std::vector<int32_t>& labels_a, const std::vector<int32_t>& labels_b,
                                    const std::vector<float>& lambda, double smoothing);
  void zero_grad();

  Tensor& parameters() { return params_; }  // (parameter_count())
  Tensor& gradients() { return grads_; }    // (parameter_count())

  // Trainables then BN moving statistics, names as the reference data; views, not copies.
  std::vector<std::pair<std::string, Tensor>> named_state();
  std::vector<std::pair<std::string, Tensor>> named_gradients();  // same order as the trainables
  // Copies every tensor of named_state() from `state`; checks names and shapes, clear errors.
  void load_named_state(const std::map<std::string, Tensor>& state);

  // Softmax probabilities (N, classes) of the last backward_from_labels().
  Tensor probabilities() const;
  // Testing / reference hooks: the network itself (activations, per-layer gradients),
  // and dropout masks (N, units) used by the following Train forwards instead of the RNG.
  Network<float>& network() { return net_; }
  cuda::CudaContext* cuda_context() const { return cuda_; }  // null on the CPU
  // GPU math: strict FP32 (default) or TF32 tensor cores for convolutions and dense layers.
  // The CPU has no TF32: there it is a no-op. Applies to the shared context (every CUDA model).
  void set_allow_tf32(bool allow);
  void inject_dropout_masks(const std::vector<Tensor>& masks);

 private:
  void bind_arenas();

  Network<float> net_;
  Device device_;
  cuda::CudaContext* cuda_ = nullptr;  // the shared context (Device::CUDA only)
  Tensor params_, grads_, state_;
  Tensor logits_;   // (N, classes)
  Tensor x_stage_;  // (N, C, H, W) device copy of a CPU input (Device::CUDA only)
};

}  // namespace ser::nn
