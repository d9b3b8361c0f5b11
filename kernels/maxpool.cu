// 2x2/2 max pooling kernels; see maxpool.h. One thread per OUTPUT element (grid-stride):
// the forward reads its four inputs (four scalar loads), the backward
// writes all four inputs of its window (windows do not overlap, so no atomics and every
// dx element inside the pooled area is written exactly once). Only with an odd H or W is
// dx cleared first, for the dropped trailing row/column.
#include "engine/cuda/check.h"
#include "kernels/launch.cuh"
#include "kernels/maxpool.h"

namespace ser::kernels {
namespace {

constexpr unsigned kThreads = 256;

// x: (planes, H, W), y/argmax: (planes, H/2, W/2).
__global__ void maxpool_forward_kernel(float* y, int32_t* argmax, const float* x, int64_t total, int h, int w) {
  const int ho = h / 2, wo = w / 2;
  for (int64_t o = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; o < total; o += int64_t(blockDim.x) * gridDim.x) {
    const int64_t plane = o / (int64_t(ho) * wo);
    const int rem = static_cast<int>(o % (int64_t(ho) * wo)), i = rem / wo, j = rem % wo;
    const float* xp = x + plane * h * w;
    int32_t best = (2 * i) * w + 2 * j;
    float best_value = xp[best];
    const int32_t candidates[3] = {best + 1, best + w, best + w + 1};  // row-major order
    for (int k = 0; k < 3; ++k) {
      const float v = xp[candidates[k]];
      if (v > best_value) best_value = v, best = candidates[k];  // strict: the first maximum wins
    }
    y[o] = best_value;
    argmax[o] = best;
  }
}

__global__ void maxpool_backward_kernel(float* dx, const float* dy, const int32_t* argmax, int64_t total, int h,
                                        int w) {
  const int ho = h / 2, wo = w / 2;
  for (int64_t o = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; o < total; o += int64_t(blockDim.x) * gridDim.x) {
    const int64_t plane = o / (int64_t(ho) * wo);
    const int rem = static_cast<int>(o % (int64_t(ho) * wo)), i = rem / wo, j = rem % wo;
    float* dp = dx + plane * h * w;
    const int32_t top_left = (2 * i) * w + 2 * j, chosen = argmax[o];
    const float g = dy[o];
    const int32_t window[4] = {top_left, top_left + 1, top_left + w, top_left + w + 1};
    for (int k = 0; k < 4; ++k) dp[window[k]] = window[k] == chosen ? 0.0f + g : 0.0f;  // 0 + g: +0 for -0, as the CPU
  }
}

void check_pool(const char* entry, int64_t planes, int h, int w) {
  SER_CHECK(planes >= 1 && h >= 2 && w >= 2, "{}: invalid sizes planes={} H={} W={} (need H, W >= 2)", entry, planes,
            h, w);
}

}  // namespace

void maxpool2x2_forward(float* y, int32_t* argmax, const float* x, int64_t planes, int h, int w,
                        cudaStream_t stream) {
  check_pool("maxpool2x2_forward", planes, h, w);
  const int64_t total = planes * (h / 2) * (w / 2);
  maxpool_forward_kernel<<<detail::grid_stride_blocks(total, kThreads), kThreads, 0, stream>>>(y, argmax, x, total, h,
                                                                                               w);
  SER_CHECK_LAUNCH();
}

void maxpool2x2_backward(float* dx, const float* dy, const int32_t* argmax, int64_t planes, int h, int w,
                         cudaStream_t stream) {
  check_pool("maxpool2x2_backward", planes, h, w);
  if (h % 2 != 0 || w % 2 != 0) CUDA_CHECK(cudaMemsetAsync(dx, 0, sizeof(float) * planes * h * w, stream));
  const int64_t total = planes * (h / 2) * (w / 2);
  maxpool_backward_kernel<<<detail::grid_stride_blocks(total, kThreads), kThreads, 0, stream>>>(dx, dy, argmax, total,
                                                                                                h, w);
  SER_CHECK_LAUNCH();
}

}  // namespace ser::kernels
