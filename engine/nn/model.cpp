// Model (see model.h): arenas as Tensors, named views into them, and the Tensor-level
// forward/backward over Network<float>.
#include "engine/nn/model.h"

#include <algorithm>
#include <set>

#include "engine/core/error.h"
#include "engine/nn/cuda_backend.h"

namespace ser::nn {

Model::Model(const Architecture& arch, Device device) : net_(arch), device_(device) {
  if (device == Device::CUDA) {
    cuda_ = &cuda::default_context();  // throws a clear error without a device or backend
    net_.use_cuda(cuda_);
  }
  params_ = Tensor(Shape{net_.parameter_count()}, device);
  grads_ = Tensor(Shape{net_.parameter_count()}, device);
  state_ = Tensor(Shape{std::max<int64_t>(net_.state_count(), 1)}, device);
  bind_arenas();
}

void Model::bind_arenas() { net_.bind(params_.data(), grads_.data(), state_.data()); }

void Model::initialize(Generator& gen) {
  if (device_ == Device::CPU) {
    net_.initialize(gen);
    return;
  }
  // Initialise host arenas with the same draws as a CPU model, then copy them over.
  Tensor params(params_.shape()), grads(grads_.shape()), state(state_.shape());
  net_.bind(params.data(), grads.data(), state.data());
  net_.initialize(gen);
  bind_arenas();
  cuda::synchronize(*cuda_);  // nothing queued may still read the old values
  params_.copy_from(params);
  state_.copy_from(state);
}

const Tensor& Model::forward(const Tensor& x, Mode mode, Generator* dropout_rng) {
  const Tensor* input = &x;
  if (device_ == Device::CUDA) {
    if (x.device() == Device::CPU) {
      if (x_stage_.shape() != x.shape()) x_stage_ = Tensor(x.shape(), Device::CUDA);
      cuda::synchronize(*cuda_);  // the previous forward may still read the stage
      x_stage_.copy_from(x);
      input = &x_stage_;
    }
    cuda::wait_for_legacy_stream(*cuda_);  // Tensor copies and allocations ran there
  }
  const float* logits = net_.forward(input->data(), input->shape(), mode, dropout_rng, input->device());
  const Shape shape = net_.output_shape(net_.layer_count() - 1);
  if (logits_.shape() != shape) logits_ = Tensor(shape, device_);
  if (device_ == Device::CUDA) {
    cuda::wait_for_legacy_stream(*cuda_);
    cuda::copy_device_to_device(*cuda_, logits_.data(), logits, logits_.bytes());
    cuda::synchronize(*cuda_);  // callers read logits_ with plain (legacy-stream) copies
  } else {
    std::copy(logits, logits + shape.numel(), logits_.data());
  }
  return logits_;
}

double Model::backward_from_labels(const std::vector<int32_t>& labels) {
  const double loss = net_.backward_from_labels(labels.data(), static_cast<int64_t>(labels.size()));
  if (device_ == Device::CUDA) cuda::synchronize(*cuda_);  // gradients are complete on return
  return loss;
}

double Model::backward_from_soft_targets(const std::vector<int32_t>& labels_a, const std::vector<int32_t>& labels_b,
                                         const std::vector<float>& lambda, double smoothing) {
  const auto n = labels_a.size();
  SER_CHECK((labels_b.empty() || labels_b.size() == n) && (lambda.empty() || lambda.size() == n),
            "Model::backward_from_soft_targets: {} labels, {} partner labels and {} weights", n, labels_b.size(),
            lambda.size());
  return net_.backward_from_soft_targets(labels_a.data(), labels_b.empty() ? nullptr : labels_b.data(),
                                         lambda.empty() ? nullptr : lambda.data(), smoothing, static_cast<int64_t>(n));
}

void Model::zero_grad() {
  if (device_ == Device::CUDA) {
    cuda::fill_zero(*cuda_, grads_.data(), grads_.bytes());
    cuda::synchronize(*cuda_);
  } else {
    grads_.fill(0.0f);
  }
}

namespace {
std::vector<std::pair<std::string, Tensor>> views(const std::vector<ParamSpec>& specs, const Tensor& arena) {
  std::vector<std::pair<std::string, Tensor>> out;
  int64_t offset = 0;
  for (const auto& spec : specs) {
    out.emplace_back(spec.name, arena.slice(offset, spec.shape));
    offset += spec.shape.numel();
  }
  return out;
}
}  // namespace

std::vector<std::pair<std::string, Tensor>> Model::named_state() {
  auto out = views(net_.parameter_specs(), params_);
  for (auto& entry : views(net_.state_specs(), state_)) out.push_back(std::move(entry));
  return out;
}

std::vector<std::pair<std::string, Tensor>> Model::named_gradients() {
  return views(net_.parameter_specs(), grads_);
}

void Model::load_named_state(const std::map<std::string, Tensor>& state) {
  auto targets = named_state();
  std::set<std::string> expected;
  for (const auto& [name, view] : targets) expected.insert(name);
  for (const auto& [name, tensor] : state)
    SER_CHECK(expected.count(name) == 1, "load_named_state: unknown tensor \"{}\" for this architecture", name);
  if (device_ == Device::CUDA) cuda::synchronize(*cuda_);  // no queued kernel may still read the arenas
  for (auto& [name, view] : targets) {
    auto it = state.find(name);
    SER_CHECK(it != state.end(), "load_named_state: tensor \"{}\" is missing", name);
    SER_CHECK(it->second.shape() == view.shape(), "load_named_state: tensor \"{}\" has shape {}, expected {}", name,
              it->second.shape().str(), view.shape().str());
    view.copy_from(it->second);
  }
}

Tensor Model::probabilities() const {
  const auto& p = net_.probabilities();
  SER_CHECK(!p.empty(), "Model::probabilities: no loss computed yet");
  return Tensor::from_vector(Shape{static_cast<int64_t>(p.size()) / architecture().classes, architecture().classes},
                             p);
}

void Model::set_allow_tf32(bool allow) {
  if (device_ == Device::CUDA) cuda::set_allow_tf32(*cuda_, allow);
}

void Model::inject_dropout_masks(const std::vector<Tensor>& masks) {
  auto layers = net_.dropout_layers();
  SER_CHECK(masks.empty() || masks.size() == layers.size(), "inject_dropout_masks: {} masks for {} dropout layers",
            masks.size(), layers.size());
  for (std::size_t i = 0; i < layers.size(); ++i) {
    if (masks.empty()) {
      layers[i]->clear_injected_mask();
    } else {
      SER_CHECK(masks[i].is_cpu(), "inject_dropout_masks: mask {} must be a CPU tensor", i);
      layers[i]->inject_mask(masks[i].to_vector());
    }
  }
}

}  // namespace ser::nn
