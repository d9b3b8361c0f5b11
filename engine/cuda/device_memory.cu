// The CUDA half of the memory primitives (cudaMalloc / cudaFree / cudaMemcpy), device
// discovery, and the cuFFT status strings used by CUFFT_CHECK.
#include <fmt/format.h>

#include "engine/core/device.h"
#include "engine/cuda/check.h"

namespace ser {

bool built_with_cuda() { return true; }

bool cuda_device_available() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no device" error
    return false;
  }
  return count > 0;
}

std::string cuda_device_description() {
  int count = 0;
  cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    cudaGetLastError();
    return fmt::format("none: {}", cudaGetErrorString(status));
  }
  if (count == 0) return "none: no CUDA device found";
  int device = 0;
  cudaGetDevice(&device);
  cudaDeviceProp prop{};
  if (cudaGetDeviceProperties(&prop, device) != cudaSuccess) return "unknown CUDA device";
  return fmt::format("{}, sm_{}{}, {:.1f} GiB", prop.name, prop.major, prop.minor,
                     static_cast<double>(prop.totalGlobalMem) / (1024.0 * 1024.0 * 1024.0));
}

namespace detail {

void* cuda_allocate(std::size_t bytes) {
  void* p = nullptr;
  cudaError_t status = cudaMalloc(&p, bytes);
  if (status != cudaSuccess) {
    cudaGetLastError();
    std::size_t free_bytes = 0, total_bytes = 0;
    cudaMemGetInfo(&free_bytes, &total_bytes);
    SER_FAIL("out of GPU memory: asked for {:.1f} MiB with {:.1f} MiB free of {:.1f} MiB ({}); "
             "the model, its activations (they grow with --batch) and, when training, the resident training "
             "set must fit: try a smaller --batch, or --device cpu",
             bytes / 1048576.0, free_bytes / 1048576.0, total_bytes / 1048576.0, cudaGetErrorString(status));
  }
  CUDA_CHECK(cudaMemset(p, 0, bytes));
  return p;
}

void cuda_release(void* ptr) noexcept { cudaFree(ptr); }

void cuda_copy(void* dst, Device, const void* src, Device, std::size_t bytes) {
  // Unified addressing lets cudaMemcpyDefault infer the direction from the pointers.
  CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyDefault));
}

}  // namespace detail

namespace cuda {
const char* cufft_error_string(cufftResult status) {
  switch (status) {
    case CUFFT_SUCCESS: return "CUFFT_SUCCESS";
    case CUFFT_INVALID_PLAN: return "CUFFT_INVALID_PLAN: the plan handle is invalid";
    case CUFFT_ALLOC_FAILED: return "CUFFT_ALLOC_FAILED: GPU memory allocation failed";
    case CUFFT_INVALID_TYPE: return "CUFFT_INVALID_TYPE";
    case CUFFT_INVALID_VALUE: return "CUFFT_INVALID_VALUE: a bad pointer or parameter";
    case CUFFT_INTERNAL_ERROR: return "CUFFT_INTERNAL_ERROR";
    case CUFFT_EXEC_FAILED: return "CUFFT_EXEC_FAILED: the transform failed to run on the GPU";
    case CUFFT_SETUP_FAILED: return "CUFFT_SETUP_FAILED: the library failed to initialise";
    case CUFFT_INVALID_SIZE: return "CUFFT_INVALID_SIZE: unsupported transform size";
    case CUFFT_UNALIGNED_DATA: return "CUFFT_UNALIGNED_DATA";
    case CUFFT_INVALID_DEVICE: return "CUFFT_INVALID_DEVICE";
    case CUFFT_NO_WORKSPACE: return "CUFFT_NO_WORKSPACE: no workspace was provided";
    case CUFFT_NOT_IMPLEMENTED: return "CUFFT_NOT_IMPLEMENTED";
    case CUFFT_NOT_SUPPORTED: return "CUFFT_NOT_SUPPORTED";
    default: return "unknown cuFFT error";
  }
}
}  // namespace cuda
}  // namespace ser
