// libFuzzer target for parse_cache_index (features/cache.h): arbitrary bytes as the
// feature cache's index.json. It must never throw, and every record it keeps must have a
// 32-hex-digit key and an object record whose checksum (if any) is 16 hex digits, which is
// what FeatureCache::load relies on.
#include <cstddef>
#include <cstdint>

#include "features/cache.h"
#include "tests/fuzz/fuzz_support.h"

namespace {
bool lower_hex(const std::string& s, std::size_t digits) {
  return s.size() == digits && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  try {
    for (const auto& [key, rec] : ser::features::parse_cache_index(data, size)) {
      ser::fuzz::require(lower_hex(key, 32) && rec.is_object(), "cache index: key and record");
      if (rec.contains("fnv1a64"))
        ser::fuzz::require(rec["fnv1a64"].is_string() && lower_hex(rec["fnv1a64"].get<std::string>(), 16),
                           "cache index: checksum");
    }
  } catch (const std::exception& e) {
    ser::fuzz::require(false, e.what());
  }
  return 0;
}
