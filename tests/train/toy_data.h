// The train suite's toy problem: a tiny seed-shaped network and three classes of 16x16
// images told apart by where a bright blob sits, with a little noise (shared by
// test_trainer.cpp and test_recipe.cpp).
#pragma once

#include <vector>

#include "engine/core/random.h"
#include "engine/nn/architecture.h"
#include "engine/train/dataset.h"

namespace ser::test {

inline nn::Architecture tiny() {
  nn::Architecture a;
  a.height = 16;
  a.width = 16;
  a.conv_channels = {4, 8};
  a.dense_units = {16};
  a.classes = 3;
  a.dropout = 0.5f;
  return a;
}

inline train::Dataset toy_data(int n, uint64_t seed) {
  Generator g(seed);
  train::Dataset d;
  d.images = Tensor(Shape{n, 1, 16, 16});
  for (int i = 0; i < n; ++i) {
    const int label = i % 3;
    d.labels.push_back(label);
    std::vector<float> noise(256);
    g.fill_uniform(noise.data(), 256, -0.3f, 0.3f);
    for (int h = 0; h < 16; ++h)
      for (int w = 0; w < 16; ++w) {
        const bool on = (label == 0 && h < 6) || (label == 1 && h >= 10) || (label == 2 && w >= 10 && h >= 5 && h < 11);
        d.images.at(i, 0, h, w) = (on ? 1.0f : 0.0f) + noise[h * 16 + w];
      }
  }
  return d;
}

}  // namespace ser::test
