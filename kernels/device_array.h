// DeviceArray<T>: a typed, owning, move-only device allocation with blocking upload /
// download, for the non-float buffers the kernels take (int32 labels, int64 indices,
// uint8 masks, int counters) and for tests and benchmarks. Float tensors of the model
// use ser::Tensor; this is deliberately smaller. CUDA build only.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "engine/core/device.h"
#include "engine/cuda/check.h"

namespace ser::kernels {

template <typename T>
class DeviceArray {
 public:
  DeviceArray() = default;
  // n elements, zero-filled.
  explicit DeviceArray(int64_t n) : size_(n) {
    SER_CHECK(n >= 0, "DeviceArray: negative element count {}", n);
    if (n == 0) return;
    // memory::allocate zero-fills and turns an out-of-memory into the sizes-and-advice error.
    data_ = static_cast<T*>(memory::allocate(Device::CUDA, bytes()));
  }
  explicit DeviceArray(const std::vector<T>& host) : DeviceArray(static_cast<int64_t>(host.size())) { upload(host); }
  ~DeviceArray() {
    if (data_ != nullptr) memory::release(Device::CUDA, data_);
  }
  DeviceArray(DeviceArray&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}
  DeviceArray& operator=(DeviceArray&& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(size_, other.size_);
    return *this;
  }
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;

  T* data() { return data_; }
  const T* data() const { return data_; }
  int64_t size() const { return size_; }
  std::size_t bytes() const { return static_cast<std::size_t>(size_) * sizeof(T); }

  // Blocking copies on the legacy default stream. They wait for work queued on that stream
  // (and on blocking streams), NOT for a cudaStreamNonBlocking stream such as CudaContext's:
  // synchronise that stream (or wait on its event) before download() reads its results.
  void upload(const std::vector<T>& host) {
    SER_CHECK(static_cast<int64_t>(host.size()) == size_, "DeviceArray::upload: {} host elements into {} on device",
              host.size(), size_);
    if (size_ > 0) CUDA_CHECK(cudaMemcpy(data_, host.data(), bytes(), cudaMemcpyHostToDevice));
  }
  std::vector<T> download() const {
    std::vector<T> host(static_cast<std::size_t>(size_));
    if (size_ > 0) CUDA_CHECK(cudaMemcpy(host.data(), data_, bytes(), cudaMemcpyDeviceToHost));
    return host;
  }

 private:
  T* data_ = nullptr;
  int64_t size_ = 0;
};

}  // namespace ser::kernels
