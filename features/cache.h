// FeatureCache: log-mel images on disk, one .npy per (audio file, feature parameters), so a
// second extraction over the same files is a load.
//
// Entry key = 128-bit FNV-1a hash of: canonical path, file size, mtime (ns), and
// LogMelConfig::key(). Any change to the file or to a parameter gives a new key (a miss).
// Entry file <dir>/<key>.npy holds the float32 (H, W) image, written atomically (temp file +
// rename), so concurrent processes sharing a cache never see half-written entries; the last
// writer of an identical entry wins. <dir>/index.json lists entries (source path, size,
// mtime, config key, FNV-1a of the .npy bytes) for inspection and for content checks; it is
// merged and rewritten atomically by flush_index(). An entry that fails to parse, has the
// wrong shape, holds values outside the dB range [-top_db, 0], or whose bytes disagree with
// the index checksum is treated as corrupt: a miss, recomputed and overwritten.
#pragma once

#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "engine/core/tensor.h"
#include "features/logmel.h"

namespace ser::features {

class FeatureCache {
 public:
  // Creates `dir` if needed and reads its index (an unreadable index is ignored: the
  // entries themselves are still validated).
  FeatureCache(std::filesystem::path dir, const LogMelConfig& cfg);

  // Hex key of `audio` under this cache's config. Throws ser::Error naming the file if it
  // cannot be stat'ed.
  std::string key_for(const std::filesystem::path& audio) const;
  // The cached (H, W) image, or nullopt on a miss. A corrupt entry counts in corrupt_count().
  std::optional<Tensor> load(const std::string& key);
  // Writes the entry atomically and records it for the index. Thread-safe.
  void store(const std::string& key, const Tensor& image, const std::filesystem::path& source);
  // Merges this run's entries into index.json (re-read first, so concurrent runs mostly
  // keep each other's lines) and writes it atomically.
  void flush_index();

  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path entry_path(const std::string& key) const { return dir_ / (key + ".npy"); }
  int64_t corrupt_count() const;

 private:
  std::filesystem::path dir_;
  LogMelConfig cfg_;
  mutable std::mutex mutex_;  // guards index_, corrupt_, and serialises writes of one key
  std::unordered_map<std::string, nlohmann::json> index_;  // key -> entry record
  int64_t corrupt_ = 0;
};

// The records of an index.json image {"format": "ser-feature-cache-v1", "entries": {key:
// record}} that are well formed: key = 32 lowercase hex digits, record = an object whose
// "fnv1a64" (if present) is 16 lowercase hex digits. Everything else (bad JSON, another
// format, malformed records) is dropped, never thrown: the index is advisory and every
// entry is validated on its own when loaded (fuzz entry point).
std::unordered_map<std::string, nlohmann::json> parse_cache_index(const unsigned char* data, std::size_t size);

}  // namespace ser::features
