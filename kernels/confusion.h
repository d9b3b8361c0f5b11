// Confusion-matrix accumulation on the device, so that evaluation needs one copy of a
// K x K int matrix per epoch instead of the predictions. Rows are TRUE classes, columns
// PREDICTED classes: confusion[label * K + predicted] += 1.
// All pointers are device pointers; work is queued on `stream` without synchronising.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace ser::kernels {

// predicted, labels: (N) int32; confusion: (K, K) int, accumulated with int atomicAdd.
// A pair with either value outside [0, K) is not counted: the matrix total then falls
// short of N, which the caller can check. Throws for N < 0 or K < 1.
void confusion_update(const int32_t* predicted, const int32_t* labels, int64_t n, int k, int* confusion,
                      cudaStream_t stream);

// Same from logits: (N, K) row-major; the prediction is the row's first arg-max (as in
// softmax_cross_entropy_forward_backward). One warp per row; K up to 1024.
void confusion_update_from_logits(const float* logits, const int32_t* labels, int64_t n, int k, int* confusion,
                                  cudaStream_t stream);

}  // namespace ser::kernels
