// `ser train`'s command line outside the binary (apps/train_command.h), as ser.train in
// Python uses it: the options mean what the command line makes of them, a bad one is the
// command line's one line, a missing path is ser::PathNotFound; and run_training's hooks
// (apps/train_run.h TrainHooks): epoch_done after each epoch's checkpoint, and a
// pending_signal that stops the run there as SIGINT does, resumable.
#include <doctest/doctest.h>

#include <csignal>
#include <filesystem>
#include <string>
#include <vector>

#include "apps/train_command.h"
#include "apps/train_run.h"
#include "engine/core/path_not_found.h"
#include "engine/train/trainer.h"
#include "reliability/tiny_corpus.h"
#include "support/temp_dir.h"

namespace fs = std::filesystem;
using namespace ser;

namespace {

// The message of the ser::Error that parse_train_command(args) throws ("" when none).
std::string parse_error(const std::vector<std::string>& args) {
  try {
    app::parse_train_command(args);
  } catch (const Error& e) {
    return e.message();
  }
  return "";
}

// A small, fast run of the tiny corpus: the seed recipe's loop on a narrow network.
app::TrainOptions tiny_run(const fs::path& corpus, const fs::path& out, int epochs) {
  app::TrainOptions o = app::parse_train_command({"--data", corpus.string(), "--out", out.string(), "--recipe", "seed",
                                                  "--epochs", std::to_string(epochs), "--cache", "none", "--quiet"})
                            .options;
  o.recipe.architecture.conv_channels = {4, 8};
  o.recipe.architecture.dense_units = {8};
  return o;
}

}  // namespace

TEST_SUITE("app") {

TEST_CASE("parse_train_command: ser train's options as the command line reads them") {
  test::TempDir dir;
  const app::TrainCommand c = app::parse_train_command(
      {"--data", dir.path().string(), "--out", (dir / "run").string(), "--recipe", "seed", "--epochs", "3",
       "--val-speakers", "Actor_17..Actor_20", "--seed", "1", "--quiet"});
  CHECK_FALSE(c.resume);
  CHECK(c.options.recipe.name == "seed");
  CHECK(c.options.recipe.epochs == 3);
  CHECK(c.options.recipe.batch == train::Recipe::named("seed").batch);  // not given: the recipe's
  CHECK(c.options.protocol == "speaker");                              // implied by --val-speakers
  CHECK(c.options.val_speakers == "Actor_17..Actor_20");
  CHECK(c.options.seed == 1);
  CHECK_FALSE(c.options.progress);
  CHECK(c.options.out_dir == dir / "run");
  CHECK(c.options.existing_run == app::ExistingRun::refuse);
  CHECK(app::parse_train_command({"--out", (dir / "run").string(), "--force"}).options.existing_run ==
        app::ExistingRun::replace);
}

TEST_CASE("parse_train_command: a bad command line is the one line ser train prints") {
  CHECK(parse_error({"--epochs", "0"}) == "--epochs: must be an integer in [1, 100000], got '0' (see ser train --help)");
  CHECK(parse_error({"--sampling", "weighted"}).find("--sampling: weighted not in {shuffle,balanced,corpus-balanced}") == 0);
  CHECK(parse_error({"--help"}).find("--help") != std::string::npos);  // no help screen here
  CHECK(parse_error({"--epochs"}).find("(see ser train --help)") != std::string::npos);
  CHECK(parse_error({"--resume", "somewhere", "--seed", "3"}) ==
        "--seed cannot be changed when resuming: the run's value is in somewhere/run.json (start a new run instead)");
  test::TempDir dir;
  const std::string missing = (dir / "nothing").string();
  try {
    app::parse_train_command({"--resume", missing});
    FAIL("a missing run folder was accepted");
  } catch (const PathNotFound& e) {
    CHECK(e.path() == missing);
    CHECK(e.message() == "--resume " + missing + ": no such folder (expected a run folder holding run.json)");
  }
}

TEST_CASE("run_training: epoch_done after each checkpoint; pending_signal stops there, resumable") {
  test::TempDir dir;
  const fs::path corpus = test::make_tiny_corpus(dir / "corpus");
  const fs::path run = dir / "run";
  std::vector<int> epochs_seen;
  app::TrainHooks hooks;
  hooks.epoch_done = [&](const train::TrainState& s, int epochs) {
    CHECK(fs::exists(run / "checkpoint.safetensors"));
    CHECK(epochs == 3);
    CHECK(s.history.back().epoch == s.epochs_done);
    epochs_seen.push_back(s.epochs_done);
  };
  hooks.pending_signal = [&] { return epochs_seen.empty() ? 0 : SIGINT; };  // first after epoch 1
  try {
    app::run_training(tiny_run(corpus, run, 3), false, hooks);
    FAIL("the stop request was not honoured");
  } catch (const app::TrainingInterrupted& e) {
    CHECK(e.signal == SIGINT);
    CHECK(e.message() == "interrupted after epoch 1; continue with `ser train --resume " + run.string() + "`");
  }
  CHECK(epochs_seen == std::vector<int>{1});
  CHECK_FALSE(fs::exists(run / "model.safetensors"));

  hooks.pending_signal = [] { return 0; };
  const app::TrainOutcome done = app::run_training(tiny_run(corpus, run, 3), true, hooks);
  CHECK(done.trained);
  CHECK(epochs_seen == std::vector<int>{1, 2, 3});
  CHECK(fs::exists(done.model_path));
}

TEST_CASE("run_training: a stop request before training leaves no run folder") {
  test::TempDir dir;
  const fs::path corpus = test::make_tiny_corpus(dir / "corpus");
  app::TrainHooks hooks;
  hooks.pending_signal = [] { return SIGINT; };
  CHECK_THROWS_WITH_AS(app::run_training(tiny_run(corpus, dir / "run", 2), false, hooks),
                       ("interrupted before training started; nothing was written to " + (dir / "run").string()).c_str(),
                       app::TrainingInterrupted);
  CHECK_FALSE(fs::exists(dir / "run"));
}

}  // TEST_SUITE
