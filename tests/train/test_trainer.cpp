// Training loop, checkpoints and model files on a tiny network: resume equivalence,
// round trips, normalisation, early stopping, corrupt files.
#include <doctest/doctest.h>

#include <cmath>

#include "engine/core/error.h"
#include "engine/io/safetensors.h"
#include "engine/train/checkpoint.h"
#include "engine/train/trainer.h"
#include "support/temp_dir.h"

using namespace ser;
using namespace ser::train;

namespace {

nn::Architecture tiny() {
  nn::Architecture a;
  a.height = 16;
  a.width = 16;
  a.conv_channels = {4, 8};
  a.dense_units = {16};
  a.classes = 3;
  a.dropout = 0.5f;
  return a;
}

// Three classes told apart by where a bright blob sits; a little noise.
Dataset toy_data(int n, uint64_t seed) {
  Generator g(seed);
  Dataset d;
  d.images = Tensor(Shape{n, 1, 16, 16});
  for (int i = 0; i < n; ++i) {
    const int label = i % 3;
    d.labels.push_back(label);
    std::vector<float> noise(256);
    g.fill_uniform(noise.data(), 256, -0.3f, 0.3f);
    for (int h = 0; h < 16; ++h)
      for (int w = 0; w < 16; ++w) {
        const bool on = (label == 0 && h < 6) || (label == 1 && h >= 10) || (label == 2 && w >= 10 && h >= 5 && h < 11);
        d.images.at(i, 0, h, w) = (on ? 1.0f : 0.0f) + noise[h * 16 + w];
      }
  }
  return d;
}

TrainConfig quiet_config(int epochs) {
  TrainConfig c;
  c.epochs = epochs;
  c.batch = 8;
  c.patience = 100;
  c.progress = false;
  return c;
}

std::vector<float> flat_parameters(nn::Model& m) { return m.parameters().to_vector(); }

}  // namespace

TEST_SUITE("app") {

TEST_CASE("a tiny model learns the toy task") {
  Dataset train = toy_data(48, 1), val = toy_data(24, 2);
  nn::Model model(tiny());
  Generator gen(3);
  model.initialize(gen);
  nn::Adam adam(nn::AdamConfig{}, model.parameter_count());
  Trainer trainer(model, adam, gen, quiet_config(8));
  TrainState state;
  trainer.fit(train, val, state);
  CHECK(state.history.size() == 8);
  CHECK(state.history.back().train_loss < state.history.front().train_loss);
  CHECK(evaluate(model, val).accuracy >= 0.9);
}

TEST_CASE("resuming from a checkpoint gives the same result as an uninterrupted run") {
  test::TempDir dir;
  Dataset train = toy_data(40, 1), val = toy_data(12, 2);
  const ModelInfo info{{"a", "b", "c"}, "{}", {0.0, 1.0}};

  // Uninterrupted: 4 epochs.
  nn::Model straight(tiny());
  Generator g1(11);
  straight.initialize(g1);
  nn::Adam a1(nn::AdamConfig{}, straight.parameter_count());
  TrainState s1;
  Trainer(straight, a1, g1, quiet_config(4)).fit(train, val, s1);

  // Interrupted after 2 epochs (checkpoint), then a fresh process resumes to 4.
  {
    nn::Model first(tiny());
    Generator g2(11);
    first.initialize(g2);
    nn::Adam a2(nn::AdamConfig{}, first.parameter_count());
    TrainState s2;
    Trainer(first, a2, g2, quiet_config(2)).fit(train, val, s2, [&](const TrainState& s) {
      save_checkpoint(dir / "ckpt.safetensors", first, a2, g2, s, info);
    });
  }
  nn::Model resumed(tiny());
  Generator g3(11);
  nn::Adam a3(nn::AdamConfig{}, resumed.parameter_count());
  TrainState s3;
  ModelInfo loaded_info;
  load_checkpoint(dir / "ckpt.safetensors", resumed, a3, g3, s3, loaded_info);
  CHECK(s3.epochs_done == 2);
  CHECK(loaded_info.class_names == info.class_names);
  Trainer(resumed, a3, g3, quiet_config(4)).fit(train, val, s3);

  REQUIRE(s3.history.size() == s1.history.size());
  for (std::size_t i = 0; i < s1.history.size(); ++i) {
    CHECK(s3.history[i].train_loss == s1.history[i].train_loss);
    CHECK(s3.history[i].val_accuracy == s1.history[i].val_accuracy);
  }
  CHECK(flat_parameters(resumed) == flat_parameters(straight));
  CHECK(s3.best_epoch == s1.best_epoch);
}

TEST_CASE("early stopping stops after `patience` epochs without improvement and restores the best weights") {
  Dataset train = toy_data(24, 1), val = toy_data(12, 2);
  nn::Model model(tiny());
  Generator gen(5);
  model.initialize(gen);
  nn::Adam adam(nn::AdamConfig{1e-12}, model.parameter_count());  // learns nothing: accuracy stays put
  TrainConfig cfg = quiet_config(30);
  cfg.patience = 3;
  TrainState state;
  Trainer(model, adam, gen, cfg).fit(train, val, state);
  CHECK(state.stopped_early);
  CHECK(state.history.size() == static_cast<std::size_t>(state.best_epoch + 3));
  CHECK(evaluate(model, val).accuracy == doctest::Approx(state.best_val_accuracy));
}

TEST_CASE("model files round trip and reject what they cannot use") {
  test::TempDir dir;
  nn::Model model(tiny());
  Generator gen(9);
  model.initialize(gen);
  const ModelInfo info{{"x", "y", "z"}, R"({"n_mels":128})", {-40.5, 12.25}};
  save_model(dir / "m.safetensors", model, info);
  LoadedModel loaded = load_model(dir / "m.safetensors");
  CHECK(loaded.model->architecture() == tiny());
  CHECK(loaded.info.class_names == info.class_names);
  CHECK(loaded.info.feature_config_json == info.feature_config_json);
  CHECK(loaded.info.normalization.mean == -40.5);
  CHECK(loaded.info.normalization.std == 12.25);
  CHECK(flat_parameters(*loaded.model) == flat_parameters(model));

  // A file of another kind, or with a tensor missing, is refused with the file's name.
  SafeTensors plain;
  plain.tensors["w"] = Array::from_float({1}, {1});
  write_safetensors(dir / "plain.safetensors", plain);
  CHECK_THROWS_WITH_AS(load_model(dir / "plain.safetensors"), doctest::Contains("not a ser model"), Error);
  SafeTensors broken = read_safetensors(dir / "m.safetensors");
  broken.tensors.erase("conv1.weight");
  write_safetensors(dir / "broken.safetensors", broken);
  CHECK_THROWS_WITH_AS(load_model(dir / "broken.safetensors"), doctest::Contains("broken.safetensors"), Error);
  // A checkpoint for another architecture is refused before anything is loaded.
  nn::Adam adam(nn::AdamConfig{}, model.parameter_count());
  save_checkpoint(dir / "c.safetensors", model, adam, gen, TrainState{}, info);
  nn::Architecture other = tiny();
  other.classes = 4;
  nn::Model wrong(other);
  nn::Adam wrong_adam(nn::AdamConfig{}, wrong.parameter_count());
  Generator g(9);
  TrainState s;
  ModelInfo i;
  CHECK_THROWS_WITH_AS(load_checkpoint(dir / "c.safetensors", wrong, wrong_adam, g, s, i),
                       doctest::Contains("architecture"), Error);
}

TEST_CASE("normalisation statistics are the population mean and std; constant data gets std 1") {
  Tensor t = Tensor::from_vector(Shape{2, 1, 1, 2}, {1, 2, 3, 4});
  const Normalization n = compute_normalization(t);
  CHECK(n.mean == doctest::Approx(2.5));
  CHECK(n.std == doctest::Approx(std::sqrt(1.25)));
  normalize_in_place(t, n);
  CHECK(t[0] == doctest::Approx(-1.5 / std::sqrt(1.25)));
  Tensor c = Tensor::from_vector(Shape{3}, {7, 7, 7});
  CHECK(compute_normalization(c).std == 1.0);
}

}  // TEST_SUITE
