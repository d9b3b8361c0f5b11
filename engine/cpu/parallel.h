// parallel_for: splits [0, n) into one contiguous chunk per CPU thread and runs
// body(begin, end) on each, the calling thread taking the first chunk. The workers of the
// one process-wide pool SLEEP on a condition variable between calls (no spinning; an
// OpenMP runtime spinning against OpenBLAS made a training step 3x slower here). The GEMMs
// run on this pool too (gemm.cpp), with OpenBLAS single-threaded, so no second pool
// competes for the cores.
// Work below min_per_thread items per thread, and calls made from inside a parallel_for,
// run serially on the caller. Thread count: hardware threads, or $SER_CPU_THREADS.
#pragma once

#include <cstdint>
#include <functional>

namespace ser::cpu {

int cpu_threads();

void parallel_for_chunks(int64_t n, int64_t min_per_thread, const std::function<void(int64_t, int64_t)>& body);

template <typename F>
void parallel_for(int64_t n, int64_t min_per_thread, F&& body) {
  parallel_for_chunks(n, min_per_thread, std::function<void(int64_t, int64_t)>(std::forward<F>(body)));
}

}  // namespace ser::cpu
