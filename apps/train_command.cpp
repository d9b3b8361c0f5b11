// `ser train`'s options and the run they describe (see train_command.h): a new run (the
// recipe with the given overrides, into --out or a fresh runs/ folder), or `--resume` one
// from its run.json with the few options that may change.
#include "apps/train_command.h"

#include <fmt/format.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "apps/cli_values.h"
#include "apps/run_folder.h"
#include "engine/core/error.h"
#include "engine/core/path_not_found.h"
#include "features/wave_augment.h"

namespace ser::app {
namespace {

// --recipe NAME (robust, seed) or a recipe .json file (a run.json's "recipe" object).
train::Recipe base_recipe(const std::string& recipe) {
  if (recipe.size() > 5 && recipe.substr(recipe.size() - 5) == ".json") {
    std::error_code ec;
    SER_CHECK_FOUND(std::filesystem::exists(recipe, ec), recipe, "--recipe {}: cannot open the file", recipe);
    std::ifstream in(recipe);
    SER_CHECK(in.good(), "--recipe {}: cannot open the file", recipe);
    try {
      return nlohmann::json::parse(in).get<train::Recipe>();
    } catch (const nlohmann::json::exception& e) {
      SER_FAIL("--recipe {}: malformed recipe ({})", recipe, e.what());
    } catch (const Error& e) {
      throw Error(fmt::format("--recipe {}: {}", recipe, e.message()));
    }
  }
  return train::Recipe::named(recipe);
}

train::Recipe resolve_recipe(const CLI::App& cmd, const RecipeArgs& a) {
  train::Recipe r = base_recipe(a.recipe);
  auto given = [&](const char* option) { return cmd.count(option) > 0; };
  if (given("--epochs")) r.epochs = a.epochs;
  if (given("--batch")) r.batch = a.batch;
  if (given("--patience")) r.patience = a.patience;
  if (given("--lr")) r.lr = a.lr;
  if (given("--weight-decay")) r.weight_decay = a.weight_decay;
  if (given("--lr-schedule")) r.lr_schedule = a.lr_schedule;
  if (given("--augment")) r.augment = train::AugmentConfig::parse(a.augment);
  if (given("--label-smoothing")) r.label_smoothing = a.label_smoothing;
  if (given("--sampling")) r.sampling = a.sampling;
  if (given("--keep")) r.keep = a.keep;
  if (given("--head")) r.architecture.head = a.head;
  if (given("--frontend")) r.frontend = a.frontend;
  if (given("--short-crops")) r.short_crops = a.short_crops;
  if (given("--wave-augment")) r.wave_augment = features::WaveAugmentConfig::parse(a.wave_augment).text();
  if (given("--wave-copies")) r.wave_copies = a.wave_copies;
  if (given("--wave-augment") && !given("--wave-copies") && r.wave_copies == 0 && r.wave_augment != "none")
    r.wave_copies = 2;
  if (r.wave_augment == "none") r.wave_copies = 0;
  r.validate();
  return r;
}

void add_recipe_options(CLI::App& cmd, RecipeArgs& a) {
  const std::string from_recipe = " (default: the recipe's)";
  cmd.add_option("--recipe", a.recipe,
                 "How to train: general (the default: robust's network and optimiser on 16 ms frames with trimmed ends, "
                 "random 2 s crops and windows averaged, every corpus and class sampled equally, each clip also seen "
                 "as 3 waveform-augmented copies: speed, noise and babble, gain, telephone band, tilt, reverberation; "
                 "made for speech unlike the training corpus, docs/RECIPES.md), robust (global-average-pooling head, "
                 "AdamW with a one-cycle schedule, SpecAugment masks and time shifts, label smoothing, on the "
                 "notebook's whole-clip images; best on unseen speakers of the training corpus), seed (the Keras "
                 "notebook exactly), or a recipe .json file (a run.json's \"recipe\"). The options below override "
                 "single fields")
      ->capture_default_str();
  cmd.add_option("--epochs", a.epochs, "Maximum epochs" + from_recipe)->transform(integer_in(1, kMaxEpochs));
  cmd.add_option("--batch", a.batch, "Batch size" + from_recipe)->transform(integer_in(1, kMaxBatch));
  cmd.add_option("--lr", a.lr, "Learning rate (the peak of a one-cycle schedule)" + from_recipe)
      ->transform(number_between_exclusive(0, kMaxLearningRate));
  cmd.add_option("--lr-schedule", a.lr_schedule,
                 "constant, or onecycle (warm up to --lr over the first 30 % of steps, then cosine decay to lr/250000; "
                 "PyTorch's OneCycleLR)" + from_recipe)
      ->check(CLI::IsMember({"constant", "onecycle"}));
  cmd.add_option("--weight-decay", a.weight_decay,
                 "Decoupled weight decay (AdamW; 0 = Adam): each step w -= w * lr * decay" + from_recipe)
      ->transform(number_from_below(0, 1));
  cmd.add_option("--augment", a.augment,
                 "Training-image augmentation: none, or comma-separated time-masks=COUNTxMAXWIDTH, "
                 "freq-masks=COUNTxMAXWIDTH (SpecAugment), shift=MAXFRAMES (circular time shift), warp=FRACTION (the mel "
                 "axis scaled by up to 1 +- FRACTION), mixup=ALPHA, chunks=K (the window cut into K equal chunks put "
                 "back in a random order; K in 2..8 divides its width), e.g. time-masks=2x16,freq-masks=2x16,shift=16" +
                     from_recipe);
  cmd.add_option("--label-smoothing", a.label_smoothing, "Label smoothing in [0, 1)" + from_recipe)
      ->transform(number_from_below(0, 1));
  cmd.add_option("--sampling", a.sampling,
                 "shuffle (every file once per epoch), balanced (classes drawn equally often) or corpus-balanced "
                 "(every corpus x class pair drawn equally often)" + from_recipe)
      ->check(CLI::IsMember({"shuffle", "balanced", "corpus-balanced"}));
  cmd.add_option("--frontend", a.frontend,
                 "resize (the notebook: the whole clip squeezed into 128 columns) or fixed (16 ms columns, ends "
                 "trimmed at 30 dB, the network sees 2.05 s windows: random crops in training, all windows "
                 "averaged in evaluation), fixed-hp (fixed after a 50 Hz high-pass: no DC offset or rumble) or fixed-cmn "
                 "(fixed, each mel band minus its mean over the clip)" +
                     from_recipe)
      ->check(CLI::IsMember({"resize", "fixed", "fixed-hp", "fixed-cmn"}));
  cmd.add_option("--short-crops", a.short_crops,
                 "Fixed time axis: the share of training crops cut to 1/3..1 of the window and tiled, as the front "
                 "end tiles a short clip" + from_recipe)
      ->check(CLI::Range(0.0, 1.0));
  cmd.add_option("--wave-augment", a.wave_augment,
                 "Waveform augmentation of training copies: none, or comma-separated speed=LO-HI, "
                 "noise=P@SNRLO-SNRHI:KINDS (white+pink+brown+babble), gain=LO-HI (dB), telephone=P, "
                 "tilt=P@LO-HI (dB/octave), reverb=P@RT60LO-RT60HI, codec=P; an item without P@ applies always; "
                 "e.g. speed=0.9-1.1,noise=0.5@5-20:pink+babble,reverb=0.3@0.2-0.8" + from_recipe)
      ->each([](const std::string& v) { features::WaveAugmentConfig::parse(v); });
  cmd.add_option("--wave-copies", a.wave_copies,
                 "Augmented copies of every training clip, made once before training (each epoch shows a clip as "
                 "one of its copies or itself; 2 when --wave-augment is given alone)" + from_recipe)
      ->transform(integer_in(0, 8));
  cmd.add_option("--keep", a.keep,
                 "Which weights the run ends with: best (highest validation accuracy) or last (final epoch)" +
                     from_recipe)
      ->check(CLI::IsMember({"best", "last"}));
  cmd.add_option("--head", a.head, "flatten (the notebook's 9216 -> dense) or gap (global average pooling)" + from_recipe)
      ->check(CLI::IsMember({"flatten", "gap"}));
  cmd.add_option("--patience", a.patience,
                 "Early stopping: epochs without a better validation accuracy" + from_recipe)
      ->transform(integer_in(1, kMaxEpochs));
}

// A new run: the default run folder is a fresh one under runs/, so running `ser train`
// twice never meets the first run's folder.
TrainOptions new_run_options(const CLI::App& cmd, const TrainOptions& given, const RecipeArgs& recipe, bool force) {
  TrainOptions o = given;
  o.recipe = resolve_recipe(cmd, recipe);
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
TrainOptions resumed_options(const CLI::App& cmd, const TrainOptions& given, const RecipeArgs& recipe,
                             const std::string& resume) {
  SER_CHECK(!resume.empty(), "--resume: empty path");
  // Options that define the experiment cannot change under a resumed run.
  for (const char* fixed : {"--data", "--labels", "--corpus", "--speaker-pattern", "--out", "--protocol", "--recipe", "--batch", "--lr", "--seed",
                            "--classes", "--val-speakers", "--test-speakers", "--val-corpus", "--test-corpus", "--lr-schedule", "--weight-decay",
                            "--augment", "--label-smoothing", "--sampling", "--keep", "--head", "--frontend", "--short-crops", "--wave-augment", "--wave-copies", "--force"})
    SER_CHECK(cmd.count(fixed) == 0,
              "{} cannot be changed when resuming: the run's value is in {}/run.json (start a new run instead)", fixed,
              resume);
  std::error_code ec;
  SER_CHECK_FOUND(std::filesystem::exists(resume, ec), resume, "--resume {}: no such folder (expected a run folder holding run.json)", resume);
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
  if (cmd.count("--epochs") > 0) {
    SER_CHECK(o.recipe.lr_schedule == "constant" || recipe.epochs == o.recipe.epochs,
              "--epochs cannot change when resuming this run: its one-cycle learning-rate schedule was laid out for "
              "{} epoch{} (start a new run for longer training)", o.recipe.epochs, o.recipe.epochs == 1 ? "" : "s");
    o.recipe.epochs = recipe.epochs;
  }
  if (cmd.count("--patience") > 0) o.recipe.patience = recipe.patience;
  if (cmd.count("--device") > 0) o.device = given.device;
  if (cmd.count("--math") > 0) o.math = given.math;
  if (cmd.count("--cache") > 0) o.cache_dir = given.cache_dir;
  if (cmd.count("--threads") > 0) o.threads = given.threads;
  return o;
}

// A new run's protocol, when --protocol is not given: "speaker" for named speakers or
// corpora, "list" for a --labels split column (run_training refuses it beside any other
// choice), else the default.
std::string implied_protocol(const TrainOptions& o) {
  if (!o.val_speakers.empty() || !o.val_corpus.empty() || !o.test_corpus.empty()) return "speaker";
  if (!lists_with_splits(o.corpus).empty()) return "list";
  return o.protocol;
}

}  // namespace

TrainArguments::TrainArguments(CLI::App& app) : cmd_(app) {
  CLI::App* cmd = &app;
  TrainOptions* opts = &given_;
  cmd->add_option("--data", opts->corpus.data_dirs, "Corpus folder (repeatable): RAVDESS, SAVEE, TESS, CREMA-D, EMO-DB, renamed, or "
                  "a folder per class (--corpus folders); any audio format libsndfile reads (WAV, FLAC, OGG, AIFF, ...)");
  cmd->add_option("--corpus", opts->corpus.corpus,
                  "Corpus kind: auto|ravdess|savee|tess|cremad|emodb|renamed|folders (DATA/CLASS/clip.wav or "
                  "DATA/SPEAKER/CLASS/clip.wav), one for all --data or a comma list, one each")
      ->capture_default_str();
  add_speaker_pattern_option(*cmd, opts->corpus.speaker_pattern);
  add_labels_option(*cmd, opts->corpus.labels,
                    "When any row has a split, training uses those parts (--protocol list): val/validation rows "
                    "validate, test rows test, train and unassigned rows train; without test rows the final report "
                    "is on the validation rows. It cannot be combined with --protocol seed|holdout|speaker, "
                    "--val-speakers, --test-speakers, --val-corpus or --test-corpus.");
  cmd->add_option("--out", opts->out_dir,
                  "Run folder for model, checkpoint, report (default: a new folder runs/DATE-TIME, printed); a "
                  "folder that already holds a run is refused unless --force");
  cmd->add_option("--protocol", opts->protocol,
                  "seed: the notebook's 80/20 split (test doubles as validation); holdout: train/validation/test "
                  "70/15/15; speaker: speaker-disjoint train/validation/test; list: the split column of the --labels "
                  "lists (the default when one has a split column)")
      ->check(CLI::IsMember({"seed", "holdout", "speaker", "list"}))
      ->capture_default_str();
  cmd->add_option("--val-speakers", opts->val_speakers,
                  "Speakers that validate (implies --protocol speaker; the rest train): comma-separated ids or "
                  "ranges, e.g. Actor_17..Actor_20 or ravdess:Actor_17,cremad:1001..1005; a renamed corpus's "
                  "speakers by folder or actor field, e.g. spk15..spk16 or 15..16");
  cmd->add_option("--test-speakers", opts->test_speakers,
                  "Speakers held out for the final test (same form; needs --val-speakers). Without it the final "
                  "report is on the validation speakers");
  cmd->add_option("--val-corpus", opts->val_corpus,
                  "Corpora that validate, by name (e.g. tess; implies --protocol speaker; the rest train)");
  cmd->add_option("--test-corpus", opts->test_corpus,
                  "Corpora held out for the final test, by name (leave-corpus-out; needs --val-corpus or "
                  "--val-speakers), e.g. --data ravdess-dev --data tess --val-speakers Actor_17..Actor_20 "
                  "--test-corpus tess");
  add_recipe_options(*cmd, recipe_);
  cmd->add_option("--seed", opts->seed, "Random seed (split, initialisation, shuffles, dropout)")
      ->transform(unsigned_64bit())
      ->capture_default_str();
  cmd->add_option("--classes", opts->corpus.classes, "auto (the default: the six seed classes neutral,happy,sad,angry,fearful,disgust for published corpora; the " "class folders or label values of a folders corpus or --labels list), 6, 8 (adds calm, surprised) or a comma " "list of any class names (emotions in any spelling are normalised)")
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
  cmd->add_option("--resume", resume_,
                  "Continue the run in this folder (interrupted, or finished: a larger --patience, or for a "
                  "constant-lr recipe a larger --epochs, trains further); its options are reused; --epochs, --patience, --device, --math, --cache, "
                  "--threads may be given to change them. The corpus must be unchanged");
  cmd->add_flag("--force", force_,
                "Replace the run already in --out: its own files (run.json, checkpoint, model, reports) are "
                "deleted first, nothing else");
  cmd->add_flag("--quiet", quiet_, "No progress output");
}

TrainCommand TrainArguments::command() const {
  TrainCommand c;
  c.resume = cmd_.count("--resume") > 0;
  c.options = c.resume ? resumed_options(cmd_, given_, recipe_, resume_) : new_run_options(cmd_, given_, recipe_, force_);
  if (!c.resume && cmd_.count("--protocol") == 0) c.options.protocol = implied_protocol(c.options);
  c.options.progress = !quiet_;
  return c;
}

TrainCommand parse_train_command(const std::vector<std::string>& args) {
  CLI::App cmd("ser train", "train");
  cmd.set_help_flag();
  TrainArguments parsed(cmd);
  std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 takes them last first
  try {
    cmd.parse(reversed);
  } catch (const CLI::ParseError& e) {
    throw Error(fmt::format("{} (see ser train --help)", e.what()));
  }
  return parsed.command();
}

std::string outcome_text(const TrainOutcome& out) {
  if (!out.trained) return fmt::format("{}\nmodel:  {}\nreport: {}\n", out.why, out.model_path.string(), out.report_path.string());
  return fmt::format("{}\n{} accuracy {:.2f} %  macro F1 {:.4f}\nmodel:  {}\nreport: {}\n", out.why, out.evaluated_on,
                     100 * out.test_accuracy, out.macro_f1, out.model_path.string(), out.report_path.string());
}

}  // namespace ser::app
