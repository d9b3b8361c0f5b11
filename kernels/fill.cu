// Elementwise utility kernels: fill and axpby over flat float arrays (grid-stride loops).
#include "engine/cuda/check.h"
#include "kernels/fill.h"

namespace ser::kernels {
namespace {

__global__ void fill_kernel(float* out, int64_t n, float value) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(blockDim.x) * gridDim.x)
    out[i] = value;
}

__global__ void axpby_kernel(float* out, const float* x, int64_t n, float alpha, float beta) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(blockDim.x) * gridDim.x)
    out[i] = alpha * x[i] + beta * out[i];
}

unsigned blocks_for(int64_t n, unsigned threads) {
  const int64_t b = (n + threads - 1) / threads;
  return static_cast<unsigned>(b < 65535 * 32 ? (b > 0 ? b : 1) : 65535 * 32);
}

}  // namespace

void fill(float* out, int64_t n, float value, cudaStream_t stream) {
  if (n <= 0) return;
  fill_kernel<<<blocks_for(n, 256), 256, 0, stream>>>(out, n, value);
  SER_CHECK_LAUNCH();
}

void axpby(float* out, const float* x, int64_t n, float alpha, float beta, cudaStream_t stream) {
  if (n <= 0) return;
  axpby_kernel<<<blocks_for(n, 256), 256, 0, stream>>>(out, x, n, alpha, beta);
  SER_CHECK_LAUNCH();
}

}  // namespace ser::kernels
