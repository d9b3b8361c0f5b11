// 64-bit FNV-1a content hash, used to find the same audio stored under two names (a corpus
// copied twice). Not cryptographic: equal hashes are confirmed by comparing bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>

namespace ser::data {

constexpr uint64_t kFnv1aOffset = 0xcbf29ce484222325ull;
constexpr uint64_t kFnv1aPrime = 0x100000001b3ull;

// Continues an FNV-1a hash `state` over `size` bytes.
uint64_t fnv1a64(const void* data, std::size_t size, uint64_t state = kFnv1aOffset);

// FNV-1a of a whole file's bytes, read in chunks. Throws ser::Error naming the file.
uint64_t hash_file(const std::filesystem::path& file);

// True if two files hold the same bytes. Throws ser::Error naming a file it cannot read.
bool files_equal(const std::filesystem::path& a, const std::filesystem::path& b);

}  // namespace ser::data
