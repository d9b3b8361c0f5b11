// A whole training run, as `ser train` and `ser demo` perform it: index the corpora,
// extract features, split, normalise with training statistics, train with early
// stopping (checkpoint every epoch, resumable), evaluate the test split, write the model
// and the report. Options are saved in RUN_DIR/run.json so `--resume RUN_DIR` needs
// nothing else.
#pragma once

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "apps/pipeline.h"

namespace ser::app {

struct TrainOptions {
  CorpusOptions corpus;
  std::filesystem::path out_dir = "runs/latest";
  std::string protocol = "holdout";  // seed | holdout | speaker
  int epochs = 50;
  int batch = 16;
  double lr = 1e-3;
  int patience = 10;
  uint64_t seed = 42;
  std::string device = "auto";       // auto | cpu | cuda
  std::string math = "fp32";         // fp32 | tf32 (GPU convolution / dense math)
  std::string cache_dir;             // empty = default cache; "none" = no cache
  int threads = 0;
  bool progress = true;

  nlohmann::json to_json() const;
  static TrainOptions from_json(const nlohmann::json& j);
};

struct TrainOutcome {
  double test_accuracy = 0;
  double macro_f1 = 0;
  std::filesystem::path model_path, report_path;
};

TrainOutcome run_training(const TrainOptions& options, bool resume);

// --device auto|cpu|cuda -> the device to use (auto: CUDA when a device is usable).
Device resolve_device(const std::string& name);

}  // namespace ser::app
