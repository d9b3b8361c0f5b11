// Confusion-matrix updates; see confusion.h. Both kernels are latency-bound (N is a
// batch, K*K a few dozen ints): one thread per pair, or one warp per logits row.
// Integer atomics make the result exact and order-independent.
#include "engine/cuda/check.h"
#include "kernels/confusion.h"
#include "kernels/launch.cuh"
#include "kernels/softmax_cross_entropy.h"

namespace ser::kernels {
namespace {

constexpr unsigned kThreads = 256;
constexpr int kRowsPerBlock = kThreads / detail::kWarpSize;

__device__ inline void count_pair(int label, int predicted, int k, int* confusion) {
  if (label >= 0 && label < k && predicted >= 0 && predicted < k) atomicAdd(&confusion[label * k + predicted], 1);
}

// predicted, labels: (N); confusion: (K, K).
__global__ void confusion_pairs_kernel(const int32_t* __restrict__ predicted, const int32_t* __restrict__ labels,
                                       int64_t n, int k, int* confusion) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(blockDim.x) * gridDim.x)
    count_pair(labels[i], predicted[i], k, confusion);
}

// logits: (N, K); labels: (N); confusion: (K, K).
__global__ void confusion_logits_kernel(const float* __restrict__ logits, const int32_t* __restrict__ labels,
                                        int64_t n, int k, int* confusion) {
  const int lane = threadIdx.x % detail::kWarpSize;
  const int64_t row = int64_t(blockIdx.x) * kRowsPerBlock + threadIdx.x / detail::kWarpSize;
  if (row >= n) return;  // whole warp leaves together: the shuffles below stay convergent
  float max_value;
  int max_index;
  detail::row_argmax_warp(logits + row * k, k, lane, max_value, max_index);
  if (lane == 0) count_pair(labels[row], max_index, k, confusion);
}

void check_confusion(const char* entry, int64_t n, int k) {
  SER_CHECK(n >= 0, "{}: N = {} is negative", entry, n);
  SER_CHECK(k >= 1, "{}: K = {} classes must be >= 1", entry, k);
}

}  // namespace

void confusion_update(const int32_t* predicted, const int32_t* labels, int64_t n, int k, int* confusion,
                      cudaStream_t stream) {
  check_confusion("confusion_update", n, k);
  if (n == 0) return;
  confusion_pairs_kernel<<<detail::grid_stride_blocks(n, kThreads), kThreads, 0, stream>>>(predicted, labels, n, k,
                                                                                          confusion);
  SER_CHECK_LAUNCH();
}

void confusion_update_from_logits(const float* logits, const int32_t* labels, int64_t n, int k, int* confusion,
                                  cudaStream_t stream) {
  check_confusion("confusion_update_from_logits", n, k);
  SER_CHECK(k <= kMaxSoftmaxClasses, "confusion_update_from_logits: K = {} classes, supported 1..{}", k,
            kMaxSoftmaxClasses);
  if (n == 0) return;
  const int64_t blocks = (n + kRowsPerBlock - 1) / kRowsPerBlock;
  SER_CHECK(blocks <= INT32_MAX, "confusion_update_from_logits: N = {} rows is too many", n);
  confusion_logits_kernel<<<static_cast<unsigned>(blocks), kThreads, 0, stream>>>(logits, labels, n, k, confusion);
  SER_CHECK_LAUNCH();
}

}  // namespace ser::kernels
