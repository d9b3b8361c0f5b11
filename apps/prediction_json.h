// One prediction result as JSON: the line `ser predict --json` prints for a file, and the
// dict the Python package returns (python/ser). Fields, in order:
//   file, then either error, or seconds, emotion ("silent" when every window is), probabilities
//   {class: p} (absent when silent), warning (when any), whole, window and hop in seconds (a
//   timeline), windows [{start, end, silent, probabilities}], segments [{start, end, emotion,
//   windows, probabilities}]. Times are seconds; probabilities are per class name.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "apps/predict.h"

namespace ser::app {

// The CLI's precision: 4 decimals is enough for a probability, and a one-hour timeline stays
// a few hundred kB.
inline constexpr int kJsonDecimals = 4;

// decimals >= 0 rounds times and probabilities to that many decimals; < 0 keeps them as
// computed (float32 probabilities, double times), for callers that want every digit.
nlohmann::ordered_json prediction_json(const FilePrediction& r, const std::vector<std::string>& class_names,
                                       const WindowSettings& ws, int decimals = kJsonDecimals);

}  // namespace ser::app
