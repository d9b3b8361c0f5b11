// A run folder `ser` may not write in (mode 0555): `ser train --resume RUN` asked for more
// epochs, and a fresh `ser train --out RUN`, must stop before any work with exit status 1
// and one line naming the folder and the reason (Permission denied), leaving the checkpoint
// and the model byte for byte as they were. Root ignores mode bits, so as root the child
// `ser` runs as 'nobody'; where that cannot be arranged the case prints a SKIP line.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/io/file.h"
#include "reliability/process.h"
#include "reliability/tiny_corpus.h"
#include "support/gpu.h"
#include "support/temp_dir.h"

namespace fs = std::filesystem;
using namespace ser;

namespace {

constexpr fs::perms kReadOnlyDir = fs::perms::owner_read | fs::perms::owner_exec | fs::perms::group_read |
                                   fs::perms::group_exec | fs::perms::others_read | fs::perms::others_exec;  // 0555

void skip(const std::string& why) {
  std::printf("[ SKIP ] %s: %s\n", test::current_test_name().c_str(), why.c_str());
  MESSAGE("SKIPPED: " << why);
}

// Whether this process can create a file in `dir` (it can in a 0555 folder when mode bits
// do not bind it, e.g. with CAP_DAC_OVERRIDE).
bool can_create_file_in(const fs::path& dir) {
  const fs::path probe = dir / ".write-probe";
  std::FILE* f = std::fopen(probe.c_str(), "w");
  if (!f) return false;
  std::fclose(f);
  fs::remove(probe);
  return true;
}

bool has_temp_file(const fs::path& dir) {
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().find(".tmp.") != std::string::npos) return true;
  return false;
}

// Expects `r` to be exactly one line "ser: error: ..." naming `folder` and the reason.
void expect_permission_error(const test::RunResult& r, const fs::path& folder) {
  CAPTURE(r.output);
  CHECK(r.status == 1);
  CHECK(r.output.rfind("ser: error: ", 0) == 0);
  CHECK(r.output.find('\n') == r.output.size() - 1);  // exactly one line: nothing ran before it
  CHECK(r.output.find(folder.string()) != std::string::npos);
  CHECK(r.output.find("Permission denied") != std::string::npos);
}

}  // namespace

TEST_SUITE("reliability") {

TEST_CASE("a read-only run folder: resume and fresh train stop at once with one line; nothing changes") {
  test::TempDir dir;
  fs::permissions(dir.path(), fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                  fs::perms::others_read | fs::perms::others_exec);  // 0755: 'nobody' may enter
  bool as_nobody = false;
  if (::geteuid() == 0) {
    std::string why;
    if (!test::can_run_ser_as_nobody(dir.path(), why)) {
      skip("running as root, and the child cannot drop to 'nobody': " + why);
      return;
    }
    as_nobody = true;
  }
  const fs::path corpus = test::make_tiny_corpus(dir / "corpus");
  const fs::path cache = dir / "cache";  // writable by anyone: a failure must come from the run folder
  fs::create_directory(cache);
  fs::permissions(cache, fs::perms::all);

  // One complete epoch, then ask the resumed run for two more (--resume reads run.json).
  const fs::path run = dir / "run";
  const test::RunResult first =
      test::run_ser({"train", "--quiet", "--device", "cpu", "--data", corpus.string(), "--cache", "none", "--epochs",
                     "1", "--seed", "7", "--out", run.string()},
                    dir / "first.log");
  CAPTURE(first.output);
  REQUIRE(first.status == 0);
  nlohmann::json options = nlohmann::json::parse(test::read_text(run / "run.json"));
  options["epochs"] = 3;
  const std::string text = options.dump(2) + "\n";
  write_file_atomically(run / "run.json", text.data(), text.size());
  const auto checkpoint_before = read_file_bytes(run / "checkpoint.safetensors");
  const auto model_before = read_file_bytes(run / "model.safetensors");

  fs::permissions(run, kReadOnlyDir);
  if (!as_nobody && can_create_file_in(run)) {
    fs::permissions(run, fs::perms::owner_all);
    skip("mode bits do not stop this user from writing in a 0555 folder");
    return;
  }

  auto as_restricted = [&](const std::string& log) {
    test::ChildOptions o{dir / log};
    o.as_nobody = as_nobody;
    return o;
  };

  {  // --resume of a run whose folder became read-only
    const test::RunResult r = test::run_ser({"train", "--quiet", "--resume", run.string()}, as_restricted("resume.log"));
    expect_permission_error(r, run);
    CHECK(read_file_bytes(run / "checkpoint.safetensors") == checkpoint_before);
    CHECK(read_file_bytes(run / "model.safetensors") == model_before);
    CHECK_FALSE(has_temp_file(run));
  }

  const fs::path locked = dir / "locked";
  {  // a fresh run into a read-only folder, or into a new folder under one
    fs::create_directory(locked);
    fs::permissions(locked, kReadOnlyDir);
    for (const fs::path& out : {locked, locked / "sub"}) {
      const test::RunResult r =
          test::run_ser({"train", "--device", "cpu", "--data", corpus.string(), "--cache", cache.string(), "--epochs",
                         "1", "--out", out.string()},
                        as_restricted("fresh.log"));
      expect_permission_error(r, out);
    }
    CHECK(fs::is_empty(locked));
    CHECK(fs::is_empty(cache));  // stopped before feature extraction
  }

  for (const fs::path& p : {run, locked}) fs::permissions(p, fs::perms::owner_all);  // let TempDir remove them
}

}  // TEST_SUITE
