// Serialisation of models and checkpoints into safetensors + JSON metadata.
#include "engine/train/checkpoint.h"

#include <nlohmann/json.hpp>

#include <cmath>

#include "engine/core/error.h"
#include "engine/core/version.h"
#include "engine/io/json_number.h"
#include "engine/io/safetensors.h"

namespace ser::train {
namespace {

constexpr const char* kModelFormat = "ser-model-1";
constexpr const char* kCheckpointFormat = "ser-checkpoint-1";

void put_model(SafeTensors& file, nn::Model& model, const ModelInfo& info) {
  for (auto& [name, tensor] : model.named_state()) file.tensors[name] = Array::from_tensor(tensor);
  file.metadata["architecture"] = model.architecture().to_json();
  file.metadata["classes"] = nlohmann::json(info.class_names).dump();
  file.metadata["features"] = info.feature_config_json;
  file.metadata["normalization"] =
      nlohmann::json{{"mean", info.normalization.mean}, {"std", info.normalization.std}}.dump();
  file.metadata["ser_version"] = kVersion;
  if (!info.training_json.empty()) file.metadata["training"] = info.training_json;
  const ClipLengths& c = info.clip_seconds;
  if (c.files > 0)
    file.metadata["clip_seconds"] =
        nlohmann::json{{"median", c.median}, {"p95", c.p95}, {"min", c.min}, {"max", c.max}, {"files", c.files}}.dump();
}

// The optional clip_seconds metadata: absent -> files 0; present -> every field, each
// duration finite, positive and in order (min <= median <= p95 <= max).
ClipLengths read_clip_lengths(const SafeTensors& file, const std::filesystem::path& path) {
  const auto it = file.metadata.find("clip_seconds");
  if (it == file.metadata.end()) return {};
  const auto j = nlohmann::json::parse(it->second);
  ClipLengths c;
  c.median = json_to_double(j.at("median"), "clip_seconds", "median");
  c.p95 = json_to_double(j.at("p95"), "clip_seconds", "p95");
  c.min = json_to_double(j.at("min"), "clip_seconds", "min");
  c.max = json_to_double(j.at("max"), "clip_seconds", "max");
  c.files = static_cast<int64_t>(json_to_uint64(j.at("files"), "clip_seconds", "files"));
  SER_CHECK(std::isfinite(c.max) && c.min > 0 && c.min <= c.median && c.median <= c.p95 && c.p95 <= c.max &&
                c.files > 0,
            "{}: clip_seconds must hold 0 < min <= median <= p95 <= max and files > 0, got {}", path.string(),
            it->second);
  return c;
}

const std::string& meta(const SafeTensors& file, const std::string& key, const std::filesystem::path& path) {
  auto it = file.metadata.find(key);
  SER_CHECK(it != file.metadata.end(), "{}: not a ser model (metadata '{}' missing)", path.string(), key);
  return it->second;
}

ModelInfo read_info(const SafeTensors& file, const std::filesystem::path& path) {
  ModelInfo info;
  try {
    info.class_names = nlohmann::json::parse(meta(file, "classes", path)).get<std::vector<std::string>>();
    info.feature_config_json = meta(file, "features", path);
    SER_CHECK(nlohmann::json::parse(info.feature_config_json).is_object(),
              "{}: metadata 'features' is not a JSON object", path.string());
    const auto norm = nlohmann::json::parse(meta(file, "normalization", path));
    info.normalization = {json_to_double(norm.at("mean"), "normalization", "mean"),
                          json_to_double(norm.at("std"), "normalization", "std")};
    info.clip_seconds = read_clip_lengths(file, path);
    if (const auto t = file.metadata.find("training"); t != file.metadata.end()) info.training_json = t->second;
  } catch (const nlohmann::json::exception& e) {
    SER_FAIL("{}: malformed model metadata ({})", path.string(), e.what());
  } catch (const Error& e) {
    SER_FAIL("{}: malformed model metadata ({})", path.string(), e.message());
  }
  SER_CHECK(info.normalization.std > 0, "{}: normalization std must be positive", path.string());
  return info;
}

nn::Architecture architecture_of(const SafeTensors& file, const std::filesystem::path& path) {
  try {
    return nn::Architecture::from_json(meta(file, "architecture", path));
  } catch (const Error& e) {
    SER_FAIL("{}: bad architecture: {}", path.string(), e.what());
  }
}

// The tensors named `prefix`... (all model weights for an empty prefix), as float32
// tensors; a tensor of another dtype or with a NaN / Inf is refused naming the file.
std::map<std::string, Tensor> tensors_with_prefix(const SafeTensors& file, const std::string& prefix,
                                                  const std::filesystem::path& path) {
  std::map<std::string, Tensor> out;
  for (const auto& [name, array] : file.tensors) {
    const bool has = prefix.empty() ? name.find('.') != std::string::npos && name.rfind("adam.", 0) != 0 &&
                                          name.rfind("best.", 0) != 0
                                    : name.rfind(prefix, 0) == 0;
    if (!has) continue;
    Tensor tensor;
    try {
      tensor = array.to_tensor();
    } catch (const Error& e) {
      SER_FAIL("{}: tensor '{}': {}", path.string(), name, e.what());
    }
    for (int64_t i = 0; i < tensor.numel(); ++i)
      SER_CHECK(std::isfinite(tensor[i]), "{}: tensor '{}' holds a non-finite value ({}) at element {}",
                path.string(), name, tensor[i], i);
    out.emplace(name.substr(prefix.size()), std::move(tensor));
  }
  return out;
}

void load_weights(nn::Model& model, const std::map<std::string, Tensor>& weights, const std::filesystem::path& path) {
  try {
    model.load_named_state(weights);
  } catch (const Error& e) {
    SER_FAIL("{}: weights do not fit the model: {}", path.string(), e.what());
  }
}

}  // namespace

void save_model(const std::filesystem::path& path, nn::Model& model, const ModelInfo& info) {
  SafeTensors file;
  file.metadata["format"] = kModelFormat;
  put_model(file, model, info);
  write_safetensors(path, file);
}

nn::Architecture read_architecture(const std::filesystem::path& path) {
  return architecture_of(read_safetensors(path), path);
}

LoadedModel load_model(const std::filesystem::path& path, Device device) {
  const SafeTensors file = read_safetensors(path);
  const auto format = file.metadata.find("format");
  SER_CHECK(format != file.metadata.end() && (format->second == kModelFormat || format->second == kCheckpointFormat),
            "{}: not a ser model file (format '{}')", path.string(),
            format == file.metadata.end() ? "missing" : format->second);
  LoadedModel out;
  out.info = read_info(file, path);
  const nn::Architecture arch = architecture_of(file, path);
  SER_CHECK(static_cast<int>(out.info.class_names.size()) == arch.classes,
            "{}: {} class names for a model with {} outputs", path.string(), out.info.class_names.size(), arch.classes);
  out.model = std::make_unique<nn::Model>(arch, device);
  load_weights(*out.model, tensors_with_prefix(file, "", path), path);
  return out;
}

void save_checkpoint(const std::filesystem::path& path, nn::Model& model, nn::Adam& adam, const Generator& generator,
                     const TrainState& state, const ModelInfo& info) {
  SafeTensors file;
  file.metadata["format"] = kCheckpointFormat;
  put_model(file, model, info);
  file.tensors["adam.m"] = Array::from_tensor(adam.m());
  file.tensors["adam.v"] = Array::from_tensor(adam.v());
  for (const auto& [name, tensor] : state.best_weights) file.tensors["best." + name] = Array::from_tensor(tensor);
  const nlohmann::json train_state = {{"epochs_done", state.epochs_done},
                                      {"best_epoch", state.best_epoch},
                                      {"best_val_accuracy", state.best_val_accuracy},
                                      {"epochs_without_improvement", state.epochs_without_improvement},
                                      {"stopped_early", state.stopped_early},
                                      {"adam_steps", adam.steps()},
                                      {"generator_seed", generator.seed()},
                                      {"generator_offset", generator.offset()},
                                      {"history", state.history}};
  file.metadata["train_state"] = train_state.dump();
  write_safetensors(path, file);
}

void load_checkpoint(const std::filesystem::path& path, nn::Model& model, nn::Adam& adam, Generator& generator,
                     TrainState& state, ModelInfo& info) {
  const SafeTensors file = read_safetensors(path);
  SER_CHECK(file.metadata.count("format") && file.metadata.at("format") == kCheckpointFormat,
            "{}: not a ser training checkpoint", path.string());
  const nn::Architecture arch = architecture_of(file, path);
  SER_CHECK(arch == model.architecture(), "{}: checkpoint architecture {} differs from this run's {}", path.string(),
            arch.to_json(), model.architecture().to_json());
  info = read_info(file, path);
  load_weights(model, tensors_with_prefix(file, "", path), path);
  const Tensor m = file.at("adam.m", path.string()).to_tensor();
  const Tensor v = file.at("adam.v", path.string()).to_tensor();
  SER_CHECK(m.numel() == adam.m().numel() && v.numel() == adam.v().numel(),
            "{}: Adam moments have {} elements, the model {}", path.string(), m.numel(), adam.m().numel());
  adam.m().copy_from(m);
  adam.v().copy_from(v);
  uint64_t seed = 0, offset = 0;
  try {
    const auto j = nlohmann::json::parse(meta(file, "train_state", path));
    state = TrainState{};
    state.epochs_done = json_to_int(j.at("epochs_done"), "train_state", "epochs_done");
    state.best_epoch = json_to_int(j.at("best_epoch"), "train_state", "best_epoch");
    state.best_val_accuracy = json_to_double(j.at("best_val_accuracy"), "train_state", "best_val_accuracy");
    state.epochs_without_improvement =
        json_to_int(j.at("epochs_without_improvement"), "train_state", "epochs_without_improvement");
    state.stopped_early = j.at("stopped_early").get<bool>();
    state.history = j.at("history").get<std::vector<EpochStats>>();  // by field name (epoch_stats.h)
    adam.set_steps(static_cast<int64_t>(json_to_uint64(j.at("adam_steps"), "train_state", "adam_steps")));
    seed = json_to_uint64(j.at("generator_seed"), "train_state", "generator_seed");
    offset = json_to_uint64(j.at("generator_offset"), "train_state", "generator_offset");
  } catch (const nlohmann::json::exception& e) {
    SER_FAIL("{}: malformed training state ({})", path.string(), e.what());
  } catch (const Error& e) {
    SER_FAIL("{}: malformed training state ({})", path.string(), e.message());
  }
  SER_CHECK(seed == generator.seed(), "{}: checkpoint was trained with seed {}, this run uses {}", path.string(), seed,
            generator.seed());
  generator.set_offset(offset);
  state.best_weights = tensors_with_prefix(file, "best.", path);
}

}  // namespace ser::train
