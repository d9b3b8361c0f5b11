// NpyRowWriter: a float32 .npy of shape (N, row_shape...) written row by row when N is
// known only at the end (`ser features` over a corpus: memory bounded by the rows in hand,
// not by the corpus). The rows go to a temporary file beside the target behind a header
// with room for any N; commit() writes the final header, flushes to disk and renames the
// file into place. Until then the target is untouched, and a writer destroyed without
// commit() (an error, a signal unwinding) removes its temporary file: never a half file.
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <vector>

namespace ser {

class NpyRowWriter {
 public:
  // row_shape: the extents after N, e.g. {128, 128}. Throws ser::Error naming the file
  // when the temporary file cannot be created.
  NpyRowWriter(std::filesystem::path path, std::vector<int64_t> row_shape);
  ~NpyRowWriter();
  NpyRowWriter(const NpyRowWriter&) = delete;
  NpyRowWriter& operator=(const NpyRowWriter&) = delete;

  // Appends `count` rows, (count, row_shape...) float32 C order.
  void append(const float* rows, int64_t count);
  int64_t rows() const { return rows_; }
  // Final header (N = rows()), fsync, rename to the target. Throws naming the file.
  void commit();

 private:
  void discard();

  std::filesystem::path path_, temp_;
  std::vector<int64_t> row_shape_;
  int64_t row_elements_ = 1;
  int64_t rows_ = 0;
  std::size_t header_bytes_ = 0;
  std::FILE* file_ = nullptr;
};

}  // namespace ser
