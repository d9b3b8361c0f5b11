// `ser predict`: the emotion of audio files, folders of them, and long recordings (a
// timeline of windows merged into segments), with a trained model file. Output: a header
// line, then one TSV row per segment (file, start, end, emotion, mean probability; empty
// for silence), or with --json one object per file per line (windows, segments, summary);
// --plot draws one recording as SVG. The JSON object is apps/prediction_json.h's.
#include <fmt/format.h>
#include <unistd.h>

#include <cctype>
#include <iostream>
#include <memory>

#include "apps/adapt.h"
#include "apps/cli_values.h"
#include "apps/commands.h"
#include "apps/interrupt.h"
#include "apps/model_info.h"
#include "apps/predict.h"
#include "apps/predict_inputs.h"
#include "apps/prediction_json.h"
#include "apps/timeline_svg.h"
#include "apps/train_run.h"
#include "engine/core/error.h"
#include "engine/io/file.h"

namespace ser::app {
namespace {

struct Args {
  std::string model;
  bool model_given = false;  // --model on the command line (else the shipped default)
  std::vector<std::string> inputs;
  std::string files_from;
  bool json = false;
  double window = 0, hop = 0, min_level = kDefaultMinLevelDb;
  bool whole = false;
  std::string plot;
  int batch = kDefaultPredictBatch;
  int threads = 0;
  std::string device = "auto";
  bool adapt_bn = false;
  std::string cache;
};

std::string emotion_of(int label, const std::vector<std::string>& names) {
  return label < 0 ? "silent" : names[static_cast<std::size_t>(label)];
}

// The table's header line, printed once before the first row (none when no file gives one).
constexpr const char* kTableHeader = "file\tstart\tend\temotion\tprobability\n";

// One row per segment: file, start s, end s, emotion, its mean probability (an empty field
// for silence, which pandas and R read as a missing number).
void print_rows(const FilePrediction& r, const std::vector<std::string>& names) {
  std::string out;
  for (const Segment& s : r.segments)
    out += fmt::format("{}\t{:.2f}\t{:.2f}\t{}\t{}\n", r.file.string(), s.start, s.end, emotion_of(s.label, names),
                       s.label < 0 ? std::string()
                                   : fmt::format("{:.3f}", s.mean_probabilities[static_cast<std::size_t>(s.label)]));
  fmt::print("{}", out);
}

// --plot must be a writable file path with one recording to draw, checked before any work.
void check_plot_path(const std::string& plot, std::size_t files) {
  SER_CHECK(files == 1, "--plot {}: draws one recording, and {} files were given (predict them one at a time)", plot,
            files);
  const std::filesystem::path path = plot;
  std::error_code ec;
  SER_CHECK(!std::filesystem::is_directory(path, ec), "--plot {}: is a folder (it takes a file name, e.g. call.svg)",
            plot);
  std::string ext = path.extension().string();
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const std::string svg_name = (path.stem().empty() ? std::string("call") : path.stem().string()) + ".svg";
  SER_CHECK(ext == ".svg",
            "--plot {}: the timeline is written as SVG, so the name must end in .svg (e.g. {}); browsers show it, "
            "and an SVG converter (rsvg-convert, inkscape) makes a PNG of it",
            plot, svg_name);
  const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  SER_CHECK(std::filesystem::is_directory(dir, ec), "--plot {}: no folder {} to write it in", plot, dir.string());
  SER_CHECK(::access(dir.c_str(), W_OK) == 0, "--plot {}: cannot write in {} (permission denied)", plot, dir.string());
}

// --device: auto keeps to the CPU, as for training, until the GPU backend has run on a GPU;
// cuda is the explicit opt-in (refused with one line where no device is usable).
Device predict_device(const std::string& name) { return name == "auto" ? Device::CPU : resolve_device(name); }

// --adapt-bn: the model's batch-norm statistics re-estimated on the files about to be labelled.
void adapt_to_inputs(train::LoadedModel& loaded, const std::vector<std::filesystem::path>& files, const Args& a) {
  FeatureOptions fopts;
  fopts.cache_dir = cache_dir_from_option(a.cache);
  fopts.threads = a.threads;
  const AdaptationResult result = adapt_batchnorm(loaded, unlabelled_entries(files), fopts);
  warn_if_few_adaptation_files(result.files);
  fmt::print(stderr, "batch norm adapted on {} windows of {} files (shift per layer, in the training corpus's standard "
             "deviations: {})\n", result.windows, result.files, format_shifts(result.shifts));
}

void run_predict(const Args& a) {
  const std::vector<std::filesystem::path> files = collect_inputs(a.inputs, a.files_from, std::cin);
  if (!a.plot.empty()) check_plot_path(a.plot, files.size());
  const Device device = predict_device(a.device);
  SER_CHECK(!(a.adapt_bn && device != Device::CPU), "--adapt-bn adapts a model on the CPU: it cannot be combined with --device {}",
            a.device);
  train::LoadedModel loaded = load_model_option(model_or_default(a.model, a.model_given), device);
  if (a.adapt_bn) adapt_to_inputs(loaded, files, a);
  PredictOptions options;
  options.window_seconds = a.window;
  options.hop_seconds = a.hop;
  options.framing = a.whole ? Framing::Whole : a.window > 0 ? Framing::Windows : Framing::Auto;
  options.min_level_db = a.min_level;
  options.batch = a.batch;
  options.threads = a.threads;
  // A bar on the terminal while the rows go to a file or a pipe (on the terminal, they are the progress).
  options.progress = files.size() > 1 && ::isatty(STDERR_FILENO) == 1 && ::isatty(STDOUT_FILENO) != 1;
  // Ctrl-C / SIGTERM: the labels so far are written (the file in progress up to where it
  // was read), then exit 130 / 143; a second signal stops at once.
  InterruptHandler interrupts("", "ser: stopping: writing what is labelled so far (send the signal again to stop at once)");
  interrupts.training_started();
  options.stop = [&interrupts] { return interrupts.signal() != 0; };
  Predictor predictor(loaded, options);
  const auto& names = loaded.info.class_names;
  int failures = 0;
  bool plotted = false;
  bool header_printed = false;
  predictor.run(files, [&](FilePrediction& r) {
    if (!r.ok()) {
      fmt::print(stderr, "ser: error: {}: {}\n", r.file.string(), r.error);
      ++failures;
    } else if (!r.warning.empty()) {
      fmt::print(stderr, "ser: warning: {}: {}\n", r.file.string(), r.warning);
    }
    if (a.json)
      fmt::print("{}\n", prediction_json(r, names, predictor.settings()).dump());
    else if (r.ok()) {
      if (!header_printed) fmt::print("{}", kTableHeader);
      header_printed = true;
      print_rows(r, names);
    }
    std::fflush(stdout);
    if (!a.plot.empty() && r.ok()) {
      const std::string svg = timeline_svg(r, names);
      write_file_atomically(a.plot, svg.data(), svg.size());
      plotted = true;
    }
  });
  if (plotted) fmt::print(stderr, "plot: {}\n", a.plot);
  if (interrupts.signal() != 0) {
    fmt::print(stderr, "ser: interrupted: the rows above are every file labelled before the signal\n");
    throw ExitStatus{128 + interrupts.signal()};
  }
  if (failures) throw ExitStatus{1};
}

}  // namespace

void register_predict(CLI::App& app) {
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand(
      "predict", "Label audio files, folders of them, and long recordings (a timeline of segments) with a model");
  cmd->footer(
      "Output: a header line (file, start, end, emotion, probability), then one tab-separated row per segment: "
      "file, start s, end s, emotion (or silent), mean probability of that emotion (empty for silent).\n"
      "A file no longer than the clips the model was trained on (95th percentile of their lengths, stored in the "
      "model; 5 s for older model files) is one image, as in training. A longer one is scored in windows of "
      "--window s every --hop s, each one image; windows the silence gate marks are not labelled, and consecutive "
      "windows of one emotion form a segment. Images go through the network in batches of --batch: memory stays "
      "that of a short file however long the recording or many the files.\n"
      "A file that cannot be decoded is reported on stderr with the reason and the rest go on; the exit status is "
      "1 if any file failed. A progress bar shows on the terminal while the rows go to a file or a pipe.");
  cmd->add_option("--model", args->model,
                  "Model file written by `ser train` (RUN_DIR/model.safetensors), or its run folder RUN_DIR "
                  "(default: the shipped model, models/default.safetensors, or $SER_MODEL; docs/MODEL.md)");
  cmd->add_option("inputs", args->inputs,
                  "Audio files (any format libsndfile reads) and folders (walked for .wav .flac .ogg .mp3 ... "
                  "files, sorted)");
  cmd->add_option("--files-from", args->files_from,
                  "Also predict the files (or folders) listed in this text file, one path a line (relative to the "
                  "current folder); - reads standard input");
  cmd->add_flag("--json", args->json,
                "One JSON object per file per line (summary, every window and segment with every class "
                "probability; failed files as {\"file\", \"error\"}): outputs of several runs concatenate");
  cmd->add_option("--window", args->window,
                  "Window length in seconds; every file is then scored in windows, and a shorter one fails "
                  "(default: the median clip length the model was trained on, 3 s for older model files)")
      ->transform(number_between_exclusive(0.05, 3600));
  cmd->add_option("--hop", args->hop, "Seconds between window starts (default: a third of the window)")
      ->transform(number_between_exclusive(0, 3600));
  cmd->add_option("--min-level", args->min_level,
                  "Silence gate: a window whose centre stretch (one hop around its centre) is more than this many dB "
                  "below the loudest such stretch of the same file is marked silent, not labelled")
      ->transform(number_between_exclusive(0, 200))
      ->capture_default_str();
  cmd->add_flag("--whole", args->whole,
                "Score every file as one image of the whole file, however long (as ser eval and training do)");
  cmd->add_option("--plot", args->plot,
                  "Draw the class probabilities over time and the segments of the one recording given as SVG");
  cmd->add_option("--batch", args->batch, "Images per forward pass (memory grows with it)")
      ->transform(integer_in(1, 4096))
      ->capture_default_str();
  cmd->add_option("--threads", args->threads, "Feature threads (0 = all cores)")
      ->transform(integer_in(0, kMaxThreads))
      ->capture_default_str();
  add_device_option(*cmd, args->device);
  cmd->add_flag("--adapt-bn", args->adapt_bn,
                "First adapt the model to these recordings without labels (its batch-norm statistics re-estimated on "
                "them, as `ser adapt` does), then label them with it. For a batch of a few hundred recordings of one "
                "new microphone, room or corpus; each file's label then depends on the others given");
  cmd->add_option("--cache", args->cache, "Feature cache folder for --adapt-bn ('none' disables)");
  cmd->callback([cmd, args] {
    args->model_given = cmd->count("--model") > 0;
    SER_CHECK(!(args->whole && (cmd->count("--window") > 0 || cmd->count("--hop") > 0)),
              "--whole scores each file as one image: it cannot be combined with --window or --hop");
    run_predict(*args);
  });
}

}  // namespace ser::app
