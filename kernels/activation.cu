// ReLU and mask-multiply kernels; see activation.h. Grid-stride loops, 256 threads,
// memory-bound (8-12 bytes per element).
#include "engine/cuda/check.h"
#include "kernels/activation.h"
#include "kernels/launch.cuh"

namespace ser::kernels {
namespace {

constexpr unsigned kThreads = 256;

__global__ void relu_forward_kernel(float* y, const float* x, int64_t n) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(blockDim.x) * gridDim.x)
    y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

__global__ void relu_backward_kernel(float* dx, const float* dy, const float* x, int64_t n) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(blockDim.x) * gridDim.x)
    dx[i] = x[i] > 0.0f ? dy[i] : 0.0f;
}

__global__ void multiply_kernel(float* out, const float* in, const float* mask, int64_t n) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(blockDim.x) * gridDim.x)
    out[i] = in[i] * mask[i];
}

void check_count(const char* entry, int64_t n) { SER_CHECK(n >= 0, "{}: negative element count {}", entry, n); }

}  // namespace

void relu_forward(float* y, const float* x, int64_t n, cudaStream_t stream) {
  check_count("relu_forward", n);
  if (n == 0) return;
  relu_forward_kernel<<<detail::grid_stride_blocks(n, kThreads), kThreads, 0, stream>>>(y, x, n);
  SER_CHECK_LAUNCH();
}

void relu_backward(float* dx, const float* dy, const float* x, int64_t n, cudaStream_t stream) {
  check_count("relu_backward", n);
  if (n == 0) return;
  relu_backward_kernel<<<detail::grid_stride_blocks(n, kThreads), kThreads, 0, stream>>>(dx, dy, x, n);
  SER_CHECK_LAUNCH();
}

void multiply(float* out, const float* in, const float* mask, int64_t n, cudaStream_t stream) {
  check_count("multiply", n);
  if (n == 0) return;
  multiply_kernel<<<detail::grid_stride_blocks(n, kThreads), kThreads, 0, stream>>>(out, in, mask, n);
  SER_CHECK_LAUNCH();
}

}  // namespace ser::kernels
