// Registration of every `ser` subcommand. Each register_* adds one subcommand and its
// callback to the app; the callbacks throw ser::Error on failure.
#pragma once

#include <CLI/CLI.hpp>

namespace ser::app {

void register_commands(CLI::App& app);

void register_info(CLI::App& app);
void register_demo(CLI::App& app);

}  // namespace ser::app
