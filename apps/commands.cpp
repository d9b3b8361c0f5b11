// The list of subcommands, in the order `ser --help` shows them.
#include "apps/commands.h"

namespace ser::app {

void register_commands(CLI::App& app) {
  register_demo(app);
  register_train(app);
  register_eval(app);
  register_predict(app);
  register_adapt(app);
  register_features(app);
  register_export(app);
  register_info(app);
}

}  // namespace ser::app
