// Run folders never mix runs or lose a model: a refused `ser train` writes nothing, a
// folder holding a run is refused unless --force (which clears only ser's own files),
// run.json stores absolute paths, and `--resume` refuses a damaged or foreign checkpoint
// (before any feature extraction) and a changed corpus, says when there is nothing left to
// do, continues an early-stopped run under a larger --patience, and SIGINT stops a run at
// an epoch boundary with the line that says how to continue.
#include <doctest/doctest.h>

#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
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

std::vector<std::string> train_args(const fs::path& corpus, const fs::path& out, const std::string& epochs = "1",
                                    const std::string& seed = "7") {
  // The notebook's recipe: a constant learning rate, so a finished run can be extended.
  return {"train", "--quiet",  "--device", "cpu",  "--data", corpus.string(), "--cache", "none", "--recipe", "seed",
          "--epochs", epochs, "--patience", "5", "--seed", seed, "--out", out.string()};
}

// Every file under `dir` with its bytes: "nothing changed" means this map is equal.
std::map<std::string, std::vector<unsigned char>> snapshot(const fs::path& dir) {
  std::map<std::string, std::vector<unsigned char>> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) out[fs::relative(e.path(), dir).string()] = read_file_bytes(e.path());
  return out;
}

nlohmann::json train_state(const fs::path& checkpoint) {
  return nlohmann::json::parse(read_safetensors(checkpoint).metadata.at("train_state"));
}

// Rewrites keys of the checkpoint's train_state (as a run that stopped early would have it).
void edit_train_state(const fs::path& checkpoint, const nlohmann::json& changes) {
  SafeTensors file = read_safetensors(checkpoint);
  nlohmann::json state = nlohmann::json::parse(file.metadata.at("train_state"));
  state.update(changes);
  file.metadata["train_state"] = state.dump();
  write_safetensors(checkpoint, file);
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// One finished 1-epoch run shared by the cases below (each works on its own copy).
struct FinishedRun {
  test::TempDir dir;
  fs::path corpus, run;
  FinishedRun() {
    corpus = test::make_tiny_corpus(dir / "corpus", 3, 2, 0.5);
    run = dir / "run";
    const test::RunResult r = test::run_ser(train_args(corpus, run), dir / "first.log");
    CAPTURE(r.output);
    REQUIRE(r.status == 0);
  }
  fs::path copy(const std::string& name) const {
    fs::copy(run, dir / name, fs::copy_options::recursive);
    return dir / name;
  }
};

}  // namespace

TEST_SUITE("reliability") {

TEST_CASE("a refused ser train writes nothing; a folder holding a run is refused unless --force") {
  FinishedRun f;
  const auto before = snapshot(f.run);
  fs::create_directory(f.dir / "empty");
  std::ofstream(f.dir / "a_file") << "not a folder";

  struct Refusal {
    fs::path data;
    std::string why;
  };
  const std::vector<Refusal> refusals{
      {f.dir / "a_file", "is not a folder"},
      {f.dir / "missing", "no such folder"},
      {f.corpus, "already holds a run (epoch 1 of 1)"},
  };
  for (const auto& r : refusals) {
    const test::RunResult res = test::run_ser(train_args(r.data, f.run), f.dir / "refused.log");
    CAPTURE(res.output);
    CHECK(res.status == 1);
    CHECK(contains(res.output, r.why));
    CHECK(snapshot(f.run) == before);  // run.json included
  }
  // A refusal for a new folder leaves no folder behind.
  const test::RunResult empty = test::run_ser(train_args(f.dir / "empty", f.dir / "new"), f.dir / "new.log");
  CHECK(empty.status == 1);
  CHECK(contains(empty.output, "no usable audio files"));
  CHECK_FALSE(fs::exists(f.dir / "new"));

  const test::RunResult empty_out = test::run_ser({"train", "--data", f.corpus.string(), "--out", ""}, f.dir / "e.log");
  CHECK(empty_out.status == 1);
  CHECK(contains(empty_out.output, "--out: empty path"));

  // --force replaces the run's own files and keeps the user's.
  std::ofstream(f.run / "notes.txt") << "mine";
  std::vector<std::string> forced = train_args(f.corpus, f.run, "1", "8");
  forced.push_back("--force");
  const test::RunResult res = test::run_ser(forced, f.dir / "forced.log");
  CAPTURE(res.output);
  REQUIRE(res.status == 0);
  CHECK(test::read_text(f.run / "notes.txt") == "mine");
  CHECK(nlohmann::json::parse(test::read_text(f.run / "run.json")).at("seed").get<int>() == 8);
}

TEST_CASE("run.json stores absolute paths; a missing stored data folder is named as run.json's") {
  FinishedRun f;
  const nlohmann::json stored = nlohmann::json::parse(test::read_text(f.run / "run.json"));
  CHECK(fs::path(stored.at("data").at(0).get<std::string>()).is_absolute());
  CHECK(fs::path(stored.at("out").get<std::string>()).is_absolute());

  nlohmann::json old = stored;  // as older versions wrote it: the path as typed
  old["data"] = {"c_ravdess_not_here"};
  const std::string text = old.dump(2);
  write_file_atomically(f.run / "run.json", text.data(), text.size());
  const test::RunResult r = test::run_ser({"train", "--quiet", "--resume", f.run.string()}, f.dir / "old.log");
  CAPTURE(r.output);
  CHECK(r.status == 1);
  CHECK(contains(r.output, "run.json's data folder 'c_ravdess_not_here' (as stored) does not exist"));
}

TEST_CASE("--resume refuses a damaged or foreign checkpoint before extracting, and a changed corpus") {
  FinishedRun f;
  const fs::path cache = f.dir / "cache";
  auto resume = [&](const fs::path& run, const std::string& log) {
    return test::run_ser({"train", "--quiet", "--resume", run.string(), "--epochs", "2", "--cache", cache.string()},
                         f.dir / log);
  };
  {  // truncated: refused before any feature is extracted (the cache stays unmade)
    const fs::path run = f.copy("truncated");
    const auto bytes = read_file_bytes(run / "checkpoint.safetensors");
    write_file_atomically(run / "checkpoint.safetensors", bytes.data(), bytes.size() / 2);
    const test::RunResult r = resume(run, "truncated.log");
    CAPTURE(r.output);
    CHECK(r.status == 1);
    CHECK(contains(r.output, "checkpoint.safetensors is truncated or corrupt"));
    CHECK_FALSE(fs::exists(cache));
  }
  {  // another run's checkpoint (another seed) copied in
    const fs::path other = f.dir / "other";
    REQUIRE(test::run_ser(train_args(f.corpus, other, "1", "99"), f.dir / "other.log").status == 0);
    const fs::path run = f.copy("swapped");
    fs::copy_file(other / "checkpoint.safetensors", run / "checkpoint.safetensors",
                  fs::copy_options::overwrite_existing);
    const test::RunResult r = resume(run, "swapped.log");
    CAPTURE(r.output);
    CHECK(r.status == 1);
    CHECK(contains(r.output, "checkpoint does not belong to this run"));
    CHECK_FALSE(fs::exists(cache));
  }
  {  // a corpus file removed since the run started
    const fs::path run = f.copy("changed");
    const auto before = snapshot(run);
    fs::path removed;
    for (const auto& e : fs::recursive_directory_iterator(f.corpus))
      if (e.path().extension() == ".wav") removed = e.path();
    fs::rename(removed, f.dir / "moved.wav");
    const test::RunResult r = resume(run, "changed.log");
    fs::rename(f.dir / "moved.wav", removed);
    CAPTURE(r.output);
    CHECK(r.status == 1);
    CHECK(contains(r.output, "the corpus changed since this run started: 1 file removed"));
    CHECK(contains(r.output, removed.filename().string()));
    CHECK(snapshot(run) == before);
  }
}

TEST_CASE("--resume: nothing to do is said and changes nothing; a larger --patience continues an early stop") {
  FinishedRun f;
  const fs::path checkpoint = f.run / "checkpoint.safetensors";
  const std::vector<std::string> resume{"train", "--quiet", "--resume", f.run.string()};
  {
    const auto before = snapshot(f.run);
    const test::RunResult r = test::run_ser(resume, f.dir / "done.log");
    CAPTURE(r.output);
    CHECK(r.status == 0);
    CHECK(contains(r.output, "run finished its 1 epoch (best 1)"));
    CHECK(contains(r.output, "--epochs N larger than 1"));
    CHECK(snapshot(f.run) == before);
  }
  // As if the run had stopped early at epoch 1 under --patience 1, with 3 epochs planned.
  edit_train_state(checkpoint, {{"stopped_early", true}, {"epochs_without_improvement", 1}});
  {
    const auto before = snapshot(f.run);
    const test::RunResult r = test::run_ser({"train", "--quiet", "--resume", f.run.string(), "--epochs", "3",
                                             "--patience", "1"},
                                            f.dir / "early.log");
    CAPTURE(r.output);
    CHECK(r.status == 0);
    CHECK(contains(r.output, "run stopped early at epoch 1"));
    CHECK(contains(r.output, "--patience P larger than 1"));
    CHECK(snapshot(f.run) == before);
  }
  {
    const test::RunResult r = test::run_ser({"train", "--quiet", "--resume", f.run.string(), "--epochs", "2",
                                             "--patience", "3"},
                                            f.dir / "continued.log");
    CAPTURE(r.output);
    REQUIRE(r.status == 0);
    CHECK(train_state(checkpoint).at("epochs_done").get<int>() == 2);
    CHECK(contains(r.output, "finished 2 epochs"));
  }
  {  // a run.json without a checkpoint starts at epoch 1, says so, and deletes none of the run's files first
    fs::remove(checkpoint);
    const fs::path keep = f.run / "my_notes.txt";
    std::ofstream(keep) << "notes";
    REQUIRE(fs::exists(f.run / "model.safetensors"));
    test::Child child({"train", "--resume", f.run.string()}, {f.dir / "fresh.log"});
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(2);
    while (child.running() && !fs::exists(checkpoint) && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    // Until its first epoch ends, the resumed run has rewritten run.json at most: the old
    // model is still there (a replace would have deleted it before training).
    CHECK(fs::exists(f.run / "model.safetensors"));
    const int status = child.wait();
    const std::string output = child.output();
    CAPTURE(output);
    CHECK(status == 0);
    CHECK(contains(output, "no checkpoint yet: starting at epoch 1"));
    CHECK(fs::exists(keep));
  }
}

TEST_CASE("SIGINT stops training at an epoch boundary with the line that says how to continue") {
  test::TempDir dir;
  const fs::path corpus = test::make_tiny_corpus(dir / "corpus", 3, 2, 0.5);
  const fs::path run = dir / "run";
  test::Child child(train_args(corpus, run, "200"), {dir / "int.log"});
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(2);
  while (child.running() && !fs::exists(run / "checkpoint.safetensors") && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  REQUIRE(child.running());
  ::kill(child.pid(), SIGINT);
  const int status = child.wait();
  const std::string output = child.output();
  CAPTURE(output);
  CHECK(status == 128 + SIGINT);
  const int done = train_state(run / "checkpoint.safetensors").at("epochs_done").get<int>();
  CHECK(done < 200);
  CHECK(contains(output, "interrupted after epoch " + std::to_string(done) + "; continue with `ser train --resume " +
                             run.string() + "`"));
}

}  // TEST_SUITE
