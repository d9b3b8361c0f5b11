// The host's own ceilings, measured once per ser_bench process and cached: memory
// bandwidth as a STREAM triad over all engine threads, and FP32 GEMM throughput of the
// BLAS the engine links (OpenBLAS). Every CPU case reports its frac_of_peak against these
// (bench/roofline.h), so a figure reads as "how far from what this machine can do".
#pragma once

#include "bench/roofline.h"

namespace ser::bench {

// Best of several runs of each probe (about 1 s in all, on the first call only):
//   bytes_per_second: the better of a[i] = b[i] + s * c[i] (12 bytes per element) and
//                     a = b by memcpy (8 bytes per element) over 128 MiB float arrays,
//                     split over cpu::parallel_for (the engine's pool);
//   flops_per_second: cpu::gemm<float> with M = N = K = 2048, 2 M N K FLOPs.
const Ceilings& cpu_ceilings();

}  // namespace ser::bench
