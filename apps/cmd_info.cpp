// `ser info`: what this build can do (backend, device, libraries).
#include <fmt/format.h>

#include "apps/commands.h"
#include "engine/core/device.h"
#include "engine/core/version.h"

namespace ser::app {

void register_info(CLI::App& app) {
  auto* cmd = app.add_subcommand("info", "Show the build's backends and the GPU it would use");
  cmd->callback([] {
    fmt::print("ser {}\n", kVersion);
    fmt::print("CUDA backend: {}\n", built_with_cuda() ? "built" : "not built (CPU-only build)");
    fmt::print("CUDA device:  {}\n", cuda_device_description());
  });
}

}  // namespace ser::app
