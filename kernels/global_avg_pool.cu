// Global average pooling kernels; see global_avg_pool.h. Forward: one warp per plane (the
// network's planes hold 36 values; a warp covers any size with a strided loop), double
// lane sums combined by shuffles. Backward: grid-stride over dx, one division per element.
#include "engine/cuda/check.h"
#include "kernels/global_avg_pool.h"
#include "kernels/launch.cuh"

namespace ser::kernels {
namespace {

constexpr unsigned kThreads = 256;
constexpr int kWarpsPerBlock = kThreads / detail::kWarpSize;

__global__ void global_avg_pool_forward_kernel(float* y, const float* x, int64_t planes, int64_t hw) {
  const int64_t plane = int64_t(blockIdx.x) * kWarpsPerBlock + threadIdx.x / detail::kWarpSize;
  const int lane = threadIdx.x % detail::kWarpSize;
  if (plane >= planes) return;  // whole warps leave together: the shuffles below see full warps
  const float* xp = x + plane * hw;
  double sum = 0.0;
  for (int64_t i = lane; i < hw; i += detail::kWarpSize) sum += static_cast<double>(xp[i]);
  for (int delta = detail::kWarpSize / 2; delta > 0; delta /= 2)
    sum += __shfl_xor_sync(detail::kFullWarpMask, sum, delta);
  if (lane == 0) y[plane] = static_cast<float>(sum / static_cast<double>(hw));
}

__global__ void global_avg_pool_backward_kernel(float* dx, const float* dy, int64_t planes, int64_t hw) {
  const int64_t n = planes * hw;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(blockDim.x) * gridDim.x)
    dx[i] = static_cast<float>(static_cast<double>(dy[i / hw]) / static_cast<double>(hw));
}

void check_sizes(const char* entry, int64_t planes, int64_t hw) {
  SER_CHECK(planes >= 0 && hw >= 1, "{}: invalid sizes planes={} hw={}", entry, planes, hw);
}

}  // namespace

void global_avg_pool_forward(float* y, const float* x, int64_t planes, int64_t hw, cudaStream_t stream) {
  check_sizes("global_avg_pool_forward", planes, hw);
  if (planes == 0) return;
  const auto blocks = static_cast<unsigned>((planes + kWarpsPerBlock - 1) / kWarpsPerBlock);
  global_avg_pool_forward_kernel<<<blocks, kThreads, 0, stream>>>(y, x, planes, hw);
  SER_CHECK_LAUNCH();
}

void global_avg_pool_backward(float* dx, const float* dy, int64_t planes, int64_t hw, cudaStream_t stream) {
  check_sizes("global_avg_pool_backward", planes, hw);
  if (planes == 0) return;
  global_avg_pool_backward_kernel<<<detail::grid_stride_blocks(planes * hw, kThreads), kThreads, 0, stream>>>(
      dx, dy, planes, hw);
  SER_CHECK_LAUNCH();
}

}  // namespace ser::kernels
