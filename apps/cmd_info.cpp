// `ser info`: what this build can do and what a run would use (version, CPU threads and
// libraries, CUDA backend and device, what --device auto picks, the feature cache folder);
// `ser info MODEL` instead describes a model file or run folder (apps/model_info.h).
#include <fmt/format.h>

#include <memory>
#include <string>

#include "apps/commands.h"
#include "apps/model_info.h"
#include "apps/pipeline.h"
#include "engine/core/device.h"
#include "engine/core/version.h"
#include "engine/cpu/blas_setup.h"
#include "engine/cpu/parallel.h"
#include "features/audio.h"

namespace ser::app {

void register_info(CLI::App& app) {
  auto model = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("info", "Show the build's backends, the CPU threads and GPU a run would use, "
                                         "and the feature cache folder; or, given a model, what it is");
  cmd->add_option("model", *model,
                  "A model file or run folder: show its classes, network, feature parameters, normalisation, "
                  "clip lengths, and from its run folder the recipe, the data it was trained on, its figures, "
                  "and a note on the corpora's licences");
  cmd->callback([model] {
    if (!model->empty()) {
      fmt::print("{}", describe_model(*model));
      return;
    }
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
