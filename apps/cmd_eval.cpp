// `ser eval`: evaluate a saved model on labelled corpora and write a report.
#include <fmt/format.h>

#include <memory>

#include "apps/commands.h"
#include "apps/pipeline.h"
#include "apps/predict.h"
#include "apps/report.h"
#include "engine/core/error.h"
#include "engine/metrics.h"
#include "engine/train/checkpoint.h"

namespace ser::app {

void register_eval(CLI::App& app) {
  struct Args {
    std::string model;
    CorpusOptions corpus;
    std::string out;
    std::string cache;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("eval", "Evaluate a model on labelled corpora; writes metrics and pictures");
  cmd->add_option("--model", args->model, "Model file written by `ser train`")->required();
  cmd->add_option("--data", args->corpus.data_dirs, "Corpus folder (repeatable)")->required();
  cmd->add_option("--corpus", args->corpus.corpus, "Corpus kind(s), as for train")->capture_default_str();
  cmd->add_option("--out", args->out, "Report folder; each evaluation overwrites its report files (default: eval/ beside the model)");
  cmd->add_option("--cache", args->cache, "Feature cache folder ('none' disables)");
  cmd->callback([args] {
    train::LoadedModel loaded = load_model_option(args->model);
    const std::filesystem::path out =
        args->out.empty() ? std::filesystem::path(args->model).parent_path() / "eval" : std::filesystem::path(args->out);
    ensure_output_folder(out, "--out");  // before any work: a bad --out fails at once
    std::string class_list;
    for (const auto& n : loaded.info.class_names) class_list += (class_list.empty() ? "" : ",") + n;
    const data::ClassSet classes = data::ClassSet::parse(class_list);
    const data::IndexResult index = index_from_options(args->corpus, classes);
    print_index_report(index);
    SER_CHECK(!index.entries.empty(), "no usable audio files in the given folders");
    const features::LogMelConfig config = model_feature_config(loaded.info);
    FeatureOptions fopts;
    fopts.cache_dir = cache_dir_from_option(args->cache);
    LabelledImages all = extract_labelled(index.entries, config, fopts);
    for (const auto& [path, why] : all.failures) fmt::print(stderr, "skipped {}: {}\n", path.string(), why);
    SER_CHECK(all.data.size() > 0, "every audio file failed to load");
    train::normalize_in_place(all.data.images, loaded.info.normalization);
    const train::Evaluation ev = train::evaluate(*loaded.model, all.data);
    std::vector<int> truth(all.data.labels.begin(), all.data.labels.end());
    ReportInput report;
    std::string folders;
    for (const auto& d : args->corpus.data_dirs) folders += (folders.empty() ? "" : ", ") + d;
    report.title = fmt::format("evaluation of {} on {} files from {}", args->model, all.data.size(), folders);
    report.class_names = loaded.info.class_names;
    report.metrics = compute_metrics(truth, ev.predicted, static_cast<int>(classes.names.size()));
    report.run_info = {{"model", args->model}, {"data", args->corpus.data_dirs}, {"files", all.data.size()},
                       {"failed", all.failures.size()}};
    const auto html = write_report(out, report);
    fmt::print("accuracy {:.2f} %  macro F1 {:.4f}  ({} files)\nreport: {}\n", 100 * report.metrics.accuracy,
               report.metrics.macro_f1, all.data.size(), html.string());
  });
}

}  // namespace ser::app
