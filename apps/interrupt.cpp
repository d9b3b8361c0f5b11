// SIGINT / SIGTERM handling for `ser train` (see interrupt.h).
#include "apps/interrupt.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <utility>

namespace ser::app {
namespace {

volatile sig_atomic_t g_signal = 0;    // signal seen during training
volatile sig_atomic_t g_training = 0;  // 0: before training (exit at once); 1: training
char g_line[1024];                     // the before-training line, written by the handler
size_t g_line_size = 0;
constexpr char kStopping[] = "\nser: stopping after the current epoch (its checkpoint is written first); "
                             "send the signal again to stop at once\n";
char g_stopping[1024];  // the line written at the first signal once training runs
size_t g_stopping_size = 0;
struct sigaction g_previous_int, g_previous_term;

void write_all(const char* text, size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(STDERR_FILENO, text, size);
    if (n <= 0) return;
    text += n;
    size -= static_cast<size_t>(n);
  }
}

extern "C" void on_signal(int sig) {
  if (!g_training) {
    write_all(g_line, g_line_size);
    ::_exit(128 + sig);
  }
  g_signal = sig;
  // The next SIGINT or SIGTERM, whichever comes, has its default effect (sigaction is
  // async-signal-safe); SA_RESETHAND alone would only reset the signal just received.
  struct sigaction default_action {};
  default_action.sa_handler = SIG_DFL;
  sigemptyset(&default_action.sa_mask);
  ::sigaction(SIGINT, &default_action, nullptr);
  ::sigaction(SIGTERM, &default_action, nullptr);
  write_all(g_stopping, g_stopping_size);
}

}  // namespace

InterruptHandler::InterruptHandler(const std::string& before_training_line, const std::string& stopping_line) {
  const std::string line = "\n" + before_training_line + "\n";
  g_line_size = std::min(line.size(), sizeof g_line);
  std::memcpy(g_line, line.data(), g_line_size);
  const std::string stopping = stopping_line.empty() ? std::string(kStopping) : "\n" + stopping_line + "\n";
  g_stopping_size = std::min(stopping.size(), sizeof g_stopping);
  std::memcpy(g_stopping, stopping.data(), g_stopping_size);
  g_signal = 0;
  g_training = 0;
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESETHAND | SA_RESTART;
  // A signal this process was started ignoring (a background job's SIGINT) stays ignored.
  for (auto [sig, previous] : {std::pair{SIGINT, &g_previous_int}, std::pair{SIGTERM, &g_previous_term}}) {
    ::sigaction(sig, nullptr, previous);
    if (previous->sa_handler != SIG_IGN) ::sigaction(sig, &action, nullptr);
  }
}

InterruptHandler::~InterruptHandler() {
  ::sigaction(SIGINT, &g_previous_int, nullptr);
  ::sigaction(SIGTERM, &g_previous_term, nullptr);
}

void InterruptHandler::training_started() { g_training = 1; }

int InterruptHandler::signal() const { return g_signal; }

}  // namespace ser::app
