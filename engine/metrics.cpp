// Confusion-matrix based metrics and their text / JSON reports.
#include "engine/metrics.h"

#include <fmt/format.h>

#include <algorithm>

#include "engine/core/error.h"

namespace ser {
namespace {

double ratio(double num, double den) { return den > 0 ? num / den : 0.0; }

void check_names(const Metrics& m, const std::vector<std::string>& names) {
  SER_CHECK(names.size() == m.per_class.size(), "metrics report: {} class names given for {} classes", names.size(),
            m.per_class.size());
}

}  // namespace

Metrics compute_metrics(const std::vector<int>& truth, const std::vector<int>& predicted, int classes) {
  SER_CHECK(classes >= 1, "metrics need at least one class, got {}", classes);
  SER_CHECK(truth.size() == predicted.size(), "metrics: {} true labels but {} predictions", truth.size(),
            predicted.size());
  const auto k = static_cast<std::size_t>(classes);
  Metrics m;
  m.confusion.assign(k, std::vector<int64_t>(k, 0));
  for (std::size_t i = 0; i < truth.size(); ++i) {
    SER_CHECK(truth[i] >= 0 && truth[i] < classes, "metrics: true label {} at position {} is outside [0, {})",
              truth[i], i, classes);
    SER_CHECK(predicted[i] >= 0 && predicted[i] < classes,
              "metrics: predicted label {} at position {} is outside [0, {})", predicted[i], i, classes);
    ++m.confusion[static_cast<std::size_t>(truth[i])][static_cast<std::size_t>(predicted[i])];
  }
  const double n = static_cast<double>(truth.size());
  int64_t correct = 0, present = 0, in_truth = 0;
  m.per_class.resize(k);
  for (std::size_t c = 0; c < k; ++c) {
    int64_t row = 0, column = 0;
    for (std::size_t j = 0; j < k; ++j) {
      row += m.confusion[c][j];
      column += m.confusion[j][c];
    }
    const double tp = static_cast<double>(m.confusion[c][c]);
    correct += m.confusion[c][c];
    ClassMetrics& cm = m.per_class[c];
    cm.support = row;
    cm.precision = ratio(tp, static_cast<double>(column));
    cm.recall = ratio(tp, static_cast<double>(row));
    cm.f1 = ratio(2.0 * tp, static_cast<double>(row + column));  // 2tp / (2tp + fp + fn)
    if (row > 0) {
      ++in_truth;
      m.uar += cm.recall;
    }
    if (row + column > 0) {  // occurs in the truth or the predictions
      ++present;
      m.macro_precision += cm.precision;
      m.macro_recall += cm.recall;
      m.macro_f1 += cm.f1;
    }
    m.weighted_precision += ratio(cm.precision * static_cast<double>(row), n);
    m.weighted_recall += ratio(cm.recall * static_cast<double>(row), n);
    m.weighted_f1 += ratio(cm.f1 * static_cast<double>(row), n);
  }
  m.macro_precision = ratio(m.macro_precision, static_cast<double>(present));
  m.macro_recall = ratio(m.macro_recall, static_cast<double>(present));
  m.macro_f1 = ratio(m.macro_f1, static_cast<double>(present));
  m.uar = ratio(m.uar, static_cast<double>(in_truth));
  m.accuracy = ratio(static_cast<double>(correct), n);
  return m;
}

int64_t Metrics::total() const {
  int64_t sum = 0;
  for (const auto& row : confusion)
    for (int64_t v : row) sum += v;
  return sum;
}

std::string Metrics::report(const std::vector<std::string>& names) const {
  check_names(*this, names);
  std::size_t width = std::string("weighted avg").size();
  for (const auto& name : names) width = std::max(width, name.size());
  const int w = static_cast<int>(width);
  std::string out = fmt::format("{:>{}} {:>10} {:>10} {:>10} {:>10}\n\n", "", w, "precision", "recall", "f1-score", "support");
  for (std::size_t c = 0; c < per_class.size(); ++c) {
    const auto& cm = per_class[c];
    out += fmt::format("{:>{}} {:>10.4f} {:>10.4f} {:>10.4f} {:>10}\n", names[c], w, cm.precision, cm.recall, cm.f1,
                       cm.support);
  }
  const int64_t n = total();
  out += fmt::format("\n{:>{}} {:>10} {:>10} {:>10.4f} {:>10}\n", "accuracy", w, "", "", accuracy, n);
  out += fmt::format("{:>{}} {:>10.4f} {:>10.4f} {:>10.4f} {:>10}\n", "macro avg", w, macro_precision, macro_recall,
                     macro_f1, n);
  out += fmt::format("{:>{}} {:>10.4f} {:>10.4f} {:>10.4f} {:>10}\n", "weighted avg", w, weighted_precision,
                     weighted_recall, weighted_f1, n);
  return out;
}

nlohmann::json Metrics::to_json(const std::vector<std::string>& names) const {
  check_names(*this, names);
  nlohmann::json classes = nlohmann::json::array();
  for (std::size_t c = 0; c < per_class.size(); ++c)
    classes.push_back({{"name", names[c]},
                       {"precision", per_class[c].precision},
                       {"recall", per_class[c].recall},
                       {"f1", per_class[c].f1},
                       {"support", per_class[c].support}});
  return {{"accuracy", accuracy},
          {"macro_precision", macro_precision},
          {"macro_recall", macro_recall},
          {"macro_f1", macro_f1},
          {"uar", uar},
          {"weighted_precision", weighted_precision},
          {"weighted_recall", weighted_recall},
          {"weighted_f1", weighted_f1},
          {"total", total()},
          {"classes", classes},
          {"confusion", confusion}};
}

}  // namespace ser
