// FeatureCache implementation: see cache.h for the key, layout and corruption rules.
#include "features/cache.h"

#include <cmath>

#include "engine/core/error.h"
#include "engine/core/hash.h"
#include "engine/io/file.h"
#include "engine/io/npy.h"

namespace ser::features {
namespace fs = std::filesystem;

namespace {
const char* kIndexName = "index.json";

std::string hex64(uint64_t v) { return fmt::format("{:016x}", v); }

struct FileIdentity {
  std::string path;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
};

FileIdentity identify(const fs::path& audio) {
  std::error_code ec;
  FileIdentity id;
  const fs::path canon = fs::weakly_canonical(fs::absolute(audio, ec), ec);
  SER_CHECK(!ec, "{}: cannot resolve the path: {}", audio.string(), ec.message());
  id.path = canon.string();
  id.size = fs::file_size(canon, ec);
  SER_CHECK(!ec, "{}: cannot read its size: {}", audio.string(), ec.message());
  const auto mtime = fs::last_write_time(canon, ec);
  SER_CHECK(!ec, "{}: cannot read its modification time: {}", audio.string(), ec.message());
  id.mtime_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(mtime.time_since_epoch()).count();
  return id;
}

std::string identity_text(const FileIdentity& id, const LogMelConfig& cfg) {
  return fmt::format("{}\n{}\n{}\n{}", id.path, id.size, id.mtime_ns, cfg.key());
}

bool is_lower_hex(const std::string& s, std::size_t digits) {
  if (s.size() != digits) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

// The well-formed records of <dir>/index.json; a missing or unreadable index is empty.
std::unordered_map<std::string, nlohmann::json> read_index(const fs::path& file) {
  std::error_code ec;
  if (!fs::exists(file, ec)) return {};
  try {
    const auto bytes = read_file_bytes(file, std::size_t(1) << 30);
    return parse_cache_index(bytes.data(), bytes.size());
  } catch (const Error&) {
    return {};  // unreadable: entries are validated on their own
  }
}

}  // namespace

std::unordered_map<std::string, nlohmann::json> parse_cache_index(const unsigned char* data, std::size_t size) {
  std::unordered_map<std::string, nlohmann::json> out;
  const nlohmann::json j = nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("entries") || !j["entries"].is_object()) return out;
  if (j.contains("format") && j["format"] != "ser-feature-cache-v1") return out;
  for (const auto& [key, rec] : j["entries"].items()) {
    if (!is_lower_hex(key, 32) || !rec.is_object()) continue;
    if (rec.contains("fnv1a64") && !(rec["fnv1a64"].is_string() && is_lower_hex(rec["fnv1a64"].get<std::string>(), 16)))
      continue;
    out.emplace(key, rec);
  }
  return out;
}

FeatureCache::FeatureCache(fs::path dir, const LogMelConfig& cfg) : dir_(std::move(dir)), cfg_(cfg) {
  cfg_.validate();
  std::error_code ec;
  fs::create_directories(dir_, ec);
  SER_CHECK(fs::is_directory(dir_), "feature cache {}: cannot create the folder: {}", dir_.string(), ec.message());
  index_ = read_index(dir_ / kIndexName);
}

std::string FeatureCache::key_for(const fs::path& audio) const {
  const std::string text = identity_text(identify(audio), cfg_);
  return hex64(fnv1a64(text.data(), text.size())) + hex64(fnv1a64(text.data(), text.size(), 0x84222325cbf29ce4ull));
}

int64_t FeatureCache::corrupt_count() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return corrupt_;
}

std::optional<Tensor> FeatureCache::load(const std::string& key) {
  const fs::path file = entry_path(key);
  std::error_code ec;
  if (!fs::exists(file, ec)) return std::nullopt;
  try {
    const auto bytes = read_file_bytes(file, std::size_t(1) << 28);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = index_.find(key);
      if (it != index_.end() && it->second.contains("fnv1a64")) {
        SER_CHECK(it->second["fnv1a64"].get<std::string>() == hex64(fnv1a64(bytes.data(), bytes.size())),
                  "{}: checksum differs from the index", file.string());
      }
    }
    const Array a = parse_npy(bytes.data(), bytes.size(), file.string());
    SER_CHECK(a.dtype == DType::F32 && a.shape == std::vector<int64_t>({cfg_.image_height, cfg_.image_width}),
              "{}: expected float32 [{}, {}], got {} {}", file.string(), cfg_.image_height, cfg_.image_width,
              dtype_name(a.dtype), a.shape_str());
    Tensor image = a.to_tensor();
    const float lo = cfg_.lowest_value() - 1e-3f, hi = cfg_.highest_value() + 1e-3f;
    for (int64_t i = 0; i < image.numel(); ++i)
      SER_CHECK(std::isfinite(image[i]) && image[i] >= lo && image[i] <= hi, "{}: value {} outside the dB range",
                file.string(), image[i]);
    return image;
  } catch (const Error&) {
    std::lock_guard<std::mutex> lock(mutex_);
    ++corrupt_;
    return std::nullopt;
  }
}

void FeatureCache::store(const std::string& key, const Tensor& image, const fs::path& source) {
  const std::string bytes = serialize_npy(Array::from_tensor(image));
  FileIdentity id;
  try {
    id = identify(source);
  } catch (const Error&) {
    id.path = source.string();
  }
  // One lock: write_file_atomically's temp name is per process, so two threads must not
  // write the same entry at once; entries are small (64 KiB), the lock is short.
  std::lock_guard<std::mutex> lock(mutex_);
  write_file_atomically(entry_path(key), bytes.data(), bytes.size());
  index_[key] = {{"source", id.path},
                 {"size", id.size},
                 {"mtime_ns", id.mtime_ns},
                 {"config", cfg_.key()},
                 {"fnv1a64", hex64(fnv1a64(bytes.data(), bytes.size()))}};
}

void FeatureCache::flush_index() {
  std::lock_guard<std::mutex> lock(mutex_);
  nlohmann::json entries = nlohmann::json::object();
  for (const auto& [key, rec] : read_index(dir_ / kIndexName)) entries[key] = rec;
  for (const auto& [key, rec] : index_) entries[key] = rec;
  // Drop index lines whose entry file is gone (e.g. the user deleted some).
  for (auto it = entries.begin(); it != entries.end();) {
    std::error_code ec;
    if (!fs::exists(entry_path(it.key()), ec)) it = entries.erase(it);
    else ++it;
  }
  const std::string text = nlohmann::json{{"format", "ser-feature-cache-v1"}, {"entries", entries}}.dump(1);
  write_file_atomically(dir_ / kIndexName, text.data(), text.size());
}

}  // namespace ser::features
