// Layer<T>: one step of a network with an explicit forward and backward, templated on
// the element type (float for the engine, double for the gradient checks), so both run
// the same code over raw host pointers (engine/cpu).
//
// GRADIENT SEMANTICS (the one place they are written down):
//   * parameter gradients ACCUMULATE: backward() does grads += dL/dparams (zero them first);
//   * input gradients OVERWRITE: backward() writes dx = dL/dx;
//   * signs are the true derivatives dL/d(.) (no negation anywhere).
//
// The public entries forward()/backward() are non-virtual: they check shapes and the
// device, then call the implementation of that device: forward_cpu/backward_cpu, or
// forward_cuda/backward_cuda (float32 only, engine/cuda/layers_*.cu, on the stream of the
// CudaContext given by set_cuda_context()). Input and output of one call must be on the
// same device; a missing implementation is an error, never a silent fallback.
//
// Memory contract: the layer does not own its input or output. forward() remembers the
// input pointer; the caller (Network) keeps x unchanged until backward() has run.
// Parameters live in arenas owned by the caller; bind() points the layer at its slices.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/core/device.h"
#include "engine/core/shape.h"

namespace ser::cuda {
class CudaContext;
}

namespace ser::nn {

enum class Mode { Train, Eval };

// A shaped, device-tagged pointer: what a layer reads or writes.
template <typename T>
struct View {
  T* data = nullptr;
  Shape shape;
  Device device = Device::CPU;
};

enum class Init { GlorotUniform, Zeros, Ones };

// One named tensor of a layer inside an arena (trainable parameters or running state).
struct ParamSpec {
  std::string name;        // suffix inside the layer ("weight") or full name ("conv1.weight")
  Shape shape;
  Init init = Init::Zeros;
  int64_t fan_in = 0, fan_out = 0;  // for Glorot-uniform
};

int64_t total_numel(const std::vector<ParamSpec>& specs);

template <typename T>
class Layer {
 public:
  explicit Layer(std::string name) : name_(std::move(name)) {}
  virtual ~Layer() = default;
  Layer(const Layer&) = delete;
  Layer& operator=(const Layer&) = delete;

  const std::string& name() const { return name_; }
  virtual const char* kind() const = 0;
  // Output shape for an input shape; throws a clear ser::Error if the input does not fit.
  virtual Shape output_shape(const Shape& input) const = 0;
  // Trainable parameters in arena order (names are suffixes: "weight", "bias", ...).
  virtual std::vector<ParamSpec> parameter_specs() const { return {}; }
  // Non-trainable state updated by the forward pass (BN moving statistics).
  virtual std::vector<ParamSpec> state_specs() const { return {}; }

  // params/grads: total_numel(parameter_specs()) values each; state: total_numel(state_specs()).
  void bind(T* params, T* grads, T* state) {
    params_ = params;
    grads_ = grads;
    state_ = state;
  }

  // The context CUDA calls run on (not owned); needed before a forward on Device::CUDA.
  void set_cuda_context(cuda::CudaContext* ctx) { cuda_ = ctx; }

  // x: input_shape, y: output_shape(x.shape).
  void forward(View<const T> x, View<T> y, Mode mode);
  // dy: the last forward's output shape; dx: its input shape, or dx.data == nullptr when no
  // input gradient is wanted (parameter gradients are still accumulated).
  void backward(View<const T> dy, View<T> dx);

 protected:
  virtual void forward_cpu(const T* x, T* y, Mode mode) = 0;
  virtual void backward_cpu(const T* dy, T* dx) = 0;
  // Device pointers; the default throws (no CUDA implementation for this layer / type).
  virtual void forward_cuda(const T* x, T* y, Mode mode);
  virtual void backward_cuda(const T* dy, T* dx);
  cuda::CudaContext& cuda_context() const;  // throws if none was set

  const Shape& input_shape() const { return input_shape_; }
  const T* saved_input() const { return x_; }
  Mode saved_mode() const { return mode_; }

  T* params_ = nullptr;
  T* grads_ = nullptr;
  T* state_ = nullptr;

 private:
  cuda::CudaContext* cuda_ = nullptr;
  void check_devices(Device a, Device b, const char* what) const;

  std::string name_;
  Shape input_shape_;
  const T* x_ = nullptr;
  Mode mode_ = Mode::Eval;
  Device device_ = Device::CPU;  // of the last forward
  bool has_forward_ = false;
};

}  // namespace ser::nn
