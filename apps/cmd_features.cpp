// `ser features`: the log-mel images of labelled corpora as NumPy files a Python user loads
// directly, in one row order, made by the front end --frontend names (default: the default
// recipe's):
//   images.npy    (N, H, W) float32 = (files, mel bands low to high, time columns), dB
//                 (power_to_db, ref = max, top 80), before normalisation
//   features.json every front-end parameter (features::LogMelConfig::to_json) and the axes
//   labels.npy    (N,) int64, class index (classes.txt line, 0-based)
//   manifest.tsv  path, corpus, speaker, label, label_name (header line; data/manifest.h)
//   classes.txt   one class name per line, in label order
// The corpus is indexed as `ser train` indexes it (same --data / --corpus / --classes) and
// extracted in chunks of kChunkFiles through the feature cache, rows streamed to disk
// (engine/io/npy_writer.h): memory holds one chunk, whatever the corpus size. Files that
// do not decode are reported and left out of all three files. Nothing is replaced until
// every file is complete.
#include <fmt/format.h>

#include <memory>

#include "apps/cli_values.h"
#include "apps/commands.h"
#include "apps/pipeline.h"
#include "engine/core/error.h"
#include "engine/core/progress.h"
#include "engine/io/file.h"
#include "engine/io/npy.h"
#include "engine/io/npy_writer.h"
#include "engine/train/recipe.h"

#include <nlohmann/json.hpp>

namespace ser::app {
namespace {

constexpr std::size_t kChunkFiles = 256;  // 256 x 64 KB images in memory at a time

struct Args {
  CorpusOptions corpus;
  std::string out;
  std::string cache;
  int threads = 0;
  bool quiet = false;
  std::string frontend = train::Recipe::named(train::Recipe::default_name()).frontend;
};

void run_features(const Args& a) {
  const std::filesystem::path out = a.out;
  const data::ClassSet classes = resolve_classes(a.corpus);
  const data::IndexResult index = index_from_options(a.corpus, classes);
  if (!a.quiet) print_index_report(index, IndexUse::Features);
  SER_CHECK(!index.entries.empty(), "no usable audio files in the given folders");
  ensure_output_folder(out, "--out");

  const features::LogMelConfig config = features::LogMelConfig::named(a.frontend);
  FeatureOptions fopts;
  fopts.cache_dir = cache_dir_from_option(a.cache);
  fopts.threads = a.threads;
  fopts.progress = false;
  NpyRowWriter images(out / "images.npy", {config.image_height, config.image_width});
  std::vector<data::ManifestEntry> kept;
  std::vector<int64_t> labels;
  std::unique_ptr<ProgressBar> bar;
  if (!a.quiet) bar = std::make_unique<ProgressBar>(static_cast<int64_t>(index.entries.size()), "features");
  std::size_t failed = 0;
  for (std::size_t begin = 0; begin < index.entries.size(); begin += kChunkFiles) {
    const std::size_t end = std::min(begin + kChunkFiles, index.entries.size());
    const std::vector<data::ManifestEntry> chunk(index.entries.begin() + static_cast<std::ptrdiff_t>(begin),
                                                 index.entries.begin() + static_cast<std::ptrdiff_t>(end));
    const LabelledImages part = extract_labelled(chunk, config, fopts);  // (M, 1, H, W)
    for (const auto& [path, why] : part.failures) fmt::print(stderr, "skipped {}: {}\n", path.string(), why);
    failed += part.failures.size();
    images.append(part.data.images.data(), part.data.size());
    kept.insert(kept.end(), part.entries.begin(), part.entries.end());
    for (int32_t label : part.data.labels) labels.push_back(label);
    if (bar) bar->tick(static_cast<int64_t>(end - begin), fmt::format("({} failed)", failed));
  }
  if (bar) bar->finish();
  SER_CHECK(!kept.empty(), "every audio file failed to load; nothing written to {}", out.string());

  write_npy(out / "labels.npy", Array::from_int64({static_cast<int64_t>(labels.size())}, labels));
  data::write_manifest(out / "manifest.tsv", kept);
  std::string names;
  for (const auto& n : classes.names) names += n + "\n";
  write_file_atomically(out / "classes.txt", names.data(), names.size());
  nlohmann::json sidecar = config.to_json();
  sidecar["frontend"] = a.frontend;
  sidecar["images.npy"] = {{"shape", {kept.size(), config.image_height, config.image_width}},
                           {"axes", {"file", "mel band (low to high frequency)", "time column"}},
                           {"dtype", "float32"},
                           {"values", "dB: power_to_db(ref = the clip's loudest, top_db 80), before normalisation"}};
  const std::string sidecar_text = sidecar.dump(2) + "\n";
  write_file_atomically(out / "features.json", sidecar_text.data(), sidecar_text.size());
  images.commit();  // last: images.npy appears once its companions are in place
  fmt::print("{} images ({} x {} float32, dB before normalisation; {} files failed) in {}: images.npy, labels.npy, "
             "manifest.tsv, classes.txt, features.json\n",
             kept.size(), config.image_height, config.image_width, failed, out.string());
}

}  // namespace

void register_features(CLI::App& app) {
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("features", "Write the log-mel images of labelled corpora as NumPy files");
  cmd->footer(
      "Writes into --out, in one row order: images.npy (N, mel bands, time columns) float32, the log-mel images in "
      "dB (0 = the clip's loudest, down to -80) before normalisation; labels.npy (N,) int64, indices into "
      "classes.txt (one name a line); manifest.tsv (path, corpus, speaker, label, label_name); features.json, every "
      "parameter of the front end. The front ends: fixed (the default recipe's): audio resampled to 16000 Hz mono, "
      "ends trimmed at 30 dB below the loudest frame, STFT n_fft 1024, hop 256 (16 ms), periodic Hann, centred; "
      "128 Slaney mel bands 0-8000 Hz; images 128 x 256 columns (the middle 4.1 s of a longer clip, a shorter one "
      "tiled). resize (the notebook's, --frontend resize): n_fft 2048, hop 512, 128 mels, the whole clip resized "
      "to 128 x 128. Files that cannot be decoded are reported and left out of all of them. In Python: "
      "x = numpy.load('OUT/images.npy').\n"
      "The corpus is indexed as `ser train` indexes it, and the images are those training uses (feature cache "
      "included); the files are replaced only once all are complete.");
  cmd->add_option("--data", args->corpus.data_dirs, "Corpus folder (repeatable), as for train");
  cmd->add_option("--corpus", args->corpus.corpus, "Corpus kind(s), as for train")->capture_default_str();
  add_speaker_pattern_option(*cmd, args->corpus.speaker_pattern);
  add_labels_option(*cmd, args->corpus.labels, "ser features writes every row, whatever its split.");
  cmd->add_option("--classes", args->corpus.classes, "auto (the default: the six seed classes neutral,happy,sad,angry,fearful,disgust for published corpora; the " "class folders or label values of a folders corpus or --labels list), 6, 8 (adds calm, surprised) or a comma " "list of any class names (emotions in any spelling are normalised)")
      ->capture_default_str();
  cmd->add_option("--frontend", args->frontend,
                  "resize|fixed|fixed-hp|fixed-cmn: the front end, as `ser train --frontend` (default: the default recipe's)")
      ->check(CLI::IsMember({"resize", "fixed", "fixed-hp", "fixed-cmn"}))
      ->capture_default_str();
  cmd->add_option("--out", args->out, "Folder for the files (created; files of the same names are replaced)")
      ->required();
  cmd->add_option("--cache", args->cache, "Feature cache folder ('none' disables; default ~/.cache/ser/features)");
  cmd->add_option("--threads", args->threads, "Feature extraction threads (0 = all cores)")
      ->transform(integer_in(0, kMaxThreads))
      ->capture_default_str();
  cmd->add_flag("--quiet", args->quiet, "No corpus table or progress bar");
  cmd->callback([args] { run_features(*args); });
}

}  // namespace ser::app
