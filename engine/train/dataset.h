// Dataset: images and labels held in memory for training and evaluation, and the
// scalar z-normalisation whose statistics come from the TRAINING split only and travel
// inside the model file.
//   images: (M, 1, H, W) float32     labels: (M) class indices in [0, classes)
#pragma once

#include <cstdint>
#include <vector>

#include "engine/core/tensor.h"

namespace ser::train {

struct Dataset {
  Tensor images;                // (M, 1, H, W)
  std::vector<int32_t> labels;  // (M)
  int64_t size() const { return static_cast<int64_t>(labels.size()); }
};

// Rows `indices` of a dataset, copied into a new one (order kept).
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
// and their labels into `labels`. `batch` is reallocated only when its shape changes.
void gather_batch(const Dataset& data, const std::vector<int64_t>& indices, int64_t begin, int64_t count,
                  Tensor& batch, std::vector<int32_t>& labels);

}  // namespace ser::train
