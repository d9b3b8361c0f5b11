// `ser train`'s command line, for every caller: its options on a CLI::App (what `ser train
// --help` shows) and the run they describe (train_run.h TrainOptions: the recipe with the
// options that override it, a resumed run's run.json with those that may change, the
// --protocol that --val-speakers or a split column imply). The command line (cmd_train.cpp)
// and ser.train in Python (python/ser_module.cpp, which turns keyword arguments into these
// options) both go through it, so that an option means the same in both.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "apps/train_run.h"

namespace ser::app {

// The recipe options of `ser train`, as given: a field is applied only when its option
// was on the command line (CLI::App::count), over the recipe --recipe names.
struct RecipeArgs {
  std::string recipe = train::Recipe::default_name();
  int epochs = 0, batch = 0, patience = 0, wave_copies = 0;
  double lr = 0, weight_decay = 0, label_smoothing = 0, short_crops = 0;
  std::string lr_schedule, augment, sampling, keep, head, frontend, wave_augment;
};

// The run a parsed `ser train` command line asks for.
struct TrainCommand {
  TrainOptions options;
  bool resume = false;  // --resume: options.out_dir is the run folder to continue
};

// The values `ser train`'s options are parsed into.
class TrainArguments {
 public:
  // Adds every option of `ser train` to `cmd`, which must outlive this object.
  explicit TrainArguments(CLI::App& cmd);
  TrainArguments(const TrainArguments&) = delete;
  TrainArguments& operator=(const TrainArguments&) = delete;

  // After `cmd` has parsed: the run its options describe, or a ser::Error for options that
  // cannot go together. A new run without --out gets a fresh folder under runs/, named on
  // stderr.
  TrainCommand command() const;

 private:
  const CLI::App& cmd_;
  TrainOptions given_;
  RecipeArgs recipe_;
  std::string resume_;
  bool quiet_ = false, force_ = false;
};

// `ser train ARGS...` (args: what follows "train") parsed as the command line parses it; a
// CLI11 parse error is a ser::Error with the line `ser train` prints ("... (see ser train
// --help)"). No --help: it is an unexpected argument here.
TrainCommand parse_train_command(const std::vector<std::string>& args);

// What `ser train` prints on stdout when a run ends: why it stopped, the accuracy and F1 of
// the evaluated split, the model and report paths.
std::string outcome_text(const TrainOutcome& outcome);

}  // namespace ser::app
