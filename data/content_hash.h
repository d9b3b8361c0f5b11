// 64-bit FNV-1a content hash, used to find the same audio stored under two names (a corpus
// copied twice). Not cryptographic: equal hashes are confirmed by comparing bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>

#include "engine/core/hash.h"

namespace ser::data {

// FNV-1a of a whole file's bytes, read in chunks. Throws ser::Error naming the file.
uint64_t hash_file(const std::filesystem::path& file);

// True if two files hold the same bytes. Throws ser::Error naming a file it cannot read.
bool files_equal(const std::filesystem::path& a, const std::filesystem::path& b);

}  // namespace ser::data
