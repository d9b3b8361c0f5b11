// See blas_setup.h: detects OpenBLAS's generic fallback and re-executes with
// OPENBLAS_CORETYPE set to the kernels this CPU can run.
#include "engine/cpu/blas_setup.h"

#include <cstdlib>
#include <cstring>

#include <unistd.h>

extern "C" char* openblas_get_corename(void);

namespace ser::cpu {

std::string blas_core_name() {
  const char* name = openblas_get_corename();
  return name ? name : "";
}

std::string blas_core_override() {
  if (const char* set = std::getenv("OPENBLAS_CORETYPE"); set != nullptr) return "";
  const std::string core = blas_core_name();
  const bool generic = core == "Prescott" || core == "Core2" || core == "Nehalem" || core == "Unknown" || core.empty();
  if (!generic) return "";
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512vl"))
    return "SkylakeX";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
#endif
  return "";
}

void reexec_with_fast_blas_kernels(char** argv) {
  const std::string core = blas_core_override();
  if (core.empty() || argv == nullptr || argv[0] == nullptr) return;
  if (::setenv("OPENBLAS_CORETYPE", core.c_str(), 1) != 0) return;
  ::execv("/proc/self/exe", argv);
  // exec failed (no /proc, say): run on with the kernels already loaded.
}

}  // namespace ser::cpu
