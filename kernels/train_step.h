// Device-side bookkeeping of the synchronisation-free training step (engine/cuda/
// device_trainer.cu): the step reads everything that changes from one step to the next
// from device memory, so one captured CUDA graph can be replayed for every step.
//
//   TrainStepCounters   one struct in device memory, written by the host once per epoch
//                       (pinned async copy) and advanced by finish_training_step()
//   gather_batch_at_cursor   rows order[cursor .. cursor+B) of the resident training set
//   finish_training_step     adds the step's loss/correct count to the epoch totals and
//                            advances the cursor and the dropout stream base
// All pointers are device pointers; work is queued on `stream` without synchronising.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace ser::kernels {

struct TrainStepCounters {
  int64_t cursor = 0;           // position in the epoch's order of the next step's first row
  uint64_t dropout_stream = 0;  // Philox stream of the next step's first dropout layer
  int64_t adam_step = 0;        // Adam steps already taken (adam_step_device_counter's counter)
  int64_t correct = 0;          // epoch total: rows whose first arg-max equals the label
  double loss_sum = 0;          // epoch total: sum over rows of the cross-entropy
};

// Per-step scratch written by the fused loss kernel (zeroed at the start of each step).
struct StepLoss {
  float loss_sum = 0;  // sum over the batch's rows
  int correct = 0;
};

// x: (B, D) out, labels_out: (B) int32 out; images: (M, D); labels: (M) int32;
// order: (M) int64, a permutation of [0, M). Row b of the batch is order[*cursor + b].
// A position past the end of `order` or an index outside [0, M) fills the row with NaN and
// its label with -1 (the loss then shows NaN), never an out-of-bounds read.
void gather_batch_at_cursor(float* x, int32_t* labels_out, const float* images, const int32_t* labels, int64_t m,
                            int64_t d, const int64_t* order, const TrainStepCounters* counters, int64_t b,
                            cudaStream_t stream);

// One thread: counters->loss_sum += step->loss_sum; counters->correct += step->correct;
// counters->cursor += b; counters->dropout_stream += streams_per_step.
void finish_training_step(TrainStepCounters* counters, const StepLoss* step, int64_t b, uint64_t streams_per_step,
                          cudaStream_t stream);

}  // namespace ser::kernels
