// Array conversions between stored dtypes and float32 tensors.
#include "engine/io/array.h"

#include <cstring>

#include "engine/core/error.h"

namespace ser {

std::size_t dtype_size(DType dtype) { return dtype == DType::F32 ? 4 : 8; }

const char* dtype_name(DType dtype) {
  switch (dtype) {
    case DType::F32: return "float32";
    case DType::F64: return "float64";
    case DType::I64: return "int64";
  }
  return "?";
}

int64_t checked_numel(const std::vector<int64_t>& shape, int64_t max_elements) {
  for (int64_t d : shape) SER_CHECK(d >= 0, "negative dimension {} in shape", d);
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d == 0) return 0;
    SER_CHECK(n <= max_elements / d, "shape is absurdly large (more than {} elements)", max_elements);
    n *= d;
  }
  return n;
}

int64_t Array::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string Array::shape_str() const {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

namespace {
template <typename T>
std::vector<T> read_as(const std::vector<unsigned char>& bytes) {
  std::vector<T> v(bytes.size() / sizeof(T));
  if (!v.empty()) std::memcpy(v.data(), bytes.data(), v.size() * sizeof(T));
  return v;
}

template <typename T>
Array make(DType dtype, std::vector<int64_t> shape, const std::vector<T>& values) {
  Array a;
  a.dtype = dtype;
  a.shape = std::move(shape);
  SER_CHECK(static_cast<int64_t>(values.size()) == a.numel(), "{} values for shape {}", values.size(),
            a.shape_str());
  a.bytes.resize(values.size() * sizeof(T));
  if (!values.empty()) std::memcpy(a.bytes.data(), values.data(), a.bytes.size());
  return a;
}
}  // namespace

std::vector<double> Array::as_double() const {
  switch (dtype) {
    case DType::F64: return read_as<double>(bytes);
    case DType::F32: {
      auto f = read_as<float>(bytes);
      return {f.begin(), f.end()};
    }
    case DType::I64: {
      auto i = read_as<int64_t>(bytes);
      return {i.begin(), i.end()};
    }
  }
  return {};
}

std::vector<float> Array::as_float() const {
  if (dtype == DType::F32) return read_as<float>(bytes);
  auto d = as_double();
  return {d.begin(), d.end()};
}

std::vector<int64_t> Array::as_int64() const {
  SER_CHECK(dtype == DType::I64, "expected an int64 array, got {}", dtype_name(dtype));
  return read_as<int64_t>(bytes);
}

Tensor Array::to_tensor() const {
  SER_CHECK(shape.size() <= static_cast<std::size_t>(Shape::kMaxRank), "array of rank {} {} cannot become a tensor",
            shape.size(), shape_str());
  SER_CHECK(dtype != DType::I64, "an int64 array cannot become a float32 tensor");
  return Tensor::from_vector(Shape(shape), as_float());
}

Array Array::from_float(std::vector<int64_t> shape, const std::vector<float>& values) {
  return make(DType::F32, std::move(shape), values);
}
Array Array::from_double(std::vector<int64_t> shape, const std::vector<double>& values) {
  return make(DType::F64, std::move(shape), values);
}
Array Array::from_int64(std::vector<int64_t> shape, const std::vector<int64_t>& values) {
  return make(DType::I64, std::move(shape), values);
}
Array Array::from_tensor(const Tensor& tensor) { return from_float(tensor.shape().dims(), tensor.to_vector()); }

}  // namespace ser
