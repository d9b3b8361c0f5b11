// SVG drawing of a timeline: chart of probabilities against time, segment band, legend.
// Layout (px): title row y 18, legend row y 38, then one row per stretch of time (a
// recording up to kOneRowSeconds long is one row; a longer one wraps into rows of
// row_seconds, at most kMaxRows of them), each row kRowHeight high: chart [60, 940] x
// [52, 252] (row-relative), time ticks below it, segment band [272, 300]; the axis caption
// below the last row.
#include "apps/timeline_svg.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "apps/report.h"
#include "engine/core/error.h"

namespace ser::app {
namespace {

constexpr double kWidth = 960, kRowHeight = 310, kCaptionHeight = 30;
constexpr double kOneRowSeconds = 120;  // longer recordings wrap
constexpr int kMaxRows = 12;
constexpr double kLeft = 60, kRight = 940, kTop = 52, kBottom = 252;
constexpr double kBandTop = 272, kBandBottom = 300;
const std::string kSilenceColor = "#d9d9d9";

// A tick step giving at most about 10 ticks over `seconds`.
double tick_step(double seconds) {
  for (double step : {0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0})
    if (seconds / step <= 10) return step;
  return 7200.0;
}

// "12.5 s" under two minutes, "m:ss" or "h:mm:ss" beyond.
std::string time_label(double t, double total) {
  if (total < 120) return fmt::format("{:g} s", t);
  const auto s = static_cast<int64_t>(std::llround(t));
  if (total < 3600) return fmt::format("{}:{:02}", s / 60, s % 60);
  return fmt::format("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60);
}

// A recording's length: "19.0 s" under two minutes, "m:ss" or "h:mm:ss" beyond.
std::string duration_label(double seconds) {
  return seconds < 120 ? fmt::format("{:.1f} s", seconds) : time_label(seconds, seconds);
}

}  // namespace

const std::string& class_color(int k) {
  static const std::vector<std::string> kPalette = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                                    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
  return k < 0 ? kSilenceColor : kPalette[static_cast<std::size_t>(k) % kPalette.size()];
}

// Seconds per row: the whole recording up to kOneRowSeconds; beyond, a round length giving
// at most kMaxRows rows.
double row_seconds(double total) {
  if (total <= kOneRowSeconds) return total;
  for (double step : {60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0, 14400.0})
    if (total / step <= kMaxRows) return step;
  return std::ceil(total / kMaxRows / 3600.0) * 3600.0;
}

std::string timeline_svg(const FilePrediction& r, const std::vector<std::string>& names) {
  SER_CHECK(r.ok() && !r.windows.empty(), "timeline_svg: no prediction to draw for {}", r.file.string());
  const int classes = static_cast<int>(names.size());
  const double rate = r.sample_rate;
  const double total = std::max(r.seconds, 1e-3);
  const double span = row_seconds(total);
  const int rows = std::max(1, static_cast<int>(std::ceil(total / span - 1e-9)));
  const double height = rows * kRowHeight + kCaptionHeight;
  auto py = [&](double p) { return kBottom - (kBottom - kTop) * p; };

  std::string s = fmt::format(
      R"(<svg xmlns="http://www.w3.org/2000/svg" width="{0}" height="{1}" font-family="sans-serif"><rect width="{0}" height="{1}" fill="white"/>)",
      kWidth, height);
  std::size_t voiced_segments = 0;
  for (const Segment& seg : r.segments) voiced_segments += seg.label >= 0 ? 1 : 0;
  const std::string summary =
      r.label >= 0 ? fmt::format("{} segment{}, overall {} ({:.0f} %)", voiced_segments, voiced_segments == 1 ? "" : "s",
                                 names[static_cast<std::size_t>(r.label)],
                                 100 * r.mean_probabilities[static_cast<std::size_t>(r.label)])
                   : std::string("silent throughout");
  const std::string windows =
      r.windows.size() == 1 ? std::string("one image")
                            : fmt::format("{} windows of {:.2f} s every {:.2f} s", r.windows.size(),
                                          double(r.windows[0].end - r.windows[0].start) / rate,
                                          double(r.windows[1].start - r.windows[0].start) / rate);
  s += fmt::format(R"(<text x="{}" y="18" font-size="14" font-weight="bold">{} — {}, {}; {}</text>)", kLeft,
                   xml_escape(r.file.filename().string()), duration_label(r.seconds), windows, xml_escape(summary));
  // Legend row: one swatch per class, then silence.
  double lx = kLeft;
  for (int c = 0; c <= classes; ++c) {
    const bool silence = c == classes;
    const std::string& name = silence ? std::string("silent") : names[static_cast<std::size_t>(c)];
    s += fmt::format(R"(<rect x="{:.1f}" y="29" width="14" height="10" fill="{}"/><text x="{:.1f}" y="38" font-size="11">{}</text>)",
                     lx, class_color(silence ? -1 : c), lx + 18, xml_escape(name));
    lx += 26 + 7.0 * static_cast<double>(name.size());
  }
  const std::size_t n = r.windows.size();
  const std::vector<float> p = stretch_probabilities(r.windows, r.silent, r.probabilities, classes);  // (n, classes)
  for (int row = 0; row < rows; ++row) {
    const double t0 = row * span, t1 = std::min(total, t0 + span);
    // x of time t in this row (a full row spans the chart's width; the last may be shorter).
    auto px = [&](double t) { return kLeft + (kRight - kLeft) * std::clamp((t - t0) / span, 0.0, 1.0); };
    auto in_row = [&](double a, double b) { return b > t0 && a < t1; };
    s += fmt::format(R"svg(<g class="row" transform="translate(0 {})"><clipPath id="row{}"><rect x="{}" y="{}" width="{}" height="{}"/></clipPath>)svg",
                     row * kRowHeight, row, kLeft, kTop - 1, kRight - kLeft, kBandBottom - kTop + 2);
    // Chart frame, probability grid, time ticks.
    s += fmt::format(R"(<rect x="{}" y="{}" width="{:.1f}" height="{}" fill="none" stroke="#999"/>)", kLeft, kTop,
                     px(t1) - kLeft, kBottom - kTop);
    for (int k = 0; k <= 4; ++k) {
      const double q = k / 4.0;
      s += fmt::format(R"(<line x1="{}" x2="{:.1f}" y1="{:.1f}" y2="{:.1f}" stroke="#eee"/><text x="{}" y="{:.1f}" font-size="10" text-anchor="end">{:.2f}</text>)",
                       kLeft, px(t1), py(q), py(q), kLeft - 4, py(q) + 3, q);
    }
    s += fmt::format(R"svg(<text x="14" y="{:.1f}" font-size="11" transform="rotate(-90 14 {:.1f})" text-anchor="middle">probability</text>)svg",
                     (kTop + kBottom) / 2, (kTop + kBottom) / 2);
    const double step = tick_step(span);
    for (double t = t0; t <= t1 + 1e-9; t += step)
      s += fmt::format(R"(<line x1="{0:.1f}" x2="{0:.1f}" y1="{1}" y2="{2}" stroke="#999"/><text x="{0:.1f}" y="{3}" font-size="10" text-anchor="middle">{4}</text>)",
                       px(t), kBottom, kBottom + 4, kBottom + 14, time_label(t, total));
    s += fmt::format(R"svg(<g clip-path="url(#row{})">)svg", row);
    // Silent stretches shaded on the chart.
    for (const Segment& seg : r.segments)
      if (seg.label < 0 && in_row(seg.start, seg.end))
        s += fmt::format(R"(<rect x="{:.1f}" y="{}" width="{:.1f}" height="{}" fill="{}" opacity="0.5"/>)", px(seg.start),
                         kTop, std::max(0.5, px(seg.end) - px(seg.start)), kBottom - kTop, kSilenceColor);
    // One series per class: what each stretch is labelled with (apps/timeline.h), at window
    // centres, a new stroke after each silent stretch; points just outside the row carry the
    // line to its edge (the clip cuts them).
    for (int c = 0; c < classes; ++c) {
      std::string d;
      bool pen_down = false;
      for (std::size_t k = 0; k < n; ++k) {
        const double t = 0.5 * static_cast<double>(r.windows[k].start + r.windows[k].end) / rate;
        const double reach = static_cast<double>(r.windows[k].end - r.windows[k].start) / rate;
        if (r.silent[k] || t < t0 - reach || t > t1 + reach) {
          pen_down = false;
          continue;
        }
        const double x = kLeft + (kRight - kLeft) * (t - t0) / span;  // unclamped: the clip cuts it
        d += fmt::format("{}{:.1f},{:.1f} ", pen_down ? "L" : "M", x, py(p[k * classes + c]));
        pen_down = true;
      }
      s += fmt::format(R"(<path class="series" data-class="{}" d="{}" fill="none" stroke="{}" stroke-width="1.5"/>)",
                       xml_escape(names[static_cast<std::size_t>(c)]), d, class_color(c));
      if (n == 1 && !r.silent[0])
        s += fmt::format(R"(<circle cx="{:.1f}" cy="{:.1f}" r="3" fill="{}"/>)", px(r.seconds / 2),
                         py(p[static_cast<std::size_t>(c)]), class_color(c));
    }
    // Segment band: one rectangle per segment (its part in this row), labelled where wide enough.
    for (const Segment& seg : r.segments) {
      if (!in_row(seg.start, seg.end)) continue;
      const double x0 = px(seg.start), w = std::max(0.5, px(seg.end) - px(seg.start));
      const std::string label = seg.label < 0 ? "silent" : names[static_cast<std::size_t>(seg.label)];
      const std::string detail =
          seg.label < 0 ? label
                        : fmt::format("{} {:.0f} %", label, 100 * seg.mean_probabilities[static_cast<std::size_t>(seg.label)]);
      s += fmt::format(R"(<rect class="segment" data-label="{}" x="{:.1f}" y="{}" width="{:.1f}" height="{}" fill="{}" stroke="white" stroke-width="0.5"><title>{}: {:.2f}-{:.2f} s</title></rect>)",
                       xml_escape(label), x0, kBandTop, w, kBandBottom - kBandTop, class_color(seg.label),
                       xml_escape(detail), seg.start, seg.end);
      if (w > 7.0 * static_cast<double>(label.size()) + 6)
        s += fmt::format(R"(<text x="{:.1f}" y="{}" font-size="11" text-anchor="middle" fill="{}">{}</text>)",
                         x0 + w / 2, kBandTop + 18, seg.label < 0 ? "#555" : "white", xml_escape(label));
    }
    s += "</g></g>";
  }
  s += fmt::format(R"(<text x="{}" y="{}" font-size="11" text-anchor="middle">time{}. Curves: each emotion's probability (mean of the windows over that moment); band: the segments</text>)",
                   (kLeft + kRight) / 2, height - 10,
                   rows > 1 ? fmt::format(" ({} rows of {})", rows, time_label(span, total)) : std::string());
  return s + "</svg>\n";
}

}  // namespace ser::app
