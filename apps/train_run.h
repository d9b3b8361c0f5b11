// A whole training run, as `ser train`, `ser demo` and ser.train in Python perform it (the
// last through TrainHooks: its own progress callback and signal handling): index the corpora,
// extract features, split, normalise with training statistics, train with early
// stopping (checkpoint every epoch, resumable), evaluate the test split, write the model
// and the report. Options are saved in RUN_DIR/run.json (paths made absolute) so
// `--resume RUN_DIR` needs nothing else, from any working directory.
//
// Nothing is written into the run folder until every option is validated, the corpus is
// indexed and its features extracted: a refused run leaves no folder and changes no run.
// A resumed run checks its checkpoint (readable, same architecture, classes and seed)
// before indexing, and its corpus against the manifest.tsv it recorded before training.
#pragma once

#include <filesystem>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "apps/pipeline.h"
#include "engine/core/error.h"
#include "engine/train/recipe.h"

namespace ser::train {
struct TrainState;  // engine/train/trainer.h
}  // namespace ser::train

namespace ser::app {

// What a new run does with a folder that already holds a run (run_folder.h holds_run).
enum class ExistingRun {
  replace,  // clear the run's own files first (`ser demo` re-running into its folder, `ser train --force`)
  refuse,   // stop with one line before any work (`ser train` without --force)
};

struct TrainOptions {
  CorpusOptions corpus;
  std::filesystem::path out_dir;     // the run folder (required)
  std::string protocol = "holdout";  // seed | holdout | speaker | list (the --labels split column)
  // Named speakers (data/split.h parse_speaker_list): with val_speakers set, the split is
  // these speakers to validation, test_speakers to test (may be empty: no test part), the
  // rest to train; `protocol` is then "speaker".
  std::string val_speakers, test_speakers;
  // Named corpora (data/split.h parse_corpus_list), leave-corpus-out: test_corpus's files
  // are the test part; of the rest, val_corpus's (or val_speakers') validate.
  // A --labels list with a split column (protocol "list", which it needs and which needs
  // it): its val/test rows validate/test, the rest train; none of the four options above.
  std::string val_corpus, test_corpus;
  // How the model is trained (architecture, optimizer, loop, augmentation): a named recipe
  // with the command line's overrides applied (`ser train --recipe NAME --epochs N ...`).
  train::Recipe recipe = train::Recipe::named(train::Recipe::default_name());
  uint64_t seed = 42;
  std::string device = "auto";       // auto | cpu | cuda
  std::string math = "fp32";         // fp32 | tf32 (GPU convolution / dense math)
  std::string cache_dir;             // empty = default cache; "none" = no cache
  int threads = 0;
  bool progress = true;
  ExistingRun existing_run = ExistingRun::replace;  // not saved in run.json

  nlohmann::json to_json() const;
  // run.json of any version: one without "recipe" (before recipes existed) is the seed
  // recipe with its "epochs", "batch", "lr" and "patience".
  static TrainOptions from_json(const nlohmann::json& j);
};

struct TrainOutcome {
  bool trained = true;  // false: a resumed run that had nothing left to do (see `why`)
  std::string why;      // why training stopped, or why there was nothing to do (one line)
  std::string evaluated_on = "test";  // the split test_accuracy and macro_f1 are measured on ("validation" without test speakers)
  double test_accuracy = 0;
  double macro_f1 = 0;
  std::filesystem::path model_path, report_path;
};

// Thrown at the epoch boundary after SIGINT / SIGTERM, once that epoch's checkpoint is
// written; the message says how to continue.
class TrainingInterrupted : public Error {
 public:
  TrainingInterrupted(const std::string& message, int signal) : Error(message), signal(signal) {}
  int signal;
};

// How a caller other than the command line follows and stops a run (ser.train in Python).
// Empty hooks: the command line's behaviour (interrupt.h handlers, progress on stderr only).
struct TrainHooks {
  // After each epoch, once its checkpoint is written: state.history.back() is that epoch,
  // `epochs` the recipe's maximum. An exception thrown here ends the run and propagates;
  // the checkpoint stays, so `--resume` continues after that epoch.
  std::function<void(const train::TrainState& state, int epochs)> epoch_done;
  // Set: no signal handlers are installed (the caller keeps its own) and this is asked
  // instead, after each phase before training (indexing, features, augmented copies) and
  // after each epoch's epoch_done: a nonzero signal number stops the run as that signal
  // stops `ser train` (TrainingInterrupted, with the line that says how to continue).
  std::function<int()> pending_signal;
};

TrainOutcome run_training(const TrainOptions& options, bool resume, const TrainHooks& hooks = {});

// --device auto|cpu|cuda -> the device to use (auto: CUDA when a device is usable).
Device resolve_device(const std::string& name);

}  // namespace ser::app
