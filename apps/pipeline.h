// The steps `ser train`, `ser eval` and `ser demo` share: index corpora into a manifest,
// turn every file into a log-mel image (cached), and assemble datasets from a split.
#pragma once

#include <cstdio>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "data/data.h"
#include "engine/train/dataset.h"
#include "features/extract.h"
#include "features/logmel.h"

namespace ser::app {

struct CorpusOptions {
  std::vector<std::string> data_dirs;  // --data, repeatable
  std::string corpus = "auto";         // --corpus: auto|ravdess|savee|tess|cremad|emodb|renamed|folders (one, or one per --data)
  std::string classes = "auto";        // --classes: auto, 6, 8, or a comma list (resolve_classes)
  std::vector<std::string> labels;     // --labels: label lists (data/user_corpus.h), repeatable
  std::string speaker_pattern;         // --speaker-pattern: a folders corpus's speakers from file names ("" = folders)
};

// The class set of --classes: "auto" is the six seed classes for the published corpora and,
// with a folders corpus or a label list, the classes those name (sorted; after the six when
// published corpora come too); else ClassSet::parse. Reads the folders' layout and the lists.
data::ClassSet resolve_classes(const CorpusOptions& options);

struct FeatureOptions {
  std::filesystem::path cache_dir;  // empty = no cache
  int threads = 0;
  bool progress = true;
  Device device = Device::CPU;
  // Applied to each decoded signal before its log-mel (features::ExtractOptions); set, it
  // turns the cache off. `ser eval --perturb`.
  std::function<std::vector<float>(const std::vector<float>&, int sample_rate, std::size_t file)> waveform_transform;
};

// Indexed corpus with its images: entries[i] <-> images row i (failed files removed).
struct LabelledImages {
  std::vector<data::ManifestEntry> entries;
  train::Dataset data;  // images (M, 1, H, W), labels (M)
  std::vector<std::pair<std::filesystem::path, std::string>> failures;
};

// Throws for a --speaker-pattern without a folders corpus among the --data folders.
data::IndexResult index_from_options(const CorpusOptions& options, const data::ClassSet& classes);

// The --labels lists of which some row has a split column value (data/user_corpus.h).
std::vector<std::string> lists_with_splits(const CorpusOptions& options);

// Creates `dir` (and its parents) for an output option, or throws one line naming the
// option, the folder and the reason (say, a file of that name is in the way).
void ensure_output_folder(const std::filesystem::path& dir, const std::string& option);

// What an index is for: the line print_index_report gives a class without files.
enum class IndexUse {
  Training,    // none: check_classes_have_files refuses the run, naming them
  Evaluation,  // "no files of class 'X' in this set"
  Features,    // a warning: a model trained on these images could never learn it
};

// The corpus table, the first files that were not used (with why), and for `use` a line
// for every class that has no files.
void print_index_report(const data::IndexResult& index, IndexUse use, std::FILE* out = stderr);

// Training: throws one line naming every class without files and the --classes value
// (`classes_option`) that asked for them, with the --classes list the folders do have.
void check_classes_have_files(const data::IndexResult& index, const std::string& classes_option);
// The same after the split: `train_labels` are the training part's labels; a class whose
// files all went to validation or test is refused with the same line, saying so.
void check_classes_have_training_files(const std::vector<std::string>& class_names,
                                       const std::vector<int32_t>& train_labels, const std::string& classes_option);
LabelledImages extract_labelled(const std::vector<data::ManifestEntry>& entries, const features::LogMelConfig& config,
                                const FeatureOptions& options);

// The default feature cache: $SER_CACHE_DIR, else $XDG_CACHE_HOME/ser/features, else
// ~/.cache/ser/features.
std::filesystem::path default_cache_dir();

// The feature cache a --cache value names: "none" -> no cache (empty path), "" -> the
// default folder, anything else -> that folder.
std::filesystem::path cache_dir_from_option(const std::string& option);

}  // namespace ser::app
