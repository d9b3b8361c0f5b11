// Device names and parsing, and the host half of the memory primitives (shared by both
// builds). The CUDA half (detail::cuda_*) comes from engine/cuda/device_memory.cu or, in
// the CPU-only build, from engine/core/device_memory_cpu_only.cpp.
#include "engine/core/device.h"

#include <cstdlib>
#include <cstring>

#include "engine/core/error.h"

namespace ser {

const char* device_name(Device device) { return device == Device::CPU ? "cpu" : "cuda"; }

Device parse_device(const std::string& name) {
  if (name == "cpu") return Device::CPU;
  if (name == "cuda" || name == "gpu") return Device::CUDA;
  SER_FAIL("unknown device '{}' (expected cpu or cuda)", name);
}

namespace detail {
void* cuda_allocate(std::size_t bytes);
void cuda_release(void* ptr) noexcept;
void cuda_copy(void* dst, Device dst_device, const void* src, Device src_device, std::size_t bytes);
}  // namespace detail

namespace memory {

constexpr std::size_t kHostAlignment = 64;  // one cache line; enough for any SIMD width

void* allocate(Device device, std::size_t bytes) {
  if (bytes == 0) return nullptr;
  if (device == Device::CUDA) return detail::cuda_allocate(bytes);
  const std::size_t rounded = (bytes + kHostAlignment - 1) / kHostAlignment * kHostAlignment;
  void* p = std::aligned_alloc(kHostAlignment, rounded);
  SER_CHECK(p != nullptr, "out of host memory allocating {} bytes", bytes);
  std::memset(p, 0, rounded);
  return p;
}

void release(Device device, void* ptr) noexcept {
  if (!ptr) return;
  if (device == Device::CUDA)
    detail::cuda_release(ptr);
  else
    std::free(ptr);
}

void copy(void* dst, Device dst_device, const void* src, Device src_device, std::size_t bytes) {
  if (bytes == 0 || dst == src) return;
  if (dst_device == Device::CPU && src_device == Device::CPU) {
    std::memmove(dst, src, bytes);
    return;
  }
  detail::cuda_copy(dst, dst_device, src, src_device, bytes);
}

}  // namespace memory
}  // namespace ser
