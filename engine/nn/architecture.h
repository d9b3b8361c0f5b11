// Architecture: the small description a Model is built from. Blocks of
//   Conv2d(3x3, valid) -> +bias -> ReLU -> BatchNorm2d -> MaxPool2d(2x2)
// one per entry of conv_channels, then Flatten (C,H,W order), one Dense -> ReLU -> Dropout
// per entry of dense_units, and a Dense with `classes` outputs (logits; the softmax is
// fused into the loss). seed() is the Keras notebook's network (~5.0 M parameters at 128x128).
#pragma once

#include <string>
#include <vector>

namespace ser::nn {

struct Architecture {
  int in_channels = 1, height = 128, width = 128;
  std::vector<int> conv_channels{32, 64, 128, 256};
  std::vector<int> dense_units{512, 256};
  int classes = 6;
  float dropout = 0.5f;

  static Architecture seed(int classes = 6);
  // Throws a clear ser::Error for a field that is missing, of the wrong type, or out of range.
  void validate() const;
  std::string to_json() const;
  static Architecture from_json(const std::string& text);
  bool operator==(const Architecture& other) const;
  bool operator!=(const Architecture& other) const { return !(*this == other); }
};

}  // namespace ser::nn
