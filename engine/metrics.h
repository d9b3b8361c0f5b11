// Classification metrics with scikit-learn's conventions: confusion matrix (rows = true
// class, columns = predicted class), accuracy, per-class precision / recall / F1 /
// support, macro and support-weighted averages, with 0 wherever a ratio is undefined
// (sklearn's zero_division=0). The macro averages run over the classes that occur in the
// truth or the predictions, as sklearn's classification_report does by default: a class
// with no files at all (say --classes 8 on a corpus without calm) is listed with support 0
// but does not pull the average down.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace ser {

struct ClassMetrics {
  double precision = 0, recall = 0, f1 = 0;
  int64_t support = 0;  // files of this true class
};

struct Metrics {
  std::vector<std::vector<int64_t>> confusion;  // (classes, classes): [true][predicted]
  double accuracy = 0;
  double macro_precision = 0, macro_recall = 0, macro_f1 = 0;
  // Unweighted average recall: the mean recall over the classes present in the truth (the
  // usual figure of emotion recognition; chance = 1 / the classes present).
  double uar = 0;
  double weighted_precision = 0, weighted_recall = 0, weighted_f1 = 0;
  std::vector<ClassMetrics> per_class;  // (classes,)

  int64_t total() const;  // number of (truth, prediction) pairs
  // Text like sklearn's classification_report(digits=4). names: one per class.
  std::string report(const std::vector<std::string>& names) const;
  // {"accuracy", "macro_f1", ..., "classes": [{"name", "precision", "recall", "f1",
  //  "support"}...], "confusion": [[...]...]} with classes in label order.
  nlohmann::json to_json(const std::vector<std::string>& names) const;
};

// truth, predicted: (N,) labels in [0, classes). Throws ser::Error on a size mismatch or a
// label out of range (naming its position and value).
Metrics compute_metrics(const std::vector<int>& truth, const std::vector<int>& predicted, int classes);

}  // namespace ser
