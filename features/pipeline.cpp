// Two-stage batch pipeline; see pipeline.h for the schedule and the failure rules.
// `in_flight` holds the batches submitted and not yet collected, oldest first (at most two).
#include "features/pipeline.h"

#include <algorithm>
#include <deque>
#include <exception>

#include "engine/core/error.h"

namespace ser::features {

void run_two_stage_pipeline(std::size_t items, std::size_t batch_size, const PipelineStages& stages,
                            PipelineSchedule schedule) {
  SER_CHECK(batch_size >= 1, "run_two_stage_pipeline: batch_size must be >= 1 (got {})", batch_size);
  SER_CHECK(stages.prepare && stages.submit && stages.collect,
            "run_two_stage_pipeline: prepare, submit and collect must all be set");
  // Overlapped: batch k may stay in flight while batch k+1 is prepared and submitted.
  const std::size_t max_in_flight = schedule == PipelineSchedule::kOverlapped ? 2 : 1;
  std::deque<BatchRange> in_flight;
  try {
    for (std::size_t begin = 0, index = 0; begin < items; begin += batch_size, ++index) {
      const BatchRange batch{index, begin, std::min(items, begin + batch_size)};
      stages.prepare(batch);
      stages.submit(batch);
      in_flight.push_back(batch);
      while (in_flight.size() >= max_in_flight) {
        const BatchRange oldest = in_flight.front();
        in_flight.pop_front();  // popped first: a collect that throws is not collected again
        stages.collect(oldest);
      }
    }
    while (!in_flight.empty()) {
      const BatchRange oldest = in_flight.front();
      in_flight.pop_front();
      stages.collect(oldest);
    }
  } catch (...) {
    // Drain: every submitted batch is collected, so no work outlives the call.
    const std::exception_ptr first = std::current_exception();
    for (const BatchRange& batch : in_flight) {
      try {
        stages.collect(batch);
      } catch (...) {  // the first failure is the one reported
      }
    }
    std::rethrow_exception(first);
  }
}

}  // namespace ser::features
