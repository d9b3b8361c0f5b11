// The synthetic datasets of the training benchmarks (engine/train/synthetic.h): RAVDESS's
// class mix per actor, unit-variance images, determinism, and one epoch of the general
// recipe's loop (crops from wider images, masks, label smoothing, corpus-balanced sampling)
// over such a set, as bench/bench_train_cpu.cpp runs it, on a tiny network.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "engine/core/error.h"
#include "engine/core/random.h"
#include "engine/nn/adam.h"
#include "engine/nn/model.h"
#include "engine/train/recipe.h"
#include "engine/train/synthetic.h"
#include "engine/train/trainer.h"
#include "train/toy_data.h"

using namespace ser;
using namespace ser::train;

TEST_SUITE("train") {
  TEST_CASE("synthetic labels follow RAVDESS's per-actor mix of the six classes") {
    CHECK(ravdess_clips_per_actor(6) == 44);
    CHECK(ravdess_clips_per_actor(8) == 60);
    const Dataset d = synthetic_dataset(704, 6, 4, 8, 1);  // ravdess-dev actors 01-16
    std::vector<int> counts(6, 0);
    for (int32_t y : d.labels) ++counts[static_cast<std::size_t>(y)];
    CHECK(counts == std::vector<int>{64, 128, 128, 128, 128, 128});
    CHECK(ravdess_like_label(3, 6) == 0);
    CHECK(ravdess_like_label(4, 6) == 1);
    CHECK(ravdess_like_label(43, 6) == 5);
    CHECK(ravdess_like_label(44, 6) == 0);
    CHECK(d.groups == std::vector<int32_t>(704, 0));
    CHECK_NOTHROW(d.check(6));
  }

  TEST_CASE("synthetic images have mean 0 and std 1 and repeat with their seed") {
    const Dataset a = synthetic_dataset(88, 6, 16, 32, 7), b = synthetic_dataset(88, 6, 16, 32, 7);
    const Dataset c = synthetic_dataset(88, 6, 16, 32, 8);
    CHECK(a.images.shape() == Shape{88, 1, 16, 32});
    CHECK(a.images.to_vector() == b.images.to_vector());
    CHECK(a.images.to_vector() != c.images.to_vector());
    const Normalization n = compute_normalization(a.images);
    CHECK(std::abs(n.mean) < 0.02);
    CHECK(std::abs(n.std - 1.0) < 0.02);
    CHECK_THROWS_AS(synthetic_dataset(0, 6, 4, 4, 1), Error);
  }

  TEST_CASE("one epoch of the general recipe's loop runs over a synthetic set with crops") {
    Recipe recipe = Recipe::named("general");
    nn::Architecture arch = test::tiny();  // 16x16 windows of 32-column images: crops drawn
    arch.head = recipe.architecture.head;
    arch.dense_units = {};
    arch.classes = 6;
    recipe.augment = AugmentConfig::parse("time-masks=2x4,freq-masks=2x4,shift=4");
    nn::Model model(arch);
    Generator generator(3);
    model.initialize(generator);
    const Dataset train = synthetic_dataset(44, 6, 16, 32, 4), validation = synthetic_dataset(12, 6, 16, 32, 5);
    nn::Adam adam(recipe.adam_config(3), model.parameter_count());
    TrainConfig config = recipe.train_config();
    config.batch = 16;
    config.progress = false;
    Trainer trainer(model, adam, generator, config);
    const EpochStats stats = trainer.train_epoch(train, 1);
    CHECK(std::isfinite(stats.train_loss));
    CHECK(stats.seconds > 0);
    CHECK(adam.steps() == 3);  // ceil(44 / 16)
    const Evaluation ev = evaluate(model, validation, config.eval_batch);
    CHECK(ev.predicted.size() == 12);
  }
}
