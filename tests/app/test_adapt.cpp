// `ser adapt` and `ser predict --adapt-bn` (apps/adapt.h): unsupervised batch-norm adaptation
// on unlabelled recordings gives exactly the statistics `ser eval --adapt-bn` gives on the same
// files, keeps every weight, records what it was adapted on, and refuses outputs that would
// lose data. Also the per-layer shift figure on hand-made states.
#include <doctest/doctest.h>

#include <fstream>
#include <iterator>

#include <nlohmann/json.hpp>

#include "app/demo_model.h"
#include "apps/adapt.h"
#include "data/demo_corpus.h"
#include "engine/core/error.h"
#include "engine/train/checkpoint.h"
#include "support/ser_process.h"
#include "support/temp_dir.h"

using namespace ser;
namespace fs = std::filesystem;

namespace {

using Result = test::ProcessResult;
Result run(const std::string& args, const fs::path& scratch) { return test::run_ser_process(args, scratch); }
bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::string read_bytes(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// A second synthetic corpus (one new speaker), unlike the one the demo model was trained on.
fs::path other_corpus(const fs::path& dir) {
  data::DemoCorpusOptions other;
  other.speakers = 1;
  other.clips_per_class = 3;
  other.seed = 99;
  data::generate_demo_corpus(dir / "other", other);
  return dir / "other";
}

// The JSON lines of `ser predict --json`, one object per file.
std::vector<nlohmann::json> prediction_lines(const std::string& out) {
  std::vector<nlohmann::json> lines;
  std::size_t begin = 0;
  while (begin < out.size()) {
    const std::size_t end = std::min(out.find('\n', begin), out.size());
    if (end > begin) lines.push_back(nlohmann::json::parse(out.substr(begin, end - begin)));
    begin = end + 1;
  }
  return lines;
}

}  // namespace

TEST_SUITE("app") {

TEST_CASE("ser adapt on unlabelled files = ser eval --adapt-bn on the same files; weights kept; provenance recorded") {
  const test::DemoModel& model = test::demo_model();
  test::TempDir dir;
  const fs::path other = other_corpus(dir.path());
  const Result adapted = run("adapt --model " + model.model_file.string() + " " + other.string() +
                                 " --cache none --out " + (dir / "a" / "adapted.safetensors").string(),
                             dir.path());
  CAPTURE(adapted.err);
  REQUIRE(adapted.status == 0);
  CHECK(has(adapted.out, "on 18 files"));
  CHECK(has(adapted.out, "standard deviations: bn1 "));
  CHECK(has(adapted.err, "adapted on 18 files only"));  // fewer than kAdaptRecommendedFiles: warned
  const Result evaluated = run("eval --model " + model.model_file.string() + " --data " + other.string() +
                                   " --cache none --adapt-bn --out " + (dir / "ev").string(),
                               dir.path());
  CAPTURE(evaluated.err);
  REQUIRE(evaluated.status == 0);

  train::LoadedModel a = train::load_model(dir / "a" / "adapted.safetensors");
  train::LoadedModel e = train::load_model(dir / "ev" / "model-adapted.safetensors");
  train::LoadedModel original = train::load_model(model.model_file);
  auto sa = a.model->named_state(), se = e.model->named_state(), so = original.model->named_state();
  REQUIRE(sa.size() == so.size());
  bool moved = false;
  for (std::size_t i = 0; i < sa.size(); ++i) {
    CAPTURE(sa[i].first);
    CHECK(sa[i].second.to_vector() == se[i].second.to_vector());  // the same statistics, bit for bit
    if (sa[i].first.find("moving_") != std::string::npos)
      moved = moved || sa[i].second.to_vector() != so[i].second.to_vector();
    else
      CHECK(sa[i].second.to_vector() == so[i].second.to_vector());  // weights untouched
  }
  CHECK(moved);
  const nlohmann::json made = nlohmann::json::parse(a.info.training_json);
  CHECK(made.at("adapted_bn").at("files").get<int>() == 18);
  CHECK(made.at("adapted_bn").at("data").at(0).get<std::string>() == other.string());
  CHECK(made.at("adapted_bn").at("from").get<std::string>() == model.model_file.string());
  const Result info = run("info " + (dir / "a" / "adapted.safetensors").string(), dir.path());
  REQUIRE(info.status == 0);
  CHECK(has(info.out, "adapted:       batch-norm statistics re-estimated without labels on 18 files, "));
  CHECK(has(info.out, "windows of " + other.string() + "; from " + model.model_file.string()));
  const Result plain_info = run("info " + model.model_file.string(), dir.path());
  CHECK_FALSE(has(plain_info.out, "adapted:"));
}

TEST_CASE("ser predict --adapt-bn labels the files as the model `ser adapt` made from them does") {
  const test::DemoModel& model = test::demo_model();
  test::TempDir dir;
  const fs::path other = other_corpus(dir.path());
  const fs::path adapted = dir / "adapted.safetensors";
  REQUIRE(run("adapt --model " + model.model_file.string() + " " + other.string() + " --cache none --out " +
                  adapted.string(), dir.path()).status == 0);
  const Result direct = run("predict --json --adapt-bn --cache none --model " + model.model_file.string() + " " +
                                other.string(), dir.path());
  CAPTURE(direct.err);
  REQUIRE(direct.status == 0);
  CHECK(has(direct.err, "batch norm adapted on"));
  const Result via_file = run("predict --json --model " + adapted.string() + " " + other.string(), dir.path());
  REQUIRE(via_file.status == 0);
  const Result plain = run("predict --json --model " + model.model_file.string() + " " + other.string(), dir.path());
  REQUIRE(plain.status == 0);
  const auto d = prediction_lines(direct.out), v = prediction_lines(via_file.out), p = prediction_lines(plain.out);
  REQUIRE(d.size() == 18);
  REQUIRE(v.size() == d.size());
  bool differs_from_plain = false;
  for (std::size_t i = 0; i < d.size(); ++i) {
    CHECK(d[i].at("file") == v[i].at("file"));
    CHECK(d[i].at("probabilities") == v[i].at("probabilities"));
    CHECK(d[i].at("windows") == v[i].at("windows"));
    differs_from_plain = differs_from_plain || d[i].at("probabilities") != p[i].at("probabilities");
  }
  CHECK(differs_from_plain);
}

TEST_CASE("ser adapt refuses outputs that would lose data, and inputs with nothing to adapt on") {
  const test::DemoModel& model = test::demo_model();
  test::TempDir dir;
  const fs::path other = other_corpus(dir.path());
  const std::string base = "adapt --cache none --model " + model.model_file.string() + " " + other.string();

  const Result no_out = run(base, dir.path());
  CHECK(no_out.status != 0);
  CHECK(has(no_out.err, "--out"));

  fs::create_directories(dir / "folder");
  const Result folder = run(base + " --out " + (dir / "folder").string(), dir.path());
  CHECK(folder.status == 1);
  CHECK(has(folder.err, "is a folder"));

  const fs::path existing = dir / "existing.safetensors";
  std::ofstream(existing) << "keep me";
  const Result exists = run(base + " --out " + existing.string(), dir.path());
  CHECK(exists.status == 1);
  CHECK(has(exists.err, "already exists (--force replaces it)"));
  CHECK(read_bytes(existing) == "keep me");

  fs::copy_file(model.model_file, dir / "m.safetensors");
  const std::string before = read_bytes(dir / "m.safetensors");
  const Result self = run("adapt --cache none --force --model " + (dir / "m.safetensors").string() + " " +
                              other.string() + " --out " + (dir / "m.safetensors").string(), dir.path());
  CHECK(self.status == 1);
  CHECK(has(self.err, "is the model being adapted"));
  CHECK(read_bytes(dir / "m.safetensors") == before);

  fs::create_directories(dir / "junk");
  std::ofstream(dir / "junk" / "a.wav") << "not audio";
  std::ofstream(dir / "junk" / "b.wav") << "RIFF";
  const Result junk = run("adapt --cache none --model " + model.model_file.string() + " " + (dir / "junk").string() +
                              " --out " + (dir / "j.safetensors").string(), dir.path());
  CAPTURE(junk.err);
  CHECK(junk.status == 1);
  CHECK(has(junk.err, "none of the 2 files gave an image"));
  CHECK_FALSE(fs::exists(dir / "j.safetensors"));
}

TEST_CASE("batchnorm_shifts: |new - old mean| in old standard deviations, averaged over channels") {
  using State = std::vector<std::pair<std::string, Tensor>>;
  const auto t = [](std::vector<float> v) { return Tensor::from_vector(Shape{static_cast<int64_t>(v.size())}, v); };
  const State before = {{"conv1.weight", t({1, 2})},
                        {"bn1.moving_mean", t({0, 1})},
                        {"bn1.moving_var", t({4 - 1e-3f, 1 - 1e-3f})},
                        {"bn2.moving_mean", t({5})},
                        {"bn2.moving_var", t({1})}};
  const State after = {{"conv1.weight", t({7, 7})},
                       {"bn1.moving_mean", t({2, 0})},  // +2 / 2 and -1 / 1: a mean of 1
                       {"bn1.moving_var", t({9, 9})},   // the variance's change does not count
                       {"bn2.moving_mean", t({5})},
                       {"bn2.moving_var", t({3})}};
  const auto shifts = app::batchnorm_shifts(before, after);
  REQUIRE(shifts.size() == 2);
  CHECK(shifts[0].layer == "bn1");
  CHECK(shifts[0].shift == doctest::Approx(1.0).epsilon(1e-6));
  CHECK(shifts[1].layer == "bn2");
  CHECK(shifts[1].shift == 0.0);
  CHECK(app::format_shifts(shifts) == "bn1 1.00, bn2 0.00");
  const State missing = {{"bn1.moving_mean", t({0})}};
  CHECK_THROWS_WITH_AS(app::batchnorm_shifts(missing, missing), doctest::Contains("bn1"), Error);
}

}  // TEST_SUITE
