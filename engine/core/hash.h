// 64-bit FNV-1a: a fast, non-cryptographic hash of bytes. Used for the feature cache's
// keys and content checks (features/cache.cpp) and to find the same audio stored under two
// names (data/content_hash.h); equal hashes are always confirmed another way there.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ser {

inline constexpr uint64_t kFnv1aOffset = 0xcbf29ce484222325ull;
inline constexpr uint64_t kFnv1aPrime = 0x100000001b3ull;

// Continues an FNV-1a hash `state` over `size` bytes (start from kFnv1aOffset).
inline uint64_t fnv1a64(const void* data, std::size_t size, uint64_t state = kFnv1aOffset) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < size; ++i) {
    state ^= p[i];
    state *= kFnv1aPrime;
  }
  return state;
}

}  // namespace ser
