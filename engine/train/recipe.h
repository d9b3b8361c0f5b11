// Recipe: everything that defines how a model is trained, as one named, serialisable
// description (DESIGN.md "Recipes and augmentation"): the architecture, the optimizer and
// its learning-rate schedule, the loop (epochs, batch, early stopping, which weights to
// keep), augmentation, label smoothing and sampling. `ser train --recipe NAME` picks one,
// single options override its fields, and the resolved recipe is written into run.json
// and the model file, so every run says how it was made.
//   seed    the Keras notebook, exactly (PROTOCOL.md): flatten head, Adam lr 1e-3 constant,
//           50 epochs, batch 16, patience 10 on validation accuracy, best weights kept,
//           no augmentation
//   robust  chosen on real speech of unseen RAVDESS speakers (docs/RECIPES.md): the notebook's
//           whole-clip images with a GAP head, AdamW one-cycle, SpecAugment, label smoothing
//   general robust's network and optimiser on the fixed time axis (16 ms frames,
//           trimmed ends, random 2 s crops, windows averaged), corpus x class balanced
//           sampling; measured in docs/RECIPES.md (better on unseen RAVDESS speakers, worse
//           on RAVDESS -> TESS than robust so far: not the default)
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "engine/nn/adam.h"
#include "engine/nn/architecture.h"
#include "engine/train/augment_plan.h"
#include "engine/train/trainer.h"

namespace ser::train {

struct Recipe {
  std::string name = "seed";
  nn::Architecture architecture;  // `classes` is set by the run from its class set
  // Optimizer: Adam, AdamW when weight_decay > 0 (nn::AdamConfig).
  double lr = 1e-3;                  // the (peak) learning rate
  double weight_decay = 0.0;
  std::string lr_schedule = "constant";  // constant | onecycle (nn::LrSchedule)
  double warmup = 0.3;               // onecycle: fraction of the steps spent rising to lr
  // Loop.
  int epochs = 50, batch = 16, patience = 10;
  std::string keep = "best";         // best (highest validation accuracy) | last (final epoch)
  // Data.
  AugmentConfig augment;
  double label_smoothing = 0.0;
  std::string sampling = "shuffle";  // shuffle | balanced | corpus-balanced (sampling.h)
  // The front end: a name features::LogMelConfig::named knows (resize = the notebook's). The
  // network's input size follows from it (the run sets architecture.height and width).
  std::string frontend = "resize";
  // The fixed time axis: the share of training crops cut short and tiled (trainer.h Crop).
  double short_crops = 0.0;
  // Waveform augmentation: wave_copies augmented copies of every training clip, made with
  // the features::WaveAugmentConfig text wave_augment (apps/augmented_copies.h); 0 = off.
  std::string wave_augment = "none";
  int wave_copies = 0;

  // The named recipes: "seed", "robust", "general".
  static Recipe named(const std::string& name);
  static const std::vector<std::string>& names();
  static const char* default_name() { return "general"; }

  // Throws ser::Error naming the field for a value out of range.
  void validate() const;
  // Optimizer of a run whose epochs have `steps_per_epoch` steps (the schedule's length).
  nn::AdamConfig adam_config(int64_t steps_per_epoch) const;
  // The loop's settings (progress and device flags keep their defaults).
  TrainConfig train_config() const;
  bool operator==(const Recipe& o) const;
};

void to_json(nlohmann::json& j, const Recipe& r);
// Every field is required except those added after the first recipes ("frontend": absent =
// "resize", "short_crops": 0, "wave_augment"/"wave_copies": off); throws
// ser::Error (or nlohmann::json::exception) naming a missing or malformed field.
void from_json(const nlohmann::json& j, Recipe& r);

}  // namespace ser::train
