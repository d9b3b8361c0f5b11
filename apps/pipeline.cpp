// Corpus indexing and feature extraction glue for the command line.
#include "apps/pipeline.h"

#include <fmt/format.h>

#include <cstdlib>

#include "engine/core/error.h"

namespace ser::app {

data::IndexResult index_from_options(const CorpusOptions& options, const data::ClassSet& classes) {
  SER_CHECK(!options.data_dirs.empty(), "no corpus given: pass --data DIR (repeatable)");
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
    SER_CHECK(std::filesystem::exists(dir, ec), "--data {}: no such folder", dir.string());
    SER_CHECK(std::filesystem::is_directory(dir, ec), "--data {}: is a file, not a folder (--data takes a corpus folder)",
              dir.string());
    folders.emplace_back(dir, data::parse_corpus_kind(kinds.size() == 1 ? kinds[0] : kinds[i]));
  }
  return data::index_corpora(folders, classes);
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

void check_classes_have_files(const data::IndexResult& index, const std::string& classes_option) {
  std::vector<std::string> empty, present;
  const auto& counts = index.summary.used_per_class;
  for (std::size_t c = 0; c < index.summary.class_names.size(); ++c)
    (c < counts.size() && counts[c] > 0 ? present : empty).push_back(index.summary.class_names[c]);
  if (empty.empty()) return;
  SER_FAIL("--classes {}: no training files of class {} in these folders, so the model could never learn {}: pass "
           "--classes {} (the classes they have), or add folders with files of {}",
           classes_option, fmt::join(empty, ", "), empty.size() == 1 ? "it" : "them", fmt::join(present, ","),
           empty.size() == 1 ? "that class" : "those classes");
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
