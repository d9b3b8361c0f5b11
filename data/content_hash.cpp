// FNV-1a over file contents, streamed in 64 KiB chunks.
#include "data/content_hash.h"

#include <algorithm>
#include <fstream>
#include <vector>

#include "engine/core/error.h"

namespace ser::data {
namespace {

constexpr std::size_t kChunk = 1 << 16;

std::ifstream open_binary(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  SER_CHECK(in.good(), "cannot open '{}' to hash its content", file.string());
  return in;
}

}  // namespace

uint64_t hash_file(const std::filesystem::path& file) {
  std::ifstream in = open_binary(file);
  std::vector<char> buffer(kChunk);
  uint64_t state = kFnv1aOffset;
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    state = fnv1a64(buffer.data(), static_cast<std::size_t>(in.gcount()), state);
  }
  SER_CHECK(in.eof(), "read error while hashing '{}'", file.string());
  return state;
}

bool files_equal(const std::filesystem::path& a, const std::filesystem::path& b) {
  std::error_code ec_a, ec_b;
  const auto size_a = std::filesystem::file_size(a, ec_a), size_b = std::filesystem::file_size(b, ec_b);
  SER_CHECK(!ec_a && !ec_b, "cannot read the size of '{}' or '{}'", a.string(), b.string());
  if (size_a != size_b) return false;
  std::ifstream in_a = open_binary(a), in_b = open_binary(b);
  std::vector<char> buf_a(kChunk), buf_b(kChunk);
  while (in_a && in_b) {
    in_a.read(buf_a.data(), static_cast<std::streamsize>(kChunk));
    in_b.read(buf_b.data(), static_cast<std::streamsize>(kChunk));
    if (in_a.gcount() != in_b.gcount() ||
        !std::equal(buf_a.begin(), buf_a.begin() + in_a.gcount(), buf_b.begin()))
      return false;
  }
  return in_a.eof() && in_b.eof();
}

}  // namespace ser::data
