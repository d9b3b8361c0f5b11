// Per-corpus and per-condition rows of an evaluation (see breakdown.h).
#include "apps/breakdown.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "apps/report.h"

namespace ser::app {
namespace {

int argmax_among(const std::vector<float>& p, const std::vector<int>& allowed) {
  int best = allowed.front();
  for (int c : allowed)
    if (p[static_cast<std::size_t>(c)] > p[static_cast<std::size_t>(best)]) best = c;
  return best;
}

nlohmann::json figures(const Metrics& m) {
  return {{"accuracy", m.accuracy}, {"uar", m.uar}, {"macro_f1", m.macro_f1}, {"files", m.total()}};
}

}  // namespace

BreakdownRow breakdown_row(const std::string& name, const std::vector<int>& truth,
                           const std::vector<std::vector<float>>& probabilities, const std::vector<std::size_t>& rows,
                           const std::vector<std::string>& class_names) {
  const int classes = static_cast<int>(class_names.size());
  std::vector<bool> present(static_cast<std::size_t>(classes), false);
  for (std::size_t r : rows) present[static_cast<std::size_t>(truth[r])] = true;
  std::vector<int> allowed;
  BreakdownRow row;
  row.name = name;
  for (int c = 0; c < classes; ++c)
    if (present[static_cast<std::size_t>(c)]) {
      allowed.push_back(c);
      row.restricted_classes.push_back(class_names[static_cast<std::size_t>(c)]);
    }
  std::vector<int> t, full, restricted;
  for (std::size_t r : rows) {
    t.push_back(truth[r]);
    std::vector<int> every(static_cast<std::size_t>(classes));
    for (int c = 0; c < classes; ++c) every[static_cast<std::size_t>(c)] = c;
    full.push_back(argmax_among(probabilities[r], every));
    restricted.push_back(allowed.empty() ? 0 : argmax_among(probabilities[r], allowed));
  }
  row.metrics = compute_metrics(t, full, classes);
  row.restricted = compute_metrics(t, restricted, classes);
  return row;
}

Breakdown per_corpus_breakdown(const std::vector<std::string>& corpus, const std::vector<int>& truth,
                               const std::vector<std::vector<float>>& probabilities,
                               const std::vector<std::string>& class_names) {
  Breakdown b{"per_corpus", "Per corpus", {}};
  std::map<std::string, std::vector<std::size_t>> rows;
  for (std::size_t i = 0; i < corpus.size(); ++i) rows[corpus[i]].push_back(i);
  if (rows.size() < 2) return b;
  for (const auto& [name, r] : rows) b.rows.push_back(breakdown_row(name, truth, probabilities, r, class_names));
  return b;
}

nlohmann::json to_json(const Breakdown& b, const std::vector<std::string>& class_names) {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& r : b.rows) {
    nlohmann::json j = figures(r.metrics);
    j["name"] = r.name;
    j["recall"] = nlohmann::json::object();
    for (std::size_t c = 0; c < class_names.size(); ++c)
      if (r.metrics.per_class[c].support > 0) j["recall"][class_names[c]] = r.metrics.per_class[c].recall;
    j["restricted"] = figures(r.restricted);
    j["restricted"]["classes"] = r.restricted_classes;
    rows.push_back(j);
  }
  return rows;
}

std::string text_table(const Breakdown& b) {
  std::size_t w = 8;
  for (const auto& r : b.rows) w = std::max(w, r.name.size());
  std::string out = fmt::format("{:<{}} {:>6} {:>9} {:>7} {:>9}   {}\n", b.title, w, "files", "accuracy", "UAR",
                                "macro F1", "restricted to its classes: accuracy UAR macro F1 (classes)");
  for (const auto& r : b.rows)
    out += fmt::format("{:<{}} {:>6} {:>9.4f} {:>7.4f} {:>9.4f}   {:.4f} {:.4f} {:.4f} ({})\n", r.name, w,
                       r.metrics.total(), r.metrics.accuracy, r.metrics.uar, r.metrics.macro_f1, r.restricted.accuracy,
                       r.restricted.uar, r.restricted.macro_f1, r.restricted_classes.size());
  return out;
}

std::string html_table(const Breakdown& b) {
  std::string html =
      "<table><tr><th></th><th>files</th><th>accuracy</th><th>UAR</th><th>macro F1</th>"
      "<th>restricted: accuracy</th><th>UAR</th><th>macro F1</th><th>classes</th></tr>";
  for (const auto& r : b.rows)
    html += fmt::format(
        "<tr><td>{}</td><td>{}</td><td>{:.4f}</td><td>{:.4f}</td><td>{:.4f}</td><td>{:.4f}</td><td>{:.4f}</td>"
        "<td>{:.4f}</td><td>{}</td></tr>",
        xml_escape(r.name), r.metrics.total(), r.metrics.accuracy, r.metrics.uar, r.metrics.macro_f1,
        r.restricted.accuracy, r.restricted.uar, r.restricted.macro_f1,
        xml_escape(fmt::format("{}", fmt::join(r.restricted_classes, ", "))));
  return html + "</table>";
}

}  // namespace ser::app
