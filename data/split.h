// Train / validation / test splits of a manifest, seeded with ser::Generator so that the
// same entries and seed give the same split on every machine:
//   seed     stratified 80/20 train/test, validation == test (the notebook's protocol)
//   holdout  stratified train/validation/test (default 70/15/15)
//   speaker  speaker-disjoint train/validation/test: every speaker in exactly one part,
//            speakers assigned greedily so each part's class mix follows its target
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/corpus.h"

namespace ser::data {

enum class Protocol { Seed, Holdout, Speaker };

// "seed|holdout|speaker" (case-insensitive).
Protocol parse_protocol(const std::string& text);
const char* protocol_name(Protocol protocol);

// Indices into the entries, each part sorted ascending. For Protocol::Seed, validation is
// a copy of test.
struct Split {
  std::vector<int64_t> train, validation, test;
};

// For Seed the fractions are fixed (test 0.2) and the arguments are ignored. Stratified
// protocols give each class round(n_c * fraction) files in validation and test. Throws
// ser::Error for fractions outside [0, 1) summing to >= 1, or too few speakers.
Split make_split(const std::vector<ManifestEntry>& entries, Protocol protocol, uint64_t seed,
                 double validation_fraction = 0.15, double test_fraction = 0.15);

}  // namespace ser::data
