// predict_files: extraction + normalisation + evaluation, results in input order.
#include "apps/predict.h"

#include "engine/core/error.h"
#include "features/extract.h"
#include "features/logmel.h"

namespace ser::app {

train::LoadedModel load_model_option(const std::filesystem::path& model_file) {
  try {
    return train::load_model(model_file);
  } catch (const Error& e) {
    throw Error(e.message() + " (--model takes the model.safetensors that `ser train` writes in its run folder)");
  }
}

features::LogMelConfig model_feature_config(const train::ModelInfo& info) {
  try {
    return features::LogMelConfig::from_json(nlohmann::json::parse(info.feature_config_json));
  } catch (const nlohmann::json::exception& e) {
    SER_FAIL("model: malformed feature parameters ({})", e.what());
  }
}

std::vector<Prediction> predict_files(train::LoadedModel& loaded, const std::vector<std::filesystem::path>& files) {
  const features::LogMelConfig config = model_feature_config(loaded.info);
  features::ExtractOptions opts;
  opts.progress = false;
  features::ExtractResult extracted = features::extract_images(files, config, opts);
  std::vector<Prediction> out(files.size());
  for (std::size_t i = 0; i < files.size(); ++i) out[i].file = files[i];
  for (const auto& [path, why] : extracted.failures)
    for (auto& p : out)
      if (p.file == path && p.error.empty()) p.error = why;
  if (extracted.source_index.empty()) return out;
  train::Dataset data{std::move(extracted.images), {}};
  train::normalize_in_place(data.images, loaded.info.normalization);
  const train::Evaluation ev = train::evaluate(*loaded.model, data);
  for (std::size_t i = 0; i < extracted.source_index.size(); ++i) {
    Prediction& p = out[static_cast<std::size_t>(extracted.source_index[i])];
    p.ok = true;
    p.label = ev.predicted[i];
    p.probabilities = ev.probabilities[i];
  }
  return out;
}

}  // namespace ser::app
