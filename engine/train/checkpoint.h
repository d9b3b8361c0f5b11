// Model files and training checkpoints, both safetensors (engine/io/safetensors.h).
//
// Model file (what `ser predict` needs, nothing else): tensors = Model::named_state()
// under their own names (conv1.weight, bn1.moving_mean, ..., out.bias); metadata =
//   format "ser-model-1", architecture (JSON), classes (JSON list), features (JSON of the
//   feature parameters), normalization ({"mean":..,"std":..}), ser_version, and (since
//   0.x, optional) clip_seconds ({"median","p95","min","max","files"}: durations of the
//   clips the run used, for `ser predict`'s default window).
// Checkpoint (what `--resume` needs): the model file's content plus
//   "adam.m", "adam.v" (parameter_count), "best.<name>" for the best weights so far, and
//   metadata "train_state" (epochs done, early-stopping counters, history, Adam step,
//   generator offset). Both are written atomically.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "engine/core/random.h"
#include "engine/nn/adam.h"
#include "engine/nn/model.h"
#include "engine/train/dataset.h"
#include "engine/train/trainer.h"

namespace ser::train {

// Durations in seconds of the clips a model was trained on. files == 0: not recorded (a
// model file written before the field existed); readers fall back to their own defaults.
struct ClipLengths {
  double median = 0, p95 = 0, min = 0, max = 0;
  int64_t files = 0;
};

struct ModelInfo {
  std::vector<std::string> class_names;
  std::string feature_config_json = "{}";  // the front-end's parameters, opaque to the engine
  Normalization normalization;
  ClipLengths clip_seconds;  // optional in the file
  // Optional: how the model was made, a JSON object opaque to the engine (`ser train` stores
  // its run.json with the data folders' names only, and the files per corpus), so that a
  // model file away from its run folder still says its recipe and data (`ser info`).
  std::string training_json;
};

struct LoadedModel {
  std::unique_ptr<nn::Model> model;
  ModelInfo info;
};

void save_model(const std::filesystem::path& path, nn::Model& model, const ModelInfo& info);
// Reads a model file; throws naming the file if it is not a ser model or is inconsistent.
LoadedModel load_model(const std::filesystem::path& path, Device device = Device::CPU);

void save_checkpoint(const std::filesystem::path& path, nn::Model& model, nn::Adam& adam, const Generator& generator,
                     const TrainState& state, const ModelInfo& info);
// Restores model weights, Adam moments and step, the generator offset and the training
// state. The model must already have the checkpoint's architecture.
void load_checkpoint(const std::filesystem::path& path, nn::Model& model, nn::Adam& adam, Generator& generator,
                     TrainState& state, ModelInfo& info);
// The architecture stored in a model file or checkpoint.
nn::Architecture read_architecture(const std::filesystem::path& path);

}  // namespace ser::train
