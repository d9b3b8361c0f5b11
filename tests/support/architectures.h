// Small seed-like architectures for tests that train or compare whole models: the seed
// network's layer sequence (conv blocks, dense + ReLU + dropout 0.5, output) at 32x32 with
// few channels, so a step costs milliseconds on either device.
#pragma once

#include <vector>

#include "engine/nn/architecture.h"

namespace ser::test {

// 1x32x32 input, conv blocks of `conv_channels`, one dense layer of `dense_units`, 4 classes.
inline nn::Architecture small_architecture(std::vector<int> conv_channels = {4, 8}, int dense_units = 16) {
  nn::Architecture arch;
  arch.height = 32;
  arch.width = 32;
  arch.conv_channels = std::move(conv_channels);
  arch.dense_units = {dense_units};
  arch.classes = 4;
  return arch;
}

}  // namespace ser::test
