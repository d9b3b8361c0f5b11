// Corpus indexing: walks one or more --data folders, matches every audio file name (WAV,
// FLAC, OGG, AIFF, ...: data/audio_files.h) against
// the corpus schemes (name_schemes.h), keeps the files whose emotion is in the class set,
// drops duplicate audio (same bytes under two names, counted once) and returns the
// manifest entries with a per-corpus summary of what was seen, used and skipped.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "data/corpus.h"
#include "data/user_corpus.h"

namespace ser::data {

// Counts for one corpus (or "unknown": names matching no scheme in an auto folder).
struct CorpusCounts {
  std::string corpus;
  int64_t files_seen = 0;  // audio files attributed to this corpus
  int64_t used = 0;        // entries in the manifest
  int64_t excluded = 0;    // valid names whose emotion is not in the class set
  std::map<std::string, int64_t> excluded_by_label;  // emotion -> files
  int64_t rejected = 0;    // this corpus's names but not usable (RAVDESS song, TESS conflicts)
  int64_t unmatched = 0;   // names matching no scheme
  int64_t duplicates = 0;  // same bytes as an earlier used file
};

struct IndexSummary {
  std::vector<CorpusCounts> corpora;     // in order of first appearance
  std::vector<std::string> class_names;  // the class set
  std::vector<int64_t> used_per_class;   // (classes,) manifest entries per label

  CorpusCounts total() const;  // sums over corpora (corpus "total")
  // A short fixed-width table: one line per corpus, a total line, and the files per class.
  std::string table() const;
};

struct IndexResult {
  std::vector<ManifestEntry> entries;
  IndexSummary summary;
  std::vector<std::pair<std::filesystem::path, std::string>> skipped;  // path, reason
};

// Indexes each (folder, kind) in order; files within a folder in sorted path order, so the
// result is deterministic. Only audio files (data/audio_files.h: .wav, .flac, .ogg, .aiff,
// ..., any case) are considered; other files are ignored. Throws ser::Error if a folder does not exist or cannot be read.
// `listed`: the rows of label lists (--labels, data/user_corpus.h), corpus "labels", after
// the folders; a listed path that does not exist or is no audio file is skipped, saying so.
// A listed row's split column is kept in its entry (ManifestEntry::split).
// A folders corpus (CorpusKind::Folders) takes each file's class from its folder, and its
// speaker from `speakers` (--speaker-pattern) when given: a file it does not match throws.
IndexResult index_corpora(const std::vector<std::pair<std::filesystem::path, CorpusKind>>& folders,
                          const ClassSet& classes, bool detect_duplicates = true,
                          const std::vector<ListedFile>& listed = {}, const SpeakerPattern* speakers = nullptr);

// The line that says which layouts exist, for an index that used no file.
std::string known_layouts();

}  // namespace ser::data
