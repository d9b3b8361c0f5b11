// `ser demo`: the README's main job, end to end on the embedded synthetic corpus —
// generate the corpus (RAVDESS native layout), train with the holdout protocol on the
// CPU or GPU, evaluate the test split, then predict clips of a speaker never seen in
// training.
#include <fmt/format.h>

#include <algorithm>
#include <memory>

#include "apps/cli_values.h"
#include "apps/commands.h"
#include "apps/pipeline.h"
#include "apps/predict.h"
#include "apps/train_run.h"
#include "data/data.h"
#include "engine/core/error.h"

namespace ser::app {

namespace fs = std::filesystem;

namespace {
// Progress lines of the demo go to stdout, flushed at once so they interleave correctly
// with the training output on stderr.
template <typename... Args>
void say(fmt::format_string<Args...> format, Args&&... args) {
  fmt::print(format, std::forward<Args>(args)...);
  std::fflush(stdout);
}
}  // namespace

void register_demo(CLI::App& app) {
  struct Args {
    std::string out = "demo";
    int epochs = 20;
    int speakers = 4;
    int clips = 40;
    bool quick = false;
    std::string device = "auto";
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("demo", "Synthesise a small emotional-speech corpus (RAVDESS layout: 1.5 s, 16 kHz clips "
                                         "from a glottal-source + formant model, fixed seed) in OUT/corpus, train on it "
                                         "(OUT/run), report, and predict the clips of a speaker it never heard");
  cmd->add_option("--out", args->out, "Folder for the corpus, the run and the report")->capture_default_str();
  cmd->add_option("--epochs", args->epochs, "Training epochs")->transform(integer_in(1, kMaxEpochs))->capture_default_str();
  cmd->add_option("--speakers", args->speakers, "Synthetic speakers")->transform(integer_in(2, 24))->capture_default_str();
  cmd->add_option("--clips", args->clips, "Clips per class per speaker")->transform(integer_in(2, data::kMaxDemoClipsPerClass))->capture_default_str();
  add_device_option(*cmd, args->device);
  cmd->add_flag("--quick", args->quick, "A tiny run (3 speakers, 4 clips, 2 epochs) that checks the whole chain");
  cmd->callback([args] {
    if (args->quick) {
      args->speakers = 3;
      args->clips = 4;
      args->epochs = 2;
    }
    const fs::path root = args->out;
    ensure_output_folder(root, "--out");
    const fs::path corpus = root / "corpus", unseen = root / "unseen_speaker";
    data::DemoCorpusOptions copts;
    copts.speakers = args->speakers;
    copts.clips_per_class = args->clips;
    data::check_demo_options(copts);
    // Only corpora this command wrote are deleted: --out pointing at someone's data loses nothing.
    for (const fs::path& folder : {corpus, unseen})
      SER_CHECK(data::is_replaceable_demo_corpus(folder),
                "{} exists and was not written by `ser demo` (no {} in it); choose another --out, or delete the "
                "folder yourself if it is a demo corpus from an older version",
                folder.string(), data::kDemoCorpusMarker);
    say("1/4 generating the synthetic corpus in {} ({} speakers x {} classes x {} clips)\n", corpus.string(),
               copts.speakers, copts.classes.names.size(), copts.clips_per_class);
    fs::remove_all(corpus);
    data::generate_demo_corpus(corpus, copts);

    TrainOptions topts;
    topts.corpus.data_dirs = {corpus.string()};
    topts.out_dir = root / "run";
    // The demo's short synthetic clips are images of whole clips: the robust recipe (the
    // default recipe, general, is made for real speech of any length and is slower).
    topts.recipe = train::Recipe::named("robust");
    topts.recipe.epochs = args->epochs;
    topts.recipe.patience = args->epochs;  // the demo always runs every epoch
    topts.cache_dir = (root / "cache").string();
    topts.device = args->device;
    say("2/4 training ({} recipe, {} epoch{}, holdout protocol) into {}\n", topts.recipe.name, topts.recipe.epochs,
        topts.recipe.epochs == 1 ? "" : "s", topts.out_dir.string());
    const TrainOutcome outcome = run_training(topts, false);

    data::DemoCorpusOptions uopts = copts;
    uopts.first_speaker = copts.speakers;  // the next actor number: a voice training never heard
    uopts.speakers = 1;
    uopts.clips_per_class = 1;
    fs::remove_all(unseen);
    data::generate_demo_corpus(unseen, uopts);
    const data::IndexResult truth = data::index_corpora({{unseen, data::CorpusKind::Auto}}, copts.classes);
    std::vector<fs::path> files;
    for (const auto& e : truth.entries) files.push_back(e.path);
    train::LoadedModel loaded = train::load_model(outcome.model_path);
    say("3/4 predicting {} clips of an unseen speaker:\n", files.size());
    const std::vector<Prediction> predictions = predict_files(loaded, files);
    int right = 0;
    for (std::size_t i = 0; i < predictions.size(); ++i) {
      const Prediction& p = predictions[i];
      if (!p.ok) {
        say("    {}: error: {}\n", p.file.filename().string(), p.error);
        continue;
      }
      const std::string& said = loaded.info.class_names[p.label];
      right += said == truth.entries[i].label_name;
      say("    {}  true {:<8} -> predicted {:<8} ({:.0f} %)\n", p.file.filename().string(),
                 truth.entries[i].label_name, said, 100 * p.probabilities[p.label]);
    }
    say("    {} of {} right\n", right, predictions.size());
    say("4/4 test accuracy {:.2f} %, macro F1 {:.4f}\n    report: {}\n    model:  {}\n", 100 * outcome.test_accuracy,
               outcome.macro_f1, outcome.report_path.string(), outcome.model_path.string());
  });
}

}  // namespace ser::app
