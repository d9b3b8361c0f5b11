// write_file_atomically from many threads at once (each call has its own temp file, so
// every result is one writer's whole content), and remove_stale_temp_files on both temp
// name forms: "<name>.tmp.<pid>" (older) and "<name>.tmp.<pid>.<counter>".
#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "engine/core/error.h"
#include "engine/io/file.h"
#include "support/temp_dir.h"

using namespace ser;
namespace fs = std::filesystem;

namespace {

void touch(const fs::path& p) { std::ofstream(p) << "x"; }

// The pid of a child process that has already exited and been reaped: no process runs
// under it (unless the system reuses it in the few microseconds of the test).
pid_t dead_pid() {
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  REQUIRE(child > 0);
  int status = 0;
  ::waitpid(child, &status, 0);
  return child;
}

bool has_temp_file(const fs::path& dir) {
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().find(".tmp.") != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_SUITE("io") {

TEST_CASE("write_file_atomically: threads writing the same path each leave a whole file, no temp file") {
  test::TempDir dir;
  const fs::path target = dir / "shared.bin";
  constexpr int kThreads = 8, kWrites = 25;
  constexpr std::size_t kBytes = 64 * 1024;  // large enough that unsynchronised writes interleave
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      const std::string content(kBytes, static_cast<char>('a' + t));  // one letter per writer
      for (int i = 0; i < kWrites; ++i) {
        try {
          write_file_atomically(target, content.data(), content.size());
        } catch (const Error&) {
          ++failures;
        }
      }
    });
  for (auto& t : threads) t.join();
  CHECK(failures.load() == 0);
  std::ifstream in(target, std::ios::binary);
  const std::string got((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  REQUIRE(got.size() == kBytes);
  CHECK(got.find_first_not_of(got[0]) == std::string::npos);  // one writer's content, not a mix
  CHECK(got[0] >= 'a');
  CHECK(got[0] < 'a' + kThreads);
  CHECK_FALSE(has_temp_file(dir.path()));
}

TEST_CASE("remove_stale_temp_files removes dead processes' temp files of both name forms, nothing else") {
  test::TempDir dir;
  const std::string dead = std::to_string(dead_pid()), mine = std::to_string(::getpid());
  const std::vector<std::string> stale{"model.safetensors.tmp." + dead, "model.safetensors.tmp." + dead + ".0",
                                       "run.json.tmp." + dead + ".123456"};
  const std::vector<std::string> kept{"model.safetensors",
                                      "run.json.tmp." + mine + ".4",  // this process: may be mid-write
                                      "run.json.tmp." + mine,
                                      "notes.tmp.x",
                                      "notes.tmp." + dead + ".x",
                                      "notes.tmp." + dead + ".",
                                      "notes.tmp.",
                                      "notes.tmp." + dead + ".1.2"};
  for (const auto& name : stale) touch(dir / name);
  for (const auto& name : kept) touch(dir / name);
  CHECK(remove_stale_temp_files(dir.path()) == static_cast<int>(stale.size()));
  for (const auto& name : stale) CHECK_MESSAGE(!fs::exists(dir / name), name);
  for (const auto& name : kept) CHECK_MESSAGE(fs::exists(dir / name), name);
  CHECK(remove_stale_temp_files(dir / "missing") == 0);  // never throws
}

}  // TEST_SUITE
