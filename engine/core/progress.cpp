// ProgressBar implementation: see progress.h. All drawing happens under the mutex, so
// worker threads can tick concurrently.
#include "engine/core/progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>

#include <fmt/format.h>

namespace ser {
namespace {
constexpr int kBarWidth = 30;
constexpr double kTtyRedrawSeconds = 0.1;
constexpr double kLogLineSeconds = 10.0;

// Columns of the terminal behind `out` (80 if it cannot be asked).
int terminal_columns(std::FILE* out) {
  winsize size{};
  if (::ioctl(::fileno(out), TIOCGWINSZ, &size) == 0 && size.ws_col > 0) return size.ws_col;
  return 80;
}

std::string format_duration(double seconds) {
  const int64_t s = static_cast<int64_t>(seconds + 0.5);
  if (s >= 3600) return fmt::format("{}h{:02}m", s / 3600, (s / 60) % 60);
  return fmt::format("{}:{:02}", s / 60, s % 60);
}
}  // namespace

ProgressBar::ProgressBar(int64_t total, std::string label, std::FILE* out)
    : ProgressBar(total, std::move(label), out, out != nullptr && ::isatty(::fileno(out)) == 1) {}

ProgressBar::ProgressBar(int64_t total, std::string label, std::FILE* out, bool tty)
    : total_(std::max<int64_t>(total, 0)), label_(std::move(label)), out_(out), tty_(tty) {
  start_ = last_draw_ = std::chrono::steady_clock::now();
}

ProgressBar::~ProgressBar() { finish(); }

int64_t ProgressBar::done() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return done_;
}

void ProgressBar::tick(int64_t n, const std::string& suffix) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (finished_) return;
  done_ += n;
  if (!suffix.empty()) suffix_ = suffix;
  const auto now = std::chrono::steady_clock::now();
  const double since = std::chrono::duration<double>(now - last_draw_).count();
  if (tty_) {
    if (since >= kTtyRedrawSeconds) draw_locked(false);
    return;
  }
  // Plain output: a line each time another ~10 % is done, or every 10 s.
  const int64_t step = std::max<int64_t>(1, total_ / 10);
  if (done_ - last_printed_done_ >= step || since >= kLogLineSeconds) draw_locked(false);
}

void ProgressBar::finish() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (finished_) return;
  finished_ = true;
  if (!tty_ && last_printed_done_ == done_ && done_ > 0) return;  // that line is already printed
  draw_locked(true);
}

void ProgressBar::draw_locked(bool final_line) {
  if (out_ == nullptr) return;
  const auto now = std::chrono::steady_clock::now();
  last_draw_ = now;
  last_printed_done_ = done_;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double frac = total_ > 0 ? std::min(1.0, static_cast<double>(done_) / total_) : 1.0;
  const double rate = elapsed > 0 ? done_ / elapsed : 0.0;
  const std::string eta = (rate > 0 && done_ < total_) ? " eta " + format_duration((total_ - done_) / rate) : "";
  std::string line = fmt::format("{} {}/{} ({:3.0f}%) {} {:.1f}/s{}", label_, done_, total_, 100 * frac,
                                 format_duration(elapsed), rate, eta);
  if (!suffix_.empty()) line += " " + suffix_;
  if (tty_) {
    // One terminal row, always: a line that wrapped would leave a copy behind at every
    // redraw. The bar goes first when space is short, then the end of the line.
    const std::size_t columns = static_cast<std::size_t>(std::max(20, terminal_columns(out_))) - 1;
    const int filled = static_cast<int>(frac * kBarWidth);
    std::string bar = "[" + std::string(filled, '#') + std::string(kBarWidth - filled, '.') + "] ";
    if (bar.size() + line.size() > columns) bar.clear();
    if (line.size() > columns) line.resize(columns);
    fmt::print(out_, "\r{}{}\033[K{}", bar, line, final_line ? "\n" : "");
  } else {
    fmt::print(out_, "{}\n", line);
  }
  std::fflush(out_);
}

}  // namespace ser
