// Running the real `ser` binary as a child process for the reliability tests: start it
// (optionally under a file-size limit, the disk-full simulation, or as the unprivileged
// user 'nobody', for read-only-folder tests that root would bypass), watch it, SIGKILL it,
// wait for it. Output (stdout + stderr) goes to a file so a killed child leaves no pipe.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

namespace ser::test {

// build/apps/ser, found through SER_BUILD_DIR as tests/app/test_cli.cpp does.
std::filesystem::path ser_binary();

struct ChildOptions {
  std::filesystem::path output;  // stdout + stderr of the child (required)
  long file_size_limit = -1;     // RLIMIT_FSIZE in bytes (-1: none); SIGXFSZ is ignored so write() fails with EFBIG
  bool as_nobody = false;        // drop to uid/gid 65534, no supplementary groups, before exec (needs root)
};

// uid and gid of 'nobody', and the exit status plus output marker of a child that could not
// switch to it (so a caller can tell "could not drop privileges" from a `ser` failure).
inline constexpr unsigned kNobodyId = 65534;
inline constexpr int kDropFailedStatus = 125;
inline constexpr const char* kDropFailedMarker = "ser-test: cannot switch to user nobody";

// Whether a child can run `ser` as 'nobody' here: we are root, the switch works and
// 'nobody' can execute the binary. Otherwise false, with the reason in `why`.
bool can_run_ser_as_nobody(const std::filesystem::path& scratch, std::string& why);

class Child {
 public:
  Child(const std::vector<std::string>& args, const ChildOptions& options);  // runs `ser args...`
  ~Child();  // kills and reaps a child still running
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  bool running();                  // false once it has exited (reaps it)
  void kill();                     // SIGKILL and reap
  int wait();                      // exit status, or 128 + signal if it was killed
  std::string output() const;      // what it wrote so far
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int status_ = -1;  // raw waitpid status once reaped
  std::filesystem::path output_;
};

// Runs `ser args...` to completion; returns {exit status, output}.
struct RunResult {
  int status;
  std::string output;
};
RunResult run_ser(const std::vector<std::string>& args, const std::filesystem::path& output_file,
                  long file_size_limit = -1);
RunResult run_ser(const std::vector<std::string>& args, const ChildOptions& options);

std::string read_text(const std::filesystem::path& file);

}  // namespace ser::test
