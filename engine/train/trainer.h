// The training loop: shuffled mini-batches, forward -> softmax cross-entropy -> backward
// -> Adam, per-epoch validation, Keras-style early stopping on validation accuracy that
// keeps (and finally restores) the best weights. All state needed to resume an
// interrupted run bit for bit lives in TrainState + the model + Adam + the Generator.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "engine/core/random.h"
#include "engine/nn/adam.h"
#include "engine/nn/model.h"
#include "engine/train/augment_plan.h"
#include "engine/train/dataset.h"
#include "engine/train/epoch_stats.h"
#include "engine/train/sampling.h"

namespace ser::train {

struct TrainConfig {
  int epochs = 50;
  int batch = 16;
  int patience = 10;  // epochs without a strictly better validation accuracy before stopping
  int eval_batch = 64;
  bool progress = true;
  // A model on CUDA trains with the DeviceTrainer (data resident on the GPU, no host sync
  // per step) and, within it, CUDA-graph replays of the step. Off: the host loop below,
  // one synchronised Model call at a time (slower; kept for debugging and tests).
  bool device_resident = true;
  bool cuda_graphs = true;
  // What the recipe (recipe.h) adds to the notebook's loop; the defaults are the notebook's.
  Sampling sampling = Sampling::Shuffle;  // the epoch's order
  AugmentConfig augment;                  // applied to each training batch (augment_plan.h)
  double label_smoothing = 0.0;           // soft targets (with mixup: cpu::softmax_cross_entropy_soft)
  double short_crops = 0.0;  // images wider than the network: the share of crops with a short period (Crop)
  bool keep_best = true;  // true: the best validation epoch's weights are the result; false: the last epoch's
  // Whether a step needs soft targets rather than hard labels.
  bool soft_targets() const { return label_smoothing > 0.0 || augment.mixes(); }
};

struct TrainState {
  int epochs_done = 0;
  int best_epoch = 0;                // 1-based; 0 = none yet
  double best_val_accuracy = -1;
  int epochs_without_improvement = 0;
  bool stopped_early = false;
  std::vector<EpochStats> history;
  std::map<std::string, Tensor> best_weights;  // deep copies of Model::named_state()
};

struct Evaluation {
  double loss = 0;
  double accuracy = 0;
  std::vector<int> predicted;               // (M)
  std::vector<std::vector<float>> probabilities;  // (M, classes)
};

// Eval-mode pass over `data` in batches. Labels may be empty (prediction only: loss 0).
// data.check(classes) first: a label outside [0, classes) or a label count other than the
// image count is a ser::Error. The loss is the mean of logsumexp(z) - z[label] in double
// (the training loss's formula); probabilities are softmax(z) rounded to float.
Evaluation evaluate(nn::Model& model, const Dataset& data, int batch = 64);

class Trainer {
 public:
  Trainer(nn::Model& model, nn::Adam& adam, Generator& generator, TrainConfig config);

  // One pass over `train` in a fresh order (config.sampling), each batch augmented per
  // config.augment; returns mean loss and accuracy (accuracy against each image's own label).
  EpochStats train_epoch(const Dataset& train, int epoch_number);

  // Runs epochs from state.epochs_done + 1 to config.epochs (on the GPU through a
  // DeviceTrainer when the model is on CUDA and config.device_resident), validating after each and
  // calling on_epoch_end(state) (e.g. to write a checkpoint). Stops early after
  // `patience` epochs without improvement. At the end the best weights are loaded into
  // the model (config.keep_best), or the last epoch's are kept.
  void fit(const Dataset& train, const Dataset& validation, TrainState& state,
           const std::function<void(const TrainState&)>& on_epoch_end = {});

 private:
  nn::Model& model_;
  nn::Adam& adam_;
  Generator& generator_;
  TrainConfig config_;
};

// Images wider than the network's input (the fixed time axis, features/logmel.h) are seen
// through windows of the network's width W: a random crop per image and epoch in training,
// and in evaluation every window at offsets 0, W/2, W, ... (the last flush with the image's
// end), whose logits are averaged: one clip, one decision.
// Offsets of the evaluation windows of an image `width` columns wide (window <= width).
std::vector<int64_t> window_offsets(int64_t width, int64_t window);
// Columns [offset[n], offset[n] + window) of each image n of x (N, C, H, W) -> (N, C, H, window).
void crop_columns(const Tensor& x, const std::vector<int64_t>& offsets, int64_t window, Tensor& out);
// A training crop: columns [offset, offset + period) repeated to fill the window (period =
// window: a plain crop). Short periods show the network what a short clip tiled by the
// front end looks like (a 1 s word fills a 2 s window twice).
struct Crop {
  int64_t offset = 0, period = 0;
};
void crop_columns(const Tensor& x, const std::vector<Crop>& crops, int64_t window, Tensor& out);
// Waveform-augmented variants (Dataset::variants): the version each of `count` epoch
// positions shows, 0 (the image itself) .. variants, uniform, from one generator stream;
// empty, drawing nothing, when variants == 0.
std::vector<int32_t> draw_versions(Generator& generator, int64_t count, int64_t variants);
// Eval-mode logits (N, classes) of x (N, C, H, W >= the network's width), averaged over the
// windows of window_offsets (one window, the plain forward pass, when W is the network's).
std::vector<float> forward_windowed(nn::Model& model, const Tensor& x);

// Deep copies of a model's named state (for best weights and checkpoints).
std::map<std::string, Tensor> copy_state(nn::Model& model);

}  // namespace ser::train
