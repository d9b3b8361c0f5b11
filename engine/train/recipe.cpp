// The named recipes, their validation and JSON form (see recipe.h).
#include "engine/train/recipe.h"

#include <nlohmann/json.hpp>

#include "engine/core/error.h"
#include "engine/io/json_number.h"

namespace ser::train {

namespace {

Recipe seed_recipe() {
  Recipe r;
  r.name = "seed";
  r.architecture = nn::Architecture::seed();
  return r;  // every other field's default is the notebook's
}

// Chosen on RAVDESS actors 01-16 -> 17-20 (docs/RECIPES.md has every variant tried).
Recipe robust_recipe() {
  Recipe r;
  r.name = "robust";
  r.architecture = nn::Architecture::seed();
  r.architecture.head = "gap";
  r.architecture.dense_units = {};
  r.architecture.bn_momentum = 0.9;
  r.lr = 2e-3;
  r.weight_decay = 1e-2;
  r.lr_schedule = "onecycle";
  r.warmup = 0.3;
  r.epochs = 100;
  r.batch = 32;
  r.patience = 100;  // keep "last": the one-cycle schedule must run to its end
  r.keep = "last";
  r.augment = AugmentConfig::parse("time-masks=2x16,freq-masks=2x16,shift=16");
  r.label_smoothing = 0.1;
  return r;
}

// The waveform augmentation of `general`: each of 3 copies of a training clip gets a speed
// change, noise (coloured or babble) at 5-20 dB SNR half the time, a gain, and now and then
// telephone band, spectral tilt and room reverberation (features/wave_augment.h).
constexpr const char* kGeneralWaveAugment =
    "speed=0.9-1.1,reverb=0.3@0.2-0.8,noise=0.5@5-20:white+pink+brown+babble,tilt=0.3@-6-6,telephone=0.2,gain=-12-6";

// Robust's network, optimiser and masks on the fixed time axis, every corpus and class drawn
// equally often, each clip shown as itself or one of 3 waveform-augmented copies
// (docs/RECIPES.md "Across corpora" has its figures).
Recipe general_recipe() {
  Recipe r = robust_recipe();
  r.name = "general";
  r.frontend = "fixed";
  r.sampling = "corpus-balanced";
  r.epochs = 60;
  r.patience = 60;
  r.wave_augment = kGeneralWaveAugment;
  r.wave_copies = 3;
  return r;
}

}  // namespace

const std::vector<std::string>& Recipe::names() {
  static const std::vector<std::string> kNames = {"general", "robust", "seed"};
  return kNames;
}

Recipe Recipe::named(const std::string& name) {
  if (name == "seed") return seed_recipe();
  if (name == "robust") return robust_recipe();
  if (name == "general") return general_recipe();
  SER_FAIL("unknown recipe '{}': expected one of general (the default: fixed time axis, waveform augmentation), "
           "robust (whole-clip images), seed (the notebook)", name);
}

void Recipe::validate() const {
  architecture.validate();
  SER_CHECK(lr > 0 && lr < 10, "recipe {}: lr {} must lie in (0, 10)", name, lr);
  SER_CHECK(weight_decay >= 0 && weight_decay < 1, "recipe {}: weight decay {} must lie in [0, 1)", name, weight_decay);
  SER_CHECK(lr_schedule == "constant" || lr_schedule == "onecycle",
            "recipe {}: lr schedule '{}' must be constant or onecycle", name, lr_schedule);
  SER_CHECK(warmup > 0 && warmup < 1, "recipe {}: warmup fraction {} must lie in (0, 1)", name, warmup);
  SER_CHECK(epochs >= 1 && batch >= 1 && patience >= 1, "recipe {}: epochs {}, batch {} and patience {} must be >= 1",
            name, epochs, batch, patience);
  SER_CHECK(keep == "best" || keep == "last", "recipe {}: keep '{}' must be best or last", name, keep);
  augment.validate(architecture.height, architecture.width);
  SER_CHECK(label_smoothing >= 0 && label_smoothing < 1, "recipe {}: label smoothing {} must lie in [0, 1)", name,
            label_smoothing);
  parse_sampling(sampling);
  SER_CHECK(short_crops >= 0 && short_crops <= 1, "recipe {}: short_crops {} must lie in [0, 1]", name, short_crops);
  SER_CHECK(frontend == "resize" || frontend == "fixed" || frontend == "fixed-hp" || frontend == "fixed-cmn",
            "recipe {}: front end '{}' must be resize, fixed, fixed-hp or fixed-cmn (features::LogMelConfig::named)", name,
            frontend);
  SER_CHECK(wave_copies >= 0 && wave_copies <= 8, "recipe {}: wave_copies {} must lie in [0, 8]", name, wave_copies);
  SER_CHECK(wave_copies == 0 || (!wave_augment.empty() && wave_augment != "none"),
            "recipe {}: wave_copies {} needs a wave_augment other than none", name, wave_copies);
}

nn::AdamConfig Recipe::adam_config(int64_t steps_per_epoch) const {
  nn::AdamConfig c;
  c.lr = lr;
  c.weight_decay = weight_decay;
  if (lr_schedule == "onecycle") {
    c.schedule.kind = nn::LrScheduleKind::OneCycle;
    c.schedule.total_steps = steps_per_epoch * epochs;
    c.schedule.pct_start = warmup;
  }
  c.schedule.max_lr = lr;
  return c;
}

TrainConfig Recipe::train_config() const {
  TrainConfig c;
  c.epochs = epochs;
  c.batch = batch;
  c.patience = patience;
  c.sampling = parse_sampling(sampling);
  c.augment = augment;
  c.label_smoothing = label_smoothing;
  c.short_crops = short_crops;
  c.keep_best = keep == "best";
  return c;
}

bool Recipe::operator==(const Recipe& o) const {
  return name == o.name && architecture == o.architecture && lr == o.lr && weight_decay == o.weight_decay &&
         lr_schedule == o.lr_schedule && warmup == o.warmup && epochs == o.epochs && batch == o.batch &&
         patience == o.patience && keep == o.keep && augment == o.augment && label_smoothing == o.label_smoothing &&
         sampling == o.sampling && frontend == o.frontend &&
         short_crops == o.short_crops && wave_augment == o.wave_augment && wave_copies == o.wave_copies;
}

void to_json(nlohmann::json& j, const Recipe& r) {
  j = {{"name", r.name},
       {"architecture", nlohmann::json::parse(r.architecture.to_json())},
       {"lr", r.lr},
       {"weight_decay", r.weight_decay},
       {"lr_schedule", r.lr_schedule},
       {"warmup", r.warmup},
       {"epochs", r.epochs},
       {"batch", r.batch},
       {"patience", r.patience},
       {"keep", r.keep},
       {"augment", r.augment},
       {"label_smoothing", r.label_smoothing},
       {"sampling", r.sampling}};
  if (r.frontend != "resize") j["frontend"] = r.frontend;  // absent = resize: the seed's run.json as before
  if (r.short_crops > 0) j["short_crops"] = r.short_crops;
  if (r.wave_copies > 0) {  // absent = off
    j["wave_augment"] = r.wave_augment;
    j["wave_copies"] = r.wave_copies;
  }
}

void from_json(const nlohmann::json& j, Recipe& r) {
  SER_CHECK(j.is_object(), "recipe: expected a JSON object, got {}", j.dump().substr(0, 200));
  auto field = [&](const char* key) -> const nlohmann::json& {
    SER_CHECK(j.contains(key), "recipe: missing field \"{}\"", key);
    return j.at(key);
  };
  auto text = [&](const char* key) {
    SER_CHECK(field(key).is_string(), "recipe: field \"{}\" must be a string", key);
    return field(key).get<std::string>();
  };
  r.name = text("name");
  r.architecture = nn::Architecture::from_json(field("architecture").dump());
  r.lr = json_to_double(field("lr"), "recipe", "lr");
  r.weight_decay = json_to_double(field("weight_decay"), "recipe", "weight_decay");
  r.lr_schedule = text("lr_schedule");
  r.warmup = json_to_double(field("warmup"), "recipe", "warmup");
  r.epochs = json_to_int(field("epochs"), "recipe", "epochs");
  r.batch = json_to_int(field("batch"), "recipe", "batch");
  r.patience = json_to_int(field("patience"), "recipe", "patience");
  r.keep = text("keep");
  r.augment = field("augment").get<AugmentConfig>();
  r.label_smoothing = json_to_double(field("label_smoothing"), "recipe", "label_smoothing");
  r.sampling = text("sampling");
  r.frontend = j.contains("frontend") ? text("frontend") : std::string("resize");
  r.short_crops = j.contains("short_crops") ? json_to_double(j.at("short_crops"), "recipe", "short_crops") : 0.0;
  r.wave_augment = j.contains("wave_augment") ? text("wave_augment") : std::string("none");
  r.wave_copies = j.contains("wave_copies") ? json_to_int(j.at("wave_copies"), "recipe", "wave_copies") : 0;
  r.validate();
}

}  // namespace ser::train
