// Runs the built `ser` binary in a child process ($SER_BUILD_DIR or the build folder),
// stdout and stderr kept apart (stderr through a file in `scratch`), for tests that need
// what a shell user sees: separate streams and the exit status.
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <doctest/doctest.h>

namespace ser::test {

struct ProcessResult {
  int status;
  std::string out, err;
};

inline std::filesystem::path ser_binary() {
  const char* build = std::getenv("SER_BUILD_DIR");
  return std::filesystem::path(build && *build ? build : SER_BINARY_DIR) / "apps" / "ser";
}

// `environment`: shell assignments put before the command, e.g. "SER_MODEL=/x " ("env -u
// SER_MODEL " removes one).
inline ProcessResult run_ser_process(const std::string& args, const std::filesystem::path& scratch,
                                     const std::string& environment = "") {
  const std::filesystem::path err = scratch / "stderr.txt";
  const std::string cmd = environment + ser_binary().string() + " " + args + " 2>" + err.string();
  ProcessResult r{-1, {}, {}};
  FILE* pipe = ::popen(cmd.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::array<char, 4096> buf{};
  while (std::fgets(buf.data(), buf.size(), pipe)) r.out += buf.data();
  const int raw = ::pclose(pipe);
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  std::ifstream in(err);
  std::stringstream ss;
  ss << in.rdbuf();
  r.err = ss.str();
  return r;
}

}  // namespace ser::test
