// `ser train` killed with SIGKILL mid-checkpoint-write and at a random later point, and a
// checkpoint write that fails for lack of space (RLIMIT_FSIZE -> EFBIG) in between: every
// `--resume` finds the last complete checkpoint, the failed write leaves it byte for byte
// intact with a one-line reason, and the final model file equals, byte for byte, the one
// of an uninterrupted run with the same options.
#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "engine/io/file.h"
#include "engine/io/safetensors.h"
#include "reliability/process.h"
#include "reliability/tiny_corpus.h"
#include "support/temp_dir.h"

namespace fs = std::filesystem;
using namespace ser;

namespace {

std::vector<std::string> train_args(const fs::path& corpus, const fs::path& cache, const fs::path& out) {
  return {"train",   "--quiet", "--device", "cpu", "--data",     corpus.string(), "--cache", cache.string(),
          "--epochs", "3",      "--batch",  "16",  "--patience", "3",             "--seed",  "7",
          "--out",    out.string()};
}

bool has_temp_file(const fs::path& dir) {
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().find(".tmp.") != std::string::npos) return true;
  return false;
}

int epochs_done(const fs::path& checkpoint) {
  const SafeTensors file = read_safetensors(checkpoint);
  return nlohmann::json::parse(file.metadata.at("train_state")).at("epochs_done").get<int>();
}

// Polls `child` until `ready()` holds (then returns true) or the child exits (false).
template <typename F>
bool wait_until(test::Child& child, F ready) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(3);
  while (child.running() && std::chrono::steady_clock::now() < deadline) {
    if (ready()) return true;
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  return false;
}

std::string last_line(const std::string& text) {
  std::string t = text;
  while (!t.empty() && t.back() == '\n') t.pop_back();
  return t.substr(t.rfind('\n') == std::string::npos ? 0 : t.rfind('\n') + 1);
}

}  // namespace

TEST_SUITE("reliability") {

TEST_CASE("SIGKILL mid-write and mid-epoch, a full disk, then --resume: same model as an uninterrupted run") {
  test::TempDir dir;
  const fs::path corpus = test::make_tiny_corpus(dir / "corpus");
  const fs::path cache = dir / "cache";

  // Reference: one uninterrupted run.
  const test::RunResult reference = test::run_ser(train_args(corpus, cache, dir / "reference"), dir / "ref.log");
  CAPTURE(reference.output);
  REQUIRE(reference.status == 0);
  const auto reference_model = read_file_bytes(dir / "reference" / "model.safetensors");

  const fs::path run = dir / "run";
  const fs::path checkpoint = run / "checkpoint.safetensors";
  const std::vector<std::string> resume{"train", "--quiet", "--resume", run.string()};

  // 1. Killed while writing the second checkpoint (the first one is complete by then).
  {
    test::Child child(train_args(corpus, cache, run), {dir / "kill1.log"});
    const bool mid_write = wait_until(child, [&] { return fs::exists(checkpoint) && has_temp_file(run); });
    child.kill();
    CAPTURE(child.output());
    REQUIRE_MESSAGE(mid_write, "the run ended before its second checkpoint write was seen");
  }
  REQUIRE(epochs_done(checkpoint) == 1);  // the complete previous checkpoint, not the half-written one
  CHECK(has_temp_file(run));              // the killed writer's temp file is still there

  // 2. A full disk: files may not grow past 4 MiB, so the epoch-2 checkpoint (~80 MiB)
  //    cannot be written. The previous one must stay byte for byte, and the error say why.
  {
    const auto before = read_file_bytes(checkpoint);
    const test::RunResult full = test::run_ser(resume, dir / "full.log", 4 << 20);
    CAPTURE(full.output);
    CHECK(full.status == 1);
    const std::string line = last_line(full.output);
    CHECK(line.rfind("ser: error: ", 0) == 0);
    CHECK(line.find(checkpoint.string()) != std::string::npos);
    CHECK(line.find("File too large") != std::string::npos);
    CHECK(line.find("previous file") != std::string::npos);
    CHECK(read_file_bytes(checkpoint) == before);
    CHECK_FALSE(has_temp_file(run));  // its own temp file removed, the killed run's stale one too
  }

  // 3. Killed again at a random point of the resumed run (seeded, so a failure repeats).
  {
    std::mt19937 rng(20261124);
    const auto delay = std::chrono::milliseconds(std::uniform_int_distribution<int>(200, 2500)(rng));
    test::Child child(resume, {dir / "kill2.log"});
    const auto start = std::chrono::steady_clock::now();
    wait_until(child, [&] { return std::chrono::steady_clock::now() - start >= delay; });
    child.kill();
  }
  REQUIRE(fs::exists(checkpoint));
  CHECK(epochs_done(checkpoint) >= 1);

  // 4. Resumed to the end: the same model, byte for byte.
  const test::RunResult finished = test::run_ser(resume, dir / "final.log");
  CAPTURE(finished.output);
  REQUIRE(finished.status == 0);
  CHECK(epochs_done(checkpoint) == 3);
  CHECK(read_file_bytes(run / "model.safetensors") == reference_model);
  CHECK_FALSE(has_temp_file(run));
}

}  // TEST_SUITE
