// NpyRowWriter: temp file + reserved header + rename (see npy_writer.h).
#include "engine/io/npy_writer.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "engine/core/error.h"
#include "engine/io/file.h"
#include "engine/io/npy.h"

namespace ser {
namespace {
// Header of the largest N any file system holds: the final header is padded to its size.
constexpr int64_t kLargestRows = int64_t(999999999999999);

std::vector<int64_t> with_rows(int64_t rows, const std::vector<int64_t>& row_shape) {
  std::vector<int64_t> shape{rows};
  shape.insert(shape.end(), row_shape.begin(), row_shape.end());
  return shape;
}
}  // namespace

NpyRowWriter::NpyRowWriter(std::filesystem::path path, std::vector<int64_t> row_shape)
    : path_(std::move(path)), row_shape_(std::move(row_shape)) {
  for (int64_t e : row_shape_) {
    SER_CHECK(e >= 1, "{}: row extent {} must be positive", path_.string(), e);
    row_elements_ *= e;
  }
  temp_ = unique_temp_name(path_);
  file_ = std::fopen(temp_.c_str(), "wb");
  SER_CHECK(file_ != nullptr, "{}: cannot create {}: {}", path_.string(), temp_.string(), std::strerror(errno));
  const std::string header = npy_header(DType::F32, with_rows(kLargestRows, row_shape_));
  header_bytes_ = header.size();
  if (std::fwrite(header.data(), 1, header.size(), file_) != header.size()) {
    const int err = errno;
    discard();
    SER_FAIL("{}: write failed ({})", path_.string(), std::strerror(err));
  }
}

NpyRowWriter::~NpyRowWriter() { discard(); }

void NpyRowWriter::discard() {
  if (file_ == nullptr) return;
  std::fclose(file_);
  file_ = nullptr;
  std::remove(temp_.c_str());
}

void NpyRowWriter::append(const float* rows, int64_t count) {
  SER_CHECK(file_ != nullptr, "{}: append after commit", path_.string());
  const auto n = static_cast<std::size_t>(count * row_elements_);
  if (std::fwrite(rows, sizeof(float), n, file_) != n) {
    const int err = errno;
    discard();
    SER_FAIL("{}: write failed ({}); the previous file, if any, is unchanged", path_.string(), std::strerror(err));
  }
  rows_ += count;
}

void NpyRowWriter::commit() {
  SER_CHECK(file_ != nullptr, "{}: committed twice", path_.string());
  const std::string header = npy_header(DType::F32, with_rows(rows_, row_shape_), header_bytes_);
  SER_CHECK(header.size() == header_bytes_, "{}: final header of {} bytes, {} reserved", path_.string(), header.size(),
            header_bytes_);
  const bool ok = std::fseek(file_, 0, SEEK_SET) == 0 && std::fwrite(header.data(), 1, header.size(), file_) == header.size() &&
                  std::fflush(file_) == 0 && ::fsync(::fileno(file_)) == 0;
  const int err = errno;
  const bool closed = std::fclose(file_) == 0;
  file_ = nullptr;
  if (!ok || !closed || std::rename(temp_.c_str(), path_.c_str()) != 0) {
    const int why = ok && closed ? errno : err;
    std::remove(temp_.c_str());
    SER_FAIL("{}: cannot write the file ({}); the previous file, if any, is unchanged", path_.string(),
             std::strerror(why));
  }
}

}  // namespace ser
