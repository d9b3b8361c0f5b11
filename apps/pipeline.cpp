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
    SER_CHECK(std::filesystem::is_directory(dir), "--data {}: no such folder", dir.string());
    folders.emplace_back(dir, data::parse_corpus_kind(kinds.size() == 1 ? kinds[0] : kinds[i]));
  }
  return data::index_corpora(folders, classes);
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

std::filesystem::path default_cache_dir() {
  if (const char* dir = std::getenv("SER_CACHE_DIR"); dir && *dir) return dir;
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return std::filesystem::path(xdg) / "ser" / "features";
  if (const char* home = std::getenv("HOME"); home && *home) return std::filesystem::path(home) / ".cache" / "ser" / "features";
  return ".ser-cache";
}

}  // namespace ser::app
