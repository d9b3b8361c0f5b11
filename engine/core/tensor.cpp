// Tensor allocation, copies between devices, views.
#include "engine/core/tensor.h"

#include <algorithm>

#include "engine/core/error.h"

namespace ser {

Tensor::Tensor(Shape shape, Device device) : shape_(shape), device_(device) {
  const std::size_t n = bytes();
  if (n == 0) return;
  void* p = memory::allocate(device, n);
  storage_ = std::shared_ptr<void>(p, [device](void* q) { memory::release(device, q); });
  data_ = static_cast<float*>(p);
}

Tensor Tensor::from_vector(Shape shape, const std::vector<float>& values) {
  SER_CHECK(static_cast<int64_t>(values.size()) == shape.numel(),
            "from_vector: {} values for shape {} ({} elements)", values.size(), shape.str(), shape.numel());
  Tensor t(shape, Device::CPU);
  std::copy(values.begin(), values.end(), t.data());
  return t;
}

Tensor Tensor::to(Device device) const {
  Tensor out(shape_, device);
  out.copy_from(*this);
  return out;
}

void Tensor::copy_from(const Tensor& src) {
  SER_CHECK(src.numel() == numel(), "copy_from: source has {} elements {}, destination {} {}", src.numel(),
            src.shape().str(), numel(), shape_.str());
  memory::copy(data_, device_, src.data_, src.device_, bytes());
}

std::vector<float> Tensor::to_vector() const {
  std::vector<float> v(static_cast<std::size_t>(numel()));
  memory::copy(v.data(), Device::CPU, data_, device_, bytes());
  return v;
}

void Tensor::fill(float value) {
  SER_CHECK(device_ == Device::CPU, "fill() works on CPU tensors; this one is on {}", device_name(device_));
  std::fill(data_, data_ + numel(), value);
}

Tensor Tensor::reshaped(Shape shape) const {
  SER_CHECK(shape.numel() == numel(), "cannot reshape {} to {}", shape_.str(), shape.str());
  Tensor t = *this;
  t.shape_ = shape;
  return t;
}

Tensor Tensor::slice(int64_t offset, Shape shape) const {
  SER_CHECK(offset >= 0 && offset + shape.numel() <= numel(), "slice [{}, {}) out of range for {} elements", offset,
            offset + shape.numel(), numel());
  Tensor t = *this;
  t.shape_ = shape;
  t.data_ = data_ + offset;
  return t;
}

float& Tensor::at(int64_t n, int64_t c, int64_t h, int64_t w) {
  return data_[((n * shape_[1] + c) * shape_[2] + h) * shape_[3] + w];
}
float Tensor::at(int64_t n, int64_t c, int64_t h, int64_t w) const {
  return data_[((n * shape_[1] + c) * shape_[2] + h) * shape_[3] + w];
}

}  // namespace ser
