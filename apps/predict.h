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
};

std::vector<Prediction> predict_files(train::LoadedModel& loaded, const std::vector<std::filesystem::path>& files);

// train::load_model for a --model option: a file that is not a model says what --model
// expects.
train::LoadedModel load_model_option(const std::filesystem::path& model_file);

// The front-end parameters a model was trained with (stored as JSON in the model file);
// throws ser::Error "model: malformed feature parameters (...)" if they do not parse.
features::LogMelConfig model_feature_config(const train::ModelInfo& info);

}  // namespace ser::app
