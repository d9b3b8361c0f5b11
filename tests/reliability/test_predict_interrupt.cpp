// SIGTERM (as Ctrl-C) during `ser predict` over many long recordings: the rows of every file
// labelled before the signal are written, the file in progress up to where it was read
// (a warning says so), the files not started are left out, and the exit status is 143.
#include <doctest/doctest.h>

#include <signal.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "app/demo_model.h"
#include "data/demo_corpus.h"
#include "reliability/process.h"
#include "support/temp_dir.h"

namespace fs = std::filesystem;
using namespace ser;

namespace {

int count_of(const std::string& text, const std::string& what) {
  int n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_SUITE("reliability") {

TEST_CASE("SIGTERM during ser predict writes what is labelled, then exits 143") {
  const test::DemoModel& model = test::demo_model();
  test::TempDir dir;
  std::vector<float> x(static_cast<std::size_t>(16000 * 300));  // 5 minutes of a wavering tone
  for (std::size_t i = 0; i < x.size(); ++i)
    x[i] = static_cast<float>(0.2 * std::sin(0.09 * double(i)) * (0.6 + 0.4 * std::sin(double(i) / 9000.0)));
  data::write_wav_pcm16(dir / "long.wav", x, 16000);
  std::vector<std::string> args{"predict", "--model", model.model_file.string()};
  constexpr int kFiles = 40;
  for (int i = 0; i < kFiles; ++i) args.push_back((dir / "long.wav").string());
  test::Child child(args, {dir / "out.txt"});
  // Wait for the first file's row, then signal: later files are still to come.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (child.running() && count_of(child.output(), "long.wav\t") == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  REQUIRE_MESSAGE(child.running(), "ser predict finished before the signal; make the input longer");
  ::kill(child.pid(), SIGTERM);
  const int status = child.wait();
  const std::string out = child.output();
  CAPTURE(out);
  CHECK(status == 143);
  CHECK(out.find("file\tstart\tend\temotion\tprobability") != std::string::npos);
  const int files_with_rows = count_of(out, "long.wav\t0.00\t");
  CHECK(files_with_rows >= 1);
  CHECK(files_with_rows < kFiles);
  CHECK(out.find("ser: stopping: writing what is labelled so far") != std::string::npos);
  CHECK(out.find("ser: interrupted: the rows above are every file labelled before the signal") != std::string::npos);
}

}  // TEST_SUITE
