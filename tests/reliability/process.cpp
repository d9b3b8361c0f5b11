// fork/exec/kill/wait for the reliability tests (see process.h).
#include "reliability/process.h"

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "engine/core/error.h"

namespace ser::test {

std::filesystem::path ser_binary() {
  const char* build = std::getenv("SER_BUILD_DIR");
  return std::filesystem::path(build && *build ? build : SER_BINARY_DIR) / "apps" / "ser";
}

Child::Child(const std::vector<std::string>& args, const ChildOptions& options) : output_(options.output) {
  const std::string binary = ser_binary().string();
  std::vector<std::string> argv_store{binary};
  argv_store.insert(argv_store.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_store) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_ = ::fork();
  SER_CHECK(pid_ >= 0, "fork failed");
  if (pid_ == 0) {  // child: only async-signal-safe calls until exec
    const int fd = ::open(options.output.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) ::_exit(126);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    if (options.file_size_limit >= 0) {
      const rlimit limit{static_cast<rlim_t>(options.file_size_limit), static_cast<rlim_t>(options.file_size_limit)};
      ::setrlimit(RLIMIT_FSIZE, &limit);
      ::signal(SIGXFSZ, SIG_IGN);  // stays ignored across exec: write() then fails with EFBIG
    }
    if (options.as_nobody &&
        (::setgroups(0, nullptr) != 0 || ::setgid(kNobodyId) != 0 || ::setuid(kNobodyId) != 0)) {
      const ssize_t ignored = ::write(fd, kDropFailedMarker, std::strlen(kDropFailedMarker));
      (void)ignored;
      ::_exit(kDropFailedStatus);
    }
    ::execv(binary.c_str(), argv.data());
    ::_exit(127);
  }
}

Child::~Child() {
  if (status_ == -1 && pid_ > 0) kill();
}

bool Child::running() {
  if (status_ != -1) return false;
  int raw = 0;
  if (::waitpid(pid_, &raw, WNOHANG) == pid_) {
    status_ = raw;
    return false;
  }
  return true;
}

void Child::kill() {
  if (status_ != -1) return;
  ::kill(pid_, SIGKILL);
  wait();
}

int Child::wait() {
  if (status_ == -1) {
    int raw = 0;
    while (::waitpid(pid_, &raw, 0) < 0 && errno == EINTR) {
    }
    status_ = raw;
  }
  return WIFEXITED(status_) ? WEXITSTATUS(status_) : 128 + WTERMSIG(status_);
}

std::string Child::output() const { return read_text(output_); }

RunResult run_ser(const std::vector<std::string>& args, const std::filesystem::path& output_file,
                  long file_size_limit) {
  return run_ser(args, ChildOptions{output_file, file_size_limit});
}

RunResult run_ser(const std::vector<std::string>& args, const ChildOptions& options) {
  Child child(args, options);
  const int status = child.wait();
  return {status, child.output()};
}

bool can_run_ser_as_nobody(const std::filesystem::path& scratch, std::string& why) {
  if (::geteuid() != 0) {
    why = "not running as root";
    return false;
  }
  ChildOptions options{scratch / "nobody-probe.log"};
  options.as_nobody = true;
  const RunResult probe = run_ser({"--version"}, options);
  if (probe.status == 0) return true;
  why = probe.status == kDropFailedStatus && probe.output.find(kDropFailedMarker) != std::string::npos
            ? "setgroups/setgid/setuid to 65534 failed"
            : "'nobody' cannot run " + ser_binary().string() + " (status " + std::to_string(probe.status) + ")";
  return false;
}

std::string read_text(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace ser::test
