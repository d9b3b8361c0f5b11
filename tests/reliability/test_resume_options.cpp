// `ser train --resume RUN` with options on the command line: --epochs (and --patience,
// --device, --cache, --threads) may change and are written back to RUN/run.json, so a
// finished run can be extended; options that define the experiment (--batch, --lr, --seed,
// --data, ...) are refused with one line naming the option, and nothing in RUN changes.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>

#include "engine/io/file.h"
#include "engine/io/safetensors.h"
#include "support/temp_dir.h"
#include "reliability/process.h"
#include "reliability/tiny_corpus.h"

namespace fs = std::filesystem;
using namespace ser;

namespace {
int epochs_done(const fs::path& checkpoint) {
  const auto file = read_safetensors(checkpoint);
  return nlohmann::json::parse(file.metadata.at("train_state")).at("epochs_done").get<int>();
}
}  // namespace

TEST_SUITE("reliability") {

TEST_CASE("--resume RUN --epochs N extends a finished run; experiment options cannot change") {
  test::TempDir dir;
  const fs::path corpus = test::make_tiny_corpus(dir.path() / "corpus");
  const fs::path run = dir.path() / "run";
  const test::RunResult first =
      test::run_ser({"train", "--quiet", "--device", "cpu", "--data", corpus.string(), "--cache", "none", "--recipe",
                     "seed", "--epochs", "1", "--patience", "5", "--seed", "7", "--out", run.string()},
                    dir.path() / "first.log");
  CAPTURE(first.output);
  REQUIRE(first.status == 0);
  REQUIRE(epochs_done(run / "checkpoint.safetensors") == 1);
  CHECK(first.output.find("finished 1 epoch (best 1); ") != std::string::npos);  // not "1 epochs"

  const auto checkpoint_before = read_file_bytes(run / "checkpoint.safetensors");
  const test::RunResult refused =
      test::run_ser({"train", "--quiet", "--resume", run.string(), "--batch", "8"}, dir.path() / "refused.log");
  CAPTURE(refused.output);
  CHECK(refused.status == 1);
  CHECK(refused.output.find("--batch cannot be changed when resuming") != std::string::npos);
  CHECK(read_file_bytes(run / "checkpoint.safetensors") == checkpoint_before);

  const test::RunResult extended = test::run_ser(
      {"train", "--quiet", "--resume", run.string(), "--epochs", "2"}, dir.path() / "extended.log");
  CAPTURE(extended.output);
  REQUIRE(extended.status == 0);
  CHECK(epochs_done(run / "checkpoint.safetensors") == 2);
  const nlohmann::json options = nlohmann::json::parse(test::read_text(run / "run.json"));
  CHECK(options.at("recipe").at("epochs").get<int>() == 2);
  CHECK(options.at("recipe").at("patience").get<int>() == 5);  // unchanged options keep the run's values
  CHECK(options.at("recipe").at("name").get<std::string>() == "seed");
  CHECK(options.at("seed").get<uint64_t>() == 7);
}

TEST_CASE("--resume of a one-cycle run: --epochs is refused (the schedule is laid out for its epochs)") {
  test::TempDir dir;
  const fs::path corpus = test::make_tiny_corpus(dir.path() / "corpus");
  const fs::path run = dir.path() / "run";
  const test::RunResult first =
      test::run_ser({"train", "--quiet", "--device", "cpu", "--data", corpus.string(), "--cache", "none", "--recipe",
                     "robust", "--epochs", "1", "--seed", "7", "--out", run.string()},
                    dir.path() / "first.log");
  CAPTURE(first.output);
  REQUIRE(first.status == 0);
  const auto checkpoint_before = read_file_bytes(run / "checkpoint.safetensors");
  const test::RunResult refused =
      test::run_ser({"train", "--quiet", "--resume", run.string(), "--epochs", "2"}, dir.path() / "refused.log");
  CAPTURE(refused.output);
  CHECK(refused.status == 1);
  CHECK(refused.output.find("one-cycle learning-rate schedule was laid out for 1 epoch (") != std::string::npos);
  CHECK(read_file_bytes(run / "checkpoint.safetensors") == checkpoint_before);
  const test::RunResult done = test::run_ser({"train", "--quiet", "--resume", run.string()}, dir.path() / "done.log");
  CAPTURE(done.output);
  CHECK(done.status == 0);
  CHECK(done.output.find("start a new run to train longer") != std::string::npos);
  CHECK(done.output.find("ended with its 1 epoch (") != std::string::npos);
  CHECK(read_file_bytes(run / "checkpoint.safetensors") == checkpoint_before);
}

}  // TEST_SUITE
