// `ser demo`: the README's main job on the embedded synthetic corpus. Until the trainer
// lands it says so plainly and exits with status 2.
#include <fmt/format.h>

#include <cstdlib>

#include "apps/commands.h"

namespace ser::app {

void register_demo(CLI::App& app) {
  auto* cmd = app.add_subcommand("demo", "Generate the synthetic demo corpus, train, evaluate and predict on it");
  cmd->callback([] {
    fmt::print(stderr, "ser demo: not yet — the trainer has not landed (see the open issues); nothing was done\n");
    std::exit(2);
  });
}

}  // namespace ser::app
