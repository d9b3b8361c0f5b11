// OpenBLAS chooses its kernels from the CPU model when the library loads. A CPU newer than
// the library falls back to the generic Prescott (SSE3) kernels: Debian 12's OpenBLAS 0.3.21
// does this on Intel Sapphire/Emerald Rapids (cpu family 6, model 143/207), one of the
// machines this project is built and tested on, and its conv GEMMs then run 3-5x slower
// (seed training step, 2 cores: 1313 ms with Prescott, 377 ms with SkylakeX kernels).
// OPENBLAS_CORETYPE picks the kernels instead, but it is read only at load time, before
// main(): so the fix is to set it and re-execute the program once.
#pragma once

#include <string>

namespace ser::cpu {

// The name of the kernels OpenBLAS runs ("Haswell", "SkylakeX", "Prescott", ...).
std::string blas_core_name();

// The OPENBLAS_CORETYPE that would replace a generic fallback on this CPU: "SkylakeX"
// (AVX-512 F/BW/DQ/VL) or "Haswell" (AVX2 + FMA); "" when OpenBLAS already runs a specific
// kernel, the CPU has neither, or OPENBLAS_CORETYPE is set (the user's choice is kept).
std::string blas_core_override();

// When blas_core_override() is non-empty: sets OPENBLAS_CORETYPE to it and re-executes
// /proc/self/exe with the same argv (the new process sees the variable set, so this happens
// at most once). Returns when there is nothing to do, or when the exec failed (the program
// then runs on with the slow kernels). Call first thing in main(), before any thread starts.
void reexec_with_fast_blas_kernels(char** argv);

}  // namespace ser::cpu
