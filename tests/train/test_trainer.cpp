// Training loop, checkpoints and model files on a tiny network: resume equivalence,
// round trips, normalisation, early stopping, corrupt files.
#include <doctest/doctest.h>

#include <cmath>

#include <nlohmann/json.hpp>

#include "engine/core/error.h"
#include "engine/io/safetensors.h"
#include "engine/train/checkpoint.h"
#include "engine/train/trainer.h"
#include "support/temp_dir.h"
#include "train/toy_data.h"

using namespace ser;
using namespace ser::train;

namespace {

using test::tiny;
using test::toy_data;

TrainConfig quiet_config(int epochs) {
  TrainConfig c;
  c.epochs = epochs;
  c.batch = 8;
  c.patience = 100;
  c.progress = false;
  return c;
}

std::vector<float> flat_parameters(nn::Model& m) { return m.parameters().to_vector(); }

// Makes the model's logits equal `bias` for every input: output weights 0, output bias set.
void fix_logits(nn::Model& model, const std::vector<float>& bias) {
  for (auto& [name, tensor] : model.named_state()) {
    if (name == "out.weight") std::fill(tensor.data(), tensor.data() + tensor.numel(), 0.0f);
    if (name == "out.bias") std::copy(bias.begin(), bias.end(), tensor.data());
  }
}

}  // namespace

TEST_SUITE("train") {

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
  const ModelInfo info{{"a", "b", "c"}, "{}", {0.0, 1.0}, {}};

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
  const ModelInfo info{{"x", "y", "z"}, R"({"n_mels":128})", {-40.5, 12.25}, {}};
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

TEST_CASE("Dataset: size() counts images, labelled(), check() refuses bad labels and counts") {
  Dataset labelled = toy_data(4, 1);
  Dataset unlabelled{labelled.images, {}};
  CHECK(labelled.size() == 4);
  CHECK(unlabelled.size() == 4);
  CHECK(labelled.labelled());
  CHECK_FALSE(unlabelled.labelled());
  CHECK(Dataset{}.size() == 0);
  CHECK_NOTHROW(labelled.check(3));
  CHECK_NOTHROW(unlabelled.check(3));
  CHECK_THROWS_WITH_AS(labelled.check(2), doctest::Contains("label 2 of image 2"), Error);
  Dataset short_labels{labelled.images, {0, 1, 2}};
  CHECK_THROWS_WITH_AS(short_labels.check(3), doctest::Contains("3 labels for 4 images"), Error);
  Dataset negative{labelled.images, {0, 1, -1, 2}};
  CHECK_THROWS_AS(negative.check(3), Error);
  const Dataset part = subset(unlabelled, {3, 1});
  CHECK(part.size() == 2);
  CHECK_FALSE(part.labelled());
  CHECK(part.images.at(0, 0, 5, 7) == labelled.images.at(3, 0, 5, 7));
}

TEST_CASE("evaluate refuses labels outside [0, classes) and a label count other than the image count") {
  nn::Architecture six = tiny();
  six.classes = 6;
  nn::Model model(six);
  Generator gen(3);
  model.initialize(gen);
  const Dataset images = toy_data(4, 1);
  CHECK_THROWS_WITH_AS(evaluate(model, Dataset{images.images, {0, 1, 2, 6}}), doctest::Contains("label 6"), Error);
  CHECK_THROWS_WITH_AS(evaluate(model, Dataset{images.images, {0, 1, 2}}), doctest::Contains("3 labels for 4 images"),
                       Error);
  CHECK(evaluate(model, Dataset{images.images, {0, 1, 2, 5}}).predicted.size() == 4);
  // Training refuses them before its first step too.
  nn::Adam adam(nn::AdamConfig{}, model.parameter_count());
  TrainState state;
  CHECK_THROWS_AS(Trainer(model, adam, gen, quiet_config(1)).fit(Dataset{images.images, {0, 1, 2, 6}}, images, state),
                  Error);
  CHECK(state.epochs_done == 0);
}

TEST_CASE("evaluate's loss is logsumexp(z) - z[label] from the logits, exact far from the maximum") {
  nn::Model model(tiny());
  Generator gen(3);
  model.initialize(gen);
  const Dataset images = toy_data(5, 1);
  // True class 0 sits 200 below the maximum: its softmax probability (e^-200) rounds to 0 in
  // float, so -log(p) would give 690.8; the exact loss is 200 + log(1 + e^-200 + e^-199).
  fix_logits(model, {0.0f, 200.0f, 1.0f});
  Evaluation far = evaluate(model, Dataset{images.images, {0, 0, 0, 0, 0}}, 2);
  CHECK(std::isfinite(far.loss));
  CHECK(far.loss == doctest::Approx(200.0).epsilon(1e-12));
  CHECK(far.accuracy == 0.0);
  CHECK(far.predicted == std::vector<int>(5, 1));
  // Moderate logits: the loss by hand, and the probabilities the softmax of the logits.
  fix_logits(model, {1.0f, 2.0f, 3.0f});
  const double log_sum = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0));
  Evaluation ev = evaluate(model, Dataset{images.images, {0, 1, 2, 2, 0}}, 3);
  CHECK(ev.loss == doctest::Approx(((log_sum - 1) * 2 + (log_sum - 2) + (log_sum - 3) * 2) / 5).epsilon(1e-6));
  CHECK(ev.accuracy == doctest::Approx(0.4));
  REQUIRE(ev.probabilities.size() == 5);
  for (int k = 0; k < 3; ++k) CHECK(ev.probabilities[4][k] == doctest::Approx(std::exp(1.0 + k - log_sum)));
  // Unlabelled: same probabilities and predictions, loss and accuracy 0.
  Evaluation plain = evaluate(model, Dataset{images.images, {}}, 4);
  CHECK(plain.probabilities == ev.probabilities);
  CHECK(plain.predicted == ev.predicted);
  CHECK(plain.loss == 0.0);
}

TEST_CASE("EpochStats JSON is keyed by field name and reads the history checkpoints have always written") {
  const EpochStats e{3, 0.5, 0.25, 0.75, 0.125, 2.5, 100.0};
  const nlohmann::json j = e;
  CHECK(j.at("val_loss").get<double>() == 0.75);
  CHECK(j.at("train_accuracy").get<double>() == 0.25);
  const EpochStats back = j.get<EpochStats>();
  CHECK(back.epoch == 3);
  CHECK(back.train_loss == 0.5);
  CHECK(back.train_accuracy == 0.25);
  CHECK(back.val_loss == 0.75);
  CHECK(back.val_accuracy == 0.125);
  CHECK(back.seconds == 2.5);
  CHECK(back.samples_per_second == 100.0);
  // A history entry as checkpoints before this JSON helper wrote it, keys in another order.
  const auto old = nlohmann::json::parse(
      R"([{"val_accuracy": 0.5, "samples_per_second": 10, "epoch": 7, "seconds": 1, "train_loss": 2,
          "val_loss": 3, "train_accuracy": 0.25}])").get<std::vector<EpochStats>>();
  REQUIRE(old.size() == 1);
  CHECK(old[0].epoch == 7);
  CHECK(old[0].val_loss == 3.0);
  CHECK(old[0].train_loss == 2.0);
  CHECK(old[0].val_accuracy == 0.5);
  CHECK_THROWS_AS(nlohmann::json({{"epoch", 1}}).get<EpochStats>(), nlohmann::json::exception);
  nlohmann::json bad = j;
  bad["epoch"] = 1e10;
  CHECK_THROWS_AS(bad.get<EpochStats>(), Error);
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
