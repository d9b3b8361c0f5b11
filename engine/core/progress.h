// ProgressBar: a thread-safe progress report on stderr for long loops (feature extraction,
// training epochs). On a terminal it redraws one line in place ("\r"); otherwise (logs, CI)
// it prints a plain line at most every ~10 % of the work or every 10 s, so logs stay short.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>

namespace ser {

class ProgressBar {
 public:
  // total: number of steps expected (>= 0); label: shown at the start of the line.
  // out: the stream written to (stderr by default); tty decides in-place redraws and
  // defaults to isatty(out).
  ProgressBar(int64_t total, std::string label, std::FILE* out = stderr);
  ProgressBar(int64_t total, std::string label, std::FILE* out, bool tty);
  ~ProgressBar();  // calls finish() if it was not called
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  // Advances by n steps; suffix (e.g. "3 cached, 1 failed") is shown after the counts.
  void tick(int64_t n = 1, const std::string& suffix = "");
  // Prints the final line (100 % or where it stopped) once; later calls do nothing.
  void finish();
  int64_t done() const;

 private:
  void draw_locked(bool final_line);

  mutable std::mutex mutex_;
  int64_t total_;
  int64_t done_ = 0;
  std::string label_, suffix_;
  std::FILE* out_;
  bool tty_;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
  int64_t last_printed_done_ = -1;
};

}  // namespace ser
