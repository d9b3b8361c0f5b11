// The list of subcommands.
#include "apps/commands.h"

namespace ser::app {

void register_commands(CLI::App& app) {
  register_info(app);
  register_demo(app);
}

}  // namespace ser::app
