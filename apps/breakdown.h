// Rows that break one evaluation down, for the console, metrics.json and report.html:
//   per corpus   when the files come from several corpora: the full decision over every
//                class of the model, and beside it the usual cross-corpus figure, the
//                decision restricted to the classes that corpus has (argmax over those
//                classes' probabilities only)
//   per condition `ser eval --perturb`: the same files under each named perturbation
// Each row: files, accuracy, UAR (mean recall over the classes present), macro F1.
// probabilities: (N, classes) row-major per file, truth: (N) class indices.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "engine/metrics.h"

namespace ser::app {

struct BreakdownRow {
  std::string name;                     // the corpus or the condition
  Metrics metrics;                      // the decision over every class
  std::vector<std::string> restricted_classes;  // classes present in this row's truth
  Metrics restricted;                   // the decision among restricted_classes only
};

struct Breakdown {
  std::string key;    // metrics.json field: "per_corpus" | "perturbations"
  std::string title;  // heading in the report
  std::vector<BreakdownRow> rows;
  bool empty() const { return rows.empty(); }
};

// One row over files `rows` (indices into truth / probabilities).
BreakdownRow breakdown_row(const std::string& name, const std::vector<int>& truth,
                           const std::vector<std::vector<float>>& probabilities, const std::vector<std::size_t>& rows,
                           const std::vector<std::string>& class_names);

// A row per corpus (sorted by name) when `corpus` names more than one, else no rows.
Breakdown per_corpus_breakdown(const std::vector<std::string>& corpus, const std::vector<int>& truth,
                               const std::vector<std::vector<float>>& probabilities,
                               const std::vector<std::string>& class_names);

nlohmann::json to_json(const Breakdown& b, const std::vector<std::string>& class_names);
std::string text_table(const Breakdown& b);  // aligned columns, one line per row
std::string html_table(const Breakdown& b);  // an HTML <table> (names escaped)

}  // namespace ser::app
