// Network<T> (see network.h): builds the layer sequence, lays out the arenas, and runs
// forward / loss / backward through the layers' checking entries.
#include "engine/nn/network.h"

#include <cmath>
#include <type_traits>

#include "engine/core/error.h"
#include "engine/cpu/softmax_cross_entropy.h"
#include "engine/nn/cuda_backend.h"

namespace ser::nn {

namespace {
// n bytes of zeroed device memory, freed with the last reference.
std::shared_ptr<void> device_allocation(std::size_t bytes) {
  return std::shared_ptr<void>(memory::allocate(Device::CUDA, bytes),
                               [](void* p) { memory::release(Device::CUDA, p); });
}
}  // namespace

template <typename T>
Network<T>::Network(const Architecture& arch) : arch_(arch) {
  arch_.validate();
  int channels = arch_.in_channels;
  const bool bn_first = arch_.block == "conv-bn-relu";
  for (std::size_t b = 0; b < arch_.conv_channels.size(); ++b) {
    const std::string i = std::to_string(b + 1);
    add(std::make_unique<Conv2d<T>>("conv" + i, channels, arch_.conv_channels[b], 3, 3));
    if (bn_first) add(std::make_unique<BatchNorm2d<T>>("bn" + i, arch_.conv_channels[b], BatchNorm2d<T>::kKerasEpsilon, arch_.bn_momentum));
    add(std::make_unique<ReLU<T>>("relu" + i));
    if (!bn_first) add(std::make_unique<BatchNorm2d<T>>("bn" + i, arch_.conv_channels[b], BatchNorm2d<T>::kKerasEpsilon, arch_.bn_momentum));
    add(std::make_unique<MaxPool2d<T>>("pool" + i));
    channels = arch_.conv_channels[b];
  }
  if (arch_.head == "gap") add(std::make_unique<GlobalAvgPool2d<T>>("gap"));
  else add(std::make_unique<Flatten<T>>("flatten"));
  // Feature count after the blocks: validate() bounded it to [1, kMaxFlattenedFeatures].
  int features = static_cast<int>(arch_.flattened_features());
  for (std::size_t k = 0; k < arch_.dense_units.size(); ++k) {
    const std::string i = std::to_string(k + 1);
    add(std::make_unique<Dense<T>>("fc" + i, features, arch_.dense_units[k]));
    add(std::make_unique<ReLU<T>>("fc" + i + "_relu"));
    add(std::make_unique<Dropout<T>>("dropout" + i, arch_.dropout));
    features = arch_.dense_units[k];
  }
  add(std::make_unique<Dense<T>>("out", features, arch_.classes));
}

template <typename T>
void Network<T>::add(std::unique_ptr<Layer<T>> layer) {
  for (auto spec : layer->parameter_specs()) {
    spec.name = layer->name() + "." + spec.name;
    param_specs_.push_back(spec);
  }
  for (auto spec : layer->state_specs()) {
    spec.name = layer->name() + "." + spec.name;
    state_specs_.push_back(spec);
  }
  layers_.push_back(std::move(layer));
}

template <typename T>
void Network<T>::use_cuda(cuda::CudaContext* ctx) {
  SER_CHECK((std::is_same_v<T, float>), "Network::use_cuda: the CUDA backend is float32 only");
  SER_CHECK(ctx != nullptr, "Network::use_cuda: null CUDA context");
  SER_CHECK(!has_forward_, "Network::use_cuda: must be called before the first forward");
  device_ = Device::CUDA;
  cuda_ = ctx;
  shapes_.clear();  // buffers are reallocated on the device at the next forward
  for (auto& layer : layers_) layer->set_cuda_context(ctx);
}

template <typename T>
void Network<T>::bind(T* params, T* grads, T* state) {
  SER_CHECK(params != nullptr && grads != nullptr && (state != nullptr || state_count() == 0),
            "Network::bind: null arena");
  params_ = params;
  state_ = state;
  int64_t p = 0, s = 0;
  for (auto& layer : layers_) {
    layer->bind(params + p, grads + p, state + s);
    p += total_numel(layer->parameter_specs());
    s += total_numel(layer->state_specs());
  }
}

template <typename T>
void Network<T>::initialize(Generator& gen) {
  SER_CHECK(params_ != nullptr, "Network::initialize: arenas not bound");
  auto init = [&](const std::vector<ParamSpec>& specs, T* arena) {
    std::vector<float> draws;
    for (const auto& spec : specs) {
      const int64_t n = spec.shape.numel();
      switch (spec.init) {
        case Init::GlorotUniform: {
          const double limit = std::sqrt(6.0 / static_cast<double>(spec.fan_in + spec.fan_out));
          draws.resize(static_cast<std::size_t>(n));
          gen.fill_uniform(draws.data(), n, static_cast<float>(-limit), static_cast<float>(limit));
          for (int64_t i = 0; i < n; ++i) arena[i] = static_cast<T>(draws[i]);
          break;
        }
        case Init::Zeros: std::fill(arena, arena + n, T(0)); break;
        case Init::Ones: std::fill(arena, arena + n, T(1)); break;
      }
      arena += n;
    }
  };
  init(param_specs_, params_);
  init(state_specs_, state_);
}

template <typename T>
void Network<T>::resize_buffers(const Shape& x_shape) {
  if (!shapes_.empty() && shapes_[0] == x_shape) return;
  // shapes_ is set only once the buffers fit it: after a failed allocation (say out of
  // memory, caught by the caller) the next call with the same shape grows them again.
  std::vector<Shape> shapes(1, x_shape);
  for (auto& layer : layers_) shapes.push_back(layer->output_shape(shapes.back()));
  shapes_.clear();
  if (device_ == Device::CUDA) {
    grow_device_buffers(shapes);
  } else {
    outputs_.resize(layers_.size());
    output_grads_.assign(layers_.size(), {});  // sized by the first backward: an eval forward needs none
    for (std::size_t i = 0; i < layers_.size(); ++i)
      outputs_[i].assign(static_cast<std::size_t>(shapes[i + 1].numel()), T(0));
  }
  shapes_ = std::move(shapes);
}

// Grows (never shrinks) the device buffers to `shapes` (input, then each layer's output).
// Only an actual allocation bumps the context's memory generation and orders the stream
// after the allocations' zero fill (legacy stream); a smaller or equal batch queues nothing.
// Before the first buffer is replaced the stream is drained, so no queued kernel still uses
// it when it is freed; if an allocation fails part-way the generation is bumped all the
// same (captured graphs may hold a buffer that is gone) and the error propagates.
template <typename T>
void Network<T>::grow_device_buffers(const std::vector<Shape>& shapes) {
  const Shape& x_shape = shapes[0];
  device_outputs_.resize(layers_.size());
  device_output_grads_.resize(layers_.size());
  device_capacity_.resize(layers_.size(), 0);
  bool allocated = false;
  auto grow = [&](std::shared_ptr<void>& buffer, std::size_t bytes) {
    cuda::check_not_capturing(*cuda_, "a network activation buffer grows");
    if (!allocated) cuda::synchronize(*cuda_);  // queued kernels may still use the old buffers
    allocated = true;
    buffer.reset();
    buffer = device_allocation(bytes);
  };
  try {
    for (std::size_t i = 0; i < layers_.size(); ++i) {
      const int64_t numel = shapes[i + 1].numel();
      if (numel <= device_capacity_[i]) continue;
      device_capacity_[i] = 0;  // until both buffers of layer i have the new size
      grow(device_outputs_[i], sizeof(T) * static_cast<std::size_t>(numel));
      grow(device_output_grads_[i], sizeof(T) * static_cast<std::size_t>(numel));
      device_capacity_[i] = numel;
    }
    if (x_shape[0] > device_labels_capacity_) {
      device_labels_capacity_ = 0;
      // (3, N) slots of 4 bytes: labels (int32), partner labels (int32), mixup weights (float).
      grow(device_labels_, 3 * sizeof(int32_t) * static_cast<std::size_t>(x_shape[0]));
      device_labels_capacity_ = x_shape[0];
    }
    if (!device_loss_scratch_) grow(device_loss_scratch_, 2 * sizeof(float));  // loss sum (float), correct (int32)
  } catch (...) {
    if (allocated) cuda::note_reallocation(*cuda_);  // graphs may hold a buffer that is gone
    throw;
  }
  if (device_input_gradient_ && x_shape.numel() > device_input_gradient_numel_) device_input_gradient_.reset();
  if (allocated) {
    cuda::note_reallocation(*cuda_);
    cuda::wait_for_legacy_stream(*cuda_);  // the allocations were zeroed on the legacy stream
  }
}

template <typename T>
T* Network<T>::output_data(std::size_t i) {
  return device_ == Device::CUDA ? static_cast<T*>(device_outputs_[i].get()) : outputs_[i].data();
}

template <typename T>
T* Network<T>::output_grad_data(std::size_t i) {
  return device_ == Device::CUDA ? static_cast<T*>(device_output_grads_[i].get()) : output_grads_[i].data();
}

template <typename T>
const std::vector<T>& Network<T>::output(std::size_t i) const {
  SER_CHECK(device_ == Device::CPU, "Network::output({}): the buffers are on CUDA; use output_values()", i);
  return outputs_[i];
}

template <typename T>
const std::vector<T>& Network<T>::output_gradient(std::size_t i) const {
  SER_CHECK(device_ == Device::CPU, "Network::output_gradient({}): the buffers are on CUDA; use "
            "output_gradient_values()", i);
  return output_grads_[i];
}

template <typename T>
std::vector<T> Network<T>::download(const T* data, int64_t count) const {
  std::vector<T> host(static_cast<std::size_t>(count));
  if (device_ == Device::CUDA) {
    cuda::synchronize(*cuda_);
    memory::copy(host.data(), Device::CPU, data, Device::CUDA, sizeof(T) * host.size());
  } else {
    std::copy(data, data + count, host.begin());
  }
  return host;
}

template <typename T>
std::vector<T> Network<T>::output_values(std::size_t i) const {
  SER_CHECK(has_forward_ && i < layers_.size(), "Network::output_values({}): no such output yet", i);
  return download(const_cast<Network*>(this)->output_data(i), shapes_[i + 1].numel());
}

template <typename T>
std::vector<T> Network<T>::output_gradient_values(std::size_t i) const {
  SER_CHECK(has_forward_ && i < layers_.size(), "Network::output_gradient_values({}): no such gradient yet", i);
  return download(const_cast<Network*>(this)->output_grad_data(i), shapes_[i + 1].numel());
}

template <typename T>
const T* Network<T>::forward(const T* x, const Shape& x_shape, Mode mode, Generator* rng, Device device) {
  SER_CHECK(params_ != nullptr, "Network::forward: arenas not bound");
  SER_CHECK(x_shape.rank() == 4 && x_shape[1] == arch_.in_channels && x_shape[2] == arch_.height &&
                x_shape[3] == arch_.width && x_shape[0] >= 1,
            "Network::forward: input shape {} does not match the architecture's (N, {}, {}, {})", x_shape.str(),
            arch_.in_channels, arch_.height, arch_.width);
  SER_CHECK(device == device_, "Network::forward: the input is on {}, the network on {}", device_name(device),
            device_name(device_));
  resize_buffers(x_shape);
  for (auto* dropout : dropout_layers()) dropout->set_generator(rng);
  const T* in = x;
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    layers_[i]->forward(View<const T>{in, shapes_[i], device_}, View<T>{output_data(i), shapes_[i + 1], device_},
                        mode);
    in = output_data(i);
  }
  input_ = x;
  input_device_ = device;
  has_forward_ = true;
  return output_data(layers_.size() - 1);
}

template <typename T>
void Network<T>::check_labels(const char* entry, const int32_t* labels, int64_t count) const {
  SER_CHECK(has_forward_, "Network::{}: no forward pass to differentiate", entry);
  const int64_t N = shapes_[0][0];
  SER_CHECK(count == N, "Network::{}: {} labels for a batch of {}", entry, count, N);
  for (int64_t n = 0; n < N; ++n)
    SER_CHECK(labels[n] >= 0 && labels[n] < arch_.classes, "Network::{}: label {} at {} is not in [0, {})", entry,
              labels[n], n, arch_.classes);
}

// CPU network: the gradient buffers follow the last forward's shapes (allocated by the
// first backward, so evaluation-only networks never hold them; every layer overwrites its
// dx, so old contents do not matter).
template <typename T>
void Network<T>::size_cpu_gradient_buffers() {
  for (std::size_t i = 0; i < layers_.size(); ++i)
    output_grads_[i].resize(static_cast<std::size_t>(shapes_[i + 1].numel()));
}

template <typename T>
double Network<T>::backward_from_labels(const int32_t* labels, int64_t count) {
  check_labels("backward_from_labels", labels, count);
  const int64_t N = shapes_[0][0];
  probs_.resize(static_cast<std::size_t>(N * arch_.classes));
  double loss = 0.0;
  if (device_ == Device::CUDA) {
    loss = loss_on_cuda(labels, N);
  } else {
    size_cpu_gradient_buffers();
    loss = cpu::softmax_cross_entropy(probs_.data(), output_grads_.back().data(), outputs_.back().data(), labels,
                                      static_cast<int>(N), arch_.classes);
  }
  backward_layers();
  return loss;
}

template <typename T>
double Network<T>::backward_from_soft_targets(const int32_t* labels_a, const int32_t* labels_b, const float* lambda,
                                              double smoothing, int64_t count) {
  check_labels("backward_from_soft_targets", labels_a, count);
  if (labels_b != nullptr) check_labels("backward_from_soft_targets", labels_b, count);
  SER_CHECK(smoothing >= 0.0 && smoothing < 1.0, "Network::backward_from_soft_targets: smoothing {} not in [0, 1)",
            smoothing);
  const int64_t N = shapes_[0][0];
  probs_.resize(static_cast<std::size_t>(N * arch_.classes));
  if (device_ == Device::CUDA) {
    const double loss = soft_loss_on_cuda(labels_a, labels_b, lambda, smoothing, N);
    backward_layers();
    cuda::synchronize(*cuda_);  // as Model::backward_from_labels: the gradients are complete on return
    return loss;
  }
  size_cpu_gradient_buffers();
  const double loss = cpu::softmax_cross_entropy_soft(probs_.data(), output_grads_.back().data(), outputs_.back().data(),
                                                      labels_a, labels_b, lambda, smoothing, static_cast<int>(N),
                                                      arch_.classes);
  backward_layers();
  return loss;
}

// As loss_on_cuda, with soft targets: the host labels / weights are staged in the (3, N)
// label buffer, the kernel writes dlogits on the device, and the probabilities come from
// the logits read back (they do not depend on the targets).
template <typename T>
double Network<T>::soft_loss_on_cuda(const int32_t* labels_a, const int32_t* labels_b, const float* lambda,
                                     double smoothing, int64_t n) {
  if constexpr (std::is_same_v<T, float>) {
    const std::size_t last = layers_.size() - 1;
    const std::size_t row = sizeof(int32_t) * static_cast<std::size_t>(n);
    auto* slots = static_cast<int32_t*>(device_labels_.get());  // (3, capacity) of which (3, n) are used
    int32_t* device_a = slots;
    int32_t* device_b = labels_b != nullptr ? slots + device_labels_capacity_ : nullptr;
    float* device_lambda = lambda != nullptr ? reinterpret_cast<float*>(slots + 2 * device_labels_capacity_) : nullptr;
    cuda::copy_host_to_device(*cuda_, device_a, labels_a, row);
    if (device_b != nullptr) cuda::copy_host_to_device(*cuda_, device_b, labels_b, row);
    if (device_lambda != nullptr) cuda::copy_host_to_device(*cuda_, device_lambda, lambda, row);
    auto* scratch = static_cast<float*>(device_loss_scratch_.get());
    const double loss = cuda::softmax_cross_entropy_soft(*cuda_, output_data(last), device_a, device_b, device_lambda,
                                                         smoothing, n, arch_.classes, output_grad_data(last), scratch,
                                                         reinterpret_cast<int32_t*>(scratch + 1));
    const std::vector<T> logits = download(output_data(last), n * arch_.classes);
    cpu::softmax<T>(probs_.data(), logits.data(), static_cast<int>(n), arch_.classes);
    return loss;
  } else {
    (void)labels_a;
    (void)labels_b;
    (void)lambda;
    (void)smoothing;
    (void)n;
    SER_FAIL("Network::backward_from_soft_targets: the CUDA backend is float32 only");
  }
}

template <typename T>
void Network<T>::backward_layers() {
  const std::size_t last = layers_.size() - 1;
  T* input_gradient = nullptr;
  if (want_input_gradient_) {
    if (device_ == Device::CUDA) {
      if (!device_input_gradient_) {
        device_input_gradient_ = device_allocation(sizeof(T) * shapes_[0].numel());
        device_input_gradient_numel_ = shapes_[0].numel();
        cuda::wait_for_legacy_stream(*cuda_);  // zeroed on the legacy stream; dx is written on ours
      }
      input_gradient = static_cast<T*>(device_input_gradient_.get());
    } else {
      input_gradient_.assign(static_cast<std::size_t>(shapes_[0].numel()), T(0));
      input_gradient = input_gradient_.data();
    }
  }
  for (std::size_t i = last + 1; i-- > 0;) {
    T* dx = i > 0 ? output_grad_data(i - 1) : input_gradient;
    layers_[i]->backward(View<const T>{output_grad_data(i), shapes_[i + 1], device_}, View<T>{dx, shapes_[i], device_});
  }
  if (want_input_gradient_ && device_ == Device::CUDA) input_gradient_ = download(input_gradient, shapes_[0].numel());
}

// The loss kernel writes dlogits on the device; the probabilities (a host API) come from
// the logits read back, with the CPU's formula.
template <typename T>
double Network<T>::loss_on_cuda(const int32_t* labels, int64_t n) {
  if constexpr (std::is_same_v<T, float>) {
    const std::size_t last = layers_.size() - 1;
    auto* device_labels = static_cast<int32_t*>(device_labels_.get());
    cuda::copy_host_to_device(*cuda_, device_labels, labels, sizeof(int32_t) * static_cast<std::size_t>(n));
    auto* scratch = static_cast<float*>(device_loss_scratch_.get());
    const double loss = cuda::softmax_cross_entropy(*cuda_, output_data(last), device_labels, n, arch_.classes,
                                                    output_grad_data(last), scratch,
                                                    reinterpret_cast<int32_t*>(scratch + 1));
    const std::vector<T> logits = download(output_data(last), n * arch_.classes);
    cpu::softmax_cross_entropy<T>(probs_.data(), nullptr, logits.data(), labels, static_cast<int>(n), arch_.classes);
    return loss;
  } else {
    (void)labels;
    (void)n;
    SER_FAIL("Network::backward_from_labels: the CUDA backend is float32 only");
  }
}

template <typename T>
void Network<T>::backward_from_device_labels(const int32_t* labels, float* step_loss, int* step_correct) {
  SER_CHECK(device_ == Device::CUDA, "Network::backward_from_device_labels: the network is on the CPU");
  SER_CHECK(has_forward_, "Network::backward_from_device_labels: no forward pass to differentiate");
  SER_CHECK(labels != nullptr && step_loss != nullptr && step_correct != nullptr,
            "Network::backward_from_device_labels: null device pointer");
  if constexpr (std::is_same_v<T, float>) {
    const std::size_t last = layers_.size() - 1;
    cuda::softmax_cross_entropy_accumulate(*cuda_, output_data(last), labels, shapes_[0][0], arch_.classes,
                                           output_grad_data(last), step_loss, step_correct);
    for (std::size_t i = last + 1; i-- > 0;) {
      T* dx = i > 0 ? output_grad_data(i - 1) : nullptr;
      layers_[i]->backward(View<const T>{output_grad_data(i), shapes_[i + 1], device_},
                           View<T>{dx, shapes_[i], device_});
    }
  } else {
    SER_FAIL("Network::backward_from_device_labels: the CUDA backend is float32 only");
  }
}

template <typename T>
void Network<T>::backward_from_device_soft_targets(const int32_t* labels_a, const int32_t* labels_b,
                                                   const float* lambda, double smoothing, float* step_loss,
                                                   int* step_correct) {
  SER_CHECK(device_ == Device::CUDA, "Network::backward_from_device_soft_targets: the network is on the CPU");
  SER_CHECK(has_forward_, "Network::backward_from_device_soft_targets: no forward pass to differentiate");
  SER_CHECK(labels_a != nullptr && step_loss != nullptr && step_correct != nullptr,
            "Network::backward_from_device_soft_targets: null device pointer");
  if constexpr (std::is_same_v<T, float>) {
    const std::size_t last = layers_.size() - 1;
    cuda::softmax_cross_entropy_soft_accumulate(*cuda_, output_data(last), labels_a, labels_b, lambda, smoothing,
                                                shapes_[0][0], arch_.classes, output_grad_data(last), step_loss,
                                                step_correct);
    for (std::size_t i = last + 1; i-- > 0;) {
      T* dx = i > 0 ? output_grad_data(i - 1) : nullptr;
      layers_[i]->backward(View<const T>{output_grad_data(i), shapes_[i + 1], device_},
                           View<T>{dx, shapes_[i], device_});
    }
  } else {
    (void)labels_b;
    (void)lambda;
    (void)smoothing;
    SER_FAIL("Network::backward_from_device_soft_targets: the CUDA backend is float32 only");
  }
}

template <typename T>
void Network<T>::set_dropout_device_stream(const uint64_t* stream_base) {
  uint64_t slot = 0;
  for (auto* dropout : dropout_layers())
    if (dropout->rate() > 0.0) dropout->set_device_stream(stream_base, slot++);
}

template <typename T>
int Network<T>::dropout_streams_per_step() {
  int streams = 0;
  for (auto* dropout : dropout_layers()) streams += dropout->rate() > 0.0 ? 1 : 0;
  return streams;
}

template <typename T>
std::string Network<T>::activation_name(std::size_t i) const {
  return i + 1 == layers_.size() ? std::string("logits") : layers_[i]->name() + "_out";
}

template <typename T>
std::vector<Dropout<T>*> Network<T>::dropout_layers() {
  std::vector<Dropout<T>*> out;
  for (auto& layer : layers_)
    if (auto* d = dynamic_cast<Dropout<T>*>(layer.get())) out.push_back(d);
  return out;
}

template class Network<float>;
template class Network<double>;

}  // namespace ser::nn
