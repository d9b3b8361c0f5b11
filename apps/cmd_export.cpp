// `ser export --model M --onnx OUT [--opset N]`: the model's network as an ONNX graph. The
// graph is built in Python with the onnx package (python/ser/onnx_export.py), so this runs
// `PYTHON -m ser.export ...` and ends with its exit status. PYTHON is $SER_PYTHON when set
// (an interpreter where `import ser` works, e.g. after `pip install .`; its PYTHONPATH is
// left as it is), else the interpreter this build made ser._ser for (SER_EXPORT_PYTHON, known
// at configure time), with PYTHONPATH=<build>/python:<source>/python in front, as the tests
// run it. Before that, `import ser, numpy` is tried once so that a missing module or interpreter is
// one line saying how to get it; the module itself says so when onnx is missing.
#include <fmt/format.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "apps/commands.h"
#include "engine/core/error.h"

extern char** environ;

namespace ser::app {

namespace {

namespace fs = std::filesystem;

#ifndef SER_EXPORT_PYTHON
#define SER_EXPORT_PYTHON ""
#endif
#ifndef SER_EXPORT_PYTHONPATH
#define SER_EXPORT_PYTHONPATH ""
#endif

constexpr const char* kHowToGetPython =
    "ONNX export runs the Python package: bash scripts/python-env (makes .venv with nanobind, numpy, onnx), then "
    "configure and build the target _ser (cmake -S . -B build && cmake --build build --target _ser ser), or set "
    "SER_PYTHON to a Python where `import ser, onnx` works (pip install . onnx)";

// Runs argv[0] (a path) with argv, stdout and stderr inherited, stderr to /dev/null when
// `quiet`; returns its exit status (128 + signal when killed), or -1 when it could not start.
int run_program(const std::vector<std::string>& args, bool quiet) {
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (quiet) posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return -1;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return -1;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 1;
}

}  // namespace

void register_export(CLI::App& app) {
  struct Args {
    std::string model, onnx;
    int opset = 17;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("export", "Write a model's network as an ONNX graph (input: log-mel images in dB, "
                                           "output: probabilities; the front end stays outside; needs the Python "
                                           "package with onnx, docs/PYTHON.md)");
  cmd->add_option("--model", args->model, "A model file or run folder (default: the shipped model, or $SER_MODEL)");
  cmd->add_option("--onnx", args->onnx, "The ONNX file to write")->required();
  cmd->add_option("--opset", args->opset, "ONNX opset (17 or later)")->capture_default_str();
  cmd->callback([args] {
    const char* env_python = std::getenv("SER_PYTHON");
    const bool from_env = env_python != nullptr && env_python[0] != '\0';
    const std::string python = from_env ? env_python : SER_EXPORT_PYTHON;
    if (python.empty())
      SER_FAIL("ser export needs the Python package, which this build has not (configured without Python and "
               "nanobind), and SER_PYTHON is not set. {}", kHowToGetPython);
    std::error_code ec;
    if (!fs::exists(python, ec))
      SER_FAIL("Python interpreter {} not found ({}). {}", python,
               from_env ? "$SER_PYTHON" : "the one this build was configured with", kHowToGetPython);
    if (!from_env) {
      std::string path = SER_EXPORT_PYTHONPATH;
      if (const char* old = std::getenv("PYTHONPATH"); old != nullptr && old[0] != '\0') path += std::string(":") + old;
      ::setenv("PYTHONPATH", path.c_str(), 1);
    }
    const int probe = run_program({python, "-c", "import ser, numpy"}, true);
    if (probe != 0) {
      const char* path = std::getenv("PYTHONPATH");
      SER_FAIL("{} cannot import the package ser (with its module ser._ser, target _ser) and numpy with "
               "PYTHONPATH={}. {}",
               python, path ? path : "", kHowToGetPython);
    }
    std::vector<std::string> command{python, "-m", "ser.export", "--onnx", args->onnx, "--opset",
                                     std::to_string(args->opset)};
    if (!args->model.empty()) {
      command.emplace_back("--model");
      command.push_back(args->model);
    }
    const int status = run_program(command, false);
    if (status < 0) SER_FAIL("could not run {}", python);
    if (status != 0) throw ExitStatus{status};  // the module printed its error
  });
}

}  // namespace ser::app
