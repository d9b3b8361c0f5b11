// `ser`: the command line. Subcommands are registered here; each lives in its own file
// (apps/cmd_*.cpp) as register_<name>(CLI::App&). Errors from the engine (ser::Error)
// are printed as one line "ser: error: ..." with exit status 1.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "apps/commands.h"
#include "apps/train_run.h"
#include "engine/core/error.h"
#include "engine/core/version.h"
#include "engine/cpu/blas_setup.h"

namespace {
// "ser trian ..." would otherwise be reported by CLI11 as "A subcommand is required".
// Returns the names of the subcommands when argv[1] is a word that names none of them.
std::string unknown_command(const CLI::App& app, int argc, char** argv) {
  if (argc < 2 || argv[1][0] == '-') return "";
  std::string names;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    if (sub->get_name() == argv[1]) return "";
    names += (names.empty() ? "" : ", ") + sub->get_name();
  }
  return names;
}
}  // namespace

int main(int argc, char** argv) {
  ser::cpu::reexec_with_fast_blas_kernels(argv);  // OpenBLAS's generic fallback on new CPUs (blas_setup.h)
  CLI::App app{"ser: speech emotion recognition — train, evaluate and run a CNN on log-mel images"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("ser ") + ser::kVersion);
  ser::app::register_commands(app);
  if (const std::string names = unknown_command(app, argc, argv); !names.empty()) {
    std::fprintf(stderr, "ser: error: unknown command '%s' (commands: %s; see ser --help)\n", argv[1], names.c_str());
    return static_cast<int>(CLI::ExitCodes::ExtrasError);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // One line, like every other error; CLI11's exit codes are kept.
    const bool in_command = argc >= 2 && argv[1][0] != '-';  // a known command: checked above
    std::fprintf(stderr, "ser: error: %s (see ser %s--help)\n", e.what(),
                 in_command ? (std::string(argv[1]) + " ").c_str() : "");
    return e.get_exit_code();
  } catch (const ser::app::ExitStatus& e) {
    return e.code;
  } catch (const ser::app::TrainingInterrupted& e) {  // ser train or ser demo, after a checkpoint
    std::fprintf(stderr, "%s\n", e.message().c_str());
    return 128 + e.signal;
  } catch (const ser::Error& e) {
    std::fprintf(stderr, "ser: error: %s\n", ser::user_message(e).c_str());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ser: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
