// Orchestration of one training run (see train_run.h).
#include "apps/train_run.h"

#include <fmt/format.h>

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "apps/cli_values.h"
#include "apps/report.h"
#include "engine/core/error.h"
#include "engine/io/file.h"
#include "engine/metrics.h"
#include "engine/nn/adam.h"
#include "engine/nn/model.h"
#include "engine/train/checkpoint.h"
#include "engine/train/trainer.h"

namespace ser::app {
namespace fs = std::filesystem;

nlohmann::json TrainOptions::to_json() const {
  return {{"data", corpus.data_dirs}, {"corpus", corpus.corpus}, {"classes", corpus.classes},
          {"out", out_dir.string()},  {"protocol", protocol},    {"epochs", epochs},
          {"batch", batch},           {"lr", lr},                {"patience", patience},
          {"seed", seed},             {"device", device},        {"cache", cache_dir},
          {"threads", threads},       {"math", math}};
}

TrainOptions TrainOptions::from_json(const nlohmann::json& j) {
  TrainOptions o;
  o.corpus.data_dirs = j.at("data").get<std::vector<std::string>>();
  o.corpus.corpus = j.at("corpus").get<std::string>();
  o.corpus.classes = j.at("classes").get<std::string>();
  o.out_dir = j.at("out").get<std::string>();
  o.protocol = j.at("protocol").get<std::string>();
  o.epochs = j.at("epochs").get<int>();
  o.batch = j.at("batch").get<int>();
  o.lr = j.at("lr").get<double>();
  o.patience = j.at("patience").get<int>();
  o.seed = j.at("seed").get<uint64_t>();
  o.device = j.at("device").get<std::string>();
  o.cache_dir = j.at("cache").get<std::string>();
  o.threads = j.at("threads").get<int>();
  o.math = j.value("math", std::string("fp32"));  // absent in run.json files of older versions
  SER_CHECK(o.math == "fp32" || o.math == "tf32", "math must be fp32 or tf32, got \"{}\"", o.math);
  return o;
}

Device resolve_device(const std::string& name) {
  // The CUDA layers compile and have parity tests, but no GPU has run them yet: until one
  // has, `auto` keeps to the CPU and says how to opt in.
  if (name == "auto") {
    if (cuda_device_available())
      fmt::print(stderr, "note: a CUDA device is present, but the GPU backend has not been validated on one yet; "
                         "training on the CPU (use --device cuda to try the GPU)\n");
    return Device::CPU;
  }
  const Device d = parse_device(name);
  SER_CHECK(d == Device::CPU || cuda_device_available(), "--device cuda: no usable CUDA device ({})",
            cuda_device_description());
  return d;
}

namespace {

void validate(const TrainOptions& o) {
  SER_CHECK(o.epochs >= 1 && o.epochs <= kMaxEpochs, "--epochs must be in [1, {}], got {}", kMaxEpochs, o.epochs);
  SER_CHECK(o.batch >= 1 && o.batch <= kMaxBatch, "--batch must be in [1, {}], got {}", kMaxBatch, o.batch);
  SER_CHECK(o.lr > 0 && o.lr < kMaxLearningRate, "--lr must be in (0, {}), got {}", kMaxLearningRate, o.lr);
  SER_CHECK(o.patience >= 1, "--patience must be at least 1, got {}", o.patience);
  SER_CHECK(o.threads >= 0 && o.threads <= kMaxThreads, "--threads must be in [0, {}] (0 = all cores), got {}",
            kMaxThreads, o.threads);
}

// Creates the run folder if needed and checks this process may write in it, so a locked
// folder stops the run at once (before indexing, features or an epoch of training), with
// nothing in it changed.
void prepare_run_folder(const fs::path& run) {
  std::error_code ec;
  fs::create_directories(run, ec);
  SER_CHECK(!ec, "{}: cannot create the run folder: {}", run.string(), ec.message());
  SER_CHECK(::access(run.c_str(), W_OK | X_OK) == 0, "{}: cannot write in the run folder: {}; nothing in it was changed",
            run.string(), std::strerror(errno));
}

fs::path cache_of(const TrainOptions& o) {
  if (o.cache_dir == "none") return {};
  return o.cache_dir.empty() ? default_cache_dir() : fs::path(o.cache_dir);
}

// Datasets of one split, normalised with statistics of its training part.
struct SplitData {
  train::Dataset train, validation, test;
  train::Normalization norm;
  std::vector<int64_t> test_rows;  // rows of the labelled set that form the test part
};

SplitData make_split_data(const LabelledImages& all, const TrainOptions& o) {
  const data::Split split = data::make_split(all.entries, data::parse_protocol(o.protocol), o.seed);
  SER_CHECK(!split.train.empty() && !split.validation.empty() && !split.test.empty(),
            "the {} split left an empty part (train {}, validation {}, test {}): the corpus is too small", o.protocol,
            split.train.size(), split.validation.size(), split.test.size());
  SplitData out;
  out.train = train::subset(all.data, split.train);
  out.validation = train::subset(all.data, split.validation);
  out.test = train::subset(all.data, split.test);
  out.test_rows = split.test;
  out.norm = train::compute_normalization(out.train.images);
  train::normalize_in_place(out.train.images, out.norm);
  train::normalize_in_place(out.validation.images, out.norm);
  train::normalize_in_place(out.test.images, out.norm);
  return out;
}

void write_predictions(const fs::path& path, const LabelledImages& all, const std::vector<int64_t>& rows,
                       const train::Evaluation& ev, const std::vector<std::string>& names) {
  std::string out = "path\tcorpus\tspeaker\ttrue\tpredicted\tconfidence\n";
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto& e = all.entries[static_cast<std::size_t>(rows[i])];
    const int p = ev.predicted[i];
    out += fmt::format("{}\t{}\t{}\t{}\t{}\t{:.4f}\n", e.path.string(), e.corpus, e.speaker, e.label_name, names[p],
                       ev.probabilities[i][p]);
  }
  write_file_atomically(path, out.data(), out.size());
}

}  // namespace

TrainOutcome run_training(const TrainOptions& options, bool resume) {
  validate(options);
  const auto t_start = std::chrono::steady_clock::now();
  const fs::path run = options.out_dir;
  prepare_run_folder(run);
  remove_stale_temp_files(run);  // left by a run that was killed mid-write
  const fs::path checkpoint_path = run / "checkpoint.safetensors";
  {  // a resumed run rewrites it too: --epochs, --patience, --device may have been changed
    const std::string json = options.to_json().dump(2) + "\n";
    write_file_atomically(run / "run.json", json.data(), json.size());
  }
  const Device device = resolve_device(options.device);

  // 1. Corpora -> manifest.
  const data::ClassSet classes = data::ClassSet::parse(options.corpus.classes);
  const data::IndexResult index = index_from_options(options.corpus, classes);
  if (options.progress) fmt::print(stderr, "{}", index.summary.table());
  SER_CHECK(!index.entries.empty(), "no usable audio files found under {}", fmt::join(options.corpus.data_dirs, ", "));
  data::write_manifest(run / "manifest.tsv", index.entries);

  // 2. Features.
  const features::LogMelConfig feature_config;
  FeatureOptions fopts{cache_of(options), options.threads, options.progress, Device::CPU};
  const LabelledImages all = extract_labelled(index.entries, feature_config, fopts);
  for (const auto& [path, why] : all.failures) fmt::print(stderr, "skipped {}: {}\n", path.string(), why);
  SER_CHECK(all.data.size() > 0, "every audio file failed to load; nothing to train on");

  // 3. Split and normalise.
  SplitData split = make_split_data(all, options);
  if (options.progress)
    fmt::print(stderr, "split ({}): train {}, validation {}, test {}{}\n", options.protocol, split.train.size(),
               split.validation.size(), split.test.size(),
               options.protocol == "seed" ? " (seed protocol: validation IS the test set, as in the notebook)" : "");

  // 4. Model, optimiser, state.
  nn::Architecture arch = nn::Architecture::seed(static_cast<int>(classes.names.size()));
  nn::Model model(arch, device);
  model.set_allow_tf32(options.math == "tf32");
  nn::Adam adam(nn::AdamConfig{options.lr}, model.parameter_count(), device);
  Generator generator(options.seed);
  train::TrainState state;
  train::ModelInfo info{classes.names, feature_config.to_json().dump(), split.norm};
  if (resume && fs::exists(checkpoint_path)) {
    train::ModelInfo saved;
    train::load_checkpoint(checkpoint_path, model, adam, generator, state, saved);
    SER_CHECK(saved.class_names == info.class_names, "{}: checkpoint classes differ from this run's",
              checkpoint_path.string());
    if (options.progress)
      fmt::print(stderr, "resuming {} after epoch {} (best validation accuracy {:.4f} at epoch {})\n", run.string(),
                 state.epochs_done, state.best_val_accuracy, state.best_epoch);
  } else {
    model.initialize(generator);
  }

  // 5. Train; a checkpoint after every epoch.
  train::TrainConfig tcfg;
  tcfg.epochs = options.epochs;
  tcfg.batch = options.batch;
  tcfg.patience = options.patience;
  tcfg.progress = options.progress;
  train::Trainer trainer(model, adam, generator, tcfg);
  trainer.fit(split.train, split.validation, state, [&](const train::TrainState& s) {
    train::save_checkpoint(checkpoint_path, model, adam, generator, s, info);
  });

  // 6. Model file, test evaluation, report.
  TrainOutcome outcome;
  outcome.model_path = run / "model.safetensors";
  train::save_model(outcome.model_path, model, info);
  const train::Evaluation test = train::evaluate(model, split.test);
  std::vector<int> truth(split.test.labels.begin(), split.test.labels.end());
  const Metrics metrics = compute_metrics(truth, test.predicted, static_cast<int>(classes.names.size()));
  write_predictions(run / "predictions.tsv", all, split.test_rows, test, classes.names);

  ReportInput report;
  report.title = fmt::format("{} protocol, test split of {} files (best epoch {} of {}{})", options.protocol,
                             split.test.size(), state.best_epoch, state.epochs_done,
                             state.stopped_early ? ", stopped early" : "");
  report.class_names = classes.names;
  report.metrics = metrics;
  report.history = state.history;
  report.best_epoch = state.best_epoch;
  report.run_info = options.to_json();
  report.run_info["files_used"] = all.data.size();
  report.run_info["files_failed"] = all.failures.size();
  report.run_info["split"] = {{"train", split.train.size()}, {"validation", split.validation.size()},
                              {"test", split.test.size()}};
  report.run_info["normalization"] = {{"mean", split.norm.mean}, {"std", split.norm.std}};
  report.run_info["best_epoch"] = state.best_epoch;
  report.run_info["device"] = device_name(device);
  report.run_info["wall_seconds"] =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  outcome.report_path = write_report(run, report);
  outcome.test_accuracy = metrics.accuracy;
  outcome.macro_f1 = metrics.macro_f1;
  return outcome;
}

}  // namespace ser::app
