// Registration of every `ser` subcommand. Each register_* adds one subcommand and its
// callback to the app; the callbacks throw ser::Error on failure (printed as one line,
// exit status 1) or ExitStatus to end with a given status after printing their own errors.
#pragma once

#include <CLI/CLI.hpp>

namespace ser::app {

struct ExitStatus {
  int code;
};

void register_commands(CLI::App& app);

void register_info(CLI::App& app);
void register_train(CLI::App& app);
void register_predict(CLI::App& app);
void register_eval(CLI::App& app);
void register_adapt(CLI::App& app);
void register_demo(CLI::App& app);
void register_features(CLI::App& app);
void register_export(CLI::App& app);

}  // namespace ser::app
