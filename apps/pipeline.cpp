// Corpus indexing and feature extraction glue for the command line.
#include "apps/pipeline.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <set>

#include "engine/core/error.h"
#include "engine/core/path_not_found.h"

namespace ser::app {

namespace {

// (folder, kind) of every --data folder, checked.
std::vector<std::pair<std::filesystem::path, data::CorpusKind>> folder_kinds(const CorpusOptions& options) {
  SER_CHECK(!options.data_dirs.empty() || !options.labels.empty(),
            "no corpus given: pass --data DIR (repeatable) or --labels FILE.csv");
  std::vector<std::string> kinds;
  std::string rest = options.corpus;
  for (std::size_t pos; (pos = rest.find(',')) != std::string::npos; rest = rest.substr(pos + 1))
    kinds.push_back(rest.substr(0, pos));
  kinds.push_back(rest);
  SER_CHECK(kinds.size() == 1 || kinds.size() == options.data_dirs.size(),
            "--corpus names {} kinds for {} --data folders (give one kind, or one per folder)", kinds.size(),
            options.data_dirs.size());
  std::vector<std::pair<std::filesystem::path, data::CorpusKind>> folders;
  for (std::size_t i = 0; i < options.data_dirs.size(); ++i) {
    const std::filesystem::path dir = options.data_dirs[i];
    std::error_code ec;
    SER_CHECK_FOUND(std::filesystem::exists(dir, ec), dir.string(), "--data {}: no such folder", dir.string());
    SER_CHECK(std::filesystem::is_directory(dir, ec), "--data {}: is a file, not a folder (--data takes a corpus folder)",
              dir.string());
    folders.emplace_back(dir, data::parse_corpus_kind(kinds.size() == 1 ? kinds[0] : kinds[i]));
  }
  return folders;
}

std::vector<data::ListedFile> listed_files(const CorpusOptions& options) {
  std::vector<data::ListedFile> rows;
  for (const std::string& list : options.labels) {
    const auto part = data::read_label_list(list);
    rows.insert(rows.end(), part.begin(), part.end());
  }
  return rows;
}

}  // namespace

data::ClassSet resolve_classes(const CorpusOptions& options) {
  if (options.classes != "auto") return data::ClassSet::parse(options.classes);
  std::set<std::string> own;
  bool published = false;
  for (const auto& [dir, kind] : folder_kinds(options)) {
    if (kind != data::CorpusKind::Folders) {
      published = true;
      continue;
    }
    for (const auto& name : data::folders_class_names(dir)) own.insert(name);
  }
  for (const auto& name : data::listed_class_names(listed_files(options))) own.insert(name);
  if (own.empty()) return data::ClassSet::six();
  data::ClassSet set = published ? data::ClassSet::six() : data::ClassSet{};
  for (const auto& name : own)
    if (std::find(set.names.begin(), set.names.end(), name) == set.names.end()) set.names.push_back(name);
  SER_CHECK(set.names.size() >= 2, "--classes auto: the folders name one class only ({}); a model needs two or more",
            set.names.empty() ? std::string("none") : set.names[0]);
  return set;
}

data::IndexResult index_from_options(const CorpusOptions& options, const data::ClassSet& classes) {
  const auto folders = folder_kinds(options);
  std::optional<data::SpeakerPattern> speakers;
  if (!options.speaker_pattern.empty()) {
    speakers.emplace(options.speaker_pattern);
    SER_CHECK(std::any_of(folders.begin(), folders.end(),
                          [](const auto& f) { return f.second == data::CorpusKind::Folders; }),
              "--speaker-pattern '{}' applies to --corpus folders only, and no --data folder is one",
              options.speaker_pattern);
  }
  data::IndexResult index =
      data::index_corpora(folders, classes, true, listed_files(options), speakers ? &*speakers : nullptr);
  if (index.entries.empty() && !index.skipped.empty())
    SER_FAIL("no usable audio files: {} files were found, none of them in a layout ser knows ({}); {}",
             index.skipped.size(), index.skipped.front().second, data::known_layouts());
  return index;
}

std::vector<std::string> lists_with_splits(const CorpusOptions& options) {
  std::vector<std::string> out;
  for (const std::string& list : options.labels) {
    const auto rows = data::read_label_list(list);
    if (std::any_of(rows.begin(), rows.end(), [](const data::ListedFile& r) { return !r.split.empty(); }))
      out.push_back(list);
  }
  return out;
}

void ensure_output_folder(const std::filesystem::path& dir, const std::string& option) {
  SER_CHECK(!dir.empty(), "{}: empty path", option);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  SER_CHECK(!ec && std::filesystem::is_directory(dir), "{} {}: cannot create the folder: {}", option, dir.string(),
            ec ? ec.message() : "a file of that name is in the way");
}

void print_index_report(const data::IndexResult& index, IndexUse use, std::FILE* out) {
  fmt::print(out, "{}", index.summary.table());
  constexpr std::size_t kListed = 10;
  for (std::size_t i = 0; i < index.skipped.size() && i < kListed; ++i)
    fmt::print(out, "  not used: {}: {}\n", index.skipped[i].first.string(), index.skipped[i].second);
  if (index.skipped.size() > kListed)
    fmt::print(out, "  ... and {} more files not used\n", index.skipped.size() - kListed);
  if (use == IndexUse::Training) return;  // check_classes_have_files says it, as an error
  const auto& counts = index.summary.used_per_class;
  for (std::size_t c = 0; c < counts.size() && c < index.summary.class_names.size(); ++c) {
    if (counts[c] != 0) continue;
    const std::string& name = index.summary.class_names[c];
    if (use == IndexUse::Evaluation)
      fmt::print(out, "no files of class '{}' in this set\n", name);
    else
      fmt::print(out, "warning: class '{}' has no files in these folders: a model trained on them can never learn it\n",
                 name);
  }
}

namespace {

// The line of check_classes_have_files: `where` says where the files are missing.
void refuse_classes_without_files(const std::vector<std::string>& names, const std::vector<int64_t>& counts,
                                  const std::string& classes_option, const std::string& where) {
  std::vector<std::string> empty, present;
  for (std::size_t c = 0; c < names.size(); ++c) (c < counts.size() && counts[c] > 0 ? present : empty).push_back(names[c]);
  if (empty.empty()) return;
  SER_FAIL("--classes {}: no training files of class {} {}, so the model could never learn {}: pass "
           "--classes {} (the classes they have), or add folders with files of {}",
           classes_option, fmt::join(empty, ", "), where, empty.size() == 1 ? "it" : "them", fmt::join(present, ","),
           empty.size() == 1 ? "that class" : "those classes");
}

}  // namespace

void check_classes_have_files(const data::IndexResult& index, const std::string& classes_option) {
  refuse_classes_without_files(index.summary.class_names, index.summary.used_per_class, classes_option,
                               "in these folders");
}

void check_classes_have_training_files(const std::vector<std::string>& class_names,
                                       const std::vector<int32_t>& train_labels, const std::string& classes_option) {
  std::vector<int64_t> counts(class_names.size(), 0);
  for (int32_t label : train_labels)
    if (label >= 0 && static_cast<std::size_t>(label) < counts.size()) ++counts[static_cast<std::size_t>(label)];
  refuse_classes_without_files(class_names, counts, classes_option,
                               "in the training part of the split (all of them went to validation or test)");
}

LabelledImages extract_labelled(const std::vector<data::ManifestEntry>& entries, const features::LogMelConfig& config,
                                const FeatureOptions& options) {
  std::vector<std::filesystem::path> files;
  files.reserve(entries.size());
  for (const auto& e : entries) files.push_back(e.path);
  features::ExtractOptions opts;
  opts.threads = options.threads;
  opts.cache_dir = options.cache_dir;
  opts.progress = options.progress;
  opts.device = options.device;
  opts.waveform_transform = options.waveform_transform;
  features::ExtractResult result = features::extract_images(files, config, opts);
  LabelledImages out;
  out.failures = std::move(result.failures);
  out.data.images = std::move(result.images);
  for (int64_t src : result.source_index) {
    out.entries.push_back(entries[static_cast<std::size_t>(src)]);
    out.data.labels.push_back(entries[static_cast<std::size_t>(src)].label);
  }
  return out;
}

std::filesystem::path cache_dir_from_option(const std::string& option) {
  if (option == "none") return {};
  return option.empty() ? default_cache_dir() : std::filesystem::path(option);
}

std::filesystem::path default_cache_dir() {
  if (const char* dir = std::getenv("SER_CACHE_DIR"); dir && *dir) return dir;
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return std::filesystem::path(xdg) / "ser" / "features";
  if (const char* home = std::getenv("HOME"); home && *home) return std::filesystem::path(home) / ".cache" / "ser" / "features";
  return ".ser-cache";
}

}  // namespace ser::app
