// Window placement, level gating and segment merging of a recording's timeline.
#include "apps/timeline.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/core/error.h"

namespace ser::app {

int64_t regular_window_count(int64_t n, int64_t window, int64_t hop) {
  SER_CHECK(window >= 1 && hop >= 1, "timeline: window and hop must be at least one sample, got {} and {}", window,
            hop);
  return n < window ? 0 : (n - window) / hop + 1;
}

std::vector<TimelineWindow> plan_windows(int64_t n, int64_t window, int64_t hop) {
  const int64_t regular = regular_window_count(n, window, hop);
  SER_CHECK(regular >= 1, "timeline: {} samples are fewer than one window of {}", n, window);
  std::vector<TimelineWindow> out;
  out.reserve(static_cast<std::size_t>(regular + 1));
  for (int64_t k = 0; k < regular; ++k) out.push_back({k * hop, k * hop + window, 0, 0});
  if (out.back().end < n) out.push_back({n - window, n, 0, 0});
  // Twice the centre is start + end: midpoints of centres are (s0 + e0 + s1 + e1) / 4.
  for (std::size_t k = 0; k < out.size(); ++k) {
    out[k].own_begin = k == 0 ? 0 : (out[k - 1].start + out[k - 1].end + out[k].start + out[k].end) / 4;
    out[k].own_end = k + 1 == out.size() ? n : (out[k].start + out[k].end + out[k + 1].start + out[k + 1].end) / 4;
  }
  return out;
}

LevelMeter::LevelMeter(int64_t block) : block_(block) {
  SER_CHECK(block >= 1, "LevelMeter: block must be at least one sample, got {}", block);
}

void LevelMeter::add(const float* samples, int64_t n) {
  for (int64_t i = 0; i < n; ++i, ++samples_) {
    if (samples_ % block_ == 0) sums_.push_back(0.0);
    sums_.back() += static_cast<double>(samples[i]) * samples[i];
  }
}

double LevelMeter::level_db(int64_t begin, int64_t end) const {
  // Blocks whose first sample lies in [begin, end); at least the block holding `begin`.
  const int64_t first = std::clamp<int64_t>(begin / block_, 0, static_cast<int64_t>(sums_.size()));
  int64_t last = std::clamp<int64_t>((end + block_ - 1) / block_, first, static_cast<int64_t>(sums_.size()));
  if (last == first && first < static_cast<int64_t>(sums_.size())) last = first + 1;
  double sum = 0;
  int64_t count = 0;
  for (int64_t b = first; b < last; ++b) {
    sum += sums_[static_cast<std::size_t>(b)];
    count += std::min(block_, samples_ - b * block_);
  }
  if (count == 0 || sum <= 0) return -std::numeric_limits<double>::infinity();
  return 10.0 * std::log10(sum / static_cast<double>(count));
}

std::vector<bool> silent_windows(const std::vector<TimelineWindow>& windows, const LevelMeter& meter,
                                 double min_level_db) {
  std::vector<double> level(windows.size());
  double loudest = -std::numeric_limits<double>::infinity();
  for (std::size_t k = 0; k < windows.size(); ++k) {
    level[k] = meter.level_db(windows[k].own_begin, windows[k].own_end);
    loudest = std::max(loudest, level[k]);
  }
  std::vector<bool> silent(windows.size());
  for (std::size_t k = 0; k < windows.size(); ++k)
    silent[k] = std::isinf(level[k]) || level[k] < loudest - min_level_db;
  return silent;
}

std::vector<float> stretch_probabilities(const std::vector<TimelineWindow>& windows, const std::vector<bool>& silent,
                                         const std::vector<float>& probabilities, int classes) {
  const std::size_t n = windows.size(), c = static_cast<std::size_t>(classes);
  SER_CHECK(silent.size() == n && probabilities.size() == n * c,
            "stretch_probabilities: {} windows, {} silent flags, {} probabilities for {} classes", n, silent.size(),
            probabilities.size(), classes);
  std::vector<float> out(n * c, 0.0f);
  std::vector<double> sum(c);
  std::size_t first = 0;  // first window that may still overlap (windows start in order)
  for (std::size_t k = 0; k < n; ++k) {
    if (silent[k]) continue;
    while (windows[first].end <= windows[k].own_begin) ++first;
    std::fill(sum.begin(), sum.end(), 0.0);
    int count = 0;
    for (std::size_t j = first; j < n && windows[j].start < windows[k].own_end; ++j) {
      if (silent[j] || windows[j].end <= windows[k].own_begin) continue;
      for (std::size_t i = 0; i < c; ++i) sum[i] += probabilities[j * c + i];
      ++count;
    }
    for (std::size_t i = 0; i < c; ++i) out[k * c + i] = static_cast<float>(sum[i] / count);
  }
  return out;
}

int argmax(const float* values, int n) {
  int best = 0;
  for (int i = 1; i < n; ++i)
    if (values[i] > values[best]) best = i;
  return best;
}

std::vector<Segment> merge_segments(const std::vector<TimelineWindow>& windows, const std::vector<bool>& silent,
                                    const std::vector<float>& probabilities, int classes, int sample_rate) {
  SER_CHECK(silent.size() == windows.size() &&
                probabilities.size() == windows.size() * static_cast<std::size_t>(classes),
            "merge_segments: {} windows, {} silent flags, {} probabilities for {} classes", windows.size(),
            silent.size(), probabilities.size(), classes);
  std::vector<Segment> out;
  std::vector<double> sums;  // (classes) of the open segment
  auto close = [&] {
    Segment& s = out.back();
    if (s.label >= 0)
      for (int c = 0; c < classes; ++c) s.mean_probabilities.push_back(static_cast<float>(sums[c] / s.windows));
  };
  for (std::size_t k = 0; k < windows.size(); ++k) {
    const float* p = probabilities.data() + k * static_cast<std::size_t>(classes);
    const int label = silent[k] ? -1 : argmax(p, classes);
    if (out.empty() || out.back().label != label) {
      if (!out.empty()) close();
      out.push_back({static_cast<double>(windows[k].own_begin) / sample_rate, 0, label, {}, 0});
      sums.assign(static_cast<std::size_t>(classes), 0.0);
    }
    Segment& s = out.back();
    s.end = static_cast<double>(windows[k].own_end) / sample_rate;
    ++s.windows;
    for (int c = 0; c < classes; ++c) sums[static_cast<std::size_t>(c)] += p[c];
  }
  if (!out.empty()) close();
  return out;
}

}  // namespace ser::app
