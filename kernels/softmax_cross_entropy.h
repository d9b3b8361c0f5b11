// Fused softmax + sparse categorical cross-entropy for the last layer of the classifier:
// loss, gradient and accuracy count of one batch in a single pass over the logits.
// All pointers are device pointers; work is queued on `stream` without synchronising.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace ser::kernels {

// Largest class count the kernel accepts (one warp walks a row; K is 7-8 in practice).
constexpr int kMaxSoftmaxClasses = 1024;

// logits:   (N, K) row-major, float
// labels:   (N) int32, each in [0, K)
// dlogits:  (N, K) out (overwritten): (softmax(logits) - onehot(label)) / N, the gradient
//           of the MEAN loss over the batch
// loss_sum: (1) += sum over rows of lse(row) - row[label]   (float atomicAdd; the caller
//           zeroes it and divides by N)
// correct:  (1) += number of rows whose first arg-max equals the label (int atomicAdd)
// Per row the log-sum-exp is taken in float after subtracting the row maximum.
// A label outside [0, K) cannot throw from the device: that row adds NaN to loss_sum (so
// the epoch's loss shows it) and its dlogits row is plain softmax / N.
// Throws ser::Error for N < 0 or K outside [1, kMaxSoftmaxClasses]; N == 0 queues nothing.
void softmax_cross_entropy_forward_backward(const float* logits, const int32_t* labels, int64_t n, int k,
                                            float* dlogits, float* loss_sum, int* correct, cudaStream_t stream);

// The same with SOFT targets (label smoothing and mixup), the device twin of
// cpu::softmax_cross_entropy_soft: row n's target distribution is
//   t[j] = (1 - smoothing) * (lambda[n]*[j == a[n]] + (1 - lambda[n])*[j == b[n]]) + smoothing/K
// (smoothing == 0: the bracket alone), computed in double with the CPU's operations and
// rounded to float; then, in float as the hard kernel,
//   dlogits[n, j] = (softmax(row)[j] - t[j]) / N          (overwritten)
//   loss_sum     += sum over rows of sum_j t[j] * (lse(row) - row[j])
//   correct      += rows whose first arg-max equals labels_a[n] (the image's own label)
// labels_a: (N) int32; labels_b: (N) int32 or null (= labels_a); lambda: (N) float or null
// (= 1, no mixup). With smoothing 0 and no mixup the results are the hard kernel's bits.
// A label outside [0, K) (either of a row's two) adds NaN to loss_sum; a NaN lambda gives
// NaN. Throws for N < 0, K outside [1, kMaxSoftmaxClasses] or smoothing outside [0, 1).
void softmax_cross_entropy_soft_forward_backward(const float* logits, const int32_t* labels_a,
                                                 const int32_t* labels_b, const float* lambda, double smoothing,
                                                 int64_t n, int k, float* dlogits, float* loss_sum, int* correct,
                                                 cudaStream_t stream);

}  // namespace ser::kernels
