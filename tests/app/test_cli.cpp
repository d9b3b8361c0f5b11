// The `ser` command line end to end: the quick demo (generate, train, evaluate, predict),
// predict on a saved model, and clear errors with non-zero exit codes on bad input.
#include <doctest/doctest.h>

#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <vector>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "data/demo_corpus.h"
#include "support/temp_dir.h"

namespace fs = std::filesystem;

namespace {

struct Result {
  int status;
  std::string output;  // stdout and stderr together
};

fs::path ser_binary() {
  const char* build = std::getenv("SER_BUILD_DIR");
  return fs::path(build && *build ? build : SER_BINARY_DIR) / "apps" / "ser";
}

Result run(const std::string& args) {
  const std::string cmd = ser_binary().string() + " " + args + " 2>&1";
  Result r{-1, {}};
  FILE* pipe = ::popen(cmd.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::array<char, 4096> buf{};
  while (std::fgets(buf.data(), buf.size(), pipe)) r.output += buf.data();
  const int raw = ::pclose(pipe);
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  return r;
}

}  // namespace

TEST_SUITE("app") {

TEST_CASE("ser info says what a run would use") {
  const Result r = run("info");
  CAPTURE(r.output);
  REQUIRE(r.status == 0);
  for (const char* part : {"threads", "OpenBLAS", "libsndfile", "CUDA backend:", "--device auto trains on:",
                           "feature cache:"})
    CHECK_MESSAGE(r.output.find(part) != std::string::npos, part);
}

TEST_CASE("an unknown command and a bad option are one 'ser: error:' line each") {
  const Result typo = run("trian --data x");
  CHECK(typo.status != 0);
  CHECK(typo.output.rfind("ser: error: unknown command 'trian'", 0) == 0);
  CHECK(typo.output.find("train") != std::string::npos);
  const Result option = run("train --no-such-option");
  CHECK(option.status != 0);
  CHECK(option.output.rfind("ser: error: ", 0) == 0);
  CHECK(option.output.find("(see ser train --help)") != std::string::npos);
  CHECK(option.output.find("Run with --help") == std::string::npos);
}

TEST_CASE("ser demo never deletes a corpus folder it did not write, and checks --clips before touching it") {
  ser::test::TempDir dir;
  const fs::path user_file = dir / "corpus" / "my_recording.wav";
  fs::create_directories(user_file.parent_path());
  std::ofstream(user_file) << "someone's data";
  const Result r = run("demo --quick --device cpu --out " + dir.path().string());
  CAPTURE(r.output);
  CHECK(r.status != 0);
  CHECK(r.output.find("was not written by `ser demo`") != std::string::npos);
  CHECK(fs::exists(user_file));
  const Result clips = run("demo --clips 500 --out " + dir.path().string());
  CAPTURE(clips.output);
  CHECK(clips.status != 0);
  CHECK(clips.output.find("--clips") != std::string::npos);
  CHECK(fs::exists(user_file));
}

TEST_CASE("ser demo --quick runs the whole chain and leaves a model and a report") {
  ser::test::TempDir dir;
  const Result r = run("demo --quick --device cpu --out " + dir.path().string());
  CAPTURE(r.output);
  REQUIRE(r.status == 0);
  CHECK(r.output.find("test accuracy") != std::string::npos);
  CHECK(r.output.find("unseen speaker") != std::string::npos);
  for (const char* f : {"run/model.safetensors", "run/checkpoint.safetensors", "run/report.html", "run/metrics.json",
                        "run/confusion.svg", "run/curves.svg", "run/manifest.tsv", "run/predictions.tsv"})
    CHECK_MESSAGE(fs::exists(dir / f), f);

  SUBCASE("predict reads the saved model and labels a file; bad files fail clearly") {
    fs::path wav;
    for (const auto& e : fs::recursive_directory_iterator(dir / "corpus"))
      if (e.path().extension() == ".wav") {
        wav = e.path();
        break;
      }
    REQUIRE(!wav.empty());
    const Result ok = run("predict --json --model " + (dir / "run/model.safetensors").string() + " " + wav.string());
    CAPTURE(ok.output);
    CHECK(ok.status == 0);
    CHECK(ok.output.find("\"emotion\"") != std::string::npos);

    std::ofstream(dir / "text.wav") << "this is not audio";
    const Result bad = run("predict --model " + (dir / "run/model.safetensors").string() + " " +
                           (dir / "text.wav").string() + " " + wav.string());
    CAPTURE(bad.output);
    CHECK(bad.status == 1);
    CHECK(bad.output.find("text.wav") != std::string::npos);
    CHECK(bad.output.find(wav.filename().string()) != std::string::npos);  // the good file is still labelled

    // Decodable but unlike any training clip: labelled, with a warning that says why.
    std::vector<float> beep(1600);  // 0.1 s at 16 kHz
    for (std::size_t i = 0; i < beep.size(); ++i) beep[i] = 0.3f * static_cast<float>(std::sin(0.2 * double(i)));
    ser::data::write_wav_pcm16(dir / "beep.wav", beep, 16000);
    ser::data::write_wav_pcm16(dir / "silence.wav", std::vector<float>(32000, 0.0f), 16000);
    const Result odd = run("predict --model " + (dir / "run/model.safetensors").string() + " " +
                           (dir / "beep.wav").string() + " " + (dir / "silence.wav").string() + " " + wav.string());
    CAPTURE(odd.output);
    CHECK(odd.status == 0);
    CHECK(odd.output.find("beep.wav: only 0.100 s long") != std::string::npos);
    CHECK(odd.output.find("silence.wav: no signal") != std::string::npos);
    CHECK(odd.output.find("silence.wav\t0.00\t2.00\tsilent\t\n") != std::string::npos);  // not an emotion
    CHECK(odd.output.find(wav.filename().string() + ": ") == std::string::npos);  // a normal clip: no warning
  }
}

TEST_CASE("bad command lines and missing files give one clear line and a non-zero status") {
  ser::test::TempDir dir;
  const Result no_model = run("predict --model " + (dir / "none.safetensors").string() + " x.wav");
  CHECK(no_model.status == 1);
  CHECK(no_model.output.find("none.safetensors: no such file") != std::string::npos);

  const Result no_data = run("train --data " + (dir / "missing").string() + " --out " + (dir / "run").string());
  CHECK(no_data.status == 1);
  CHECK(no_data.output.find("no such folder") != std::string::npos);

  const Result bad_epochs = run("train --epochs 0 --data . --out " + (dir / "run").string());
  CHECK(bad_epochs.status != 0);
  CHECK(bad_epochs.output.find("--epochs") != std::string::npos);

  const Result bad_protocol = run("train --protocol random --data .");
  CHECK(bad_protocol.status != 0);
  CHECK(bad_protocol.output.find("--protocol") != std::string::npos);

  const Result no_run = run("train --resume " + (dir / "nothing").string());
  CHECK(no_run.status == 1);
  CHECK(no_run.output.find("run.json") != std::string::npos);
}

}  // TEST_SUITE

TEST_SUITE("app") {

TEST_CASE("ser train: recipe options are checked before any work, each a one-line error") {
  ser::test::TempDir dir;
  const std::string data = " --data " + dir.path().string() + " --out " + (dir.path() / "run").string();
  struct Case {
    std::string args, expected;
  };
  const std::vector<Case> cases{
      {"--recipe nonsense", "unknown recipe 'nonsense': expected one of general (the default: fixed time axis, waveform augmentation), robust"},
      {"--recipe " + (dir.path() / "missing.json").string(), "missing.json: cannot open the file"},
      {"--augment shift", "--augment item 'shift': expected KEY=VALUE"},
      {"--augment time-masks=2", "--augment item 'time-masks=2': expected COUNTxMAXWIDTH"},
      {"--augment freq-masks=9x8", "at most 4 time and 4 frequency masks"},
      {"--augment wobble=3", "unknown key 'wobble'"},
      {"--augment time-masks=2x100", "mask widths must lie in [0, half the image]"},
      {"--lr-schedule linear", "--lr-schedule: linear not in {constant,onecycle}"},
      {"--sampling weighted", "--sampling: weighted not in {shuffle,balanced,corpus-balanced}"},
      {"--val-speakers Actor_20..Actor_17", "runs backwards"},
      {"--test-speakers Actor_21", "--test-speakers needs --val-speakers too"},
      {"--protocol holdout --val-speakers Actor_17", "cannot be combined with --protocol holdout"},
  };
  for (const Case& c : cases) {
    const Result r = run("train" + data + " " + c.args);
    CAPTURE(c.args);
    CAPTURE(r.output);
    CHECK(r.status != 0);
    CHECK(r.output.rfind("ser: error: ", 0) == 0);
    CHECK(r.output.find(c.expected) != std::string::npos);
    CHECK(std::count(r.output.begin(), r.output.end(), '\n') == 1);
    CHECK_FALSE(fs::exists(dir.path() / "run"));
  }
}

TEST_CASE("ser train --help names the recipes and the options that override them") {
  const Result r = run("train --help");
  REQUIRE(r.status == 0);
  for (const char* part : {"--recipe", "robust", "seed", "--lr-schedule", "--weight-decay", "--augment",
                           "--label-smoothing", "--sampling", "--keep", "--head", "--val-speakers", "--test-speakers",
                           "Actor_17..Actor_20"})
    CHECK_MESSAGE(r.output.find(part) != std::string::npos, part);
}
}
