// The order in which one epoch visits the training set:
//   shuffle   a permutation of all N images (the notebook's, Keras' shuffle=True)
//   balanced  N draws with replacement, each picking a class uniformly among the classes
//             present, then an image of that class uniformly: every class is seen about
//             equally often (RAVDESS has half as many neutral files as of any other class)
// Both take one stream of the run's Generator, so a seed fixes the order.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/core/random.h"

namespace ser::train {

enum class Sampling { Shuffle, Balanced };

Sampling parse_sampling(const std::string& text);  // "shuffle" | "balanced"; ser::Error otherwise
const char* sampling_name(Sampling sampling);

// labels: (N) class indices in [0, classes). Returns the N dataset rows of one epoch.
std::vector<int64_t> epoch_order(Generator& generator, Sampling sampling, const std::vector<int32_t>& labels,
                                 int classes);

}  // namespace ser::train
