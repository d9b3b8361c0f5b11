// Where a tensor's storage lives, and the raw memory primitives behind Tensor.
// The CUDA build implements the device functions in engine/cuda/device_memory.cu; the
// CPU-only build links engine/core/device_memory_cpu_only.cpp, whose device functions
// throw a clear "built without CUDA" error (never a silent fallback to the CPU).
#pragma once

#include <cstddef>
#include <string>

namespace ser {

enum class Device { CPU, CUDA };

const char* device_name(Device device);

// Parses "cpu" / "cuda" (as used on the command line); throws on anything else.
Device parse_device(const std::string& name);

// True when this binary was built with the CUDA backend.
bool built_with_cuda();

// True when the CUDA backend is built AND at least one CUDA device can be used now.
// Never throws.
bool cuda_device_available();

// One line describing the first CUDA device ("NVIDIA H100 80GB HBM3, sm_90, 79.1 GiB"),
// or why there is none.
std::string cuda_device_description();

namespace memory {
void* allocate(Device device, std::size_t bytes);           // zero-filled
void release(Device device, void* ptr) noexcept;
// Copies bytes between any two devices (synchronous with respect to the host).
void copy(void* dst, Device dst_device, const void* src, Device src_device, std::size_t bytes);
}  // namespace memory

}  // namespace ser
