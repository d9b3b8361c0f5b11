// Dataset: images and labels held in memory for training and evaluation, and the
// scalar z-normalisation whose statistics come from the TRAINING split only and travel
// inside the model file.
//   images: (M, 1, H, W) float32     labels: (M) class indices in [0, classes), or empty
//   for an unlabelled set (prediction only).
#pragma once

#include <cstdint>
#include <vector>

#include "engine/core/tensor.h"

namespace ser::train {

struct Dataset {
  Tensor images;                // (M, 1, H, W)
  std::vector<int32_t> labels;  // (M), or empty when unlabelled
  // (M) the corpus of each image (an index into the run's corpus list), or empty: what
  // corpus-balanced sampling balances over besides the classes (sampling.h).
  std::vector<int32_t> groups;
  // (K*M, C, H, W) or empty: K alternative images of every row (waveform-augmented copies
  // of the same clips); variant k of row i (k in [1, K]) is row (k - 1) * M + i. A training
  // epoch shows each position one of the K + 1 versions, drawn uniformly (Trainer).
  Tensor variants;

  // Number of images M (0 for a default-constructed, empty dataset).
  int64_t size() const { return images.rank() == 0 ? 0 : images.size(0); }
  bool labelled() const { return !labels.empty(); }
  // K: the alternative versions each row has (0 without variants).
  int64_t variant_count() const { return variants.numel() == 0 || size() == 0 ? 0 : variants.size(0) / size(); }
  // Throws ser::Error unless images is (M, C, H, W) and labels are empty or M values, each
  // in [0, classes), and groups empty or M values >= 0. Called by train::evaluate and
  // Trainer::fit before any indexing.
  void check(int classes) const;
};

// Rows `indices` of a dataset (labelled or not, with their variants), copied into a new one (order kept).
Dataset subset(const Dataset& all, const std::vector<int64_t>& indices);

struct Normalization {
  double mean = 0.0;
  double std = 1.0;
};

// One scalar mean and standard deviation over every pixel of `images` (population std,
// as numpy's .std()); a constant set gets std 1 so normalising never divides by zero.
Normalization compute_normalization(const Tensor& images);
// images = (images - mean) / std, in place (CPU tensors).
void normalize_in_place(Tensor& images, const Normalization& norm);

// Copies rows `indices[begin, begin + count)` of `images` into `batch` (count, 1, H, W)
// and their labels into `labels` (left empty for an unlabelled dataset). `batch` is reallocated only when its shape changes.
void gather_batch(const Dataset& data, const std::vector<int64_t>& indices, int64_t begin, int64_t count,
                  Tensor& batch, std::vector<int32_t>& labels);
// The same with a version per position: versions[begin + i] = 0 takes the row itself,
// k in [1, K] its variant k (Dataset::variants).
void gather_batch(const Dataset& data, const std::vector<int64_t>& indices, const std::vector<int32_t>& versions,
                  int64_t begin, int64_t count, Tensor& batch, std::vector<int32_t>& labels);

}  // namespace ser::train
