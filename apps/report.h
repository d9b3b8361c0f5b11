// Evaluation reports for people and machines, written into a run folder:
//   metrics.json        accuracy, macro/weighted F1, per-class metrics, confusion matrix
//   history.json        per-epoch loss / accuracy (train and validation), time, samples/s
//   report.txt          sklearn-style classification report + confusion matrix as text
//   curves.svg          accuracy and loss per epoch (train vs validation)
//   confusion.svg       confusion-matrix heat map (rows = true class, columns = predicted)
//   report.html         all of the above on one page (the SVGs inlined)
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "apps/breakdown.h"
#include "engine/metrics.h"
#include "engine/train/trainer.h"

namespace ser::app {

struct ReportInput {
  std::string title;               // e.g. "holdout test split, 1 700 files"
  std::vector<std::string> class_names;
  Metrics metrics;
  std::vector<train::EpochStats> history;  // may be empty (evaluation only)
  int best_epoch = 0;                      // 1-based epoch whose weights were kept (0 = none)
  nlohmann::json run_info;                 // options, data summary, timings
  std::vector<Breakdown> breakdowns;       // per corpus, per perturbation (apps/breakdown.h); may be empty
};

// Text for SVG/HTML: < > & " replaced by their entities.
std::string xml_escape(const std::string& s);

// best_epoch: 1-based epoch marked on both panels (0 = none).
std::string curves_svg(const std::vector<train::EpochStats>& history, int best_epoch = 0);
std::string confusion_svg(const std::vector<std::vector<int64_t>>& confusion, const std::vector<std::string>& names);
// Writes every report file into `dir`; returns the path of report.html.
std::filesystem::path write_report(const std::filesystem::path& dir, const ReportInput& input);

// Every file write_report may write into its folder (for a cleanup that must not touch others).
const std::vector<std::string>& report_file_names();

}  // namespace ser::app
