// `ser info`: what this build can do and what a run would use (version, CPU threads and
// libraries, CUDA backend and device, what --device auto picks, the feature cache folder).
#include <fmt/format.h>

#include "apps/commands.h"
#include "apps/pipeline.h"
#include "engine/core/device.h"
#include "engine/core/version.h"
#include "engine/cpu/blas_setup.h"
#include "engine/cpu/parallel.h"
#include "features/audio.h"

namespace ser::app {

void register_info(CLI::App& app) {
  auto* cmd = app.add_subcommand("info", "Show the build's backends, the CPU threads and GPU a run would use, "
                                         "and the feature cache folder");
  cmd->callback([] {
    fmt::print("ser {}\n", kVersion);
    fmt::print("CPU:          {} threads (set SER_CPU_THREADS or --threads to change), OpenBLAS GEMM ({} kernels), "
               "FFTW, {}\n",
               cpu::cpu_threads(), cpu::blas_core_name(), features::audio_library_versions());
    if (built_with_cuda())
      fmt::print("CUDA backend: built (cuDNN, cuBLAS, cuFFT); device: {}\n", cuda_device_description());
    else
      fmt::print("CUDA backend: not built (CPU-only build)\n");
    fmt::print("--device auto trains on: the CPU ({})\n",
               built_with_cuda() && cuda_device_available()
                   ? "the GPU backend has not been validated on a GPU yet; --device cuda opts in"
                   : "no usable CUDA device");
    fmt::print("feature cache: {} (--cache DIR or --cache none to change)\n", default_cache_dir().string());
  });
}

}  // namespace ser::app
