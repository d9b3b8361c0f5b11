// `ser eval`: evaluate a saved model on labelled corpora and write a report; the corpus
// streams through in chunks (memory: one chunk's images and one batch's activations).
// --perturb repeats the evaluation with every file under named conditions
// (features::apply_perturbation) and adds one row per condition to the report.
// --adapt-bn first re-estimates the model's batch-norm statistics on the evaluated files'
// audio, their labels unused (train::BatchNormAdapter), and writes the adapted model.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <functional>
#include <memory>

#include "apps/adapt.h"
#include "apps/cli_values.h"
#include "apps/commands.h"
#include "apps/model_info.h"
#include "apps/pipeline.h"
#include "apps/predict.h"
#include "apps/report.h"
#include "engine/core/error.h"
#include "engine/core/progress.h"
#include "engine/io/file.h"
#include "engine/metrics.h"
#include "engine/train/checkpoint.h"
#include "features/wave_augment.h"

namespace ser::app {
namespace {
// Memory: the corpus goes through in chunks of kImageChunkFiles (apps/adapt.h: their images
// are all that is held of it), each chunk through the network in batches of kEvalBatch,
// whose activations (about 12 MB per 128x128 image for the seed network) are the rest of
// the peak. The CPU's speed hardly changes between batches of 16 and 64.
constexpr int kEvalBatch = 16;

struct Predicted {
  std::vector<data::ManifestEntry> entries;  // (N) files that decoded, in manifest order
  std::vector<int> truth, predicted;         // (N)
  std::vector<std::vector<float>> probabilities;  // (N, classes)
  std::vector<std::pair<std::filesystem::path, std::string>> failures;
};

// Features (cached) and predictions of every entry, chunk by chunk.
Predicted predict_labelled(train::LoadedModel& loaded, const std::vector<data::ManifestEntry>& entries,
                           const features::LogMelConfig& config, const FeatureOptions& fopts) {
  Predicted out;
  for_each_image_chunk(loaded, entries, config, fopts, "evaluate", [&](LabelledImages& part) {
    out.failures.insert(out.failures.end(), part.failures.begin(), part.failures.end());
    if (part.data.size() == 0) return;
    const train::Evaluation ev = train::evaluate(*loaded.model, part.data, kEvalBatch);
    out.entries.insert(out.entries.end(), part.entries.begin(), part.entries.end());
    out.truth.insert(out.truth.end(), part.data.labels.begin(), part.data.labels.end());
    out.predicted.insert(out.predicted.end(), ev.predicted.begin(), ev.predicted.end());
    out.probabilities.insert(out.probabilities.end(), ev.probabilities.begin(), ev.probabilities.end());
  });
  return out;
}

// predictions.tsv: one line per file, as `ser train` writes for its test part.
void write_eval_predictions(const std::filesystem::path& path, const Predicted& p,
                            const std::vector<std::string>& names) {
  std::string out = "path\tcorpus\tspeaker\ttrue\tpredicted\tconfidence\n";
  for (std::size_t i = 0; i < p.entries.size(); ++i) {
    const auto& e = p.entries[i];
    const int k = p.predicted[i];
    out += fmt::format("{}\t{}\t{}\t{}\t{}\t{:.4f}\n", e.path.string(), e.corpus, e.speaker, e.label_name,
                       names[static_cast<std::size_t>(k)], p.probabilities[i][static_cast<std::size_t>(k)]);
  }
  write_file_atomically(path, out.data(), out.size());
}

// The --perturb value: "all" or a comma list of perturbation_names(), in the order given.
std::vector<std::string> parse_perturb_list(const std::string& value) {
  const std::vector<std::string> known = features::perturbation_names();
  if (value == "all") return known;
  std::string names;
  for (const auto& k : known) names += (names.empty() ? "" : ", ") + k;
  std::vector<std::string> out;
  std::size_t begin = 0;
  while (begin <= value.size()) {
    const std::size_t comma = std::min(value.find(',', begin), value.size());
    const std::string name = value.substr(begin, comma - begin);
    SER_CHECK(std::find(known.begin(), known.end(), name) != known.end(),
              "--perturb: unknown condition '{}' (conditions: {}, or all)", name, names);
    SER_CHECK(std::find(out.begin(), out.end(), name) == out.end(), "--perturb: '{}' is given twice", name);
    out.push_back(name);
    begin = comma + 1;
  }
  return out;
}

std::vector<std::size_t> all_rows(std::size_t n) {
  std::vector<std::size_t> rows(n);
  for (std::size_t i = 0; i < n; ++i) rows[i] = i;
  return rows;
}

// One row per condition: the same files, each perturbed before its log-mel (no cache).
Breakdown perturbation_breakdown(train::LoadedModel& loaded, const std::vector<data::ManifestEntry>& entries,
                                 const features::LogMelConfig& config, const FeatureOptions& fopts,
                                 const std::vector<std::string>& conditions, const Predicted& clean,
                                 const std::vector<std::string>& class_names) {
  Breakdown b{"perturbations", "Perturbation", {}};
  for (const std::string& name : conditions) {
    fmt::print(stderr, "condition {}\n", name);
    FeatureOptions perturbed = fopts;
    if (name != "clean")
      perturbed.waveform_transform = [name](const std::vector<float>& x, int sample_rate, std::size_t) {
        return features::apply_perturbation(name, x, sample_rate);
      };
    const Predicted p = name == "clean" ? clean : predict_labelled(loaded, entries, config, perturbed);
    for (const auto& [path, why] : p.failures)
      fmt::print(stderr, "skipped {} under {}: {}\n", path.string(), name, why);
    if (p.truth.empty()) continue;
    b.rows.push_back(breakdown_row(name, p.truth, p.probabilities, all_rows(p.truth.size()), class_names));
  }
  return b;
}

std::vector<std::string> corpus_of(const std::vector<data::ManifestEntry>& entries) {
  std::vector<std::string> out;
  for (const auto& e : entries) out.push_back(e.corpus);
  return out;
}

}  // namespace

void register_eval(CLI::App& app) {
  struct Args {
    std::string model;
    bool model_given = false;  // --model on the command line (else the shipped default)
    CorpusOptions corpus;
    std::string out;
    std::string cache;
    std::string perturb;
    bool adapt_bn = false;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("eval", "Evaluate a model on labelled corpora; writes metrics and pictures");
  cmd->add_option("--model", args->model,
                  "Model file written by `ser train`, or its run folder (default: the shipped model, "
                  "models/default.safetensors, or $SER_MODEL; docs/MODEL.md)");
  cmd->add_option("--data", args->corpus.data_dirs, "Corpus folder (repeatable)");
  add_labels_option(*cmd, args->corpus.labels, "ser eval evaluates every row, whatever its split.");
  cmd->add_option("--corpus", args->corpus.corpus, "Corpus kind(s), as for train")->capture_default_str();
  add_speaker_pattern_option(*cmd, args->corpus.speaker_pattern);
  cmd->add_option("--out", args->out, "Report folder; each evaluation overwrites its report files (default: eval/ beside the model)");
  cmd->add_option("--cache", args->cache, "Feature cache folder ('none' disables)");
  cmd->add_option("--perturb", args->perturb,
                  "Also evaluate every file under these conditions, one report row each: 'all' or a comma list of " +
                      [] {
                        std::string names;
                        for (const auto& k : features::perturbation_names()) names += (names.empty() ? "" : ",") + k;
                        return names;
                      }() +
                      " (fixed settings, docs/RECIPES.md; computed without the cache)");
  cmd->add_flag("--adapt-bn", args->adapt_bn,
                "Unsupervised adaptation: first re-estimate the model's batch-norm statistics on these files' audio "
                "(their labels are not used; AdaBN), evaluate the adapted model and write it as "
                "OUT/model-adapted.safetensors (for `ser predict --model`). For recordings of one new microphone, room "
                "or corpus; a few hundred files are enough");
  cmd->callback([cmd, args] {
    args->model_given = cmd->count("--model") > 0;
    const std::vector<std::string> conditions =
        args->perturb.empty() ? std::vector<std::string>{} : parse_perturb_list(args->perturb);
    const bool default_model = !args->model_given;
    const std::filesystem::path model = model_or_default(args->model, args->model_given);
    train::LoadedModel loaded = load_model_option(model);
    // Beside a run's model its eval/ folder; the shipped model's folder is the source tree's, so ./eval.
    const std::filesystem::path out = !args->out.empty() ? std::filesystem::path(args->out)
                                      : default_model      ? std::filesystem::path("eval")
                                                           : model_file_from_option(model).parent_path() / "eval";
    if (args->out.empty()) fmt::print(stderr, "writing report to {} (--out to change)\n", out.string());
    ensure_output_folder(out, "--out");  // before any work: a bad --out fails at once
    std::string class_list;
    for (const auto& n : loaded.info.class_names) class_list += (class_list.empty() ? "" : ",") + n;
    const data::ClassSet classes = data::ClassSet::parse(class_list);
    const data::IndexResult index = index_from_options(args->corpus, classes);
    print_index_report(index, IndexUse::Evaluation);
    SER_CHECK(!index.entries.empty(), "no usable audio files in the given folders");
    const features::LogMelConfig config = model_feature_config(loaded.info);
    FeatureOptions fopts;
    fopts.cache_dir = cache_dir_from_option(args->cache);
    AdaptationResult adapted;
    if (args->adapt_bn) {
      adapted = adapt_batchnorm(loaded, index.entries, fopts);
      warn_if_few_adaptation_files(adapted.files);
      const std::filesystem::path adapted_file = out / "model-adapted.safetensors";
      train::save_model(adapted_file, *loaded.model,
                        adapted_model_info(loaded.info, args->corpus.data_dirs, adapted, model));
      fmt::print(stderr, "batch norm adapted on {} windows of {} files: {}\n", adapted.windows, adapted.files,
                 adapted_file.string());
    }
    const Predicted all = predict_labelled(loaded, index.entries, config, fopts);
    for (const auto& [path, why] : all.failures) fmt::print(stderr, "skipped {}: {}\n", path.string(), why);
    SER_CHECK(!all.truth.empty(), "every audio file failed to load");
    ReportInput report;
    std::string folders;
    for (const auto& d : args->corpus.data_dirs) folders += (folders.empty() ? "" : ", ") + d;
    report.title = fmt::format("evaluation of {} on {} files from {}", model.string(), all.truth.size(), folders);
    if (args->adapt_bn)
      report.title += fmt::format(", its batch-norm statistics adapted to these files first (the model evaluated is {})",
                                  (out / "model-adapted.safetensors").string());
    report.class_names = loaded.info.class_names;
    report.metrics = compute_metrics(all.truth, all.predicted, static_cast<int>(classes.names.size()));
    report.breakdowns.push_back(per_corpus_breakdown(corpus_of(all.entries), all.truth, all.probabilities, classes.names));
    if (!conditions.empty())
      report.breakdowns.push_back(
          perturbation_breakdown(loaded, index.entries, config, fopts, conditions, all, classes.names));
    report.run_info = {{"model", model.string()}, {"data", args->corpus.data_dirs}, {"files", all.truth.size()},
                       {"failed", all.failures.size()}};
    if (!conditions.empty()) report.run_info["perturb"] = conditions;
    if (args->adapt_bn) report.run_info["adapted_bn_windows"] = adapted.windows;
    const auto html = write_report(out, report);
    write_eval_predictions(out / "predictions.tsv", all, classes.names);
    fmt::print("accuracy {:.2f} %  UAR {:.4f}  macro F1 {:.4f}  ({} files)\n", 100 * report.metrics.accuracy,
               report.metrics.uar, report.metrics.macro_f1, all.truth.size());
    for (const Breakdown& b : report.breakdowns)
      if (!b.empty()) fmt::print("{}", text_table(b));
    fmt::print("report: {}\npredictions: {}\n", html.string(), (out / "predictions.tsv").string());
  });
}

}  // namespace ser::app
