// Shape validation (rank <= 4, non-negative extents) and formatting.
#include "engine/core/shape.h"

#include "engine/core/error.h"

namespace ser {

Shape::Shape(std::initializer_list<int64_t> dims) { check_and_set(dims.begin(), dims.size()); }
Shape::Shape(const std::vector<int64_t>& dims) { check_and_set(dims.data(), dims.size()); }

void Shape::check_and_set(const int64_t* dims, std::size_t n) {
  SER_CHECK(n <= static_cast<std::size_t>(kMaxRank), "a tensor has at most {} dimensions, got {}", kMaxRank, n);
  rank_ = static_cast<int>(n);
  for (std::size_t i = 0; i < n; ++i) {
    SER_CHECK(dims[i] >= 0, "negative extent {} in dimension {}", dims[i], i);
    dims_[i] = dims[i];
  }
}

int64_t Shape::operator[](int i) const {
  SER_CHECK(i >= -rank_ && i < rank_, "dimension {} out of range for shape {}", i, str());
  return dims_[i < 0 ? i + rank_ : i];
}

int64_t Shape::numel() const {
  int64_t n = 1;
  for (int i = 0; i < rank_; ++i) n *= dims_[i];
  return n;
}

std::string Shape::str() const {
  std::string s = "[";
  for (int i = 0; i < rank_; ++i) s += (i ? ", " : "") + std::to_string(dims_[i]);
  return s + "]";
}

bool Shape::operator==(const Shape& other) const {
  if (rank_ != other.rank_) return false;
  for (int i = 0; i < rank_; ++i)
    if (dims_[i] != other.dims_[i]) return false;
  return true;
}

}  // namespace ser
