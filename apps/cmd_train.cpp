// `ser train`: train the CNN on one or more corpora in their native layouts, into a new
// run folder, or `--resume` one from its run.json. Ctrl-C ends a run at the next epoch
// boundary with the line that says how to continue (exit status 128 + signal).
#include <fmt/format.h>

#include <fstream>
#include <memory>

#include "apps/cli_values.h"
#include "apps/commands.h"
#include "apps/run_folder.h"
#include "apps/train_run.h"
#include "engine/core/error.h"

namespace ser::app {
namespace {

// A new run: the default run folder is a fresh one under runs/, so running `ser train`
// twice never meets the first run's folder.
TrainOptions new_run_options(const CLI::App& cmd, const TrainOptions& given, bool force) {
  TrainOptions o = given;
  if (cmd.count("--out") > 0) {
    SER_CHECK(!o.out_dir.empty(), "--out: empty path");
  } else {
    o.out_dir = fresh_run_folder("runs");
    fmt::print(stderr, "run folder: {}\n", o.out_dir.string());
  }
  o.existing_run = force ? ExistingRun::replace : ExistingRun::refuse;
  return o;
}

// run.json's paths as stored: absolute since this version; a relative one (older versions)
// is taken against the current directory, and a missing one is named as run.json's.
void resolve_stored_paths(TrainOptions& o, const std::filesystem::path& run_json) {
  for (std::string& dir : o.corpus.data_dirs) {
    const std::filesystem::path resolved = std::filesystem::absolute(dir);
    SER_CHECK(std::filesystem::exists(resolved), "{}: run.json's data folder '{}' (as stored) does not exist{}",
              run_json.string(), dir,
              std::filesystem::path(dir).is_relative()
                  ? fmt::format(" (looked for {}: run it from the folder the run was started in)", resolved.string())
                  : "");
    dir = resolved.lexically_normal().string();
  }
}

// A resumed run: run.json's options, with those that may change taken from the command line.
TrainOptions resumed_options(const CLI::App& cmd, const TrainOptions& given, const std::string& resume) {
  SER_CHECK(!resume.empty(), "--resume: empty path");
  // Options that define the experiment cannot change under a resumed run.
  for (const char* fixed : {"--data", "--corpus", "--out", "--protocol", "--batch", "--lr", "--seed", "--classes",
                            "--val-speakers", "--test-speakers", "--force"})
    SER_CHECK(cmd.count(fixed) == 0,
              "{} cannot be changed when resuming: the run's value is in {}/run.json (start a new run instead)", fixed,
              resume);
  std::error_code ec;
  SER_CHECK(std::filesystem::exists(resume, ec), "--resume {}: no such folder (expected a run folder holding run.json)", resume);
  SER_CHECK(std::filesystem::is_directory(resume, ec), "--resume {}: is not a folder (expected a run folder holding run.json)", resume);
  const std::filesystem::path run_json = std::filesystem::path(resume) / "run.json";
  std::ifstream in(run_json);
  SER_CHECK(in.good(), "--resume {}: no run.json there (is it a ser run folder?)", resume);
  TrainOptions o;
  try {
    o = TrainOptions::from_json(nlohmann::json::parse(in));
  } catch (const nlohmann::json::exception& e) {
    SER_FAIL("{}: malformed run description ({})", run_json.string(), e.what());
  }
  resolve_stored_paths(o, run_json);
  o.out_dir = resume;
  if (cmd.count("--epochs") > 0) o.epochs = given.epochs;
  if (cmd.count("--patience") > 0) o.patience = given.patience;
  if (cmd.count("--device") > 0) o.device = given.device;
  if (cmd.count("--math") > 0) o.math = given.math;
  if (cmd.count("--cache") > 0) o.cache_dir = given.cache_dir;
  if (cmd.count("--threads") > 0) o.threads = given.threads;
  return o;
}

}  // namespace

void register_train(CLI::App& app) {
  auto opts = std::make_shared<TrainOptions>();
  auto resume = std::make_shared<std::string>();
  auto quiet = std::make_shared<bool>(false);
  auto force = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand("train", "Train on corpora in their native layouts; writes model, checkpoint and report");
  cmd->add_option("--data", opts->corpus.data_dirs, "Corpus folder (repeatable): RAVDESS, SAVEE, TESS, CREMA-D, EMO-DB or renamed; any audio format "
                  "libsndfile reads (WAV, FLAC, OGG, AIFF, ...)");
  cmd->add_option("--corpus", opts->corpus.corpus,
                  "Corpus kind: auto|ravdess|savee|tess|cremad|emodb|renamed, one for all --data or a comma list, one each")
      ->capture_default_str();
  cmd->add_option("--out", opts->out_dir,
                  "Run folder for model, checkpoint, report (default: a new folder runs/DATE-TIME, printed); a "
                  "folder that already holds a run is refused unless --force");
  cmd->add_option("--protocol", opts->protocol,
                  "seed: the notebook's 80/20 split (test doubles as validation); holdout: train/validation/test "
                  "70/15/15; speaker: speaker-disjoint train/validation/test")
      ->check(CLI::IsMember({"seed", "holdout", "speaker"}))
      ->capture_default_str();
  cmd->add_option("--val-speakers", opts->val_speakers,
                  "Speakers that validate (implies --protocol speaker; the rest train): comma-separated ids or "
                  "ranges, e.g. Actor_17..Actor_20 or ravdess:Actor_17,cremad:1001..1005");
  cmd->add_option("--test-speakers", opts->test_speakers,
                  "Speakers held out for the final test (same form; needs --val-speakers). Without it the final "
                  "report is on the validation speakers");
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
                  "Continue the run in this folder (interrupted, or finished: a larger --epochs or --patience "
                  "trains further); its options are reused; --epochs, --patience, --device, --math, --cache, "
                  "--threads may be given to change them. The corpus must be unchanged");
  cmd->add_flag("--force", *force,
                "Replace the run already in --out: its own files (run.json, checkpoint, model, reports) are "
                "deleted first, nothing else");
  cmd->add_flag("--quiet", *quiet, "No progress output");
  cmd->callback([cmd, opts, resume, quiet, force] {
    const bool resuming = cmd->count("--resume") > 0;
    TrainOptions o = resuming ? resumed_options(*cmd, *opts, *resume) : new_run_options(*cmd, *opts, *force);
    if (!resuming && !o.val_speakers.empty() && cmd->count("--protocol") == 0) o.protocol = "speaker";
    o.progress = !*quiet;
    const TrainOutcome out = run_training(o, resuming);  // an interrupt ends in main(): 128 + signal
    if (!out.trained) {
      fmt::print("{}\nmodel:  {}\nreport: {}\n", out.why, out.model_path.string(), out.report_path.string());
      return;
    }
    fmt::print("{}\n{} accuracy {:.2f} %  macro F1 {:.4f}\nmodel:  {}\nreport: {}\n", out.why, out.evaluated_on,
               100 * out.test_accuracy, out.macro_f1, out.model_path.string(), out.report_path.string());
  });
}

}  // namespace ser::app
