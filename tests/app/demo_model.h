// A small model trained in-process on the synthetic demo corpus, saved as `ser train` saves
// one, for the prediction tests: 3 speakers x 6 classes x 8 clips of 1.5 s, log-mel
// images resized to 32x32 (instead of 128x128), two conv blocks. Trained once per process
// (a few seconds on two cores), in a folder removed at exit, with clips of a fourth speaker
// it never heard.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "data/data.h"

namespace ser::test {

struct DemoModel {
  std::filesystem::path model_file;               // model.safetensors
  std::filesystem::path corpus;                   // the training corpus (RAVDESS layout)
  std::vector<data::ManifestEntry> unseen;        // Actor_04: 2 clips per class, sorted by path
  std::vector<std::string> class_names;
  double clip_seconds = 1.5;
  double training_accuracy = 0;
};

const DemoModel& demo_model();

}  // namespace ser::test
