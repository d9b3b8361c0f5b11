// doctest entry point. Adds one thing to doctest's own report: the number of test cases
// that skipped for lack of a GPU (see support/gpu.h), so a run on a machine without one
// says so in its summary instead of passing silently.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>

#include "engine/cpu/blas_setup.h"
#include "support/gpu.h"

namespace ser::test {
std::string current_test_name() {
  const auto* state = doctest::detail::g_cs;
  return state && state->currentTest ? state->currentTest->m_name : "(unknown test)";
}
}  // namespace ser::test

int main(int argc, char** argv) {
  ser::cpu::reexec_with_fast_blas_kernels(argv);  // OpenBLAS's generic fallback on new CPUs (blas_setup.h)
  doctest::Context context(argc, argv);
  const int status = context.run();
  if (const int skipped = ser::test::gpu_skip_count(); skipped > 0)
    std::printf("[ser] %d GPU test case(s) SKIPPED: %s\n", skipped, ser::test::gpu_skip_reason().c_str());
  if (const int skipped = ser::test::other_skip_count(); skipped > 0)
    std::printf("[ser] %d case(s) for machines without CUDA SKIPPED (see their [ SKIP ] lines)\n", skipped);
  return status;
}
