// Clip-length statistics from audio headers.
#include "apps/clip_lengths.h"

#include <algorithm>
#include <cmath>

#include "engine/core/error.h"
#include "features/audio.h"

namespace ser::app {
namespace {
// numpy.percentile(sorted, q) with linear interpolation; sorted is non-empty, ascending.
double percentile(const std::vector<double>& sorted, double q) {
  const double pos = q / 100.0 * static_cast<double>(sorted.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  const std::size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - static_cast<double>(lo));
}
}  // namespace

train::ClipLengths summarize_clip_lengths(std::vector<double> seconds) {
  train::ClipLengths c;
  seconds.erase(std::remove_if(seconds.begin(), seconds.end(), [](double s) { return !(s > 0) || !std::isfinite(s); }),
                seconds.end());
  if (seconds.empty()) return c;
  std::sort(seconds.begin(), seconds.end());
  c.median = percentile(seconds, 50);
  c.p95 = percentile(seconds, 95);
  c.min = seconds.front();
  c.max = seconds.back();
  c.files = static_cast<int64_t>(seconds.size());
  return c;
}

train::ClipLengths measure_clip_lengths(const std::vector<data::ManifestEntry>& entries) {
  std::vector<double> seconds;
  seconds.reserve(entries.size());
  for (const auto& e : entries) {
    try {
      seconds.push_back(features::read_audio_header(e.path).seconds());
    } catch (const Error&) {
    }
  }
  return summarize_clip_lengths(std::move(seconds));
}

}  // namespace ser::app
