// Batch-norm adaptation over files (see adapt.h).
#include "apps/adapt.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>

#include "apps/predict.h"
#include "engine/core/error.h"
#include "engine/core/progress.h"
#include "engine/train/adapt_bn.h"

namespace ser::app {

void for_each_image_chunk(const train::LoadedModel& loaded, const std::vector<data::ManifestEntry>& entries,
                          const features::LogMelConfig& config, const FeatureOptions& fopts, const char* label,
                          const std::function<void(LabelledImages&)>& use) {
  FeatureOptions quiet = fopts;
  quiet.progress = false;  // one bar over every chunk instead
  ProgressBar bar(static_cast<int64_t>(entries.size()), label);
  std::size_t failed = 0;
  for (std::size_t begin = 0; begin < entries.size(); begin += kImageChunkFiles) {
    const std::size_t end = std::min(begin + kImageChunkFiles, entries.size());
    const std::vector<data::ManifestEntry> chunk(entries.begin() + static_cast<std::ptrdiff_t>(begin),
                                                 entries.begin() + static_cast<std::ptrdiff_t>(end));
    LabelledImages part = extract_labelled(chunk, config, quiet);
    failed += part.failures.size();
    if (part.data.size() > 0) train::normalize_in_place(part.data.images, loaded.info.normalization);
    use(part);
    bar.tick(static_cast<int64_t>(end - begin), fmt::format("({} failed)", failed));
  }
  bar.finish();
}

std::vector<data::ManifestEntry> unlabelled_entries(const std::vector<std::filesystem::path>& files) {
  std::vector<data::ManifestEntry> out;
  out.reserve(files.size());
  for (const auto& f : files) {
    data::ManifestEntry e;
    e.path = f;
    e.corpus = "unlabelled";
    e.label = 0;
    out.push_back(e);
  }
  return out;
}

namespace {
constexpr const char* kMeanSuffix = ".moving_mean";
constexpr const char* kVarSuffix = ".moving_var";

std::vector<std::pair<std::string, Tensor>> cpu_copy(std::vector<std::pair<std::string, Tensor>> state) {
  for (auto& entry : state) entry.second = entry.second.to(Device::CPU);
  return state;
}

const Tensor* find_state(const std::vector<std::pair<std::string, Tensor>>& state, const std::string& name) {
  for (const auto& [n, t] : state)
    if (n == name) return &t;
  return nullptr;
}
}  // namespace

std::vector<LayerShift> batchnorm_shifts(const std::vector<std::pair<std::string, Tensor>>& before,
                                         const std::vector<std::pair<std::string, Tensor>>& after) {
  std::vector<LayerShift> out;
  const std::string suffix = kMeanSuffix;
  for (const auto& [name, old_mean] : before) {
    if (name.size() <= suffix.size() || name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) continue;
    const std::string layer = name.substr(0, name.size() - suffix.size());
    const Tensor* old_var = find_state(before, layer + kVarSuffix);
    const Tensor* new_mean = find_state(after, name);
    SER_CHECK(old_var && new_mean && new_mean->numel() == old_mean.numel() && old_var->numel() == old_mean.numel(),
              "batch-norm layer {}: its statistics do not match between the two states", layer);
    const std::vector<float> m0 = old_mean.to(Device::CPU).to_vector(), v0 = old_var->to(Device::CPU).to_vector(),
                             m1 = new_mean->to(Device::CPU).to_vector();
    double sum = 0;
    for (std::size_t c = 0; c < m0.size(); ++c) sum += std::abs(double(m1[c]) - m0[c]) / std::sqrt(double(v0[c]) + 1e-3);
    out.push_back({layer, m0.empty() ? 0.0 : sum / static_cast<double>(m0.size())});
  }
  return out;
}

std::string format_shifts(const std::vector<LayerShift>& shifts) {
  std::string out;
  for (const auto& s : shifts) out += fmt::format("{}{} {:.2f}", out.empty() ? "" : ", ", s.layer, s.shift);
  return out;
}

AdaptationResult adapt_batchnorm(train::LoadedModel& loaded, const std::vector<data::ManifestEntry>& entries,
                                 const FeatureOptions& fopts) {
  const features::LogMelConfig config = model_feature_config(loaded.info);
  const auto before = cpu_copy(loaded.model->named_state());
  train::BatchNormAdapter adapter(*loaded.model);
  AdaptationResult result;
  for_each_image_chunk(loaded, entries, config, fopts, "adapt batch norm", [&](LabelledImages& part) {
    result.failures.insert(result.failures.end(), part.failures.begin(), part.failures.end());
    result.files += static_cast<std::size_t>(part.data.size());
    if (part.data.size() > 0) adapter.add(part.data.images);
  });
  SER_CHECK(result.files > 0, "batch-norm adaptation: none of the {} files gave an image (every one failed to load)",
            entries.size());
  adapter.finish();
  result.windows = adapter.windows();
  result.shifts = batchnorm_shifts(before, cpu_copy(loaded.model->named_state()));
  return result;
}

train::ModelInfo adapted_model_info(const train::ModelInfo& info, const std::vector<std::string>& data,
                                    const AdaptationResult& result, const std::filesystem::path& from) {
  train::ModelInfo out = info;
  nlohmann::json made = nlohmann::json::parse(out.training_json, nullptr, false);  // no throw: discarded
  if (!made.is_object()) made = nlohmann::json::object();
  made["adapted_bn"] = {{"data", data}, {"files", result.files}, {"windows", result.windows}, {"from", from.string()}};
  out.training_json = made.dump();
  return out;
}

void warn_if_few_adaptation_files(std::size_t files) {
  if (files < kAdaptRecommendedFiles)
    fmt::print(stderr,
               "ser: warning: batch norm adapted on {} files only: statistics of so few recordings are noisy (a few "
               "hundred of the same microphone and room are better)\n",
               files);
}

}  // namespace ser::app
