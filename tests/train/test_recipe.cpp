// The recipe machinery on the host: the Beta(a, a) sampler's statistics, the per-epoch
// augmentation plan (reproducible, in bounds, partners a permutation of each batch, nothing
// drawn for items that are off), balanced sampling, AugmentConfig and Recipe text/JSON
// forms and their errors, `seed` = the notebook's settings, the seed recipe's loop giving
// the same weights as the loop before recipes existed, keep=last, and resuming a run that
// uses every recipe feature.
#include <doctest/doctest.h>

#include "features/wave_augment.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <random>

#include <nlohmann/json.hpp>

#include "engine/core/error.h"
#include "engine/cpu/adam.h"
#include "engine/train/augment_plan.h"
#include "engine/train/checkpoint.h"
#include "engine/train/recipe.h"
#include "engine/train/sampling.h"
#include "engine/train/trainer.h"
#include "support/temp_dir.h"
#include "train/toy_data.h"

using namespace ser;
using namespace ser::train;

namespace {

std::vector<float> flat_parameters(nn::Model& m) { return m.parameters().to_vector(); }

bool same_sample(const cpu::SampleAugment& a, const cpu::SampleAugment& b) {
  return a.shift == b.shift && std::equal(a.time_start, a.time_start + cpu::kMaxAugmentMasks, b.time_start) &&
         std::equal(a.time_width, a.time_width + cpu::kMaxAugmentMasks, b.time_width) &&
         std::equal(a.freq_start, a.freq_start + cpu::kMaxAugmentMasks, b.freq_start) &&
         std::equal(a.freq_width, a.freq_width + cpu::kMaxAugmentMasks, b.freq_width) && a.partner == b.partner &&
         a.lambda == b.lambda && a.chunks == b.chunks &&
         std::equal(a.chunk_order, a.chunk_order + cpu::kMaxAugmentChunks, b.chunk_order);
}

bool same_plan(const std::vector<cpu::SampleAugment>& a, const std::vector<cpu::SampleAugment>& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), same_sample);
}

// Every field of a plan entry at its default (nothing drawn).
bool untouched(const cpu::SampleAugment& a, int self) {
  cpu::SampleAugment d;
  d.partner = self;
  return same_sample(a, d);
}

TrainConfig seed_loop_config(int epochs) {
  TrainConfig c = Recipe::named("seed").train_config();
  c.epochs = epochs;
  c.progress = false;
  return c;
}

}  // namespace

TEST_SUITE("train") {

// ---- Beta(a, a) ------------------------------------------------------------------------

TEST_CASE("beta_symmetric: mean 1/2 and variance 1/(4(2a+1)) within sampling error, values in [0, 1]") {
  std::mt19937_64 rng(2024);
  std::uniform_real_distribution<double> unif(0.0, 1.0);
  const auto uniform = [&] { return unif(rng); };
  const int n = 4000;
  for (const double a : {0.2, 0.4, 1.0, 2.0, 5.0}) {
    CAPTURE(a);
    std::vector<double> x(n);
    for (auto& v : x) v = beta_symmetric(a, uniform);
    CHECK(std::all_of(x.begin(), x.end(), [](double v) { return v >= 0.0 && v <= 1.0; }));
    double mean = 0.0;
    for (double v : x) mean += v;
    mean /= n;
    double var = 0.0, third = 0.0;
    for (double v : x) {
      var += (v - mean) * (v - mean);
      third += (v - 0.5) * (v - 0.5) * (v - 0.5);
    }
    var /= n - 1;
    third /= n;
    const double sigma2 = 1.0 / (4.0 * (2.0 * a + 1.0));
    // Sampling errors: sd(mean) = sigma/sqrt(n); sd(s^2) = sigma^2*sqrt((kurtosis - 1)/n) with the
    // kurtosis of Beta(a, a), 3 - 6/(2a + 3); sd of the third central moment ~ sqrt(mu6/n),
    // mu6 <= sigma^2/16 on [0, 1]. Five standard deviations each.
    CHECK(std::fabs(mean - 0.5) < 5.0 * std::sqrt(sigma2 / n));
    const double kurtosis = 3.0 - 6.0 / (2.0 * a + 3.0);
    CHECK(std::fabs(var - sigma2) < 5.0 * sigma2 * std::sqrt((kurtosis - 1.0) / n));
    CHECK(std::fabs(third) < 5.0 * std::sqrt(sigma2 / 16.0 / n));  // symmetric about 1/2
  }
}

TEST_CASE("beta_symmetric(1, .) is uniform on [0, 1]: Kolmogorov-Smirnov distance within the 1% critical value") {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> unif(0.0, 1.0);
  const int n = 4000;
  std::vector<double> x(n);
  for (auto& v : x) v = beta_symmetric(1.0, [&] { return unif(rng); });
  std::sort(x.begin(), x.end());
  double d = 0.0;
  for (int i = 0; i < n; ++i) d = std::max({d, std::fabs(x[i] - double(i) / n), std::fabs(x[i] - double(i + 1) / n)});
  CHECK(d < 1.63 / std::sqrt(double(n)));
}

// ---- the augmentation plan ---------------------------------------------------------------

TEST_CASE("draw_augment_plan: one generator stream; the same seed gives the same plan, another seed another") {
  const AugmentConfig cfg = AugmentConfig::parse("time-masks=2x8,freq-masks=3x6,shift=10,mixup=0.4");
  Generator g1(5), g2(5), g3(6);
  const auto p1 = draw_augment_plan(g1, 100, 16, 32, 48, cfg);
  CHECK(g1.offset() == 1);
  const auto p2 = draw_augment_plan(g2, 100, 16, 32, 48, cfg);
  CHECK(same_plan(p1, p2));
  CHECK_FALSE(same_plan(p1, draw_augment_plan(g3, 100, 16, 32, 48, cfg)));
  CHECK_FALSE(same_plan(p1, draw_augment_plan(g1, 100, 16, 32, 48, cfg)));  // the next stream: the next epoch's plan
  CHECK(g1.offset() == 2);
}

TEST_CASE("draw_augment_plan: masks and shifts in bounds, partners a permutation of each batch, lambda in [0.5, 1]") {
  const int H = 32, W = 48, batch = 16, count = 1000;  // the last batch has 8 rows
  const AugmentConfig cfg = AugmentConfig::parse("time-masks=2x8,freq-masks=3x6,shift=10,mixup=0.4");
  Generator gen(11);
  const auto plan = draw_augment_plan(gen, count, batch, H, W, cfg);
  REQUIRE(plan.size() == static_cast<std::size_t>(count));
  int mixed = 0, widths_seen_max = 0, shifts_seen = 0;
  double lambda_sum = 0.0;
  for (int begin = 0; begin < count; begin += batch) {
    const int size = std::min(batch, count - begin);
    std::vector<int> partners;
    for (int j = 0; j < size; ++j) {
      const cpu::SampleAugment& a = plan[static_cast<std::size_t>(begin + j)];
      CAPTURE(begin + j);
      CHECK(a.shift >= 0);
      CHECK(a.shift < W);
      CHECK((a.shift <= cfg.time_shift_max || a.shift >= W - cfg.time_shift_max));  // a shift in [-10, 10]
      shifts_seen += a.shift != 0;
      for (int m = 0; m < cpu::kMaxAugmentMasks; ++m) {
        if (m < cfg.time_masks) {
          CHECK(a.time_width[m] >= 0);
          CHECK(a.time_width[m] <= cfg.time_mask_max);
          CHECK(a.time_start[m] >= 0);
          CHECK(a.time_start[m] + a.time_width[m] <= W);
          widths_seen_max = std::max(widths_seen_max, a.time_width[m]);
        } else {
          CHECK(a.time_width[m] == 0);
        }
        if (m < cfg.freq_masks) {
          CHECK(a.freq_width[m] >= 0);
          CHECK(a.freq_width[m] <= cfg.freq_mask_max);
          CHECK(a.freq_start[m] >= 0);
          CHECK(a.freq_start[m] + a.freq_width[m] <= H);
        } else {
          CHECK(a.freq_width[m] == 0);
        }
      }
      CHECK(a.lambda >= 0.5f);
      CHECK(a.lambda <= 1.0f);
      if (a.partner == j) CHECK(a.lambda == 1.0f);  // no partner: its own image only
      if (a.partner != j) {
        ++mixed;
        lambda_sum += a.lambda;
      }
      partners.push_back(a.partner);
    }
    std::sort(partners.begin(), partners.end());
    std::vector<int> identity(static_cast<std::size_t>(size));
    for (int j = 0; j < size; ++j) identity[static_cast<std::size_t>(j)] = j;
    CHECK_MESSAGE(partners == identity, "partners of the batch at " << begin << " are not a permutation of it");
  }
  CHECK(widths_seen_max == cfg.time_mask_max);  // the full range is drawn
  CHECK(shifts_seen > count / 2);
  // A random permutation has about one fixed point: nearly every row is mixed. lambda =
  // max(l, 1 - l), l ~ Beta(0.4, 0.4): mean 1/2 + E|l - 1/2|, above 0.75 for alpha < 1.
  CHECK(mixed > count * 8 / 10);
  CHECK(lambda_sum / mixed > 0.75);
  CHECK(lambda_sum / mixed < 1.0);
}

TEST_CASE("draw_augment_plan: nothing is drawn for items that are off") {
  const int H = 32, W = 48, batch = 8, count = 40;
  Generator gen(3);
  const auto none = draw_augment_plan(gen, count, batch, H, W, AugmentConfig{});
  for (std::size_t i = 0; i < none.size(); ++i) CHECK(untouched(none[i], static_cast<int>(i % batch)));  // own image

  const auto shift_only = draw_augment_plan(gen, count, batch, H, W, AugmentConfig::parse("shift=5"));
  for (std::size_t i = 0; i < shift_only.size(); ++i) {
    cpu::SampleAugment a = shift_only[i];
    a.shift = 0;
    CHECK(untouched(a, static_cast<int>(i % batch)));
  }
  const auto masks_only = draw_augment_plan(gen, count, batch, H, W, AugmentConfig::parse("time-masks=1x4,freq-masks=2x3"));
  for (std::size_t i = 0; i < masks_only.size(); ++i) {
    const cpu::SampleAugment& a = masks_only[i];
    CHECK(a.shift == 0);
    CHECK(a.partner == static_cast<int>(i % batch));
    CHECK(a.lambda == 1.0f);
    CHECK(a.time_width[1] == 0);
    CHECK(a.time_start[1] == 0);
    CHECK(a.freq_width[2] == 0);
    CHECK(a.freq_start[2] == 0);
  }
  const auto mixup_only = draw_augment_plan(gen, count, batch, H, W, AugmentConfig::parse("mixup=0.2"));
  for (const cpu::SampleAugment& a : mixup_only) {
    cpu::SampleAugment masks = a;
    masks.partner = 0;
    masks.lambda = 1.0f;
    CHECK(untouched(masks, 0));  // no shift, no masks
  }
}

TEST_CASE("draw_augment_plan refuses settings that do not fit the images") {
  Generator gen(1);
  CHECK_THROWS_AS(draw_augment_plan(gen, 10, 4, 32, 16, AugmentConfig::parse("time-masks=1x9")), Error);  // > W/2
  CHECK_THROWS_AS(draw_augment_plan(gen, 10, 4, 8, 48, AugmentConfig::parse("freq-masks=1x5")), Error);   // > H/2
  CHECK_THROWS_AS(draw_augment_plan(gen, 10, 4, 32, 16, AugmentConfig::parse("shift=16")), Error);         // >= W
  CHECK_THROWS_AS(draw_augment_plan(gen, 10, 0, 32, 48, AugmentConfig{}), Error);                          // batch 0
}

// ---- sampling ----------------------------------------------------------------------------

TEST_CASE("epoch_order balanced: every present class about equally often, only rows of present classes") {
  // Five classes, class 2 absent, the others 40 / 8 / 4 / 100 rows.
  std::vector<int32_t> labels;
  for (const auto& [label, rows] : std::vector<std::pair<int, int>>{{0, 40}, {1, 8}, {3, 4}, {4, 100}})
    labels.insert(labels.end(), static_cast<std::size_t>(rows), label);
  std::shuffle(labels.begin(), labels.end(), std::mt19937_64(1));
  const int n = static_cast<int>(labels.size()), epochs = 100;
  Generator gen(17);
  std::map<int, int64_t> per_class;
  std::vector<int64_t> per_row(static_cast<std::size_t>(n), 0);
  for (int e = 0; e < epochs; ++e) {
    const auto order = epoch_order(gen, Sampling::Balanced, labels, 5);
    REQUIRE(order.size() == static_cast<std::size_t>(n));
    for (int64_t row : order) {
      REQUIRE(row >= 0);
      REQUIRE(row < n);
      ++per_class[labels[static_cast<std::size_t>(row)]];
      ++per_row[static_cast<std::size_t>(row)];
    }
  }
  CHECK(gen.offset() == static_cast<uint64_t>(epochs));  // one stream per epoch
  CHECK(per_class.count(2) == 0);
  const double draws = double(n) * epochs, p = 0.25;
  for (const auto& entry : per_class) {  // no structured binding: clang 14 cannot CAPTURE one
    const auto label = entry.first;
    const auto k = entry.second;
    CAPTURE(label);
    CHECK(std::fabs(k / draws - p) < 5.0 * std::sqrt(p * (1 - p) / draws));
  }
  // Within a class every row is drawn about equally often (class 3: 4 rows, 1/16 of the draws each).
  for (int i = 0; i < n; ++i)
    if (labels[static_cast<std::size_t>(i)] == 3) {
      const double q = p / 4;
      CHECK(std::fabs(per_row[static_cast<std::size_t>(i)] / draws - q) < 5.0 * std::sqrt(q * (1 - q) / draws));
    }
  // Reproducible: the same seed, the same orders.
  Generator a(4), b(4);
  CHECK(epoch_order(a, Sampling::Balanced, labels, 5) == epoch_order(b, Sampling::Balanced, labels, 5));
  // A label outside [0, classes) is refused.
  CHECK_THROWS_AS(epoch_order(a, Sampling::Balanced, {0, 1, 5}, 5), Error);
}

TEST_CASE("epoch_order shuffle is the generator's permutation (the notebook's order); sampling names round trip") {
  const std::vector<int32_t> labels{0, 1, 2, 0, 1, 2, 0};
  Generator a(9), b(9);
  const auto order = epoch_order(a, Sampling::Shuffle, labels, 3);
  CHECK(order == b.permutation(7));
  std::vector<int64_t> sorted = order;
  std::sort(sorted.begin(), sorted.end());
  CHECK(sorted == std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6});
  CHECK(parse_sampling("shuffle") == Sampling::Shuffle);
  CHECK(parse_sampling("balanced") == Sampling::Balanced);
  CHECK(std::string(sampling_name(parse_sampling("balanced"))) == "balanced");
  CHECK(std::string(sampling_name(parse_sampling("shuffle"))) == "shuffle");
  CHECK_THROWS_WITH_AS(parse_sampling("random"), doctest::Contains("random"), Error);
}

// ---- AugmentConfig -----------------------------------------------------------------------

TEST_CASE("AugmentConfig: text round trip, JSON as text, and 'none'") {
  CHECK(AugmentConfig::parse("none") == AugmentConfig{});
  CHECK(AugmentConfig::parse("") == AugmentConfig{});
  CHECK(AugmentConfig{}.text() == "none");
  CHECK_FALSE(AugmentConfig{}.enabled());
  const AugmentConfig a = AugmentConfig::parse("time-masks=2x16,freq-masks=3x8,shift=16,mixup=0.2");
  CHECK(a.time_masks == 2);
  CHECK(a.time_mask_max == 16);
  CHECK(a.freq_masks == 3);
  CHECK(a.freq_mask_max == 8);
  CHECK(a.time_shift_max == 16);
  CHECK(a.mixup_alpha == 0.2);
  CHECK(a.enabled());
  CHECK(a.mixes());
  CHECK(a.text() == "time-masks=2x16,freq-masks=3x8,shift=16,mixup=0.2");
  for (const char* text : {"time-masks=2x16,freq-masks=2x16,shift=16", "shift=3", "mixup=0.4", "freq-masks=1x1",
                           "mixup=1,time-masks=4x2"}) {
    CAPTURE(text);
    const AugmentConfig c = AugmentConfig::parse(text);
    CHECK(AugmentConfig::parse(c.text()) == c);
    const nlohmann::json j = c;
    CHECK(j.is_string());
    CHECK(j.get<AugmentConfig>() == c);
  }
  // Zero masks are off and written as such; their width is dropped, so the round trip holds.
  CHECK(AugmentConfig::parse("time-masks=0x5").text() == "none");
  CHECK_FALSE(AugmentConfig::parse("time-masks=0x5").enabled());
  CHECK(AugmentConfig::parse("time-masks=0x5") == AugmentConfig::parse("none"));
  CHECK(AugmentConfig::parse("freq-masks=0x7,shift=3") == AugmentConfig::parse("shift=3"));
  CHECK_THROWS_AS(nlohmann::json(3).get<AugmentConfig>(), Error);
}

TEST_CASE("AugmentConfig: malformed or out-of-range items are refused, naming the item") {
  const std::vector<std::pair<const char*, const char*>> bad = {
      {"time-masks=2", "time-masks=2"},        {"time-masks=ax16", "time-masks=ax16"},
      {"freq-masks=2x16x", "freq-masks=2x16x"}, {"freq-masks=2x", "freq-masks=2x"},
      {"shift=abc", "shift=abc"},              {"mixup=0.2x", "mixup=0.2x"},
      {"colour=1", "colour"},                  {"shift", "shift"},
      {"shift=4,", "''"},                      {"mixup=nan", "nan"}};
  for (const auto& entry : bad) {  // no structured binding: clang 14 cannot CAPTURE one
    const auto& text = entry.first;
    const auto& named = entry.second;
    CAPTURE(text);
    CHECK_THROWS_WITH_AS(AugmentConfig::parse(text), doctest::Contains(named), Error);
  }
  CHECK_THROWS_AS(AugmentConfig::parse("time-masks=5x16"), Error);  // more masks than kMaxAugmentMasks
  CHECK_THROWS_AS(AugmentConfig::parse("freq-masks=-1x4"), Error);
  CHECK_THROWS_AS(AugmentConfig::parse("shift=-1"), Error);
  CHECK_THROWS_AS(AugmentConfig::parse("mixup=-0.5"), Error);
  CHECK_THROWS_AS(AugmentConfig::parse("mixup=101"), Error);
  // Widths are checked against the images.
  const AugmentConfig wide = AugmentConfig::parse("time-masks=1x40,shift=100");
  CHECK_NOTHROW(wide.validate(128, 128));
  CHECK_THROWS_AS(wide.validate(128, 64), Error);
  CHECK_THROWS_AS(AugmentConfig::parse("shift=100").validate(128, 100), Error);
}

// ---- Recipe ------------------------------------------------------------------------------

TEST_CASE("Recipe::named(\"seed\") is the notebook: flatten head, Adam lr 1e-3 constant, 50 epochs, batch 16, patience 10, best weights, no augmentation") {
  const Recipe r = Recipe::named("seed");
  CHECK(r.name == "seed");
  CHECK(r.architecture == nn::Architecture::seed());
  CHECK(r.architecture.head == "flatten");
  CHECK(r.architecture.block == "conv-relu-bn");
  CHECK(r.architecture.dense_units == std::vector<int>{512, 256});
  CHECK(r.architecture.conv_channels == std::vector<int>{32, 64, 128, 256});
  CHECK(r.architecture.bn_momentum == 0.99);
  CHECK(r.architecture.dropout == 0.5f);
  CHECK(r.lr == 1e-3);
  CHECK(r.weight_decay == 0.0);
  CHECK(r.lr_schedule == "constant");
  CHECK(r.epochs == 50);
  CHECK(r.batch == 16);
  CHECK(r.patience == 10);
  CHECK(r.keep == "best");
  CHECK_FALSE(r.augment.enabled());
  CHECK(r.label_smoothing == 0.0);
  CHECK(r.sampling == "shuffle");
  CHECK_NOTHROW(r.validate());
  // Its optimizer is Keras' Adam exactly: the AdamConfig defaults, a constant rate.
  const nn::AdamConfig adam = r.adam_config(123);
  const nn::AdamConfig keras;
  CHECK(adam.lr == keras.lr);
  CHECK(adam.beta1 == keras.beta1);
  CHECK(adam.beta2 == keras.beta2);
  CHECK(adam.epsilon == keras.epsilon);
  CHECK(adam.weight_decay == 0.0);
  CHECK(adam.schedule.kind == nn::LrScheduleKind::Constant);
  for (int64_t s : {0, 1, 100, 6149}) CHECK(adam.schedule.lr_at(s) == 1e-3);
  // Its loop is TrainConfig's defaults (the notebook's).
  const TrainConfig c = r.train_config(), d;
  CHECK(c.epochs == d.epochs);
  CHECK(c.batch == d.batch);
  CHECK(c.patience == d.patience);
  CHECK(c.sampling == Sampling::Shuffle);
  CHECK(c.augment == AugmentConfig{});
  CHECK(c.label_smoothing == 0.0);
  CHECK(c.keep_best);
  CHECK_FALSE(c.soft_targets());
}

TEST_CASE("Recipe::named(\"robust\"): GAP head, AdamW with a one-cycle schedule over the run, masks and shifts, smoothing, last weights") {
  const Recipe r = Recipe::named("robust");
  CHECK(r.frontend == "resize");
  CHECK(r.architecture.head == "gap");
  CHECK(r.architecture.dense_units.empty());
  CHECK(r.architecture.bn_momentum == 0.9);
  CHECK(r.keep == "last");
  CHECK(r.label_smoothing == 0.1);
  CHECK(r.augment.enabled());
  CHECK(r.patience >= r.epochs);  // keeping the last weights: early stopping would cut the schedule short
  CHECK_NOTHROW(r.validate());
  const nn::AdamConfig adam = r.adam_config(10);
  CHECK(adam.weight_decay == r.weight_decay);
  CHECK(adam.schedule.kind == nn::LrScheduleKind::OneCycle);
  CHECK(adam.schedule.total_steps == 10 * r.epochs);
  CHECK(adam.schedule.pct_start == r.warmup);
  CHECK(adam.schedule.max_lr == r.lr);
  CHECK(r.train_config().soft_targets());
  CHECK_FALSE(r.train_config().keep_best);
  const auto& names = Recipe::names();
  CHECK(std::find(names.begin(), names.end(), "seed") != names.end());
  CHECK(std::find(names.begin(), names.end(), "robust") != names.end());
  CHECK_THROWS_WITH_AS(Recipe::named("fast"), doctest::Contains("fast"), Error);
}

TEST_CASE("Recipe JSON round trip, and a missing or bad field is refused by name") {
  Recipe custom = Recipe::named("robust");
  custom.name = "custom";
  custom.sampling = "balanced";
  custom.augment = AugmentConfig::parse("time-masks=1x8,mixup=0.3");
  custom.keep = "best";
  custom.lr_schedule = "constant";
  custom.architecture.block = "conv-bn-relu";
  Recipe waved = Recipe::named("general");
  waved.wave_augment = "speed=0.9-1.1,gain=-6-6";
  waved.wave_copies = 2;
  CHECK(nlohmann::json(waved).at("wave_copies") == 2);
  CHECK(!nlohmann::json(Recipe::named("robust")).contains("wave_augment"));  // off: absent, as before the field
  for (const Recipe& r : {Recipe::named("seed"), Recipe::named("robust"), custom, waved}) {
    CAPTURE(r.name);
    const nlohmann::json j = r;
    const Recipe back = nlohmann::json::parse(j.dump()).get<Recipe>();
    CHECK(back == r);
  }
  const nlohmann::json good = custom;
  for (const char* field : {"name", "architecture", "lr", "weight_decay", "lr_schedule", "warmup", "epochs", "batch",
                            "patience", "keep", "augment", "label_smoothing", "sampling"}) {
    CAPTURE(field);
    nlohmann::json j = good;
    j.erase(field);
    CHECK_THROWS_WITH_AS(j.get<Recipe>(), doctest::Contains(field), Error);
  }
  const std::vector<std::pair<const char*, nlohmann::json>> bad = {
      {"lr", 0.0},          {"lr", -1.0},     {"weight_decay", 1.0},    {"lr_schedule", "cosine"},
      {"warmup", 1.0},      {"epochs", 0},    {"batch", 2.5},           {"keep", "first"},
      {"augment", "shift=x"}, {"label_smoothing", 1.0}, {"sampling", "random"}, {"lr", "fast"}};
  for (const auto& entry : bad) {  // no structured binding: clang 14 cannot CAPTURE one
    const auto& field = entry.first;
    const auto& value = entry.second;
    CAPTURE(field);
    CAPTURE(value.dump());
    nlohmann::json j = good;
    j[field] = value;
    CHECK_THROWS(j.get<Recipe>());
  }
  CHECK_THROWS_AS(nlohmann::json::array().get<Recipe>(), Error);
  nlohmann::json j = waved;
  j["wave_copies"] = 9;
  CHECK_THROWS_WITH_AS(j.get<Recipe>(), doctest::Contains("wave_copies 9 must lie in [0, 8]"), Error);
  j["wave_copies"] = 1;
  j["wave_augment"] = "none";
  CHECK_THROWS_WITH_AS(j.get<Recipe>(), doctest::Contains("needs a wave_augment other than none"), Error);
}

// ---- the loop ----------------------------------------------------------------------------

TEST_CASE("the seed recipe's TrainConfig gives bit for bit the weights of the loop before recipes existed") {
  // The loop as it was (commit 188a018): a permutation per epoch, batches in order, forward
  // in Train mode with the generator, hard-label softmax-CE, Keras Adam; no other draws.
  const Dataset train = test::toy_data(40, 1), val = test::toy_data(12, 2);
  const int epochs = 3;
  const TrainConfig cfg = seed_loop_config(epochs);
  REQUIRE(cfg.batch == 16);
  const Recipe seed = Recipe::named("seed");

  nn::Model with_trainer(test::tiny());
  Generator g1(21);
  with_trainer.initialize(g1);
  nn::Adam adam(seed.adam_config((train.size() + cfg.batch - 1) / cfg.batch), with_trainer.parameter_count());
  Trainer trainer(with_trainer, adam, g1, cfg);
  std::vector<double> losses;
  for (int e = 1; e <= epochs; ++e) losses.push_back(trainer.train_epoch(train, e).train_loss);

  nn::Model by_hand(test::tiny());
  Generator g2(21);
  by_hand.initialize(g2);
  const int64_t count = by_hand.parameter_count();
  std::vector<float> m(static_cast<std::size_t>(count), 0.0f), v(static_cast<std::size_t>(count), 0.0f);
  int64_t t = 0;
  Tensor x;
  std::vector<int32_t> y;
  for (int e = 1; e <= epochs; ++e) {
    const std::vector<int64_t> order = g2.permutation(train.size());
    double loss_sum = 0.0;
    for (int64_t begin = 0; begin < train.size(); begin += cfg.batch) {
      const int64_t n = std::min<int64_t>(cfg.batch, train.size() - begin);
      gather_batch(train, order, begin, n, x, y);
      by_hand.zero_grad();
      by_hand.forward(x, nn::Mode::Train, &g2);
      loss_sum += by_hand.backward_from_labels(y) * n;
      cpu::adam_step(by_hand.parameters().data(), m.data(), v.data(), by_hand.gradients().data(), count, 1e-3, 0.9,
                     0.999, 1e-7, ++t);
    }
    CHECK(loss_sum / train.size() == losses[static_cast<std::size_t>(e - 1)]);
  }
  CHECK(flat_parameters(with_trainer) == flat_parameters(by_hand));
  CHECK(g1.offset() == g2.offset());

  // fit(): the same epochs, then (keep best) the best validation epoch's weights.
  nn::Model fitted(test::tiny());
  Generator g3(21);
  fitted.initialize(g3);
  nn::Adam adam3(seed.adam_config(3), fitted.parameter_count());
  TrainState state;
  std::vector<std::vector<float>> after_epoch;
  Trainer(fitted, adam3, g3, cfg).fit(train, val, state, [&](const TrainState&) {
    after_epoch.push_back(flat_parameters(fitted));
  });
  REQUIRE(after_epoch.size() == static_cast<std::size_t>(epochs));
  CHECK(after_epoch.back() == flat_parameters(by_hand));
  CHECK(flat_parameters(fitted) == after_epoch[static_cast<std::size_t>(state.best_epoch - 1)]);
}

TEST_CASE("keep=last keeps the final epoch's weights; keep=best restores the best epoch's") {
  // Validation labels shifted by one class: the better the model learns, the worse its
  // validation accuracy, so the best epoch comes early and the last weights differ from it.
  const Dataset train = test::toy_data(30, 1);
  Dataset val = test::toy_data(15, 2);
  for (auto& l : val.labels) l = (l + 1) % 3;
  auto run = [&](bool keep_best, TrainState& state, std::vector<std::vector<float>>& snapshots) {
    nn::Model model(test::tiny());
    Generator gen(8);
    model.initialize(gen);
    nn::Adam adam(nn::AdamConfig{}, model.parameter_count());
    TrainConfig cfg = seed_loop_config(6);
    cfg.batch = 8;
    cfg.patience = 100;
    cfg.keep_best = keep_best;
    Trainer(model, adam, gen, cfg).fit(train, val, state, [&](const TrainState&) {
      snapshots.push_back(flat_parameters(model));
    });
    return flat_parameters(model);
  };
  TrainState last_state, best_state;
  std::vector<std::vector<float>> last_snaps, best_snaps;
  const std::vector<float> last = run(false, last_state, last_snaps);
  const std::vector<float> best = run(true, best_state, best_snaps);
  REQUIRE(last_snaps.size() == 6);
  REQUIRE(last_snaps == best_snaps);  // the same run up to the end
  REQUIRE_MESSAGE(last_state.best_epoch < 6, "the best epoch must come before the last for this test to mean anything");
  REQUIRE(last_snaps[static_cast<std::size_t>(last_state.best_epoch - 1)] != last_snaps.back());
  CHECK(last == last_snaps.back());
  CHECK(best == best_snaps[static_cast<std::size_t>(best_state.best_epoch - 1)]);
  CHECK(last_state.best_epoch == best_state.best_epoch);
}

TEST_CASE("a run with every recipe feature (augment, mixup, smoothing, balanced, AdamW one-cycle) resumes bit for bit") {
  test::TempDir dir;
  const Dataset train = test::toy_data(36, 1), val = test::toy_data(12, 2);
  Recipe r = Recipe::named("robust");
  r.architecture = test::tiny();
  r.architecture.head = "gap";
  r.architecture.dense_units = {};
  r.architecture.bn_momentum = 0.9;
  r.epochs = 4;
  r.batch = 8;
  r.augment = AugmentConfig::parse("time-masks=2x4,freq-masks=1x3,shift=3,mixup=0.4");
  r.sampling = "balanced";
  REQUIRE_NOTHROW(r.validate());
  TrainConfig cfg = r.train_config();
  cfg.progress = false;
  const int64_t steps = (train.size() + r.batch - 1) / r.batch;
  const ModelInfo info{{"a", "b", "c"}, "{}", {0.0, 1.0}};

  nn::Model straight(r.architecture);
  Generator g1(13);
  straight.initialize(g1);
  nn::Adam a1(r.adam_config(steps), straight.parameter_count());
  TrainState s1;
  Trainer(straight, a1, g1, cfg).fit(train, val, s1);
  REQUIRE(s1.history.size() == 4);
  CHECK(std::isfinite(s1.history.back().train_loss));
  CHECK(a1.steps() == 4 * steps);

  {
    nn::Model first(r.architecture);
    Generator g2(13);
    first.initialize(g2);
    nn::Adam a2(r.adam_config(steps), first.parameter_count());
    TrainState s2;
    TrainConfig half = cfg;
    half.epochs = 2;
    Trainer(first, a2, g2, half).fit(train, val, s2, [&](const TrainState& s) {
      save_checkpoint(dir / "ckpt.safetensors", first, a2, g2, s, info);
    });
  }
  nn::Model resumed(r.architecture);
  Generator g3(13);
  nn::Adam a3(r.adam_config(steps), resumed.parameter_count());
  TrainState s3;
  ModelInfo loaded;
  load_checkpoint(dir / "ckpt.safetensors", resumed, a3, g3, s3, loaded);
  REQUIRE(s3.epochs_done == 2);
  Trainer(resumed, a3, g3, cfg).fit(train, val, s3);
  REQUIRE(s3.history.size() == s1.history.size());
  for (std::size_t i = 0; i < s1.history.size(); ++i) CHECK(s3.history[i].train_loss == s1.history[i].train_loss);
  CHECK(flat_parameters(resumed) == flat_parameters(straight));
}

}  // TEST_SUITE

namespace ser::train {
TEST_SUITE("train") {
TEST_CASE("Recipe::named(\"general\"): robust's network and optimiser on the fixed time axis, corpus x class sampling") {
  CHECK(std::string(Recipe::default_name()) == "general");
  const Recipe g = Recipe::named("general");
  Recipe r = Recipe::named("robust");
  CHECK(g.frontend == "fixed");
  CHECK(g.sampling == "corpus-balanced");
  CHECK(g.wave_copies == 3);
  CHECK(features::WaveAugmentConfig::parse(g.wave_augment).text() == g.wave_augment);  // canonical, valid
  CHECK(r.wave_copies == 0);
  CHECK(g.architecture == r.architecture);
  CHECK(g.augment == r.augment);
  CHECK(g.lr == r.lr);
  // JSON round trip keeps the front end; a recipe without the field (older run.json) is resize.
  nlohmann::json j = g;
  CHECK(j.at("frontend") == "fixed");
  CHECK(j.get<Recipe>() == g);
  nlohmann::json old = r;
  CHECK_FALSE(old.contains("frontend"));
  CHECK(old.get<Recipe>().frontend == "resize");
  old["frontend"] = "stretch";
  CHECK_THROWS(old.get<Recipe>());
}
}
}  // namespace ser::train
