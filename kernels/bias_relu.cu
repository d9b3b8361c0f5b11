// Bias + ReLU forward (in place) and backward with a deterministic bias gradient; see
// bias_relu.h. All four kernels are memory-bound.
//  forward (N,C,HW): grid.x = N*C planes (bias read once per block), grid.y = chunks of
//    one plane; 4 B read + 4 B written per element.
//  backward (N,C,HW): grid (C, S) blocks of 256; block (c, s) walks planes n = s, s+S, ...
//    writes dz and keeps a per-thread float sum, reduced by a shared-memory tree into
//    workspace[c*S + s]; then one thread per channel adds its S partials in order.
//    S is chosen from the shape only (about 512 blocks in all), so results do not depend
//    on the GPU. 8 B read + 4 B written per element.
//  dense forward: flat grid-stride over N*C. dense backward: one thread per column.
#include <algorithm>

#include "engine/cuda/check.h"
#include "kernels/bias_relu.h"
#include "kernels/launch.cuh"

namespace ser::kernels {
namespace {

constexpr unsigned kThreads = 256;
constexpr int64_t kTargetBackwardBlocks = 512;
constexpr int64_t kMaxChunksPerPlane = 64;

// y: (N*C planes, HW); bias: (C).
__global__ void bias_relu_planes_kernel(float* __restrict__ y, const float* __restrict__ bias, int64_t c, int64_t hw) {
  const int64_t plane = blockIdx.x;
  const float b = bias[plane % c];
  float* p = y + plane * hw;  // (HW)
  for (int64_t i = int64_t(blockIdx.y) * blockDim.x + threadIdx.x; i < hw; i += int64_t(blockDim.x) * gridDim.y)
    p[i] = fmaxf(p[i] + b, 0.0f);
}

// dy, y: (N, C, HW); partials: (C, S).
__global__ void bias_relu_backward_partial_kernel(float* __restrict__ dy, const float* __restrict__ y, int64_t n,
                                                  int64_t c, int64_t hw, float* __restrict__ partials) {
  __shared__ float tree[kThreads];
  const int64_t channel = blockIdx.x;
  const int64_t split = blockIdx.y, splits = gridDim.y;
  float sum = 0.0f;
  for (int64_t item = split; item < n; item += splits) {
    const int64_t base = (item * c + channel) * hw;
    for (int64_t i = threadIdx.x; i < hw; i += blockDim.x) {
      const float dz = y[base + i] > 0.0f ? dy[base + i] : 0.0f;
      dy[base + i] = dz;
      sum += dz;
    }
  }
  tree[threadIdx.x] = sum;
  __syncthreads();
  for (unsigned half = blockDim.x / 2; half > 0; half /= 2) {
    if (threadIdx.x < half) tree[threadIdx.x] += tree[threadIdx.x + half];
    __syncthreads();
  }
  if (threadIdx.x == 0) partials[channel * splits + split] = tree[0];
}

// partials: (C, S); dbias: (C) += row sums, in order.
__global__ void add_partials_kernel(const float* __restrict__ partials, int64_t c, int64_t splits,
                                    float* __restrict__ dbias) {
  const int64_t channel = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (channel >= c) return;
  float sum = 0.0f;
  for (int64_t s = 0; s < splits; ++s) sum += partials[channel * splits + s];
  dbias[channel] += sum;
}

// y: (N, C) flat; bias: (C).
__global__ void bias_relu_dense_kernel(float* __restrict__ y, const float* __restrict__ bias, int64_t total,
                                       int64_t c) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += int64_t(blockDim.x) * gridDim.x)
    y[i] = fmaxf(y[i] + bias[i % c], 0.0f);
}

// dy, y: (N, C); dbias: (C).
__global__ void bias_relu_dense_backward_kernel(float* __restrict__ dy, const float* __restrict__ y, int64_t n,
                                                int64_t c, float* __restrict__ dbias) {
  const int64_t col = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (col >= c) return;
  float sum = 0.0f;
  for (int64_t row = 0; row < n; ++row) {
    const int64_t i = row * c + col;
    const float dz = y[i] > 0.0f ? dy[i] : 0.0f;
    dy[i] = dz;
    sum += dz;
  }
  dbias[col] += sum;
}

void check_sizes(const char* entry, int64_t n, int64_t c, int64_t hw) {
  SER_CHECK(n >= 0 && c >= 0 && hw >= 0, "{}: negative size in (N, C, HW) = ({}, {}, {})", entry, n, c, hw);
}

int64_t backward_splits(int64_t n, int64_t c) {
  if (n <= 0 || c <= 0) return 0;
  return std::clamp<int64_t>((kTargetBackwardBlocks + c - 1) / c, 1, std::min<int64_t>(n, 65535));
}

unsigned blocks_for(int64_t items) {
  return static_cast<unsigned>((items + kThreads - 1) / kThreads);
}

}  // namespace

void bias_relu_forward(float* y, const float* bias, int64_t n, int64_t c, int64_t hw, cudaStream_t stream) {
  check_sizes("bias_relu_forward", n, c, hw);
  if (n * c * hw == 0) return;
  SER_CHECK(n * c <= INT32_MAX, "bias_relu_forward: N*C = {} planes is too many for one launch", n * c);
  const dim3 grid(static_cast<unsigned>(n * c),
                  static_cast<unsigned>(std::min<int64_t>((hw + kThreads - 1) / kThreads, kMaxChunksPerPlane)));
  bias_relu_planes_kernel<<<grid, kThreads, 0, stream>>>(y, bias, c, hw);
  SER_CHECK_LAUNCH();
}

int64_t bias_relu_backward_workspace_floats(int64_t n, int64_t c, int64_t hw) {
  check_sizes("bias_relu_backward_workspace_floats", n, c, hw);
  return c * backward_splits(n, c);
}

void bias_relu_backward(float* dy, const float* y, int64_t n, int64_t c, int64_t hw, float* dbias, float* workspace,
                        cudaStream_t stream) {
  check_sizes("bias_relu_backward", n, c, hw);
  if (c == 0) return;
  if (n * hw == 0) return;  // dz is empty and dbias += 0
  SER_CHECK(c <= INT32_MAX, "bias_relu_backward: C = {} channels is too many for one launch", c);
  SER_CHECK(workspace != nullptr, "bias_relu_backward: workspace is null (need {} floats)", c * backward_splits(n, c));
  const int64_t splits = backward_splits(n, c);
  bias_relu_backward_partial_kernel<<<dim3(static_cast<unsigned>(c), static_cast<unsigned>(splits)), kThreads, 0,
                                      stream>>>(dy, y, n, c, hw, workspace);
  SER_CHECK_LAUNCH();
  add_partials_kernel<<<blocks_for(c), kThreads, 0, stream>>>(workspace, c, splits, dbias);
  SER_CHECK_LAUNCH();
}

void bias_relu_dense_forward(float* y, const float* bias, int64_t n, int64_t c, cudaStream_t stream) {
  check_sizes("bias_relu_dense_forward", n, c, 1);
  if (n * c == 0) return;
  bias_relu_dense_kernel<<<detail::grid_stride_blocks(n * c, kThreads), kThreads, 0, stream>>>(y, bias, n * c, c);
  SER_CHECK_LAUNCH();
}

void bias_relu_dense_backward(float* dy, const float* y, int64_t n, int64_t c, float* dbias, cudaStream_t stream) {
  check_sizes("bias_relu_dense_backward", n, c, 1);
  if (c == 0) return;
  SER_CHECK(c <= INT32_MAX, "bias_relu_dense_backward: C = {} is too many columns", c);
  bias_relu_dense_backward_kernel<<<blocks_for(c), kThreads, 0, stream>>>(dy, y, n, c, dbias);
  SER_CHECK_LAUNCH();
}

}  // namespace ser::kernels
