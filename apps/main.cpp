// `ser`: the command line. Subcommands are registered here; each lives in its own file
// (apps/cmd_*.cpp) as register_<name>(CLI::App&). Errors from the engine (ser::Error)
// are printed as one line "ser: error: ..." with exit status 1.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <regex>
#include <string>

#include "apps/commands.h"
#include "engine/core/error.h"
#include "engine/core/version.h"

namespace {
// Engine errors carry "source.cpp:123: " for developers; users see the message alone
// unless SER_DEBUG is set.
std::string user_message(const char* what) {
  if (const char* debug = std::getenv("SER_DEBUG"); debug && *debug) return what;
  static const std::regex location(R"((^|: )[A-Za-z0-9_./-]+\.(cpp|cu|h|cuh):[0-9]+: )");
  return std::regex_replace(what, location, "$1");
}
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ser: speech emotion recognition — train, evaluate and run a CNN on log-mel images"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("ser ") + ser::kVersion);
  ser::app::register_commands(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const ser::app::ExitStatus& e) {
    return e.code;
  } catch (const ser::Error& e) {
    std::fprintf(stderr, "ser: error: %s\n", user_message(e.what()).c_str());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ser: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
