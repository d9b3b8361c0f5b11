// BatchNormAdapter (see adapt_bn.h): Train-mode forward passes over unlabelled windows,
// each BN layer's batch statistics pooled, then written as its moving statistics.
#include "engine/train/adapt_bn.h"

#include <map>
#include <string>

#include "engine/core/error.h"
#include "engine/nn/layers.h"
#include "engine/train/trainer.h"

namespace ser::train {

BatchNormAdapter::BatchNormAdapter(nn::Model& model, int batch, uint64_t seed)
    : model_(model), batch_(batch), dropout_rng_(seed) {
  SER_CHECK(model.device() == Device::CPU, "BatchNormAdapter: CPU models only");
  SER_CHECK(batch >= 2, "BatchNormAdapter: a batch of {} windows has no variance (need >= 2)", batch);
  auto& net = model.network();
  for (std::size_t i = 0; i < net.layer_count(); ++i)
    if (dynamic_cast<nn::BatchNorm2d<float>*>(&net.layer(i)) != nullptr) bn_layers_.push_back(i);
  SER_CHECK(!bn_layers_.empty(), "BatchNormAdapter: the network has no batch-norm layer to adapt");
  for (auto& [name, view] : model.named_state())
    if (name.find(".moving_") != std::string::npos) original_.emplace(name, view.to(Device::CPU));
  for (std::size_t i : bn_layers_) {
    const auto& bn = dynamic_cast<nn::BatchNorm2d<float>&>(net.layer(i));
    const std::size_t c = bn.state_specs().front().shape.numel();
    sum_.emplace_back(c, 0.0);
    sum_sq_.emplace_back(c, 0.0);
  }
}

void BatchNormAdapter::add(const Tensor& images) {
  SER_CHECK(images.device() == Device::CPU && images.rank() == 4,
            "BatchNormAdapter::add: expected CPU images (N, 1, H, W), got {}", images.shape().str());
  const int64_t window = model_.architecture().width, width = images.size(3), n = images.size(0);
  SER_CHECK(width >= window, "BatchNormAdapter::add: images {} columns wide, narrower than the network's {}", width,
            window);
  Tensor crop;
  for (int64_t begin = 0; begin < n; begin += batch_) {
    const int64_t count = std::min<int64_t>(batch_, n - begin);
    if (count < 2) break;  // a lone last image has no batch variance
    const int64_t per_image = images.numel() / n;
    const Tensor part = images.slice(begin * per_image, Shape{count, images.size(1), images.size(2), width});
    if (width == window) {
      add_windows(part);
      continue;
    }
    for (int64_t o : window_offsets(width, window)) {
      crop_columns(part, std::vector<int64_t>(static_cast<std::size_t>(count), o), window, crop);
      add_windows(crop);
    }
  }
  restore_moving_stats();
}

void BatchNormAdapter::restore_moving_stats() {
  for (auto& [name, view] : model_.named_state()) {
    auto it = original_.find(name);
    if (it != original_.end()) view.copy_from(it->second);
  }
}

void BatchNormAdapter::add_windows(const Tensor& x) {
  model_.forward(x, nn::Mode::Train, &dropout_rng_);
  const auto n = static_cast<double>(x.size(0));
  auto& net = model_.network();
  for (std::size_t k = 0; k < bn_layers_.size(); ++k) {
    const auto& bn = dynamic_cast<nn::BatchNorm2d<float>&>(net.layer(bn_layers_[k]));
    const std::vector<float>& mean = bn.batch_mean();
    const std::vector<float>& var = bn.batch_var();
    for (std::size_t c = 0; c < mean.size(); ++c) {
      sum_[k][c] += n * mean[c];
      sum_sq_[k][c] += n * (double(var[c]) + double(mean[c]) * double(mean[c]));
    }
  }
  windows_ += x.size(0);
}

void BatchNormAdapter::finish() {
  SER_CHECK(windows_ > 0, "BatchNormAdapter: no images were added (need at least 2)");
  std::map<std::string, Tensor> state;
  for (auto& [name, view] : model_.named_state()) state.emplace(name, view.to(Device::CPU));
  auto& net = model_.network();
  for (std::size_t k = 0; k < bn_layers_.size(); ++k) {
    const std::string& layer = net.layer(bn_layers_[k]).name();
    std::vector<float> mean(sum_[k].size()), var(sum_[k].size());
    for (std::size_t c = 0; c < mean.size(); ++c) {
      const double m = sum_[k][c] / double(windows_);
      mean[c] = static_cast<float>(m);
      var[c] = static_cast<float>(std::max(0.0, sum_sq_[k][c] / double(windows_) - m * m));
    }
    state.at(layer + ".moving_mean") = Tensor::from_vector(Shape{static_cast<int64_t>(mean.size())}, mean);
    state.at(layer + ".moving_var") = Tensor::from_vector(Shape{static_cast<int64_t>(var.size())}, var);
  }
  model_.load_named_state(state);
}

}  // namespace ser::train
