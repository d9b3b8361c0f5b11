// Prediction with a saved model: features exactly as in training (parameters read from
// the model file), normalised with the stored training statistics, eval-mode forward.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "engine/train/checkpoint.h"
#include "features/logmel.h"

namespace ser::app {

struct Prediction {
  std::filesystem::path file;
  bool ok = false;
  std::string error;                 // when !ok
  int label = -1;
  std::vector<float> probabilities;  // (classes)
  std::string warning;               // when ok, but the input is unlike any training clip
};

// Inputs the model cannot say anything sensible about, though they decode: the whole file
// becomes one 128x128 image (PROTOCOL step 4), so a 0.1 s beep or an hour of audio is
// stretched or squeezed into the frame a 1.5-5 s utterance fills in training.
inline constexpr double kShortestSensibleSeconds = 0.5;
inline constexpr double kLongestSensibleSeconds = 20.0;
inline constexpr int kLowestSensibleRate = 4000;  // Hz: no speech band left below this

std::vector<Prediction> predict_files(train::LoadedModel& loaded, const std::vector<std::filesystem::path>& files);

// train::load_model for a --model option: a file that is not a model says what --model
// expects.
train::LoadedModel load_model_option(const std::filesystem::path& model_file);

// The front-end parameters a model was trained with (stored as JSON in the model file);
// throws ser::Error "model: malformed feature parameters (...)" if they do not parse.
features::LogMelConfig model_feature_config(const train::ModelInfo& info);

}  // namespace ser::app
