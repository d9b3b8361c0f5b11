// Array: a typed, shaped host array as stored in a file (.npy, safetensors), before it
// becomes a float32 Tensor. dtypes: float32, float64, int64 (little-endian, C order).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/core/tensor.h"

namespace ser {

enum class DType { F32, F64, I64 };

std::size_t dtype_size(DType dtype);
const char* dtype_name(DType dtype);  // "float32", "float64", "int64"

struct Array {
  DType dtype = DType::F32;
  std::vector<int64_t> shape;      // any rank; empty = scalar (one element)
  std::vector<unsigned char> bytes;  // numel * dtype_size(dtype) bytes, little-endian, C order

  int64_t numel() const;
  std::string shape_str() const;  // "[128, 1025]"

  // Values converted to the asked type. as_int64 requires dtype I64.
  std::vector<double> as_double() const;
  std::vector<float> as_float() const;
  std::vector<int64_t> as_int64() const;
  // float32 CPU tensor (F32 copied, F64 rounded); rank must be <= 4.
  Tensor to_tensor() const;

  static Array from_float(std::vector<int64_t> shape, const std::vector<float>& values);
  static Array from_double(std::vector<int64_t> shape, const std::vector<double>& values);
  static Array from_int64(std::vector<int64_t> shape, const std::vector<int64_t>& values);
  static Array from_tensor(const Tensor& tensor);  // any device; copied to the host
};

// Number of elements of `shape`; throws if an extent is negative or the product
// exceeds `max_elements` (guards against absurd sizes in untrusted files).
int64_t checked_numel(const std::vector<int64_t>& shape, int64_t max_elements);

}  // namespace ser
