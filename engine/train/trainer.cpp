// Training loop and evaluation. The step order mirrors Keras' fit(): for each batch,
// zero gradients, forward in training mode (batch-norm batch statistics, dropout), mean
// sparse cross-entropy, backward, one Adam update.
#include "engine/train/trainer.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <memory>
#include <optional>

#include <unistd.h>

#include "engine/core/error.h"
#include "engine/core/progress.h"
#include "engine/cpu/augment.h"
#include "engine/cpu/softmax_cross_entropy.h"
#include "engine/train/device_trainer.h"

namespace ser::train {
namespace {

int argmax(const float* row, int n) { return static_cast<int>(std::max_element(row, row + n) - row); }

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// One random crop per epoch position from one Generator stream (drawn after the order and
// the augmentation plan): with probability short_crops a period L uniform in
// [window / 3, window] (else L = window), and an offset uniform in [0, width - L].
std::vector<Crop> draw_crops(Generator& generator, int64_t count, int64_t width, int64_t window, double short_crops) {
  const uint64_t stream = generator.next_stream();
  std::vector<Crop> crops(static_cast<std::size_t>(count));
  auto uniform_int = [&](uint64_t index, int64_t lo, int64_t hi) {  // in [lo, hi]
    const auto draw = static_cast<int64_t>(philox_uniform_at(generator.seed(), stream, index) * (hi - lo + 1));
    return lo + std::min(draw, hi - lo);
  };
  for (int64_t i = 0; i < count; ++i) {
    Crop& c = crops[static_cast<std::size_t>(i)];
    const auto k = static_cast<uint64_t>(i) * 3;
    c.period = window;
    if (short_crops > 0 && philox_uniform_at(generator.seed(), stream, k + 1) < short_crops)
      c.period = uniform_int(k + 2, std::max<int64_t>(1, window / 3), window);
    c.offset = uniform_int(k, 0, width - c.period);
  }
  return crops;
}

}  // namespace

std::vector<int32_t> draw_versions(Generator& generator, int64_t count, int64_t variants) {
  if (variants <= 0) return {};
  const uint64_t stream = generator.next_stream();
  std::vector<int32_t> out(static_cast<std::size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    const auto v = static_cast<int64_t>(philox_uniform_at(generator.seed(), stream, static_cast<uint64_t>(i)) *
                                        static_cast<double>(variants + 1));
    out[static_cast<std::size_t>(i)] = static_cast<int32_t>(std::min(v, variants));
  }
  return out;
}

std::vector<int64_t> window_offsets(int64_t width, int64_t window) {
  SER_CHECK(window >= 1 && window <= width, "window_offsets: window {} must lie in [1, width = {}]", window, width);
  const int64_t hop = std::max<int64_t>(1, window / 2);
  std::vector<int64_t> offsets;
  for (int64_t o = 0; o + window <= width; o += hop) offsets.push_back(o);
  if (offsets.back() + window < width) offsets.push_back(width - window);
  return offsets;
}

void crop_columns(const Tensor& x, const std::vector<int64_t>& offsets, int64_t window, Tensor& out) {
  std::vector<Crop> crops;
  for (int64_t o : offsets) crops.push_back({o, window});
  crop_columns(x, crops, window, out);
}

void crop_columns(const Tensor& x, const std::vector<Crop>& crops, int64_t window, Tensor& out) {
  const Shape& s = x.shape();  // (N, C, H, W)
  SER_CHECK(x.is_cpu() && x.rank() == 4 && static_cast<int64_t>(crops.size()) == s[0],
            "crop_columns: needs a CPU (N, C, H, W) tensor and one offset per image, got {} and {} offsets",
            s.str(), crops.size());
  const Shape want{s[0], s[1], s[2], window};
  if (out.shape() != want || !out.is_cpu()) out = Tensor(want);
  const int64_t rows = s[1] * s[2], width = s[3];
  for (int64_t n = 0; n < s[0]; ++n) {
    const auto [o, period] = crops[static_cast<std::size_t>(n)];
    SER_CHECK(period >= 1 && period <= window && o >= 0 && o + period <= width,
              "crop_columns: crop [{}, {} + {}) of image {} leaves [0, {})", o, o, period, n, width);
    for (int64_t r = 0; r < rows; ++r) {
      const float* src = x.data() + (n * rows + r) * width + o;
      float* dst = out.data() + (n * rows + r) * window;
      for (int64_t c = 0; c < window; c += period)
        std::memcpy(dst + c, src, static_cast<std::size_t>(std::min(period, window - c)) * sizeof(float));
    }
  }
}

std::vector<float> forward_windowed(nn::Model& model, const Tensor& x) {
  const int64_t window = model.architecture().width, width = x.size(3), n = x.size(0);
  if (width == window) return model.forward(x, nn::Mode::Eval).to_vector();
  const std::vector<int64_t> offsets = window_offsets(width, window);
  const int classes = model.architecture().classes;
  std::vector<double> sum(static_cast<std::size_t>(n * classes), 0.0);
  Tensor crop;
  for (int64_t o : offsets) {
    crop_columns(x, std::vector<int64_t>(static_cast<std::size_t>(n), o), window, crop);
    const std::vector<float> logits = model.forward(crop, nn::Mode::Eval).to_vector();
    for (std::size_t i = 0; i < sum.size(); ++i) sum[i] += logits[i];
  }
  std::vector<float> mean(sum.size());
  for (std::size_t i = 0; i < sum.size(); ++i) mean[i] = static_cast<float>(sum[i] / offsets.size());
  return mean;
}

std::map<std::string, Tensor> copy_state(nn::Model& model) {
  std::map<std::string, Tensor> out;
  for (auto& [name, tensor] : model.named_state()) out.emplace(name, tensor.to(Device::CPU));
  return out;
}

Evaluation evaluate(nn::Model& model, const Dataset& data, int batch) {
  SER_CHECK(batch > 0, "evaluation batch size must be positive, got {}", batch);
  const int classes = model.architecture().classes;
  data.check(classes);
  const bool labelled = data.labelled();
  const int64_t n = data.size();
  Evaluation ev;
  ev.predicted.reserve(static_cast<std::size_t>(n));
  ev.probabilities.reserve(static_cast<std::size_t>(n));
  std::vector<int64_t> order(static_cast<std::size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[static_cast<std::size_t>(i)] = i;
  Tensor x;                    // (count, 1, H, W)
  std::vector<int32_t> y;      // (count), empty when unlabelled
  std::vector<float> probs;    // (count, classes)
  double loss_sum = 0;
  int64_t correct = 0;
  for (int64_t begin = 0; begin < n; begin += batch) {
    const int count = static_cast<int>(std::min<int64_t>(batch, n - begin));
    gather_batch(data, order, begin, count, x, y);
    const std::vector<float> logits = forward_windowed(model, x);  // (count, classes)
    probs.resize(static_cast<std::size_t>(count) * classes);
    // The training loss's exact log-sum-exp form: a true class far below the row maximum
    // costs its logit gap, not -log of a probability rounded to 0.
    if (labelled)
      loss_sum += cpu::softmax_cross_entropy(probs.data(), static_cast<float*>(nullptr), logits.data(), y.data(), count,
                                             classes) * count;
    else
      cpu::softmax(probs.data(), logits.data(), count, classes);
    for (int i = 0; i < count; ++i) {
      const float* row = logits.data() + static_cast<int64_t>(i) * classes;
      const int pred = argmax(row, classes);
      ev.predicted.push_back(pred);
      if (labelled) correct += pred == y[static_cast<std::size_t>(i)];
      const float* p = probs.data() + static_cast<int64_t>(i) * classes;
      ev.probabilities.emplace_back(p, p + classes);
    }
  }
  if (labelled && n > 0) {
    ev.loss = loss_sum / n;
    ev.accuracy = double(correct) / n;
  }
  return ev;
}

Trainer::Trainer(nn::Model& model, nn::Adam& adam, Generator& generator, TrainConfig config)
    : model_(model), adam_(adam), generator_(generator), config_(config) {
  SER_CHECK(config_.batch > 0, "batch size must be positive, got {}", config_.batch);
  SER_CHECK(config_.epochs >= 0, "epochs must be >= 0, got {}", config_.epochs);
}

EpochStats Trainer::train_epoch(const Dataset& train, int epoch_number) {
  const auto t0 = std::chrono::steady_clock::now();
  const int64_t n = train.size();
  SER_CHECK(n > 0, "the training set is empty");
  const int classes = model_.architecture().classes;
  train.check(classes);
  SER_CHECK(train.labelled(), "the training set has no labels");
  // The Generator's draws of an epoch, in this order: the order, the augmentation plan (if
  // any), then one stream per dropout layer per step. The device trainer draws the same.
  const std::vector<int64_t> order = epoch_order(generator_, config_.sampling, train.labels, classes, train.groups);
  const Shape& image = train.images.shape();  // (M, 1, H, W)
  SER_CHECK(!config_.augment.enabled() || image[1] == 1,
            "augmentation works on single-channel log-mel images; the training set has {} channels", image[1]);
  // Images wider than the network are cropped first; the plan is for the crops.
  const int64_t window = model_.architecture().width;
  SER_CHECK(image[3] >= window, "training images are {} columns wide, narrower than the network's {}", image[3], window);
  const std::vector<cpu::SampleAugment> plan =
      config_.augment.enabled()
          ? draw_augment_plan(generator_, n, config_.batch, static_cast<int>(image[2]), static_cast<int>(window),
                              config_.augment)
          : std::vector<cpu::SampleAugment>{};
  const bool crops = image[3] > window;
  const std::vector<Crop> crop_plan =
      crops ? draw_crops(generator_, n, image[3], window, config_.short_crops) : std::vector<Crop>{};
  // Waveform-augmented variants: one version per position, from one more stream (drawn only
  // when the dataset has variants, so a run without them draws exactly as before).
  const std::vector<int32_t> versions = draw_versions(generator_, n, train.variant_count());
  const int64_t steps = (n + config_.batch - 1) / config_.batch;
  std::optional<ProgressBar> bar;
  // A live bar on a terminal; in logs the one summary line per epoch (fit) is enough.
  if (config_.progress && ::isatty(::fileno(stderr)) == 1) bar.emplace(steps, fmt::format("epoch {}/{}", epoch_number, config_.epochs));
  Tensor gathered, x, augmented;  // (count, 1, H, W): as stored, cropped to the network, augmented
  std::vector<int32_t> y, y_b;  // (count): each image's label, its mixup partner's
  std::vector<float> lambda;    // (count): weight of each image's own label
  double loss_sum = 0;
  int64_t correct = 0, seen = 0;
  for (int64_t step = 0; step < steps; ++step) {
    const int64_t begin = step * config_.batch;
    const int64_t count = std::min<int64_t>(config_.batch, n - begin);
    Tensor& target = crops ? gathered : x;
    if (versions.empty()) gather_batch(train, order, begin, count, target, y);
    else gather_batch(train, order, versions, begin, count, target, y);
    if (crops)
      crop_columns(gathered, std::vector<Crop>(crop_plan.begin() + begin, crop_plan.begin() + begin + count), window, x);
    const Tensor* input = &x;
    if (!plan.empty()) {
      if (augmented.shape() != x.shape()) augmented = Tensor(x.shape());
      cpu::augment_images(augmented.data(), x.data(), plan.data() + begin, static_cast<int>(count),
                          static_cast<int>(image[2]), static_cast<int>(window));
      input = &augmented;
    }
    model_.zero_grad();
    const std::vector<float> logits = model_.forward(*input, nn::Mode::Train, &generator_).to_vector();
    for (int64_t i = 0; i < count; ++i) correct += argmax(logits.data() + i * classes, classes) == y[i];
    double loss = 0.0;
    if (config_.soft_targets()) {
      y_b.resize(static_cast<std::size_t>(count));
      lambda.resize(static_cast<std::size_t>(count));
      for (int64_t i = 0; i < count; ++i) {
        const cpu::SampleAugment* a = plan.empty() ? nullptr : &plan[static_cast<std::size_t>(begin + i)];
        y_b[i] = a ? y[static_cast<std::size_t>(a->partner)] : y[i];
        lambda[i] = a ? a->lambda : 1.0f;
      }
      loss = model_.backward_from_soft_targets(y, y_b, lambda, config_.label_smoothing);
    } else {
      loss = model_.backward_from_labels(y);
    }
    SER_CHECK(std::isfinite(loss), "training diverged: the loss became {} at epoch {}, step {}", loss, epoch_number,
              step + 1);
    adam_.step(model_.parameters(), model_.gradients());
    loss_sum += loss * count;
    seen += count;
    const double elapsed = seconds_since(t0);
    if (bar)
      bar->tick(1, fmt::format("loss {:.4f} acc {:.4f} {:.0f} samples/s", loss_sum / seen, double(correct) / seen,
                            seen / std::max(elapsed, 1e-9)));
  }
  if (bar) bar->finish();
  EpochStats stats;
  stats.epoch = epoch_number;
  stats.train_loss = loss_sum / n;
  stats.train_accuracy = double(correct) / n;
  stats.seconds = seconds_since(t0);
  stats.samples_per_second = n / std::max(stats.seconds, 1e-9);
  return stats;
}

void Trainer::fit(const Dataset& train, const Dataset& validation, TrainState& state,
                  const std::function<void(const TrainState&)>& on_epoch_end) {
  const int classes = model_.architecture().classes;
  train.check(classes);
  validation.check(classes);
  SER_CHECK(train.size() > 0 && train.labelled(), "the training set is empty or has no labels");
  SER_CHECK(validation.size() > 0 && validation.labelled(),
            "the validation set is empty or has no labels: early stopping needs one");
  std::unique_ptr<DeviceTrainer> device_trainer;
  // Random crops (images wider than the network) are cut on the host: such a run takes the
  // host loop, one synchronised Model call at a time, on either device.
  // So are waveform-augmented variants (Dataset::variants): the device trainer holds one
  // version of each image.
  const bool crops = train.images.size(3) > model_.architecture().width;
  if (model_.device() == Device::CUDA && config_.device_resident && !crops && train.variant_count() == 0 && state.epochs_done < config_.epochs &&
      !state.stopped_early) {
    DeviceTrainerOptions options;
    options.cuda_graphs = config_.cuda_graphs;
    device_trainer = std::make_unique<DeviceTrainer>(model_, adam_, generator_, train, config_, options);
  }
  while (state.epochs_done < config_.epochs && !state.stopped_early) {
    const int epoch = state.epochs_done + 1;
    EpochStats stats = device_trainer ? device_trainer->train_epoch(epoch) : train_epoch(train, epoch);
    const Evaluation val = evaluate(model_, validation, config_.eval_batch);
    stats.val_loss = val.loss;
    stats.val_accuracy = val.accuracy;
    state.history.push_back(stats);
    state.epochs_done = stats.epoch;
    if (stats.val_accuracy > state.best_val_accuracy) {  // Keras: strictly better, min_delta 0
      state.best_val_accuracy = stats.val_accuracy;
      state.best_epoch = stats.epoch;
      state.best_weights = copy_state(model_);
      state.epochs_without_improvement = 0;
    } else if (++state.epochs_without_improvement >= config_.patience) {
      state.stopped_early = true;
    }
    if (config_.progress)
      fmt::print(stderr, "epoch {:>3}: loss {:.4f} acc {:.4f} | val loss {:.4f} acc {:.4f}{} | {:.1f} s\n", stats.epoch,
                 stats.train_loss, stats.train_accuracy, stats.val_loss, stats.val_accuracy,
                 state.best_epoch == stats.epoch ? " (best)" : "", stats.seconds);
    if (on_epoch_end) on_epoch_end(state);
  }
  if (config_.keep_best && !state.best_weights.empty()) model_.load_named_state(state.best_weights);
}

}  // namespace ser::train
