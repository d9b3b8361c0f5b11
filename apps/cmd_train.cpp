// `ser train`: train the CNN on one or more corpora in their native layouts.
#include <fmt/format.h>

#include <fstream>
#include <memory>

#include "apps/cli_values.h"
#include "apps/commands.h"
#include "apps/train_run.h"
#include "engine/core/error.h"

namespace ser::app {

void register_train(CLI::App& app) {
  auto opts = std::make_shared<TrainOptions>();
  auto resume = std::make_shared<std::string>();
  auto quiet = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand("train", "Train on corpora in their native layouts; writes model, checkpoint and report");
  cmd->add_option("--data", opts->corpus.data_dirs, "Corpus folder (repeatable): RAVDESS, SAVEE, TESS, CREMA-D or renamed");
  cmd->add_option("--corpus", opts->corpus.corpus,
                  "Corpus kind: auto|ravdess|savee|tess|cremad|renamed, one for all --data or a comma list, one each")
      ->capture_default_str();
  cmd->add_option("--out", opts->out_dir, "Run folder for model, checkpoint, report")->capture_default_str();
  cmd->add_option("--protocol", opts->protocol,
                  "seed: the notebook's 80/20 split (test doubles as validation); holdout: train/validation/test "
                  "70/15/15; speaker: speaker-disjoint train/validation/test")
      ->check(CLI::IsMember({"seed", "holdout", "speaker"}))
      ->capture_default_str();
  cmd->add_option("--epochs", opts->epochs, "Maximum epochs")->transform(integer_in(1, kMaxEpochs))->capture_default_str();
  cmd->add_option("--batch", opts->batch, "Batch size")->transform(integer_in(1, kMaxBatch))->capture_default_str();
  cmd->add_option("--lr", opts->lr, "Adam learning rate")->transform(number_between_exclusive(0, kMaxLearningRate))->capture_default_str();
  cmd->add_option("--patience", opts->patience, "Early stopping: epochs without a better validation accuracy")
      ->transform(integer_in(1, kMaxEpochs))
      ->capture_default_str();
  cmd->add_option("--seed", opts->seed, "Random seed (split, initialisation, shuffles, dropout)")
      ->transform(unsigned_64bit())
      ->capture_default_str();
  cmd->add_option("--classes", opts->corpus.classes, "6 (seed classes), 8 (adds calm, surprised) or a comma list")
      ->capture_default_str();
  add_device_option(*cmd, opts->device);
  cmd->add_option("--math", opts->math,
                  "GPU math: fp32 (strict) or tf32 (tensor cores, faster, ~1e-3 relative rounding); no effect on the CPU")
      ->check(CLI::IsMember({"fp32", "tf32"}))
      ->capture_default_str();
  cmd->add_option("--cache", opts->cache_dir, "Feature cache folder ('none' disables; default ~/.cache/ser/features)");
  cmd->add_option("--threads", opts->threads, "Feature extraction threads (0 = all cores)")
      ->transform(integer_in(0, kMaxThreads))
      ->capture_default_str();
  cmd->add_option("--resume", *resume,
                  "Continue the interrupted run in this folder: its options are reused; --epochs, --patience, "
                  "--device, --math, --cache, --threads may be given to change them");
  cmd->add_flag("--quiet", *quiet, "No progress output");
  cmd->callback([cmd, opts, resume, quiet] {
    TrainOptions o = *opts;
    const bool resuming = !resume->empty();
    if (resuming) {
      // Options that define the experiment cannot change under a resumed run.
      for (const char* fixed : {"--data", "--corpus", "--out", "--protocol", "--batch", "--lr", "--seed", "--classes"})
        SER_CHECK(cmd->count(fixed) == 0,
                  "{} cannot be changed when resuming: the run's value is in {}/run.json (start a new run instead)",
                  fixed, *resume);
      const std::filesystem::path run_json = std::filesystem::path(*resume) / "run.json";
      std::ifstream in(run_json);
      SER_CHECK(in.good(), "--resume {}: no run.json there (is it a ser run folder?)", *resume);
      try {
        o = TrainOptions::from_json(nlohmann::json::parse(in));
      } catch (const nlohmann::json::exception& e) {
        SER_FAIL("{}: malformed run description ({})", run_json.string(), e.what());
      }
      o.out_dir = *resume;
      if (cmd->count("--epochs") > 0) o.epochs = opts->epochs;
      if (cmd->count("--patience") > 0) o.patience = opts->patience;
      if (cmd->count("--device") > 0) o.device = opts->device;
      if (cmd->count("--math") > 0) o.math = opts->math;
      if (cmd->count("--cache") > 0) o.cache_dir = opts->cache_dir;
      if (cmd->count("--threads") > 0) o.threads = opts->threads;
    }
    o.progress = !*quiet;
    const TrainOutcome out = run_training(o, resuming);
    fmt::print("test accuracy {:.2f} %  macro F1 {:.4f}\nmodel:  {}\nreport: {}\n", 100 * out.test_accuracy,
               out.macro_f1, out.model_path.string(), out.report_path.string());
  });
}

}  // namespace ser::app
