// Two-stage batch pipeline: items [0, items) are cut into batches of `batch_size`; each
// batch goes through stage 1 (`prepare`, e.g. decode + resample on the CPU threads) and then
// stage 2, which is split into `submit` (queues the batch's work, e.g. on the GPU, and
// returns at once) and `collect` (waits for that batch's result and consumes it).
//
// Overlapped schedule (the default), for batches 0..n-1:
//   prepare(0) submit(0) | prepare(1) submit(1) collect(0) | prepare(2) submit(2) collect(1) | ... collect(n-1)
// so stage 1 of batch k+1 runs while stage 2 of batch k is in flight, and at most two
// batches are in flight in stage 2 at any time (the GPU extractor's two slots). Collects
// run in batch order, on the calling thread, like every other stage call. The sequential
// schedule (prepare, submit, collect per batch) is kept for benchmarks and comparison.
//
// Failures: if any stage throws, no further batch is prepared or submitted; batches already
// submitted are still collected (nothing is left in flight; exceptions thrown while draining
// are dropped), then the first exception is rethrown. Per-item failures that should not stop
// the run (a file that does not decode) belong inside the stages, not in exceptions here.
//
// Device-agnostic on purpose: tests/features/test_pipeline.cpp checks it on the CPU with
// fake stages; features/extract.cpp uses it for the CUDA path.
#pragma once

#include <cstddef>
#include <functional>

namespace ser::features {

// One batch: its number (0-based) and its item range [begin, end), end - begin >= 1.
struct BatchRange {
  std::size_t index = 0;
  std::size_t begin = 0;
  std::size_t end = 0;
  std::size_t size() const { return end - begin; }
};

struct PipelineStages {
  std::function<void(const BatchRange&)> prepare;  // stage 1
  std::function<void(const BatchRange&)> submit;   // stage 2, start: must not wait for the work
  std::function<void(const BatchRange&)> collect;  // stage 2, end: waits for this batch's result
};

enum class PipelineSchedule { kOverlapped, kSequential };

// Runs every batch of [0, items) through the stages (see above). batch_size >= 1; items may be
// 0 (no stage is called). Every stage must be set.
void run_two_stage_pipeline(std::size_t items, std::size_t batch_size, const PipelineStages& stages,
                            PipelineSchedule schedule = PipelineSchedule::kOverlapped);

}  // namespace ser::features
