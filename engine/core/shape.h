// Shape of a tensor: up to 4 dimensions, outermost first (NCHW for images, [out, in]
// for dense weights). A rank-0 shape is a scalar with one element.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace ser {

class Shape {
 public:
  static constexpr int kMaxRank = 4;

  Shape() = default;  // scalar
  Shape(std::initializer_list<int64_t> dims);
  explicit Shape(const std::vector<int64_t>& dims);

  int rank() const { return rank_; }
  int64_t operator[](int i) const;
  int64_t numel() const;
  std::vector<int64_t> dims() const { return {dims_.begin(), dims_.begin() + rank_}; }
  std::string str() const;  // "[16, 1, 128, 128]"

  bool operator==(const Shape& other) const;
  bool operator!=(const Shape& other) const { return !(*this == other); }

 private:
  void check_and_set(const int64_t* dims, std::size_t n);
  std::array<int64_t, kMaxRank> dims_{};
  int rank_ = 0;
};

}  // namespace ser
