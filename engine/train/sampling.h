// The order in which one epoch visits the training set:
//   shuffle   a permutation of all N images (the notebook's, Keras' shuffle=True)
//   balanced  N draws with replacement, each picking a class uniformly among the classes
//             present, then an image of that class uniformly: every class is seen about
//             equally often (RAVDESS has half as many neutral files as of any other class)
//   corpus-balanced  the same over (corpus, class) pairs: every corpus and every class about
//             equally often, whatever their sizes (TESS has 2.7x RAVDESS's files); with
//             one corpus (or no corpus groups) it is `balanced`, draw for draw
// Both take one stream of the run's Generator, so a seed fixes the order.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/core/random.h"

namespace ser::train {

enum class Sampling { Shuffle, Balanced, CorpusBalanced };

Sampling parse_sampling(const std::string& text);  // "shuffle" | "balanced" | "corpus-balanced"; ser::Error otherwise
const char* sampling_name(Sampling sampling);

// labels: (N) class indices in [0, classes); groups: (N) corpus indices >= 0, or empty (one
// corpus). Returns the N dataset rows of one epoch.
std::vector<int64_t> epoch_order(Generator& generator, Sampling sampling, const std::vector<int32_t>& labels,
                                 int classes, const std::vector<int32_t>& groups = {});

}  // namespace ser::train
