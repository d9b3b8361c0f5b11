// JSON form of EpochStats (see epoch_stats.h): one object per epoch, keyed by field name.
#include "engine/train/epoch_stats.h"

#include <nlohmann/json.hpp>

#include "engine/io/json_number.h"

namespace ser::train {

void to_json(nlohmann::json& j, const EpochStats& e) {
  j = {{"epoch", e.epoch},       {"train_loss", e.train_loss}, {"train_accuracy", e.train_accuracy},
       {"val_loss", e.val_loss}, {"val_accuracy", e.val_accuracy}, {"seconds", e.seconds},
       {"samples_per_second", e.samples_per_second}};
}

void from_json(const nlohmann::json& j, EpochStats& e) {
  e.epoch = json_to_int(j.at("epoch"), "epoch history", "epoch");
  e.train_loss = j.at("train_loss").get<double>();
  e.train_accuracy = j.at("train_accuracy").get<double>();
  e.val_loss = j.at("val_loss").get<double>();
  e.val_accuracy = j.at("val_accuracy").get<double>();
  e.seconds = j.at("seconds").get<double>();
  e.samples_per_second = j.at("samples_per_second").get<double>();
}

}  // namespace ser::train
