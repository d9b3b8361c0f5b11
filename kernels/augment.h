// Training-time augmentation of a batch of log-mel images on the device: the twin of
// cpu::augment_images (engine/cpu/augment.h), evaluating the same inline per-pixel
// functions (augment_masked, augmented_pixel) from the same per-sample plan
// (cpu::SampleAugment, drawn on the host by train::draw_augment_plan), and mixing with
// __fmul_rn / __fadd_rn so the result is BIT-IDENTICAL to the CPU's:
//   out[n, h, w] = lambda*A_n(h, w) + (1 - lambda)*A_p(h, w)   (lambda == 1: A_n exactly)
// with p = plan[n].partner, a row of the same batch. Images are (N, 1, H, W) float32.
// A plan row the device cannot use (partner outside [0, N), shift outside [0, W), a
// position past the plan's end) cannot throw there: its output row is NaN (and its mixup
// label -1), so the loss shows it; never an out-of-bounds read.
// All pointers are device pointers; work is queued on `stream` without synchronising.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "engine/cpu/augment.h"

namespace ser::kernels {

// out, x: (N, 1, H, W) (out != x); plan: (N) SampleAugment in device memory.
// Throws ser::Error for N < 0, H < 1, W < 1, out == x or a null pointer (N > 0).
void augment_images(float* out, const float* x, const cpu::SampleAugment* plan, int64_t n, int h, int w,
                    cudaStream_t stream);

// The CUDA-graph step's variant: sample b of the batch uses plan row *cursor + b of the
// epoch's plan (plan: (plan_size), one row per position of the epoch's order, uploaded with
// the order; cursor: (1) int64 in device memory, TrainStepCounters::cursor), so a replayed
// graph augments each step with that step's rows. Partners index the batch, as on the host.
// Optionally (labels non-null, then labels_b and lambda non-null too) the mixup targets:
//   labels_b[b] = labels[partner of b], lambda[b] = its weight  (labels: (N) the batch's own
// labels; labels_b: (N) int32 out; lambda: (N) float out), what softmax_cross_entropy_soft_*
// takes; an unusable row gets labels_b = -1 and lambda = NaN.
void augment_batch_at_cursor(float* out, int32_t* labels_b, float* lambda, const float* x, const int32_t* labels,
                             const cpu::SampleAugment* plan, int64_t plan_size, const int64_t* cursor, int64_t n,
                             int h, int w, cudaStream_t stream);

}  // namespace ser::kernels
