// SVG charts drawn by hand (no plotting dependency) and the HTML/JSON/text report files.
#include "apps/report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>

#include "engine/core/error.h"
#include "engine/io/file.h"

namespace ser::app {
namespace {

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

struct Series {
  std::string name, color;
  std::vector<double> values;
};

// One line chart panel at (x0, y0) of size w x h with epochs on the x axis.
// marker: index of a point to mark with a dashed vertical line (the best epoch), or -1.
std::string line_panel(double x0, double y0, double w, double h, const std::string& title,
                       const std::vector<Series>& series, double ymin, double ymax, int marker) {
  std::string s;
  const std::size_t n = series.empty() ? 0 : series[0].values.size();
  const double left = x0 + 50, right = x0 + w - 10, top = y0 + 30, bottom = y0 + h - 35;
  auto px = [&](std::size_t i) { return n <= 1 ? (left + right) / 2 : left + (right - left) * double(i) / double(n - 1); };
  auto py = [&](double v) { return bottom - (bottom - top) * (v - ymin) / std::max(ymax - ymin, 1e-12); };
  s += fmt::format(R"(<text x="{}" y="{}" font-size="14" font-weight="bold">{}</text>)", left, y0 + 18, escape(title));
  s += fmt::format(R"(<rect x="{}" y="{}" width="{}" height="{}" fill="none" stroke="#999"/>)", left, top,
                   right - left, bottom - top);
  for (int k = 0; k <= 4; ++k) {
    const double v = ymin + (ymax - ymin) * k / 4.0;
    s += fmt::format(R"(<line x1="{}" x2="{}" y1="{:.1f}" y2="{:.1f}" stroke="#eee"/>)", left, right, py(v), py(v));
    s += fmt::format(R"(<text x="{}" y="{:.1f}" font-size="10" text-anchor="end">{:.2f}</text>)", left - 4, py(v) + 3, v);
  }
  for (std::size_t i = 0; i < n; i += std::max<std::size_t>(1, n / 10))
    s += fmt::format(R"(<text x="{:.1f}" y="{}" font-size="10" text-anchor="middle">{}</text>)", px(i), bottom + 14, i + 1);
  s += fmt::format(R"(<text x="{}" y="{}" font-size="11" text-anchor="middle">epoch</text>)", (left + right) / 2,
                   bottom + 30);
  if (marker >= 0 && static_cast<std::size_t>(marker) < n) {
    // The label inside the frame beside the line (left of it in the right third), clear of
    // the title row and its legend.
    const double x = px(static_cast<std::size_t>(marker));
    const bool right_third = x > left + 2 * (right - left) / 3;
    s += fmt::format(R"svg(<line x1="{0:.1f}" x2="{0:.1f}" y1="{1}" y2="{2}" stroke="#2ca02c" stroke-dasharray="4 3"/><text x="{3:.1f}" y="{4}" font-size="10" fill="#2ca02c" text-anchor="{5}">best</text>)svg",
                     x, top, bottom, right_third ? x - 3 : x + 3, top + 12, right_third ? "end" : "start");
  }
  for (std::size_t k = 0; k < series.size(); ++k) {
    const Series& ser = series[k];
    std::string points;
    for (std::size_t i = 0; i < ser.values.size(); ++i) points += fmt::format("{:.1f},{:.1f} ", px(i), py(ser.values[i]));
    s += fmt::format(R"(<polyline points="{}" fill="none" stroke="{}" stroke-width="2"/>)", points, ser.color);
    if (ser.values.size() == 1)
      s += fmt::format(R"(<circle cx="{:.1f}" cy="{:.1f}" r="3" fill="{}"/>)", px(0), py(ser.values[0]), ser.color);
    // Legend in the title row, right-aligned: never on top of the curves.
    const double legend_x = right - 90.0 * static_cast<double>(series.size() - k);
    s += fmt::format(R"(<line x1="{0}" x2="{1}" y1="{2}" y2="{2}" stroke="{3}" stroke-width="2"/><text x="{4}" y="{5}" font-size="11" fill="{3}">{6}</text>)",
                     legend_x, legend_x + 14, y0 + 14, ser.color, legend_x + 18, y0 + 18, escape(ser.name));
  }
  return s;
}

// The smallest 1, 2, 2.5 or 5 x 10^k at or above v (> 0): an axis top whose quarter ticks read well.
double nice_ceiling(double v) {
  const double scale = std::pow(10.0, std::floor(std::log10(v)));
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0})
    if (m * scale >= v) return m * scale;
  return 10.0 * scale;
}

// run_info as an HTML table: one row per key; strings plain, lists joined, the rest as JSON.
std::string run_table(const nlohmann::json& info) {
  if (!info.is_object()) return "<pre>" + escape(info.dump(2)) + "</pre>";
  std::string rows;
  for (const auto& [key, value] : info.items()) {
    std::string shown;
    if (value.is_string()) {
      shown = value.get<std::string>();
    } else if (value.is_array()) {
      for (const auto& item : value) shown += (shown.empty() ? "" : ", ") + (item.is_string() ? item.get<std::string>() : item.dump());
    } else {
      shown = value.dump();
    }
    rows += "<tr><th style=\"text-align:left;padding-right:1em\">" + escape(key) + "</th><td>" + escape(shown) + "</td></tr>";
  }
  return "<table class=\"run\">" + rows + "</table>";
}

void write_text(const std::filesystem::path& path, const std::string& text) {
  write_file_atomically(path, text.data(), text.size());
}

}  // namespace

std::string xml_escape(const std::string& s) { return escape(s); }

std::string curves_svg(const std::vector<train::EpochStats>& history, int best_epoch) {
  std::vector<double> ta, va, tl, vl;
  for (const auto& e : history) {
    ta.push_back(e.train_accuracy);
    va.push_back(e.val_accuracy);
    tl.push_back(e.train_loss);
    vl.push_back(e.val_loss);
  }
  double lmax = 0;
  for (double v : tl) lmax = std::max(lmax, v);
  for (double v : vl) lmax = std::max(lmax, v);
  std::string s = R"(<svg xmlns="http://www.w3.org/2000/svg" width="820" height="300" font-family="sans-serif">)";
  s += R"(<rect width="820" height="300" fill="white"/>)";
  s += line_panel(0, 0, 410, 300, "Accuracy", {{"train", "#1f77b4", ta}, {"validation", "#ff7f0e", va}}, 0, 1, best_epoch - 1);
  s += line_panel(410, 0, 410, 300, "Loss", {{"train", "#1f77b4", tl}, {"validation", "#ff7f0e", vl}}, 0,
                  lmax > 0 ? nice_ceiling(lmax * 1.05) : 1, best_epoch - 1);
  return s + "</svg>";
}

std::string confusion_svg(const std::vector<std::vector<int64_t>>& confusion, const std::vector<std::string>& names) {
  const int k = static_cast<int>(confusion.size());
  const int cell = 56, left = 110, top = 40;
  const int width = left + cell * k + 20, height = top + cell * k + 90;
  std::string s = fmt::format(
      R"(<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" font-family="sans-serif"><rect width="{}" height="{}" fill="white"/>)",
      width, height, width, height);
  s += fmt::format(R"(<text x="{}" y="24" font-size="14" font-weight="bold">Confusion matrix (row-normalised colour, counts)</text>)", 10);
  for (int r = 0; r < k; ++r) {
    int64_t row_total = 0;
    for (int c = 0; c < k; ++c) row_total += confusion[r][c];
    for (int c = 0; c < k; ++c) {
      const double frac = row_total ? double(confusion[r][c]) / row_total : 0.0;
      const int shade = static_cast<int>(255 - 200 * frac);
      s += fmt::format(R"svg(<rect x="{}" y="{}" width="{}" height="{}" fill="rgb({},{},255)" stroke="white"/>)svg",
                       left + c * cell, top + r * cell, cell, cell, shade, shade);
      s += fmt::format(R"(<text x="{}" y="{}" font-size="12" text-anchor="middle" fill="{}">{}</text>)",
                       left + c * cell + cell / 2, top + r * cell + cell / 2 + 4, frac > 0.55 ? "white" : "black",
                       confusion[r][c]);
    }
    s += fmt::format(R"(<text x="{}" y="{}" font-size="12" text-anchor="end">{}</text>)", left - 6,
                     top + r * cell + cell / 2 + 4, escape(r < int(names.size()) ? names[r] : std::to_string(r)));
  }
  for (int c = 0; c < k; ++c)
    s += fmt::format(R"svg(<text x="{}" y="{}" font-size="12" text-anchor="end" transform="rotate(-40 {} {})">{}</text>)svg",
                     left + c * cell + cell / 2, top + k * cell + 14, left + c * cell + cell / 2, top + k * cell + 14,
                     escape(c < int(names.size()) ? names[c] : std::to_string(c)));
  s += fmt::format(R"(<text x="{}" y="{}" font-size="11">rows: true class; columns: predicted</text>)", 10, height - 8);
  return s + "</svg>";
}

const std::vector<std::string>& report_file_names() {
  static const std::vector<std::string> names{"metrics.json", "history.json", "report.txt",
                                              "confusion.svg", "curves.svg",  "report.html"};
  return names;
}

std::filesystem::path write_report(const std::filesystem::path& dir, const ReportInput& input) {
  std::filesystem::create_directories(dir);
  nlohmann::json metrics = input.metrics.to_json(input.class_names);
  metrics["title"] = input.title;
  metrics["run"] = input.run_info;
  for (const Breakdown& b : input.breakdowns)
    if (!b.empty()) metrics[b.key] = to_json(b, input.class_names);
  write_text(dir / "metrics.json", metrics.dump(2) + "\n");

  const nlohmann::json history = input.history;  // train::to_json of each EpochStats
  if (!input.history.empty()) write_text(dir / "history.json", history.dump(2) + "\n");

  std::string text = input.title + "\n\n" + input.metrics.report(input.class_names);
  for (const Breakdown& b : input.breakdowns)
    if (!b.empty()) text += "\n" + text_table(b);
  write_text(dir / "report.txt", text);
  const std::string confusion = confusion_svg(input.metrics.confusion, input.class_names);
  write_text(dir / "confusion.svg", confusion);
  std::string curves;
  if (!input.history.empty()) {
    curves = curves_svg(input.history, input.best_epoch);
    write_text(dir / "curves.svg", curves);
  }
  std::string html = "<!doctype html><html><head><meta charset=\"utf-8\"><title>ser report</title>"
                     "<style>body{font-family:sans-serif;margin:2em;max-width:900px}pre{background:#f6f6f6;padding:1em;"
                     "white-space:pre-wrap}table.run td{overflow-wrap:anywhere}td,th{vertical-align:top}tr>:first-child{white-space:nowrap}"
                     "</style></head><body>";
  html += fmt::format("<h1>ser report</h1><p>{}</p>", escape(input.title));
  html += fmt::format("<h2>Accuracy {:.2f} %, UAR {:.4f}, macro F1 {:.4f}</h2>", 100 * input.metrics.accuracy,
                      input.metrics.uar, input.metrics.macro_f1);
  for (const Breakdown& b : input.breakdowns)
    if (!b.empty()) html += "<h2>" + escape(b.title) + "</h2>" + html_table(b);
  if (!curves.empty()) html += "<h2>Training curves</h2>" + curves;
  html += "<h2>Confusion matrix</h2>" + confusion;
  html += "<h2>Classification report</h2><pre>" + escape(input.metrics.report(input.class_names)) + "</pre>";
  html += "<h2>Run</h2>" + run_table(input.run_info) + "</body></html>\n";
  write_text(dir / "report.html", html);
  return dir / "report.html";
}

}  // namespace ser::app
