// `ser train`: train the CNN on one or more corpora in their native layouts, into a new
// run folder, or `--resume` one from its run.json (the options: train_command.h). Ctrl-C
// ends a run at the next epoch boundary with the line that says how to continue (exit
// status 128 + signal).
#include <fmt/format.h>

#include <memory>

#include "apps/commands.h"
#include "apps/train_command.h"

namespace ser::app {

void register_train(CLI::App& app) {
  auto* cmd = app.add_subcommand("train", "Train on corpora in their native layouts; writes model, checkpoint and report");
  auto args = std::make_shared<TrainArguments>(*cmd);
  cmd->callback([args] {
    const TrainCommand c = args->command();
    fmt::print("{}", outcome_text(run_training(c.options, c.resume)));  // an interrupt ends in main(): 128 + signal
  });
}

}  // namespace ser::app
