// Training of the shared test model (see demo_model.h).
#include "app/demo_model.h"

#include "apps/clip_lengths.h"
#include "data/demo_corpus.h"
#include "engine/core/random.h"
#include "engine/nn/adam.h"
#include "engine/nn/model.h"
#include "engine/train/checkpoint.h"
#include "engine/train/trainer.h"
#include "features/extract.h"
#include "support/temp_dir.h"

namespace ser::test {
namespace fs = std::filesystem;

namespace {

features::LogMelConfig small_images() {
  features::LogMelConfig c;
  c.image_height = 32;
  c.image_width = 32;
  return c;
}

nn::Architecture small_network(int classes) {
  nn::Architecture a;
  a.height = 32;
  a.width = 32;
  a.conv_channels = {8, 16};
  a.dense_units = {32};
  a.classes = classes;
  return a;
}

std::vector<data::ManifestEntry> index_folder(const fs::path& dir) {
  return data::index_corpora({{dir, data::CorpusKind::Auto}}, data::ClassSet::six()).entries;
}

DemoModel train_demo_model(const fs::path& dir) {
  DemoModel out;
  data::DemoCorpusOptions corpus;
  corpus.speakers = 3;
  corpus.clips_per_class = 8;
  out.corpus = dir / "corpus";
  data::generate_demo_corpus(out.corpus, corpus);
  data::DemoCorpusOptions unseen = corpus;
  unseen.first_speaker = 3;
  unseen.speakers = 1;
  unseen.clips_per_class = 2;
  data::generate_demo_corpus(dir / "unseen", unseen);
  out.unseen = index_folder(dir / "unseen");
  out.class_names = corpus.classes.names;

  const std::vector<data::ManifestEntry> entries = index_folder(out.corpus);
  std::vector<fs::path> files;
  for (const auto& e : entries) files.push_back(e.path);
  const features::LogMelConfig config = small_images();
  features::ExtractOptions opts;
  opts.progress = false;
  features::ExtractResult extracted = features::extract_images(files, config, opts);
  train::Dataset data{std::move(extracted.images), {}};
  for (const auto& e : entries) data.labels.push_back(e.label);
  const train::Normalization norm = train::compute_normalization(data.images);
  train::normalize_in_place(data.images, norm);

  nn::Model model(small_network(static_cast<int>(out.class_names.size())));
  Generator gen(7);
  model.initialize(gen);
  nn::Adam adam(nn::AdamConfig{2e-3}, model.parameter_count());
  train::TrainConfig tc;
  tc.epochs = 40;
  tc.batch = 16;
  tc.patience = 40;
  tc.progress = false;
  train::TrainState state;
  train::Trainer(model, adam, gen, tc).fit(data, data, state);
  out.training_accuracy = train::evaluate(model, data).accuracy;

  const train::ModelInfo info{out.class_names, config.to_json().dump(), norm, app::measure_clip_lengths(entries)};
  out.model_file = dir / "model.safetensors";
  train::save_model(out.model_file, model, info);
  return out;
}

}  // namespace

const DemoModel& demo_model() {
  static TempDir dir;
  static const DemoModel model = train_demo_model(dir.path());
  return model;
}

}  // namespace ser::test
