// OpenBLAS kernel selection (engine/cpu/blas_setup.h): the test binary itself went through
// reexec_with_fast_blas_kernels in tests/main.cpp, so on a CPU with AVX2 + FMA it must run
// specific kernels, never the generic Prescott fallback; a user's OPENBLAS_CORETYPE is kept.
#include <doctest/doctest.h>

#include <cstdlib>
#include <string>

#include "engine/cpu/blas_setup.h"

TEST_SUITE("core") {
TEST_CASE("OpenBLAS runs kernels for this CPU, not the generic fallback") {
  const std::string core = ser::cpu::blas_core_name();
  INFO("OpenBLAS kernels: " << core);
  CHECK(!core.empty());
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) CHECK(core != "Prescott");
#endif
  CHECK(ser::cpu::blas_core_override().empty());  // nothing left to fix in this process
}

TEST_CASE("an OPENBLAS_CORETYPE set by the user is never overridden") {
  const char* before = std::getenv("OPENBLAS_CORETYPE");
  const std::string saved = before ? before : "";
  ::setenv("OPENBLAS_CORETYPE", "Prescott", 1);
  CHECK(ser::cpu::blas_core_override().empty());
  if (before) ::setenv("OPENBLAS_CORETYPE", saved.c_str(), 1);
  else ::unsetenv("OPENBLAS_CORETYPE");
}
}
