// Orchestration of one training run (see train_run.h).
#include "apps/train_run.h"

#include <fmt/format.h>


#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include "apps/augmented_copies.h"
#include "apps/cli_values.h"
#include "apps/clip_lengths.h"
#include "apps/interrupt.h"
#include "apps/run_folder.h"
#include "apps/report.h"
#include "engine/core/error.h"
#include "engine/core/path_not_found.h"
#include "engine/io/file.h"
#include "engine/io/json_number.h"
#include "engine/metrics.h"
#include "engine/nn/adam.h"
#include "engine/nn/model.h"
#include "engine/train/checkpoint.h"
#include "engine/train/trainer.h"
#include "features/wave_augment.h"

namespace ser::app {
namespace fs = std::filesystem;

nlohmann::json TrainOptions::to_json() const {
  return {{"data", corpus.data_dirs}, {"corpus", corpus.corpus}, {"classes", corpus.classes},
          {"out", out_dir.string()},  {"protocol", protocol},    {"recipe", recipe},
          {"seed", seed},             {"device", device},        {"cache", cache_dir},
          {"threads", threads},       {"math", math},            {"val_speakers", val_speakers},
          {"test_speakers", test_speakers}, {"val_corpus", val_corpus}, {"test_corpus", test_corpus},
          {"labels", corpus.labels}, {"speaker_pattern", corpus.speaker_pattern}};
}

TrainOptions TrainOptions::from_json(const nlohmann::json& j) {
  TrainOptions o;
  o.corpus.data_dirs = j.at("data").get<std::vector<std::string>>();
  o.corpus.corpus = j.at("corpus").get<std::string>();
  o.corpus.classes = j.at("classes").get<std::string>();
  if (j.contains("labels")) o.corpus.labels = j.at("labels").get<std::vector<std::string>>();
  o.corpus.speaker_pattern = j.value("speaker_pattern", std::string());  // absent before --speaker-pattern
  o.out_dir = j.at("out").get<std::string>();
  o.protocol = j.at("protocol").get<std::string>();
  if (j.contains("recipe")) {
    o.recipe = j.at("recipe").get<train::Recipe>();
  } else {  // run.json of a version before recipes: the notebook's loop with its numbers
    o.recipe = train::Recipe::named("seed");
    o.recipe.epochs = json_to_int(j.at("epochs"), "run.json", "epochs");
    o.recipe.batch = json_to_int(j.at("batch"), "run.json", "batch");
    o.recipe.lr = json_to_double(j.at("lr"), "run.json", "lr");
    o.recipe.patience = json_to_int(j.at("patience"), "run.json", "patience");
  }
  o.seed = json_to_uint64(j.at("seed"), "run.json", "seed");
  o.device = j.at("device").get<std::string>();
  o.cache_dir = j.at("cache").get<std::string>();
  o.threads = json_to_int(j.at("threads"), "run.json", "threads");
  o.math = j.value("math", std::string("fp32"));  // absent in run.json files of older versions
  o.val_speakers = j.value("val_speakers", std::string());
  o.test_speakers = j.value("test_speakers", std::string());
  o.val_corpus = j.value("val_corpus", std::string());  // absent before leave-corpus-out
  o.test_corpus = j.value("test_corpus", std::string());
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

// A --labels split column chooses the split (--protocol list): no other option may.
void check_split_column(const TrainOptions& o) {
  const std::vector<std::string> lists = lists_with_splits(o.corpus);
  if (lists.empty()) {
    SER_CHECK(o.protocol != "list", "--protocol list: no --labels list has a split column (rows "
                                    "path,label,speaker,split, or a header naming 'split')");
    return;
  }
  const std::string source = fmt::format("--labels {}: its split column", fmt::join(lists, ", "));
  const std::pair<const char*, const std::string*> named[] = {{"--val-speakers", &o.val_speakers},
                                                              {"--test-speakers", &o.test_speakers},
                                                              {"--val-corpus", &o.val_corpus},
                                                              {"--test-corpus", &o.test_corpus}};
  for (const auto& [option, value] : named)
    SER_CHECK(value->empty(), "{} and {} both choose the split; give one of them", source, option);
  SER_CHECK(o.protocol == "list", "{} and --protocol {} both choose the split; give one of them", source, o.protocol);
}

// Option values, and the kind of every path: nothing is created or written here (the label
// lists are read, for their split column).
void validate(const TrainOptions& o) {
  const train::Recipe& r = o.recipe;
  SER_CHECK(r.epochs >= 1 && r.epochs <= kMaxEpochs, "--epochs must be in [1, {}], got {}", kMaxEpochs, r.epochs);
  SER_CHECK(r.batch >= 1 && r.batch <= kMaxBatch, "--batch must be in [1, {}], got {}", kMaxBatch, r.batch);
  SER_CHECK(r.lr > 0 && r.lr < kMaxLearningRate, "--lr must be in (0, {}), got {}", kMaxLearningRate, r.lr);
  SER_CHECK(r.patience >= 1, "--patience must be at least 1, got {}", r.patience);
  r.validate();
  if (r.wave_augment != "none") features::WaveAugmentConfig::parse(r.wave_augment).validate();
  SER_CHECK(o.threads >= 0 && o.threads <= kMaxThreads, "--threads must be in [0, {}] (0 = all cores), got {}",
            kMaxThreads, o.threads);
  SER_CHECK(!o.out_dir.empty(), "--out: empty path");
  check_split_column(o);
  SER_CHECK(o.test_speakers.empty() || !o.val_speakers.empty(),
            "--test-speakers needs --val-speakers too (the validation speakers choose the epochs to keep)");
  SER_CHECK(o.val_corpus.empty() || o.val_speakers.empty(), "give --val-corpus or --val-speakers, not both");
  SER_CHECK(o.test_corpus.empty() || !o.val_corpus.empty() || !o.val_speakers.empty(),
            "--test-corpus needs --val-corpus or --val-speakers too (the validation part chooses the epochs to keep)");
  if (!o.val_corpus.empty()) data::parse_corpus_list(o.val_corpus);
  if (!o.test_corpus.empty()) data::parse_corpus_list(o.test_corpus);
  if (!o.val_corpus.empty() || !o.test_corpus.empty())
    SER_CHECK(o.protocol == "speaker", "--val-corpus / --test-corpus make a named split; they cannot be combined "
              "with --protocol {}", o.protocol);
  if (!o.val_speakers.empty()) {
    SER_CHECK(o.protocol == "speaker", "--val-speakers makes a speaker split; it cannot be combined with --protocol {}",
              o.protocol);
    data::parse_speaker_list(o.val_speakers);  // malformed lists are refused before any work
    if (!o.test_speakers.empty()) data::parse_speaker_list(o.test_speakers);
  }
  SER_CHECK(!o.corpus.data_dirs.empty() || !o.corpus.labels.empty(),
            "no corpus given: pass --data DIR (repeatable) or --labels FILE.csv");
  std::error_code ec;
  for (const std::string& dir : o.corpus.data_dirs) {
    SER_CHECK_FOUND(fs::exists(dir, ec), dir, "--data {}: no such folder", dir);
    SER_CHECK(fs::is_directory(dir, ec), "--data {}: is not a folder", dir);
  }
  if (!o.cache_dir.empty() && o.cache_dir != "none")
    SER_CHECK(!fs::exists(o.cache_dir, ec) || fs::is_directory(o.cache_dir, ec), "--cache {}: is not a folder",
              o.cache_dir);
}

// The same options with data folders, cache and run folder as absolute paths.
TrainOptions with_absolute_paths(TrainOptions o) {
  for (std::string& dir : o.corpus.data_dirs) dir = fs::absolute(dir).lexically_normal().string();
  if (!o.cache_dir.empty() && o.cache_dir != "none") o.cache_dir = fs::absolute(o.cache_dir).lexically_normal().string();
  o.out_dir = fs::absolute(o.out_dir).lexically_normal();
  return o;
}

// A new run into a folder that holds one: refused (B2) unless the options say replace.
void check_not_reusing(const fs::path& run, const TrainOptions& o) {
  if (o.existing_run == ExistingRun::replace || !holds_run(run)) return;
  SER_FAIL("{} already holds a run ({}): continue it with `ser train --resume {}`, choose another --out, or pass "
           "--force to replace it",
           run.string(), describe_run(run), run.string());
}

// The first writes of the run, once everything that can be checked is: the folder, then
// run.json (a resumed run rewrites it too: --epochs, --patience, --device may have been
// changed) and, unless the run continues from a checkpoint, its manifest.
void start_writing(const fs::path& run, const TrainOptions& o, bool resume, bool from_checkpoint,
                   const std::vector<data::ManifestEntry>& manifest) {
  // Only a new run replaces (--force); a resumed one never deletes its own files.
  if (!resume && o.existing_run == ExistingRun::replace && holds_run(run)) clear_run(run);
  std::error_code ec;
  fs::create_directories(run, ec);
  SER_CHECK(!ec, "{}: cannot create the run folder: {}", run.string(), ec.message());
  remove_stale_temp_files(run);  // left by a run that was killed mid-write
  const std::string json = o.to_json().dump(2) + "\n";
  write_file_atomically(run / "run.json", json.data(), json.size());
  if (!from_checkpoint) data::write_manifest(run / "manifest.tsv", manifest);
}

// The model file's "training" metadata: run.json with each data folder reduced to its name
// (no paths of this machine), and the training files and speakers per corpus.
std::string training_provenance(const TrainOptions& o, const std::vector<data::ManifestEntry>& entries,
                                const std::vector<int64_t>& train_rows) {
  nlohmann::json j = o.to_json();
  if (j.contains("data") && j["data"].is_array())
    for (auto& d : j["data"])
      if (d.is_string()) d = fs::path(d.get<std::string>()).lexically_normal().filename().string();
  j.erase("out");
  j.erase("cache");
  std::map<std::string, std::set<std::string>> speakers;
  std::map<std::string, int64_t> files;
  for (int64_t row : train_rows) {
    const auto& e = entries[static_cast<std::size_t>(row)];
    ++files[e.corpus];
    speakers[e.corpus].insert(e.speaker);
  }
  nlohmann::json per_corpus = nlohmann::json::object();
  for (const auto& [corpus, n] : files)
    per_corpus[corpus] = {{"files", n}, {"speakers", speakers[corpus].size()}};
  j["training_files"] = per_corpus;
  return j.dump();
}

fs::path cache_of(const TrainOptions& o) { return cache_dir_from_option(o.cache_dir); }

// (M) each entry's corpus as an index into the sorted corpus names (corpus-balanced sampling).
std::vector<int32_t> corpus_groups(const std::vector<data::ManifestEntry>& entries) {
  std::vector<std::string> names;
  for (const auto& e : entries) names.push_back(e.corpus);
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  std::vector<int32_t> groups;
  groups.reserve(entries.size());
  for (const auto& e : entries)
    groups.push_back(static_cast<int32_t>(std::lower_bound(names.begin(), names.end(), e.corpus) - names.begin()));
  return groups;
}

// Datasets of one split, normalised with statistics of its training part.
struct SplitData {
  train::Dataset train, validation, test;
  train::Normalization norm;
  std::vector<int64_t> train_rows;  // rows of the labelled set that form the training part
  std::vector<int64_t> test_rows;  // rows of the labelled set that form the test part
  bool test_is_validation = false;  // named speakers (or a split column) without a test part: report on validation
};

// The split of named speakers or corpora (no random part): --test-corpus's files to test, then
// of the rest --val-corpus's, or --val-speakers' (and --test-speakers'), to validation.
data::Split named_split(const std::vector<data::ManifestEntry>& entries, const TrainOptions& o) {
  const std::vector<std::string> test_corpora =
      o.test_corpus.empty() ? std::vector<std::string>{} : data::parse_corpus_list(o.test_corpus);
  data::Split by_corpus = data::corpus_split(entries, {}, test_corpora);
  std::vector<data::ManifestEntry> rest;
  for (int64_t i : by_corpus.train) rest.push_back(entries[static_cast<std::size_t>(i)]);
  const data::Split inner =
      !o.val_corpus.empty()
          ? data::corpus_split(rest, data::parse_corpus_list(o.val_corpus), {})
          : data::named_speaker_split(rest, data::parse_speaker_list(o.val_speakers),
                                      o.test_speakers.empty() ? std::vector<std::string>{}
                                                              : data::parse_speaker_list(o.test_speakers));
  auto back = [&](const std::vector<int64_t>& rows) {
    std::vector<int64_t> out;
    for (int64_t r : rows) out.push_back(by_corpus.train[static_cast<std::size_t>(r)]);
    return out;
  };
  data::Split split{back(inner.train), back(inner.validation), back(inner.test)};
  split.test.insert(split.test.end(), by_corpus.test.begin(), by_corpus.test.end());
  std::sort(split.test.begin(), split.test.end());
  SER_CHECK(!split.validation.empty(), "the named validation part has no files");
  return split;
}

data::Split split_entries(const std::vector<data::ManifestEntry>& entries, const TrainOptions& o) {
  if (o.protocol == "list") return data::listed_split(entries);
  if (!o.val_corpus.empty() || !o.test_corpus.empty()) {
    const data::Split split = named_split(entries, o);
    SER_CHECK(!split.train.empty(), "--val-corpus / --test-corpus / --val-speakers leave no files to train on");
    return split;
  }
  if (o.val_speakers.empty()) {
    const data::Split split = data::make_split(entries, data::parse_protocol(o.protocol), o.seed);
    SER_CHECK(!split.train.empty() && !split.validation.empty() && !split.test.empty(),
              "the {} split left an empty part (train {}, validation {}, test {}): the corpus is too small", o.protocol,
              split.train.size(), split.validation.size(), split.test.size());
    return split;
  }
  const data::Split split = data::named_speaker_split(
      entries, data::parse_speaker_list(o.val_speakers),
      o.test_speakers.empty() ? std::vector<std::string>{} : data::parse_speaker_list(o.test_speakers));
  SER_CHECK(!split.train.empty(), "--val-speakers / --test-speakers name every speaker: nobody is left to train on");
  return split;
}

SplitData make_split_data(const LabelledImages& all, const TrainOptions& o) {
  data::Split split = split_entries(all.entries, o);
  SplitData out;
  if (split.test.empty()) {  // named validation speakers only: the final report is on them
    split.test = split.validation;
    out.test_is_validation = true;
  }
  out.train = train::subset(all.data, split.train);
  out.validation = train::subset(all.data, split.validation);
  out.test = train::subset(all.data, split.test);
  out.test_rows = split.test;
  out.train_rows = split.train;
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

// Model, optimiser, generator and training state of one run, on one device.
struct Learner {
  Learner(const nn::Architecture& arch, Device device, const TrainOptions& o)
      : model(arch, device), adam(o.recipe.adam_config(0), model.parameter_count(), device), generator(o.seed) {
    model.set_allow_tf32(o.math == "tf32");
  }
  nn::Model model;
  nn::Adam adam;
  Generator generator;
  train::TrainState state;
};

// Restores a resumed run's checkpoint, before any indexing or extraction: a damaged file,
// or one of another run (architecture, classes, seed, more epochs than run.json ever
// planned), is refused with one line. Returns the checkpoint's model information.
train::ModelInfo restore_checkpoint(const fs::path& path, const std::vector<std::string>& class_names,
                                    const TrainOptions& o, Learner& learner) {
  const CheckpointSummary saved = read_checkpoint_summary(path);
  const nn::Architecture& arch = learner.model.architecture();
  SER_CHECK(saved.architecture == arch && saved.class_names == class_names,
            "{}: checkpoint does not belong to this run: its architecture {} with classes {} differs from this "
            "run's {} with classes {}",
            path.string(), saved.architecture.to_json(), fmt::join(saved.class_names, ","), arch.to_json(),
            fmt::join(class_names, ","));
  SER_CHECK(saved.seed == o.seed, "{}: checkpoint does not belong to this run: it was trained with seed {}, run.json says {}",
            path.string(), saved.seed, o.seed);
  train::ModelInfo info;
  try {
    train::load_checkpoint(path, learner.model, learner.adam, learner.generator, learner.state, info);
  } catch (const Error& e) {
    throw Error(fmt::format("{}: checkpoint.safetensors is truncated or corrupt ({})", path.string(), user_message(e)));
  }
  return info;
}

// A run stopped early under a smaller patience continues when --patience now allows more
// epochs without improvement (the counters in the state are those of the uninterrupted run).
void apply_new_patience(train::TrainState& state, const TrainOptions& o) {
  if (state.stopped_early && o.recipe.patience > state.epochs_without_improvement) state.stopped_early = false;
}

// Why a restored run has no epoch left to train ("" when it has), with what to pass. A
// one-cycle schedule is laid out for its epochs, so such a run cannot be extended.
std::string nothing_left(const train::TrainState& state, const TrainOptions& o, const fs::path& run) {
  const bool epochs_used = state.epochs_done >= o.recipe.epochs;
  if (!epochs_used && !state.stopped_early) return "";
  const bool extensible = o.recipe.lr_schedule == "constant";
  std::vector<std::string> pass;
  if (epochs_used && extensible) pass.push_back(fmt::format("--epochs N larger than {}", state.epochs_done));
  if (state.stopped_early)
    pass.push_back(fmt::format("--patience P larger than {}", state.epochs_without_improvement));
  const std::string head =
      state.stopped_early
          ? fmt::format("run stopped early at epoch {} (best {}, patience {})", state.epochs_done, state.best_epoch,
                        state.epochs_without_improvement)
          : fmt::format("run finished {} {} epoch{} (best {})", state.epochs_done == 1 ? "its" : "all", state.epochs_done,
                        state.epochs_done == 1 ? "" : "s", state.best_epoch);
  if (pass.empty())
    return fmt::format("{}: nothing to do; its one-cycle learning-rate schedule ended with its {} epoch{} (start a "
                       "new run to train longer)", head, o.recipe.epochs, o.recipe.epochs == 1 ? "" : "s");
  return fmt::format("{}: nothing to do; pass {} to continue (`ser train --resume {} ...`)", head,
                     fmt::join(pass, " and "), run.string());
}

// Refuses a resumed run whose corpus no longer indexes to the manifest it recorded: the
// split would change, and files trained on could land in validation or test.
void check_corpus_unchanged(const fs::path& run, const std::vector<data::ManifestEntry>& now) {
  const fs::path manifest = run / "manifest.tsv";
  SER_CHECK(fs::exists(manifest), "{}: missing, so the corpus cannot be checked against the one this run trained on",
            manifest.string());
  const ManifestDiff diff = compare_manifests(data::read_manifest(manifest), now);
  SER_CHECK(diff.empty(),
            "the corpus changed since this run started: {}; resuming would change its split (restore the files, "
            "or start a new run with another --out)",
            describe(diff));
}

// The checkpoint's normalisation came from the training split of the corpus it was trained
// on; a different one means the checkpoint comes from another run.
void check_same_normalization(const fs::path& checkpoint, const train::Normalization& saved,
                              const train::Normalization& now) {
  auto close = [](double a, double b) { return std::abs(a - b) <= 1e-4 * std::max(1.0, std::abs(b)); };
  SER_CHECK(close(saved.mean, now.mean) && close(saved.std, now.std),
            "{}: checkpoint does not belong to this run: it was trained on data with mean {} and std {}, this run's "
            "training split has mean {} and std {}",
            checkpoint.string(), saved.mean, saved.std, now.mean, now.std);
}

std::string stop_reason(const train::TrainState& state, const train::Recipe& recipe) {
  const std::string kept = recipe.keep == "best" ? "the best epoch's weights kept" : "the last epoch's weights kept";
  if (state.stopped_early)
    return fmt::format("stopped early at epoch {} (best {}, patience {}); {}", state.epochs_done, state.best_epoch,
                       state.epochs_without_improvement, kept);
  return fmt::format("finished {} epoch{} (best {}); {}", state.epochs_done, state.epochs_done == 1 ? "" : "s",
                     state.best_epoch, kept);
}

TrainOutcome existing_outcome(const fs::path& run, std::string why) {
  TrainOutcome out;
  out.trained = false;
  out.why = std::move(why);
  out.model_path = run / "model.safetensors";
  out.report_path = run / "report.html";
  return out;
}

// 6. Model file, test evaluation, report.
TrainOutcome write_results(const fs::path& run, const TrainOptions& options, const data::ClassSet& classes,
                           const LabelledImages& all, const SplitData& split, Learner& learner,
                           const train::ModelInfo& info, Device device, double wall_seconds) {
  const train::TrainState& state = learner.state;
  TrainOutcome outcome;
  outcome.why = stop_reason(state, options.recipe);
  outcome.model_path = run / "model.safetensors";
  train::save_model(outcome.model_path, learner.model, info);
  const train::Evaluation test = train::evaluate(learner.model, split.test);
  std::vector<int> truth(split.test.labels.begin(), split.test.labels.end());
  const Metrics metrics = compute_metrics(truth, test.predicted, static_cast<int>(classes.names.size()));
  write_predictions(run / "predictions.tsv", all, split.test_rows, test, classes.names);

  ReportInput report;
  const std::string weights =
      options.recipe.keep == "best"
          ? fmt::format("best epoch {} of {}", state.best_epoch, state.epochs_done)
          : fmt::format("last epoch {}; best validation epoch {}", state.epochs_done, state.best_epoch);
  const std::string no_test = options.protocol == "list" ? "validation rows (the split column names no test rows)"
                                                         : "validation speakers (no test speakers named)";
  report.title = fmt::format("{} recipe, {} protocol, {} of {} files ({}{})", options.recipe.name, options.protocol,
                             split.test_is_validation ? no_test : "test split",
                             split.test.size(), weights, state.stopped_early ? ", stopped early" : "");
  report.class_names = classes.names;
  report.metrics = metrics;
  std::vector<std::string> test_corpora;
  for (int64_t r : split.test_rows) test_corpora.push_back(all.entries[static_cast<std::size_t>(r)].corpus);
  report.breakdowns.push_back(per_corpus_breakdown(test_corpora, truth, test.probabilities, classes.names));
  if (options.progress && !report.breakdowns.back().empty())
    fmt::print(stderr, "{}", text_table(report.breakdowns.back()));
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
  report.run_info["wall_seconds"] = wall_seconds;
  outcome.report_path = write_report(run, report);
  outcome.evaluated_on = split.test_is_validation ? "validation" : "test";
  outcome.test_accuracy = metrics.accuracy;
  outcome.macro_f1 = metrics.macro_f1;
  return outcome;
}

// Where a run learns that it should stop: the command line's SIGINT / SIGTERM handlers
// (interrupt.h), or the caller's TrainHooks::pending_signal, which installs none.
class StopRequests {
 public:
  StopRequests(const TrainHooks& hooks, std::string before_training_line)
      : poll_(hooks.pending_signal), before_training_line_(std::move(before_training_line)) {
    if (!poll_) handler_.emplace(before_training_line_);
  }

  // Before training, nothing written yet: a pending request ends the run here, as the
  // handler does at once (it exits, so with it this never throws).
  void check_before_training() const {
    if (const int sig = pending(); sig != 0) throw TrainingInterrupted(before_training_line_, sig);
  }
  // From here a request stops training at the next epoch's checkpoint.
  void training_started() {
    if (handler_) handler_->training_started();
  }
  // After the checkpoint of `epochs_done` epochs: a pending request ends the run there.
  void check_after_epoch(int epochs_done, const fs::path& run) const {
    if (const int sig = pending(); sig != 0)
      throw TrainingInterrupted(
          fmt::format("interrupted after epoch {}; continue with `ser train --resume {}`", epochs_done, run.string()),
          sig);
  }

 private:
  int pending() const { return handler_ ? handler_->signal() : poll_(); }

  std::function<int()> poll_;
  std::string before_training_line_;
  std::optional<InterruptHandler> handler_;
};

}  // namespace

TrainOutcome run_training(const TrainOptions& given, bool resume, const TrainHooks& hooks) {
  const auto t_start = std::chrono::steady_clock::now();
  // 0. Everything that can be checked without writing: options, paths, device, classes,
  //    the run folder, and a resumed run's checkpoint.
  validate(given);
  const TrainOptions options = with_absolute_paths(given);
  const fs::path run = options.out_dir;
  const Device device = resolve_device(options.device);
  const data::ClassSet classes = resolve_classes(options.corpus);
  check_run_folder_writable(run);
  if (!resume) check_not_reusing(run, options);
  StopRequests stops(
      hooks, resume ? fmt::format("interrupted before training resumed; continue with `ser train --resume {}`", run.string())
                    : fmt::format("interrupted before training started; nothing was written to {}", run.string()));

  // The recipe's front end sets the network's input: (n_mels, image_width) images, or the
  // windows of the fixed time axis.
  const features::LogMelConfig feature_config = features::LogMelConfig::named(options.recipe.frontend);
  nn::Architecture architecture = options.recipe.architecture;
  architecture.classes = static_cast<int>(classes.names.size());
  architecture.height = feature_config.image_height;
  architecture.width = feature_config.network_width();
  Learner learner(architecture, device, options);
  const fs::path checkpoint_path = run / "checkpoint.safetensors";
  const bool from_checkpoint = resume && fs::exists(checkpoint_path);
  train::ModelInfo saved;
  if (from_checkpoint) {
    saved = restore_checkpoint(checkpoint_path, classes.names, options, learner);
    apply_new_patience(learner.state, options);
    const std::string done = nothing_left(learner.state, options, run);
    if (!done.empty() && fs::exists(run / "model.safetensors") && fs::exists(run / "report.html"))
      return existing_outcome(run, done);
    if (options.progress)
      fmt::print(stderr, "resuming {} after epoch {} (best validation accuracy {:.4f} at epoch {})\n", run.string(),
                 learner.state.epochs_done, learner.state.best_val_accuracy, learner.state.best_epoch);
  } else {
    if (resume && options.progress) fmt::print(stderr, "{}: no checkpoint yet: starting at epoch 1\n", run.string());
    learner.model.initialize(learner.generator);
  }

  // 1. Corpora -> manifest (a resumed run's must match the one it recorded).
  const data::IndexResult index = index_from_options(options.corpus, classes);
  if (options.progress) print_index_report(index, IndexUse::Training);
  SER_CHECK(!index.entries.empty(), "no usable audio files found under {}", fmt::join(options.corpus.data_dirs, ", "));
  check_classes_have_files(index, options.corpus.classes);
  if (from_checkpoint) check_corpus_unchanged(run, index.entries);
  stops.check_before_training();

  // 2. Features.
  FeatureOptions fopts;
  fopts.cache_dir = cache_of(options);
  fopts.threads = options.threads;
  fopts.progress = options.progress;
  LabelledImages all = extract_labelled(index.entries, feature_config, fopts);
  all.data.groups = corpus_groups(all.entries);
  for (const auto& [path, why] : all.failures) fmt::print(stderr, "skipped {}: {}\n", path.string(), why);
  SER_CHECK(all.data.size() > 0, "every audio file failed to load; nothing to train on");
  stops.check_before_training();

  // 3. Split and normalise.
  SplitData split = make_split_data(all, options);
  check_classes_have_training_files(classes.names, split.train.labels, options.corpus.classes);
  if (options.progress)
    fmt::print(stderr, "split ({}): train {}, validation {}, test {}{}\n", options.protocol, split.train.size(),
               split.validation.size(), split.test_is_validation ? 0 : split.test.size(),
               options.protocol == "seed" ? " (seed protocol: validation IS the test set, as in the notebook)"
               : !split.test_is_validation ? ""
               : options.protocol == "list"
                   ? " (no test rows in the split column: the final report is on the validation rows)"
                   : " (no --test-speakers: the final report is on the validation speakers)");
  if (from_checkpoint) check_same_normalization(checkpoint_path, saved.normalization, split.norm);
  if (options.recipe.wave_copies > 0) {  // the variants, normalised as the clean images
    std::vector<data::ManifestEntry> train_entries;
    for (int64_t row : split.train_rows) train_entries.push_back(all.entries[static_cast<std::size_t>(row)]);
    split.train.variants =
        augmented_copies(train_entries, feature_config, features::WaveAugmentConfig::parse(options.recipe.wave_augment),
                         options.recipe.wave_copies, options.seed, fopts);
    train::normalize_in_place(split.train.variants, split.norm);
    stops.check_before_training();
  }

  // 4. The run folder's first writes. From here a signal no longer exits at once (the
  //    folder would be half written): it stops training at the next epoch's checkpoint.
  stops.training_started();
  start_writing(run, options, resume, from_checkpoint, index.entries);

  // 5. Train; a checkpoint after every epoch, the caller's epoch_done, and a stop there
  //    after SIGINT / SIGTERM.
  train::TrainConfig tcfg = options.recipe.train_config();
  tcfg.progress = options.progress;
  const int64_t steps_per_epoch = (split.train.size() + tcfg.batch - 1) / tcfg.batch;
  learner.adam.set_schedule(options.recipe.adam_config(steps_per_epoch).schedule);
  const train::ModelInfo info{classes.names, feature_config.to_json().dump(), split.norm,
                              measure_clip_lengths(all.entries),  // ser predict's default window
                              training_provenance(options, all.entries, split.train_rows)};
  train::Trainer trainer(learner.model, learner.adam, learner.generator, tcfg);
  trainer.fit(split.train, split.validation, learner.state, [&](const train::TrainState& s) {
    train::save_checkpoint(checkpoint_path, learner.model, learner.adam, learner.generator, s, info);
    if (hooks.epoch_done) hooks.epoch_done(s, options.recipe.epochs);
    stops.check_after_epoch(s.epochs_done, run);
  });

  return write_results(run, options, classes, all, split, learner, info, device,
                       std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count());
}

}  // namespace ser::app
