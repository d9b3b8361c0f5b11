// Bad numeric command-line values, table-driven, on the real binary: out of range, too big
// for any integer type, negative, zero where meaningless, non-numeric, fractional for an
// integer, NaN / inf, hex, blank. Each must end `ser` with CLI11's validation status (105,
// as every other bad command line) and a first line naming the option, the value and the
// allowed range. Values that are fine (including a leading zero, which CLI11 alone would
// read as octal) must reach the run unchanged, as run.json shows.
#include <doctest/doctest.h>

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "reliability/process.h"
#include "reliability/tiny_corpus.h"
#include "support/temp_dir.h"

namespace fs = std::filesystem;
using namespace ser;

namespace {

constexpr int kValidationStatus = 105;  // CLI::ExitCodes::ValidationError

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

}  // namespace

TEST_SUITE("reliability") {

TEST_CASE("bad numeric option values: one line naming the option, the value and the range") {
  struct Case {
    std::string command, option, value, range;
  };
  const std::string epochs = "[1, 100000]", batch = "[1, 65536]", lr = "(0, 10)", seed = "[0, 2^64-1]",
                    threads = "[0, 1024]";
  const std::vector<Case> cases = {
      {"train", "--epochs", "99999999999", epochs},
      {"train", "--epochs", "100001", epochs},
      {"train", "--epochs", "0", epochs},
      {"train", "--epochs", "-3", epochs},
      {"train", "--epochs", "abc", epochs},
      {"train", "--epochs", "2.5", epochs},
      {"train", "--epochs", "1e3", epochs},
      {"train", "--epochs", "0x10", epochs},
      {"train", "--epochs", " 3", epochs},
      {"train", "--epochs", "", epochs},
      {"train", "--batch", "0", batch},
      {"train", "--batch", "-16", batch},
      {"train", "--batch", "99999999999999999999", batch},
      {"train", "--lr", "0", lr},
      {"train", "--lr", "-0.001", lr},
      {"train", "--lr", "10", lr},
      {"train", "--lr", "nan", lr},
      {"train", "--lr", "inf", lr},
      {"train", "--lr", "-inf", lr},
      {"train", "--lr", "1e400", lr},
      {"train", "--lr", "0.001x", lr},
      {"train", "--lr", "0x1p-3", lr},
      {"train", "--patience", "0", epochs},
      {"train", "--patience", "ten", epochs},
      {"train", "--seed", "-1", seed},
      {"train", "--seed", "18446744073709551616", seed},
      {"train", "--seed", "4.2", seed},
      {"train", "--threads", "-1", threads},
      {"train", "--threads", "1025", threads},
      {"demo", "--epochs", "0", epochs},
      {"demo", "--epochs", "123456789012", epochs},
      {"demo", "--speakers", "1", "[2, 24]"},
      {"demo", "--speakers", "25", "[2, 24]"},
      {"demo", "--clips", "1", "[2, 396]"},
      {"demo", "--clips", "397", "[2, 396]"},
      {"demo", "--clips", "many", "[2, 396]"},
  };
  test::TempDir dir;
  for (const auto& c : cases) {
    // For train, --data points nowhere: were the value accepted, the run would fail later
    // with status 1. (demo has no --data; every demo value here is bad.)
    std::vector<std::string> args{c.command, c.option, c.value, "--out", (dir / "run").string()};
    if (c.command == "train") args.insert(args.end(), {"--data", (dir / "missing").string()});
    const test::RunResult r = test::run_ser(args, dir / "cli.log");
    CAPTURE(c.command);
    CAPTURE(c.option);
    CAPTURE(c.value);
    CAPTURE(r.output);
    CHECK(r.status == kValidationStatus);
    const std::string line = first_line(r.output);
    CHECK(line.rfind("ser: error: " + c.option + ": ", 0) == 0);
    CHECK(line.find("(see ser " + c.command + " --help)") != std::string::npos);
    CHECK(line.find(c.range) != std::string::npos);
    CHECK(line.find("got '" + c.value + "'") != std::string::npos);
  }
  CHECK_FALSE(fs::exists(dir / "run"));  // no bad value got as far as creating the run folder
}

TEST_CASE("good numeric option values reach the run as written") {
  test::TempDir dir;
  const fs::path run = dir.path() / "run";
  // run.json is written only once the run has checked everything, so the run must get that
  // far: a tiny corpus, --patience 1 (it stops after the first epoch without improvement).
  const fs::path corpus = test::make_tiny_corpus(dir.path() / "corpus", 3, 2, 0.5);
  const test::RunResult r =
      test::run_ser({"train", "--quiet", "--device", "cpu", "--cache", "none", "--epochs", "010", "--batch", "65536",
                     "--lr", "1e-3", "--patience", "1", "--seed", "18446744073709551615", "--threads", "0", "--data",
                     corpus.string(), "--out", run.string()},
                    dir.path() / "good.log");
  CAPTURE(r.output);
  REQUIRE(r.status == 0);
  const nlohmann::json options = nlohmann::json::parse(test::read_text(run / "run.json"));
  const nlohmann::json& recipe = options.at("recipe");
  CHECK(recipe.at("epochs").get<int>() == 10);  // decimal, not octal 8
  CHECK(recipe.at("batch").get<int>() == 65536);
  CHECK(recipe.at("lr").get<double>() == doctest::Approx(0.001));
  CHECK(recipe.at("patience").get<int>() == 1);
  CHECK(options.at("seed").get<std::uint64_t>() == UINT64_MAX);
  CHECK(options.at("threads").get<int>() == 0);
}

}  // TEST_SUITE
