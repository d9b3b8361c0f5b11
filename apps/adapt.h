// Unsupervised batch-norm adaptation of a model to a set of recordings (AdaBN, see
// engine/train/adapt_bn.h), as `ser adapt`, `ser eval --adapt-bn` and `ser predict
// --adapt-bn` do it: each file's image is made as evaluation makes it (the model's front end,
// cached features, the model's normalisation), cut into the network's windows, and every
// BatchNorm2d layer's moving mean and variance replaced by their statistics over all windows.
// Labels are never read. Also the chunked image loop `ser eval` shares with it.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "apps/pipeline.h"
#include "data/corpus.h"
#include "engine/train/checkpoint.h"
#include "features/logmel.h"

namespace ser::app {

// Files per chunk of for_each_image_chunk (eval and adaptation): a chunk's images (64-128 KB
// each) are all that is held of a corpus.
constexpr std::size_t kImageChunkFiles = 512;

// The entries' images chunk by chunk (cached features, normalised as the model's inputs),
// each chunk handed to `use` with its failures; one progress bar labelled `label` over all.
void for_each_image_chunk(const train::LoadedModel& loaded, const std::vector<data::ManifestEntry>& entries,
                          const features::LogMelConfig& config, const FeatureOptions& fopts, const char* label,
                          const std::function<void(LabelledImages&)>& use);

// Manifest entries for unlabelled files (label 0, corpus "unlabelled", speaker ""), for the
// image pipeline, which needs a label slot: it is never used by adaptation.
std::vector<data::ManifestEntry> unlabelled_entries(const std::vector<std::filesystem::path>& files);

// How far a batch-norm layer's inputs moved: the mean over its channels of
// |new mean - old mean| / sqrt(old variance + 1e-3), i.e. in the training corpus's standard
// deviations. Near 0: these recordings look like the training corpus at that layer.
struct LayerShift {
  std::string layer;  // e.g. "layers.1" (the state name without .moving_mean)
  double shift = 0;
};

struct AdaptationResult {
  int64_t windows = 0;  // network-width windows the statistics are pooled over
  std::vector<LayerShift> shifts;  // one per batch-norm layer, in network order
  std::size_t files = 0;  // files that gave an image
  std::vector<std::pair<std::filesystem::path, std::string>> failures;  // files that did not, with why
};

// The shifts between two named states of one model (moving_mean / moving_var entries).
std::vector<LayerShift> batchnorm_shifts(const std::vector<std::pair<std::string, Tensor>>& before,
                                         const std::vector<std::pair<std::string, Tensor>>& after);
// "layers.1 0.42, layers.5 1.10, ..." (two decimals).
std::string format_shifts(const std::vector<LayerShift>& shifts);

// Replaces loaded.model's batch-norm statistics by those of the entries' windows. Throws when
// no file gives an image. Prints nothing but the progress bar (fopts.progress is ignored).
AdaptationResult adapt_batchnorm(train::LoadedModel& loaded, const std::vector<data::ManifestEntry>& entries,
                                 const FeatureOptions& fopts);

// loaded's ModelInfo with what it was adapted on recorded in its training JSON
// ("adapted_bn": {"data", "files", "windows", "from"}), for save_model.
train::ModelInfo adapted_model_info(const train::ModelInfo& info, const std::vector<std::string>& data,
                                    const AdaptationResult& result, const std::filesystem::path& from);

// Below this many files the pooled statistics are noisy: prints a warning saying so.
constexpr std::size_t kAdaptRecommendedFiles = 100;
void warn_if_few_adaptation_files(std::size_t files);

}  // namespace ser::app
