// The synthetic corpus the reliability tests train on: small enough for seconds-long
// epochs (3 speakers x 6 classes x 3 one-second clips by default), big enough for every
// split part to be non-empty.
#pragma once

#include <filesystem>

namespace ser::test {

// Writes the corpus under `dir` (RAVDESS layout) and returns `dir`.
std::filesystem::path make_tiny_corpus(const std::filesystem::path& dir, int speakers = 3, int clips_per_class = 3,
                                       double seconds = 1.0);

}  // namespace ser::test
