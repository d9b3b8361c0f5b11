// Fused softmax + cross-entropy forward/backward (see softmax_cross_entropy.h).
// Launch: one warp per row, 8 rows (256 threads) per block. A row of K <= 1024 logits is
// read twice from L1/L2 (max + arg-max, then exp-sum + gradient) and written once; the
// per-row loss and hit are summed in shared memory so each block does one atomicAdd of
// each. Latency-bound at the seed net's sizes (N*K = 16*8 floats).
// The soft-target kernel has the same shape; its per-row loss sum_j t[j]*(lse - x[j]) is a
// fixed warp shuffle tree (deterministic), and its targets are computed in double with
// __dmul_rn/__dadd_rn so that no FMA contraction makes them round unlike the CPU's.
#include <cmath>

#include "engine/cuda/check.h"
#include "kernels/launch.cuh"
#include "kernels/softmax_cross_entropy.h"

namespace ser::kernels {
namespace {

constexpr int kRowsPerBlock = 8;
constexpr int kThreads = kRowsPerBlock * detail::kWarpSize;

// Adds the block's rows to the totals: lane 0 of each warp holds its row's loss and hit;
// thread 0 sums the block's rows in order and makes one float and one int atomic add.
// Every thread of the block must call it (it synchronises the block).
__device__ void add_block_totals(float row_loss, int row_hit, int lane, int warp, float* loss_sum, int* correct) {
  __shared__ float block_loss[kRowsPerBlock];
  __shared__ int block_hits[kRowsPerBlock];
  if (lane == 0) {
    block_loss[warp] = row_loss;
    block_hits[warp] = row_hit;
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    float loss = 0.0f;
    int hits = 0;
    for (int w = 0; w < kRowsPerBlock; ++w) {
      loss += block_loss[w];
      hits += block_hits[w];
    }
    atomicAdd(loss_sum, loss);
    if (hits != 0) atomicAdd(correct, hits);
  }
}

// One warp's pass over a row x (K): its max and argmax, and sum_j exp(x_j - max), on every lane.
// Shared by the hard- and soft-target kernels so both see the same bits.
__device__ inline void row_softmax_terms(const float* x, int k, int lane, float& max_value, int& max_index,
                                         float& exp_sum) {
  detail::row_argmax_warp(x, k, lane, max_value, max_index);
  exp_sum = 0.0f;
  for (int j = lane; j < k; j += detail::kWarpSize) exp_sum += expf(x[j] - max_value);
  exp_sum = detail::warp_sum(exp_sum);
}

// logits, dlogits: (N, K); labels: (N); loss_sum, correct: (1).
__global__ void softmax_cross_entropy_kernel(const float* __restrict__ logits, const int32_t* __restrict__ labels,
                                             int64_t n, int k, float* __restrict__ dlogits,
                                             float* __restrict__ loss_sum, int* __restrict__ correct) {
  const int warp = threadIdx.x / detail::kWarpSize;
  const int lane = threadIdx.x % detail::kWarpSize;
  const int64_t row = int64_t(blockIdx.x) * kRowsPerBlock + warp;

  float row_loss = 0.0f;
  int row_hit = 0;
  if (row < n) {
    const float* x = logits + row * k;  // (K)
    float* dx = dlogits + row * k;      // (K)
    const int label = labels[row];
    const bool label_ok = label >= 0 && label < k;

    float max_value, exp_sum;
    int max_index;
    row_softmax_terms(x, k, lane, max_value, max_index, exp_sum);

    const float inv_sum = 1.0f / exp_sum;
    const float inv_n = 1.0f / static_cast<float>(n);
    for (int j = lane; j < k; j += detail::kWarpSize) {
      // Explicit roundings (no FMA contraction of p - 1): the soft-target kernel writes the
      // same operations, so both give the same bits for a one-hot target.
      const float p = __fmul_rn(expf(x[j] - max_value), inv_sum);
      dx[j] = __fmul_rn(__fsub_rn(p, j == label ? 1.0f : 0.0f), inv_n);
    }
    if (lane == 0) {
      const float lse = __fadd_rn(max_value, logf(exp_sum));
      row_loss = label_ok ? lse - x[label] : NAN;
      row_hit = label_ok && max_index == label ? 1 : 0;
    }
  }
  add_block_totals(row_loss, row_hit, lane, warp, loss_sum, correct);
}

// The CPU's target_probability (engine/cpu/softmax_cross_entropy.h), operation for
// operation in double, without contraction.
__device__ inline double soft_target(int j, int a, int b, double lambda, double smoothing, int k) {
  const double hard = __dadd_rn(j == a ? lambda : 0.0, j == b ? __dsub_rn(1.0, lambda) : 0.0);
  return smoothing == 0.0 ? hard
                          : __dadd_rn(__dmul_rn(__dsub_rn(1.0, smoothing), hard), __ddiv_rn(smoothing, double(k)));
}

// logits, dlogits: (N, K); labels_a, labels_b, lambda: (N) (labels_b, lambda may be null).
__global__ void softmax_cross_entropy_soft_kernel(const float* __restrict__ logits,
                                                  const int32_t* __restrict__ labels_a,
                                                  const int32_t* __restrict__ labels_b,
                                                  const float* __restrict__ lambda, double smoothing, int64_t n,
                                                  int k, float* __restrict__ dlogits, float* __restrict__ loss_sum,
                                                  int* __restrict__ correct) {
  const int warp = threadIdx.x / detail::kWarpSize;
  const int lane = threadIdx.x % detail::kWarpSize;
  const int64_t row = int64_t(blockIdx.x) * kRowsPerBlock + warp;

  float row_loss = 0.0f;
  int row_hit = 0;
  if (row < n) {  // whole warps take this branch together: the shuffles below see full warps
    const float* x = logits + row * k;  // (K)
    float* dx = dlogits + row * k;      // (K)
    const int a = labels_a[row];
    const int b = labels_b != nullptr ? labels_b[row] : a;
    const double l = lambda != nullptr ? static_cast<double>(lambda[row]) : 1.0;
    const bool labels_ok = a >= 0 && a < k && b >= 0 && b < k;

    float max_value, exp_sum;
    int max_index;
    row_softmax_terms(x, k, lane, max_value, max_index, exp_sum);

    const float inv_sum = 1.0f / exp_sum;
    const float inv_n = 1.0f / static_cast<float>(n);
    const float lse = __fadd_rn(max_value, logf(exp_sum));
    float lane_loss = 0.0f;
    for (int j = lane; j < k; j += detail::kWarpSize) {
      const float p = __fmul_rn(expf(x[j] - max_value), inv_sum);
      const float t = static_cast<float>(soft_target(j, a, b, l, smoothing, k));
      dx[j] = __fmul_rn(__fsub_rn(p, t), inv_n);
      lane_loss = __fadd_rn(lane_loss, __fmul_rn(t, __fsub_rn(lse, x[j])));
    }
    lane_loss = detail::warp_sum(lane_loss);
    if (lane == 0) {
      row_loss = labels_ok ? lane_loss : NAN;
      row_hit = labels_ok && max_index == a ? 1 : 0;
    }
  }
  add_block_totals(row_loss, row_hit, lane, warp, loss_sum, correct);
}

}  // namespace

void softmax_cross_entropy_forward_backward(const float* logits, const int32_t* labels, int64_t n, int k,
                                            float* dlogits, float* loss_sum, int* correct, cudaStream_t stream) {
  SER_CHECK(n >= 0, "softmax_cross_entropy_forward_backward: batch size N = {} is negative", n);
  SER_CHECK(k >= 1 && k <= kMaxSoftmaxClasses,
            "softmax_cross_entropy_forward_backward: K = {} classes, supported 1..{}", k, kMaxSoftmaxClasses);
  if (n == 0) return;
  const int64_t blocks = (n + kRowsPerBlock - 1) / kRowsPerBlock;
  SER_CHECK(blocks <= INT32_MAX, "softmax_cross_entropy_forward_backward: N = {} rows is too many", n);
  softmax_cross_entropy_kernel<<<static_cast<unsigned>(blocks), kThreads, 0, stream>>>(logits, labels, n, k,
                                                                                       dlogits, loss_sum, correct);
  SER_CHECK_LAUNCH();
}

}  // namespace ser::kernels

namespace ser::kernels {

void softmax_cross_entropy_soft_forward_backward(const float* logits, const int32_t* labels_a,
                                                 const int32_t* labels_b, const float* lambda, double smoothing,
                                                 int64_t n, int k, float* dlogits, float* loss_sum, int* correct,
                                                 cudaStream_t stream) {
  SER_CHECK(n >= 0, "softmax_cross_entropy_soft_forward_backward: batch size N = {} is negative", n);
  SER_CHECK(k >= 1 && k <= kMaxSoftmaxClasses,
            "softmax_cross_entropy_soft_forward_backward: K = {} classes, supported 1..{}", k, kMaxSoftmaxClasses);
  SER_CHECK(smoothing >= 0.0 && smoothing < 1.0,
            "softmax_cross_entropy_soft_forward_backward: label smoothing {} is not in [0, 1)", smoothing);
  if (n == 0) return;
  const int64_t blocks = (n + kRowsPerBlock - 1) / kRowsPerBlock;
  SER_CHECK(blocks <= INT32_MAX, "softmax_cross_entropy_soft_forward_backward: N = {} rows is too many", n);
  softmax_cross_entropy_soft_kernel<<<static_cast<unsigned>(blocks), kThreads, 0, stream>>>(
      logits, labels_a, labels_b, lambda, smoothing, n, k, dlogits, loss_sum, correct);
  SER_CHECK_LAUNCH();
}

}  // namespace ser::kernels
