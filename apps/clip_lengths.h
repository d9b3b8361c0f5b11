// The durations of the clips a run trains on, summarised for the model file
// (train::ClipLengths: median, 95th percentile, min, max): `ser predict` takes its default
// window from them and scores files up to the 95th percentile as one image, like a clip.
// Read from the files' headers (libsndfile's sf_open: no decoding).
#pragma once

#include <filesystem>
#include <vector>

#include "data/data.h"
#include "engine/train/checkpoint.h"

namespace ser::app {

// Summary of `seconds` (any order): median and p95 by linear interpolation between order
// statistics (numpy's default); files = seconds.size(). Empty input: all zero (not recorded).
train::ClipLengths summarize_clip_lengths(std::vector<double> seconds);

// The summary over the entries' audio headers; a file whose header cannot be read (it
// decoded a moment ago) is left out.
train::ClipLengths measure_clip_lengths(const std::vector<data::ManifestEntry>& entries);

}  // namespace ser::app
