// Google Benchmark entry point, with one addition: OpenBLAS's generic fallback on CPUs newer
// than the library is replaced before any case runs (engine/cpu/blas_setup.h), so CPU
// figures measure the kernels `ser` itself uses.
#include <benchmark/benchmark.h>

#include "engine/cpu/blas_setup.h"

int main(int argc, char** argv) {
  ser::cpu::reexec_with_fast_blas_kernels(argv);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("blas_kernels", ser::cpu::blas_core_name());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
