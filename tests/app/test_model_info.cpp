// `ser info MODEL` (what a model file holds, and what its run folder adds: recipe, data,
// figures, the licence note), `--model RUN_DIR` for predict and eval, where `ser eval` says
// it writes, its line for a class the evaluated set lacks, and `ser train` refusing a class
// without files. The real binary runs on the small test model (app/demo_model.h).
#include <doctest/doctest.h>

#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <sstream>

#include <nlohmann/json.hpp>

#include "app/demo_model.h"
#include "apps/model_info.h"
#include "data/demo_corpus.h"
#include "data/manifest.h"
#include "engine/train/checkpoint.h"
#include "engine/train/recipe.h"
#include "support/ser_process.h"
#include "support/temp_dir.h"

using namespace ser;
namespace fs = std::filesystem;

namespace {

using Result = test::ProcessResult;
Result run(const std::string& args, const fs::path& scratch) { return test::run_ser_process(args, scratch); }

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// The value of line "name: value" of `ser info MODEL`'s output ("" if absent).
std::string field(const std::string& out, const std::string& name) {
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(name + ":", 0) == 0) {
      const std::size_t value = line.find_first_not_of(' ', name.size() + 1);
      return value == std::string::npos ? "" : line.substr(value);
    }
  return "";
}

// The test model copied into `run` as a run folder's model.safetensors.
fs::path copy_model(const fs::path& run) {
  fs::create_directories(run);
  fs::copy_file(test::demo_model().model_file, run / "model.safetensors");
  return run / "model.safetensors";
}

void write_text(const fs::path& file, const std::string& text) { std::ofstream(file) << text; }

}  // namespace

TEST_SUITE("app") {

TEST_CASE("ser info MODEL: what the model file holds, and what its run folder adds, with a licence note") {
  test::TempDir dir;
  const fs::path model = copy_model(dir / "run");

  // The model file alone (no run.json, manifest or metrics beside it).
  const Result alone = run("info " + model.string(), dir.path());
  CAPTURE(alone.out);
  CAPTURE(alone.err);
  REQUIRE(alone.status == 0);
  CHECK(has(field(alone.out, "model"), "ser-model-1"));
  CHECK(field(alone.out, "classes") == "6: neutral, happy, sad, angry, fearful, disgust");
  CHECK(has(field(alone.out, "network"), "2 conv blocks (8, 16;"));
  CHECK(has(field(alone.out, "network"), "input 1x32x32"));
  const std::string features = field(alone.out, "features");
  for (const char* part : {"16000 Hz", "n_fft 2048", "hop 512 (32.0 ms)", "128 mels (0-8000 Hz)", "images 32x32",
                           "time axis resize"})
    CHECK_MESSAGE(has(features, part), part);
  CHECK(has(field(alone.out, "normalisation"), "mean -"));
  CHECK(field(alone.out, "clip lengths") == "median 1.50 s, p95 1.50 s, min 1.50 s, max 1.50 s over 144 training files");
  CHECK(has(field(alone.out, "recipe"), "not stored"));
  CHECK(has(field(alone.out, "trained on"), "not stored"));
  CHECK(has(field(alone.out, "figures"), "none stored"));
  CHECK(has(field(alone.out, "licence"), "check their licences"));
  CHECK_FALSE(has(alone.out, "CUDA backend"));  // not the build's description

  // A run folder: run.json, manifest.tsv (a RAVDESS actor and a hand-renamed TESS copy), metrics.json.
  nlohmann::json options{{"data", {"/corpora/RAVDESS", "/corpora/TESS_renamed"}},
                         {"corpus", "auto"},
                         {"classes", "6"},
                         {"protocol", "speaker"},
                         {"seed", 3},
                         {"val_speakers", "Actor_17..Actor_20"},
                         {"recipe", train::Recipe::named("general")}};
  write_text(dir / "run" / "run.json", options.dump(2));
  data::write_manifest(dir / "run" / "manifest.tsv",
                       {{"/corpora/RAVDESS/Actor_01/03-01-01-01-01-01-01.wav", "ravdess", "ravdess:Actor_01", 0, "neutral"},
                        {"/corpora/TESS_renamed/03-01-03-01-01-01-26.wav", "renamed", "renamed:TESS_renamed:26", 1,
                         "happy"}});
  write_text(dir / "run" / "metrics.json",
             R"({"accuracy": 0.625, "uar": 0.6, "macro_f1": 0.59, "total": 40, "title": "test split of 40 files"})");
  const Result folder = run("info " + (dir / "run").string(), dir.path());
  CAPTURE(folder.out);
  CAPTURE(folder.err);
  REQUIRE(folder.status == 0);
  CHECK(has(field(folder.out, "model"), (dir / "run" / "model.safetensors").string()));
  const std::string recipe = field(folder.out, "recipe");
  for (const char* part : {"general: ", "epochs ", "batch ", "lr ", "sampling corpus-balanced", "frontend fixed",
                           "3 waveform-augmented copies (speed=0.9-1.1,"})
    CHECK_MESSAGE(has(recipe, part), part);
  const std::string data = field(folder.out, "trained on");
  for (const char* part : {"/corpora/RAVDESS, /corpora/TESS_renamed", "protocol speaker", "seed 3",
                           "validation speakers Actor_17..Actor_20"})
    CHECK_MESSAGE(has(data, part), part);
  CHECK(field(folder.out, "files") == "2 in manifest.tsv (ravdess 1, renamed 1), 2 speakers");
  CHECK(field(folder.out, "figures") ==
        "accuracy 62.50 %, UAR 0.6000, macro F1 0.5900 on 40 files: test split of 40 files (metrics.json)");
  CHECK(field(folder.out, "licence") ==
        "weights trained on RAVDESS (CC BY-NC-SA 4.0) and TESS (CC BY-NC-ND 4.0) are for non-commercial use only; "
        "check the licences of any other corpora it was trained on");

  // Paths that are no model: one line naming the path.
  fs::create_directories(dir / "empty");
  for (const auto& [arg, says] : std::vector<std::pair<fs::path, std::string>>{
           {dir / "empty", "a folder without model.safetensors"},
           {dir / "missing", "missing: no such file or folder"},
           {dir / "run" / "run.json", "run.json: not a safetensors file"}}) {
    const Result bad = run("info " + arg.string(), dir.path());
    CAPTURE(bad.err);
    CHECK(bad.status == 1);
    CHECK(bad.out.empty());
    CHECK(has(bad.err, "ser: error: "));
    CHECK(has(bad.err, says));
    CHECK(std::count(bad.err.begin(), bad.err.end(), '\n') == 1);
  }
}

TEST_CASE("the licence note names RAVDESS and TESS by whole words, and otherwise says to check") {
  using app::licence_note;
  CHECK(has(licence_note("/data/RAVDESS ravdess ravdess:Actor_01", true), "RAVDESS (CC BY-NC-SA 4.0) are for non-commercial"));
  CHECK(has(licence_note("renamed:TESS_renamed:26", true), "TESS (CC BY-NC-ND 4.0)"));
  CHECK(licence_note("/data/contest/speech", true) == "check the licences of the corpora it was trained on before using the weights");
  CHECK(licence_note("savee savee:DC cremad", true) == "check the licences of the corpora it was trained on (SAVEE, CREMA-D)");
  CHECK(has(licence_note("tess /x/SAVEE", true), "non-commercial use only; check the licences of SAVEE too"));
  CHECK(has(licence_note("", false), "does not say which corpora"));
}

TEST_CASE("--model RUN_DIR: predict and eval find model.safetensors in it; eval says where it writes") {
  const test::DemoModel& model = test::demo_model();
  test::TempDir dir;
  copy_model(dir / "run");
  const std::string clip = model.unseen.front().path.string();

  const Result predicted = run("predict --model " + (dir / "run").string() + " " + clip, dir.path());
  CAPTURE(predicted.err);
  CHECK(predicted.status == 0);
  CHECK(has(predicted.out, clip + "\t0.00\t1.50\t"));

  // Two classes of the model's six: the others are said to be missing from this set, not "never learnt".
  data::DemoCorpusOptions two;
  two.speakers = 1;
  two.clips_per_class = 2;
  two.classes = data::ClassSet::parse("neutral,happy");
  data::generate_demo_corpus(dir / "two", two);
  const Result evaluated = run("eval --model " + (dir / "run").string() + " --data " + (dir / "two").string() +
                                   " --cache none", dir.path());
  CAPTURE(evaluated.err);
  REQUIRE(evaluated.status == 0);
  CHECK(has(evaluated.err, "writing report to " + (dir / "run" / "eval").string()));
  CHECK(fs::exists(dir / "run" / "eval" / "metrics.json"));
  CHECK(fs::exists(dir / "run" / "eval" / "predictions.tsv"));
  CHECK(has(evaluated.err, "no files of class 'sad' in this set"));
  CHECK(has(evaluated.err, "no files of class 'disgust' in this set"));
  CHECK_FALSE(has(evaluated.err, "no files of class 'happy'"));
  CHECK_FALSE(has(evaluated.err, "never learn"));
  const Result to_out = run("eval --model " + (dir / "run").string() + " --data " + (dir / "two").string() +
                                " --cache none --out " + (dir / "elsewhere").string(), dir.path());
  CHECK(to_out.status == 0);
  CHECK_FALSE(has(to_out.err, "writing report to"));  // --out given: the user knows

  // A folder without a model, and a run folder whose training has not finished.
  fs::create_directories(dir / "unfinished");
  std::ofstream(dir / "unfinished" / "checkpoint.safetensors") << "x";
  for (const auto& [folder, says] : std::vector<std::pair<fs::path, std::string>>{
           {dir / "two", "--model " + (dir / "two").string() + ": a folder without model.safetensors"},
           {dir / "unfinished", "training has not finished (`ser train --resume"}}) {
    const Result bad = run("predict --model " + folder.string() + " " + clip, dir.path());
    CAPTURE(bad.err);
    CHECK(bad.status == 1);
    CHECK(has(bad.err, says));
    CHECK(std::count(bad.err.begin(), bad.err.end(), '\n') == 1);
  }
}

TEST_CASE("a model file away from its run folder still says its recipe and data (its \"training\" metadata)") {
  test::TempDir dir;
  data::DemoCorpusOptions corpus;
  corpus.speakers = 3;
  corpus.clips_per_class = 2;
  data::generate_demo_corpus(dir / "corpus", corpus);
  const Result trained = run("train --device cpu --cache none --quiet --recipe seed --epochs 1 --seed 5 --val-speakers "
                             "Actor_03 --data " + (dir / "corpus").string() + " --out " + (dir / "run").string(),
                             dir.path());
  CAPTURE(trained.err);
  REQUIRE(trained.status == 0);
  fs::create_directories(dir / "alone");
  fs::copy_file(dir / "run" / "model.safetensors", dir / "alone" / "m.safetensors");
  const Result info = run("info " + (dir / "alone" / "m.safetensors").string(), dir.path());
  CAPTURE(info.out);
  REQUIRE(info.status == 0);
  CHECK(has(field(info.out, "recipe"), "seed: "));
  const std::string data = field(info.out, "trained on");
  CHECK(data.rfind("corpus (", 0) == 0);  // the folder's name, no path of this machine
  CHECK_FALSE(has(data, dir.path().string()));
  for (const char* part : {"seed 5", "validation speakers Actor_03", "(stored in the model file)"})
    CHECK_MESSAGE(has(data, part), part);
  CHECK(field(info.out, "training files") == "ravdess 24 files, 2 speakers");
}

TEST_CASE("ser train refuses a class without training files, naming --classes, before writing anything") {
  test::TempDir dir;
  data::DemoCorpusOptions five;
  five.speakers = 2;
  five.clips_per_class = 2;
  five.classes = data::ClassSet::parse("neutral,happy,sad,angry,fearful");  // no disgust
  data::generate_demo_corpus(dir / "corpus", five);
  const std::string common = "train --device cpu --cache none --data " + (dir / "corpus").string() + " --out " +
                             (dir / "run").string();
  const Result six = run(common, dir.path());
  CAPTURE(six.err);
  CHECK(six.status == 1);
  CHECK(has(six.err, "ser: error: --classes auto: no training files of class disgust in these folders, so the model "
                     "could never learn it: pass --classes neutral,happy,sad,angry,fearful"));
  CHECK_FALSE(has(six.err, "warning: class"));  // one error, no warning before it
  CHECK_FALSE(fs::exists(dir / "run"));
  const Result eight = run(common + " --classes 8", dir.path());
  CAPTURE(eight.err);
  CHECK(eight.status == 1);
  CHECK(has(eight.err, "--classes 8: no training files of class "));
  for (const char* name : {"calm", "surprised", "disgust"}) CHECK_MESSAGE(has(eight.err, name), name);
  CHECK(has(eight.err, "could never learn them"));
  CHECK_FALSE(fs::exists(dir / "run"));
}

TEST_CASE("ser eval --adapt-bn: writes the adapted model, which loads, differs, and says what it was adapted on") {
  const test::DemoModel& model = test::demo_model();
  test::TempDir dir;
  copy_model(dir / "run");
  data::DemoCorpusOptions other;
  other.speakers = 1;
  other.clips_per_class = 3;
  other.seed = 99;
  data::generate_demo_corpus(dir / "other", other);
  const Result adapted = run("eval --model " + (dir / "run").string() + " --data " + (dir / "other").string() +
                                 " --cache none --adapt-bn --out " + (dir / "ev").string(), dir.path());
  CAPTURE(adapted.err);
  REQUIRE(adapted.status == 0);
  CHECK(has(adapted.err, "batch norm adapted on"));
  const fs::path file = dir / "ev" / "model-adapted.safetensors";
  REQUIRE(fs::exists(file));
  std::ifstream html(dir / "ev" / "report.html");
  const std::string page((std::istreambuf_iterator<char>(html)), std::istreambuf_iterator<char>());
  CHECK(has(page, "batch-norm statistics adapted to these files first"));  // the report says which model it scored
  train::LoadedModel a = train::load_model(file), b = train::load_model(dir / "run" / "model.safetensors");
  bool differs = false;
  auto sa = a.model->named_state(), sb = b.model->named_state();
  for (std::size_t i = 0; i < sa.size(); ++i) {
    const bool stat = sa[i].first.find("moving_") != std::string::npos;
    if (stat) differs = differs || sa[i].second.to_vector() != sb[i].second.to_vector();
    else CHECK(sa[i].second.to_vector() == sb[i].second.to_vector());  // weights untouched
  }
  CHECK(differs);
  const nlohmann::json made = nlohmann::json::parse(a.info.training_json);
  CHECK(made.at("adapted_bn").at("windows").get<int64_t>() > 0);
  CHECK(made.at("adapted_bn").at("data").at(0).get<std::string>() == (dir / "other").string());
  const Result predicted = run("predict --model " + file.string() + " " + model.unseen.front().path.string(), dir.path());
  CHECK(predicted.status == 0);
}
}  // TEST_SUITE
