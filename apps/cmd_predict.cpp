// `ser predict`: the emotion of any audio file(s), with a trained model file.
#include <fmt/format.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "apps/commands.h"
#include "apps/predict.h"

namespace ser::app {

void register_predict(CLI::App& app) {
  struct Args {
    std::string model;
    std::vector<std::string> files;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("predict", "Say which emotion each audio file carries");
  cmd->add_option("--model", args->model, "Model file written by `ser train` (RUN_DIR/model.safetensors)")->required();
  cmd->add_option("files", args->files, "Audio files (any rate, channels or format libsndfile reads)")->required();
  cmd->add_flag("--json", args->json, "One JSON object per line with every class probability");
  cmd->callback([args] {
    train::LoadedModel loaded = load_model_option(args->model);
    const auto& names = loaded.info.class_names;
    const std::vector<std::filesystem::path> files(args->files.begin(), args->files.end());
    int failures = 0;
    for (const Prediction& p : predict_files(loaded, files)) {
      if (!p.ok) {
        fmt::print(stderr, "ser: error: {}: {}\n", p.file.string(), p.error);
        ++failures;
        continue;
      }
      if (!p.warning.empty()) fmt::print(stderr, "ser: warning: {}: {}\n", p.file.string(), p.warning);
      if (args->json) {
        nlohmann::json probs;
        for (std::size_t k = 0; k < names.size(); ++k) probs[names[k]] = p.probabilities[k];
        nlohmann::json line{{"file", p.file.string()}, {"emotion", names[p.label]}, {"probabilities", probs}};
        if (!p.warning.empty()) line["warning"] = p.warning;
        fmt::print("{}\n", line.dump());
      } else {
        fmt::print("{}\t{}\t{:.3f}\n", p.file.string(), names[p.label], p.probabilities[p.label]);
      }
    }
    if (failures) throw ExitStatus{1};
  });
}

}  // namespace ser::app
