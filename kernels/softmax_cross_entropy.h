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

}  // namespace ser::kernels
