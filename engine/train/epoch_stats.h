// EpochStats: the numbers of one training epoch, and their one JSON form (an object keyed
// by field name), shared by checkpoints (engine/train/checkpoint.cpp, "history" of the
// train_state) and the run report (apps/report.cpp, history.json). Reading goes by name,
// so reordering the struct's fields can never swap two numbers on resume; the names are
// those checkpoints have always used, so older checkpoints still load.
#pragma once

#include <nlohmann/json_fwd.hpp>

namespace ser::train {

struct EpochStats {
  int epoch = 0;  // 1-based
  double train_loss = 0, train_accuracy = 0;
  double val_loss = 0, val_accuracy = 0;
  double seconds = 0, samples_per_second = 0;
};

// nlohmann ADL hooks: json j = stats; stats = j.get<EpochStats>(); also for vectors.
// from_json needs every field (nlohmann::json::exception if one is missing or not a
// number; ser::Error for an epoch that is not an integer in int range).
void to_json(nlohmann::json& j, const EpochStats& e);
void from_json(const nlohmann::json& j, EpochStats& e);

}  // namespace ser::train
