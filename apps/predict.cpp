// predict_files: extraction + normalisation + evaluation, results in input order.
#include "apps/predict.h"

#include <fmt/format.h>

#include <algorithm>

#include "engine/core/error.h"
#include "features/audio.h"
#include "features/extract.h"
#include "features/logmel.h"

namespace ser::app {

namespace {
// Why a decodable file is still no input for the model, or "" (see predict.h's limits).
// images: (N, 1, H, W) log-mel images before normalisation; row `row` is this file's.
std::string input_warning(const std::filesystem::path& file, const Tensor& images, int64_t row) {
  const int64_t hw = images.shape()[2] * images.shape()[3];
  const float* image = images.data() + row * hw;
  if (std::all_of(image, image + hw, [&](float v) { return v == image[0]; }))
    return "no signal (silent or constant): the prediction means nothing";
  features::AudioHeader header;
  try {
    header = features::read_audio_header(file);
  } catch (const Error&) {
    return "";  // it decoded a moment ago; if its header cannot be read now, no warning, no failure
  }
  if (header.sample_rate < kLowestSensibleRate)
    return fmt::format("recorded at {} Hz: too little bandwidth for speech, the prediction means little",
                       header.sample_rate);
  if (header.seconds() < kShortestSensibleSeconds)
    return fmt::format("only {:.3f} s long: stretched over the whole image, shorter than any training utterance",
                       header.seconds());
  if (header.seconds() > kLongestSensibleSeconds)
    return fmt::format("{:.0f} s long: squeezed into one image; cut it into utterances of a few seconds",
                       header.seconds());
  return "";
}
}  // namespace

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
  std::vector<std::string> warnings(extracted.source_index.size());
  for (std::size_t i = 0; i < warnings.size(); ++i)
    warnings[i] = input_warning(files[static_cast<std::size_t>(extracted.source_index[i])], extracted.images,
                                static_cast<int64_t>(i));
  train::Dataset data{std::move(extracted.images), {}};
  train::normalize_in_place(data.images, loaded.info.normalization);
  const train::Evaluation ev = train::evaluate(*loaded.model, data);
  for (std::size_t i = 0; i < extracted.source_index.size(); ++i) {
    Prediction& p = out[static_cast<std::size_t>(extracted.source_index[i])];
    p.warning = warnings[i];
    p.ok = true;
    p.label = ev.predicted[i];
    p.probabilities = ev.probabilities[i];
  }
  return out;
}

}  // namespace ser::app
