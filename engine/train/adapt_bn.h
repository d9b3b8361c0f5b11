// Batch-norm statistics re-estimated on unlabelled images of a new domain (AdaBN: Li, Wang,
// Shi, Liu & Hou 2016, "Revisiting batch normalization for practical domain adaptation").
// A model trained on one corpus keeps its weights; only each BatchNorm2d layer's moving mean
// and variance (C each) are replaced by the statistics of its input over the new images, so
// a microphone's, a room's or a corpus's shift of the activations is taken out at every layer.
// The images carry no labels: nothing is learnt about the classes.
//
// Per batch of network-width windows, a Train-mode forward pass (every BN layer normalises
// with its batch's statistics, as in training) gives each layer's batch mean and biased
// variance; finish() pools them over all windows (E[x^2] - E[x]^2 in float64, each batch
// weighted by its window count) and writes them as the moving statistics. Images wider than
// the network are cut into the evaluation's windows (train::window_offsets). CPU models only.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "engine/core/random.h"
#include "engine/core/tensor.h"
#include "engine/nn/model.h"

namespace ser::train {

class BatchNormAdapter {
 public:
  // The model's moving statistics are untouched until finish(). batch: windows per pass.
  explicit BatchNormAdapter(nn::Model& model, int batch = 32, uint64_t seed = 1);
  // images: (N, 1, H, W) float32, normalised as the model's inputs, W >= the network's width.
  void add(const Tensor& images);
  int64_t windows() const { return windows_; }
  // Writes the pooled statistics into the model; throws when nothing was added.
  void finish();

 private:
  void add_windows(const Tensor& x);  // (n, 1, H, network width)
  void restore_moving_stats();        // the Train-mode passes' running updates undone
  nn::Model& model_;
  int batch_;
  Generator dropout_rng_;  // Train-mode dropout after the last BN layer: needed, without effect here
  std::vector<std::size_t> bn_layers_;          // indices into the network's layers
  std::vector<std::vector<double>> sum_, sum_sq_;  // per BN layer: (C) sums of mean*n and (var+mean^2)*n
  std::map<std::string, Tensor> original_;      // the moving statistics at construction (copies)
  int64_t windows_ = 0;
};

}  // namespace ser::train
