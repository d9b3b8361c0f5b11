// Network<T> (see network.h): builds the layer sequence, lays out the arenas, and runs
// forward / loss / backward through the layers' checking entries.
#include "engine/nn/network.h"

#include <cmath>

#include "engine/core/error.h"
#include "engine/cpu/softmax_cross_entropy.h"

namespace ser::nn {

template <typename T>
Network<T>::Network(const Architecture& arch) : arch_(arch) {
  arch_.validate();
  int channels = arch_.in_channels;
  for (std::size_t b = 0; b < arch_.conv_channels.size(); ++b) {
    const std::string i = std::to_string(b + 1);
    add(std::make_unique<Conv2d<T>>("conv" + i, channels, arch_.conv_channels[b], 3, 3));
    add(std::make_unique<ReLU<T>>("relu" + i));
    add(std::make_unique<BatchNorm2d<T>>("bn" + i, arch_.conv_channels[b]));
    add(std::make_unique<MaxPool2d<T>>("pool" + i));
    channels = arch_.conv_channels[b];
  }
  add(std::make_unique<Flatten<T>>("flatten"));
  // Feature count after the blocks (validate() guaranteed it is positive).
  int h = arch_.height, w = arch_.width;
  for (std::size_t b = 0; b < arch_.conv_channels.size(); ++b) h = (h - 2) / 2, w = (w - 2) / 2;
  int features = channels * h * w;
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
  shapes_.assign(1, x_shape);
  for (auto& layer : layers_) shapes_.push_back(layer->output_shape(shapes_.back()));
  outputs_.resize(layers_.size());
  output_grads_.resize(layers_.size());
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    outputs_[i].assign(static_cast<std::size_t>(shapes_[i + 1].numel()), T(0));
    output_grads_[i].assign(static_cast<std::size_t>(shapes_[i + 1].numel()), T(0));
  }
}

template <typename T>
const T* Network<T>::forward(const T* x, const Shape& x_shape, Mode mode, Generator* rng, Device device) {
  SER_CHECK(params_ != nullptr, "Network::forward: arenas not bound");
  SER_CHECK(x_shape.rank() == 4 && x_shape[1] == arch_.in_channels && x_shape[2] == arch_.height &&
                x_shape[3] == arch_.width && x_shape[0] >= 1,
            "Network::forward: input shape {} does not match the architecture's (N, {}, {}, {})", x_shape.str(),
            arch_.in_channels, arch_.height, arch_.width);
  resize_buffers(x_shape);
  for (auto* dropout : dropout_layers()) dropout->set_generator(rng);
  const T* in = x;
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    layers_[i]->forward(View<const T>{in, shapes_[i], i == 0 ? device : Device::CPU},
                        View<T>{outputs_[i].data(), shapes_[i + 1], Device::CPU}, mode);
    in = outputs_[i].data();
  }
  input_ = x;
  input_device_ = device;
  has_forward_ = true;
  return outputs_.back().data();
}

template <typename T>
double Network<T>::backward_from_labels(const int32_t* labels, int64_t count) {
  SER_CHECK(has_forward_, "Network::backward_from_labels: no forward pass to differentiate");
  const int64_t N = shapes_[0][0];
  SER_CHECK(count == N, "Network::backward_from_labels: {} labels for a batch of {}", count, N);
  for (int64_t n = 0; n < N; ++n)
    SER_CHECK(labels[n] >= 0 && labels[n] < arch_.classes, "Network::backward_from_labels: label {} at {} is not in [0, {})",
              labels[n], n, arch_.classes);
  probs_.resize(static_cast<std::size_t>(N * arch_.classes));
  const double loss = cpu::softmax_cross_entropy(probs_.data(), output_grads_.back().data(), outputs_.back().data(),
                                                 labels, static_cast<int>(N), arch_.classes);
  if (want_input_gradient_) input_gradient_.assign(static_cast<std::size_t>(shapes_[0].numel()), T(0));
  for (std::size_t i = layers_.size(); i-- > 0;) {
    T* dx = i > 0 ? output_grads_[i - 1].data() : (want_input_gradient_ ? input_gradient_.data() : nullptr);
    layers_[i]->backward(View<const T>{output_grads_[i].data(), shapes_[i + 1], Device::CPU},
                         View<T>{dx, shapes_[i], i == 0 ? input_device_ : Device::CPU});
  }
  return loss;
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
