// Tensor: a float32 array of up to 4 dimensions (row-major, outermost first), on the CPU
// or a CUDA device.
//
// Storage is reference-counted: copying a Tensor shares the same memory (like a
// PyTorch tensor); clone() makes a deep copy and to(device) an explicit copy to another
// device. Nothing is ever synchronised or moved lazily. slice() makes views into a
// larger tensor (e.g. one parameter inside the contiguous parameter arena).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "engine/core/device.h"
#include "engine/core/shape.h"

namespace ser {

class Tensor {
 public:
  Tensor() = default;  // empty: numel() == 0, no storage
  // Zero-filled tensor of the given shape on the given device.
  explicit Tensor(Shape shape, Device device = Device::CPU);

  static Tensor zeros(Shape shape, Device device = Device::CPU) { return Tensor(shape, device); }
  // CPU tensor holding a copy of `values` (values.size() must equal shape.numel()).
  static Tensor from_vector(Shape shape, const std::vector<float>& values);

  const Shape& shape() const { return shape_; }
  int rank() const { return shape_.rank(); }
  int64_t size(int dim) const { return shape_[dim]; }
  int64_t numel() const { return shape_.numel(); }
  std::size_t bytes() const { return static_cast<std::size_t>(numel()) * sizeof(float); }
  Device device() const { return device_; }
  bool is_cpu() const { return device_ == Device::CPU; }
  bool empty() const { return numel() == 0; }

  float* data() { return data_; }
  const float* data() const { return data_; }

  // Deep copy on `device`. to(device()) also copies.
  Tensor to(Device device) const;
  Tensor clone() const { return to(device_); }
  // Copies all elements of `src` (same numel, any device) into this tensor's storage.
  void copy_from(const Tensor& src);
  // Host copy of the values (works for any device).
  std::vector<float> to_vector() const;
  // Sets every element (CPU only; device tensors are filled by kernels).
  void fill(float value);

  // Same storage, new shape with the same number of elements.
  Tensor reshaped(Shape shape) const;
  // View of `count` elements starting at element `offset`, with the given shape
  // (shape.numel() == count). Shares storage with this tensor.
  Tensor slice(int64_t offset, Shape shape) const;

  // Element access for CPU tensors, flat and by NCHW index (not bounds checked).
  float& operator[](int64_t i) { return data_[i]; }
  float operator[](int64_t i) const { return data_[i]; }
  float& at(int64_t n, int64_t c, int64_t h, int64_t w);
  float at(int64_t n, int64_t c, int64_t h, int64_t w) const;

 private:
  std::shared_ptr<void> storage_;  // keeps the allocation alive; data_ points into it
  float* data_ = nullptr;
  Shape shape_{0};
  Device device_ = Device::CPU;
};

}  // namespace ser
