// `ser adapt`: a model's batch-norm statistics re-estimated on unlabelled recordings of a new
// microphone, room or corpus (apps/adapt.h, AdaBN), written as a new model file for
// `ser predict --model` and `ser eval --model`. Inputs as `ser predict` takes them (files,
// folders, --files-from); no labels are read. Prints, per batch-norm layer, how far the
// recordings' statistics lie from the training corpus's (in its standard deviations).
#include <fmt/format.h>

#include <iostream>
#include <memory>

#include "apps/adapt.h"
#include "apps/cli_values.h"
#include "apps/commands.h"
#include "apps/model_info.h"
#include "apps/predict.h"
#include "apps/predict_inputs.h"
#include "engine/core/error.h"

namespace ser::app {
namespace {

struct Args {
  std::string model;
  bool model_given = false;
  std::vector<std::string> inputs;
  std::string files_from;
  std::string out;
  std::string cache;
  int threads = 0;
  bool force = false;
};

// --out must name a file that is not the model read, and that does not exist unless --force;
// its folder is created. Checked before any work.
void check_out_file(const std::filesystem::path& out, const std::filesystem::path& model_file, bool force) {
  std::error_code ec;
  SER_CHECK(!std::filesystem::is_directory(out, ec),
            "--out {}: is a folder (it takes the new model's file name, e.g. {})", out.string(),
            (out / "model-adapted.safetensors").string());
  if (std::filesystem::exists(out, ec)) {
    SER_CHECK(!std::filesystem::equivalent(out, model_file, ec),
              "--out {}: is the model being adapted; write the adapted model to another file", out.string());
    SER_CHECK(force, "--out {}: already exists (--force replaces it)", out.string());
  }
  if (out.has_parent_path()) ensure_output_folder(out.parent_path(), "--out");
}

void run_adapt(const Args& a) {
  const std::vector<std::filesystem::path> files = collect_inputs(a.inputs, a.files_from, std::cin);
  const std::filesystem::path model = model_or_default(a.model, a.model_given);
  const std::filesystem::path model_file = model_file_from_option(model);
  const std::filesystem::path out = a.out;
  check_out_file(out, model_file, a.force);
  train::LoadedModel loaded = load_model_option(model);
  FeatureOptions fopts;
  fopts.cache_dir = cache_dir_from_option(a.cache);
  fopts.threads = a.threads;
  const AdaptationResult result = adapt_batchnorm(loaded, unlabelled_entries(files), fopts);
  for (const auto& [path, why] : result.failures) fmt::print(stderr, "skipped {}: {}\n", path.string(), why);
  warn_if_few_adaptation_files(result.files);
  std::vector<std::string> sources = a.inputs;
  if (!a.files_from.empty()) sources.push_back("--files-from " + a.files_from);
  train::save_model(out, *loaded.model, adapted_model_info(loaded.info, sources, result, model_file));
  fmt::print("adapted {} on {} files ({} windows; {} failed)\n", model_file.string(), result.files, result.windows,
             result.failures.size());
  fmt::print("shift of each batch-norm layer's mean, in the training corpus's standard deviations: {}\n",
             format_shifts(result.shifts));
  fmt::print("model: {}\n", out.string());
}

}  // namespace

void register_adapt(CLI::App& app) {
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand(
      "adapt", "Adapt a model to recordings of a new microphone, room or corpus, without labels; writes a new model");
  cmd->footer(
      "Each file's image is made as `ser eval` makes it, and every batch-norm layer's moving mean and variance is "
      "replaced by its statistics over these recordings (unsupervised batch-norm adaptation, AdaBN); the weights "
      "are kept and no labels are read. Give a few hundred recordings of one recording chain, covering the "
      "emotions you expect: statistics of a few files, or of one emotion only, are biased. Then predict with "
      "`ser predict --model OUT`. Measured gains and losses: docs/RECIPES.md (RAVDESS -> TESS UAR 0.27-0.34 -> "
      "0.62-0.67; on the training corpus's own recordings it helps or costs a few points).");
  cmd->add_option("--model", args->model,
                  "Model file or run folder to adapt (default: the shipped model, models/default.safetensors, or "
                  "$SER_MODEL)");
  cmd->add_option("inputs", args->inputs,
                  "Audio files and folders (walked for .wav .flac .ogg .mp3 ... files, sorted) to adapt on");
  cmd->add_option("--files-from", args->files_from,
                  "Also the files (or folders) listed in this text file, one path a line; - reads standard input");
  cmd->add_option("--out", args->out, "The adapted model's file, e.g. adapted.safetensors")->required();
  cmd->add_flag("--force", args->force, "Replace --out if it exists (never the model being adapted)");
  cmd->add_option("--cache", args->cache, "Feature cache folder ('none' disables)");
  cmd->add_option("--threads", args->threads, "Feature threads (0 = all cores)")
      ->transform(integer_in(0, kMaxThreads))
      ->capture_default_str();
  cmd->callback([cmd, args] {
    args->model_given = cmd->count("--model") > 0;
    run_adapt(*args);
  });
}

}  // namespace ser::app
