// Architecture: the small description a Model is built from. Blocks of
//   Conv2d(3x3, valid) -> +bias -> ReLU -> BatchNorm2d -> MaxPool2d(2x2)      (block "conv-relu-bn")
//   Conv2d(3x3, valid) -> +bias -> BatchNorm2d -> ReLU -> MaxPool2d(2x2)      (block "conv-bn-relu")
// one per entry of conv_channels, then the head: Flatten (C,H,W order; head "flatten") or
// GlobalAvgPool2d (the mean of each channel; head "gap"), one Dense -> ReLU -> Dropout per
// entry of dense_units, and a Dense with `classes` outputs (logits; the softmax is fused
// into the loss). seed() is the Keras notebook's network (~5.0 M parameters at 128x128).
// JSON written by versions before head/block/bn_momentum existed reads as the seed's values.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ser::nn {

// Upper bounds validate() enforces. A model file is untrusted input: these keep every size
// computed from it far inside int range and every allocation it can ask for bounded
// (the seed network: 128x128, at most 512 channels or units, 6 classes, ~5.0 M weights).
constexpr int kMaxImageSide = 4096;             // height, width
constexpr int kMaxChannels = 65536;             // in_channels, each conv_channels and dense_units entry
constexpr int kMaxClasses = 1024;
constexpr int kMaxLayers = 64;                  // entries of conv_channels, of dense_units
constexpr int64_t kMaxFlattenedFeatures = int64_t(1) << 24;  // C*H*W after the conv blocks
constexpr int64_t kMaxWeights = int64_t(1) << 28;            // conv kernels + dense matrices (1 GiB float32)
constexpr int64_t kMaxActivationsPerSample = int64_t(1) << 28;  // largest conv output C*H*W of one image

struct Architecture {
  int in_channels = 1, height = 128, width = 128;
  std::vector<int> conv_channels{32, 64, 128, 256};
  std::vector<int> dense_units{512, 256};
  int classes = 6;
  float dropout = 0.5f;
  std::string block = "conv-relu-bn";  // or "conv-bn-relu"
  std::string head = "flatten";        // or "gap"
  double bn_momentum = 0.99;           // Keras' moving-average momentum, in [0, 1)

  static Architecture seed(int classes = 6);
  // Throws a clear ser::Error for a field that is out of range (see the caps above).
  void validate() const;
  // Features entering the first Dense layer: last conv channels x H x W after the blocks
  // (head "flatten"), or the last conv channels (head "gap").
  // Computed in int64; call after validate() for a value that also fits an int.
  int64_t flattened_features() const;
  // Spatial side after one block: 3x3 valid conv, then 2x2 max-pool (floor).
  static int64_t side_after_block(int64_t side) { return (side - 2) / 2; }
  std::string to_json() const;
  // Parses and validates; a missing field, a non-integer count (2.5, 1e10, "x") or a value
  // outside int range is a ser::Error naming the field and the value.
  static Architecture from_json(const std::string& text);
  bool operator==(const Architecture& other) const;
  bool operator!=(const Architecture& other) const { return !(*this == other); }
};

}  // namespace ser::nn
