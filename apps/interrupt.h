// Ctrl-C (SIGINT) and SIGTERM during `ser train` (and `ser predict`, which calls
// training_started() at once and stops after the current batch, writing what is labelled). Before training starts (indexing,
// feature extraction) a signal ends the process at once after writing a line prepared in
// advance (extracted features are cached, so little is lost). Once training runs, the
// first signal only sets a flag that the run checks at the next epoch boundary, after that
// epoch's checkpoint is written, so the run stops where `--resume` continues; a second
// signal stops the process at once (the previous checkpoint stays intact). The handler
// does only async-signal-safe work (a flag, write(2), _exit).
#pragma once

#include <string>

namespace ser::app {

class InterruptHandler {
 public:
  // Installs the handlers; `before_training_line` is written (with a newline) if a signal
  // arrives before training_started().
  // `stopping_line` is written at the first signal once training_started() (default: the
  // training loop's "stopping after the current epoch" line).
  explicit InterruptHandler(const std::string& before_training_line, const std::string& stopping_line = "");
  ~InterruptHandler();  // restores the previous handlers
  InterruptHandler(const InterruptHandler&) = delete;
  InterruptHandler& operator=(const InterruptHandler&) = delete;

  void training_started();  // from now on, the first signal only sets the flag
  int signal() const;       // the signal received during training, 0 if none
};

}  // namespace ser::app
