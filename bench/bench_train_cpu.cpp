// CPU training of the named recipes (engine/train/recipe.cpp) through the trainer's own code:
//   BM_<recipe>_train_step_cpu  one step of the trainer's inner loop (Trainer::train_epoch):
//       masks (cpu::augment_images, when the recipe augments), zero_grad, forward (Train,
//       dropout from the Generator), logits copied out, softmax-CE (soft targets with label
//       smoothing where the recipe has it), backward, Adam/AdamW with the recipe's schedule;
//       each step on the next of steps_per_epoch fixed batches of the network's input
//       (N, 1, H, W) NCHW, so that the network sees new images every step as in an epoch.
//   BM_<recipe>_epoch_cpu  Trainer::train_epoch over a synthetic dataset of ravdess-dev actors
//       01-16's size and class mix (704 images, engine/train/synthetic.h; the stored width of
//       the recipe's front end, so `general` crops 128-frame windows from 256), i.e. the
//       epoch's order, augmentation plan and crops, gathering, and every step; then
//       train::evaluate on 88 validation images (actors 17-18; `general`: 3 windows each),
//       timed apart (counter val_s). The benchmark's time is the training epoch alone, what
//       `ser train` prints as an epoch's seconds. Counters: epoch_s, step_ms = epoch_s / steps.
// Recipes: general (the default: GAP head, AdamW one-cycle, batch 32, time/frequency masks and
// shift, label smoothing 0.1, corpus-balanced sampling, 128x128 windows of the fixed front end)
// and seed (the notebook: flatten head, Adam, batch 16, 128x128 resized images). 6 classes.
// Waveform-augmented copies (general's wave_copies) are precomputed images: gathering a row
// of them costs what gathering the row itself does, so the synthetic set holds none.
//
// Why every case runs untimed warm-up steps (an epoch for the epoch cases) first (issue 23:
// BM_seed_train_step_cpu gave 256 ms a step while the trainer's epochs implied well under
// 190 ms): the first step of a new Model allocates and first-touches every activation,
// gradient and im2col buffer (~130 k page faults, ~500 MB at batch 16, each page zero-filled
// by the kernel), which costs about one more step. Google Benchmark builds a new Model for
// each of its runs and, at its default min_time (0.5 s), times one to three ~200 ms steps
// in the last run, the cold one among them; with 1 iteration the figure IS the cold step.
// The trainer allocates once per run and keeps the buffers across all steps and epochs.
// With the warm-up, step x steps matches the epoch case's training time to within ~2 %
// (BM_seed: 0.98-1.00, BM_general: 0.98-1.00, measured on a loaded 2-core machine). Thread
// settings (one pool, OpenBLAS single-threaded: engine/cpu/gemm.cpp) and the OpenBLAS core
// (main.cpp re-executes like the CLI, engine/cpu/blas_setup.h) were the same in both.
#include <benchmark/benchmark.h>

#include <chrono>
#include <string>
#include <vector>

#include "bench/ceilings_cpu.h"
#include "bench/roofline.h"
#include "engine/core/random.h"
#include "engine/cpu/augment.h"
#include "engine/nn/adam.h"
#include "engine/nn/model.h"
#include "engine/train/augment_plan.h"
#include "engine/train/recipe.h"
#include "engine/train/synthetic.h"
#include "engine/train/trainer.h"
#include "features/logmel.h"

using namespace ser;

namespace {

constexpr int kClasses = 6;             // the seed's six (RESULTS.md)
constexpr int64_t kTrainImages = 704;   // ravdess-dev actors 01-16
constexpr int64_t kValImages = 88;      // actors 17-18
constexpr int kWarmupSteps = 3;         // untimed steps before a step case's loop
constexpr uint64_t kSeed = 42;

// The front end a recipe's images come from (features/logmel.h).
features::LogMelConfig front_end(const train::Recipe& recipe) { return features::LogMelConfig::named(recipe.frontend); }

// The recipe's network as `ser train` sizes it (apps/train_run.cpp): input from the front end.
nn::Architecture recipe_architecture(const train::Recipe& recipe) {
  nn::Architecture a = recipe.architecture;
  a.classes = kClasses;
  a.height = front_end(recipe).image_height;
  a.width = front_end(recipe).network_width();
  return a;
}

// Model, optimiser (with the recipe's schedule over its epochs) and generator, initialised as
// `ser train` does (apps/train_run.cpp Learner) for epochs of steps_per_epoch steps.
struct RecipeLearner {
  train::Recipe recipe;
  nn::Model model;
  nn::Adam adam;
  Generator generator;
  RecipeLearner(const std::string& name, int64_t steps_per_epoch)
      : recipe(train::Recipe::named(name)),
        model(recipe_architecture(recipe)),
        adam(recipe.adam_config(steps_per_epoch), model.parameter_count()),
        generator(kSeed) {
    model.initialize(generator);
  }
  train::TrainConfig config() const {
    train::TrainConfig c = recipe.train_config();
    c.progress = false;
    return c;
  }
};

int64_t steps_per_epoch(const train::Recipe& recipe) { return (kTrainImages + recipe.batch - 1) / recipe.batch; }

// GEMM FLOPs of one training step of batch n: each 3x3 valid conv (forward 1x, backward
// dW and dx 2x, the first conv's dx skipped) and each dense layer (3x).
double train_step_gemm_flops(const nn::Architecture& a, int n) {
  double flops = 0;
  int64_t side_h = a.height, side_w = a.width, channels = a.in_channels;
  for (std::size_t b = 0; b < a.conv_channels.size(); ++b) {
    const int64_t oh = side_h - 2, ow = side_w - 2, out = a.conv_channels[b];
    flops += 2.0 * n * out * oh * ow * channels * 9 * (b == 0 ? 2 : 3);
    side_h = oh / 2, side_w = ow / 2, channels = out;
  }
  int64_t in = a.head == "gap" ? channels : channels * side_h * side_w;
  std::vector<int> units = a.dense_units;
  units.push_back(a.classes);
  for (int u : units) flops += 2.0 * n * double(in) * u * 3, in = u;
  return flops;
}

// The training set's images as the step case feeds them: steps_per_epoch batches of the
// network's input, each with its own labels and mask plan, visited in turn (one step = one
// batch, the next step the next one), so the network sees new images every step as in an
// epoch rather than memorising a single batch.
struct StepBatches {
  std::vector<train::Dataset> batches;                 // each: images (N, 1, H, W), labels (N)
  std::vector<std::vector<cpu::SampleAugment>> plans;  // (N) per batch, empty without augmentation
  Tensor augmented;                                    // (N, 1, H, W): the masked copy the network sees
  std::vector<float> lambda;                           // (N) all 1: no mixup in these recipes
  std::size_t next = 0;
};

StepBatches make_step_batches(RecipeLearner& l) {
  const nn::Architecture& a = l.model.architecture();
  const int n = l.recipe.batch;
  StepBatches s;
  for (int64_t b = 0; b < steps_per_epoch(l.recipe); ++b) {
    s.batches.push_back(train::synthetic_dataset(n, kClasses, a.height, a.width, kSeed + 10 + b));
    if (l.recipe.augment.enabled())
      s.plans.push_back(train::draw_augment_plan(l.generator, n, n, static_cast<int>(a.height),
                                                 static_cast<int>(a.width), l.recipe.augment));
  }
  s.augmented = Tensor(s.batches[0].images.shape());
  s.lambda.assign(static_cast<std::size_t>(n), 1.0f);
  return s;
}

// The body of Trainer::train_epoch's loop for the next batch (engine/train/trainer.cpp),
// gathering and cropping aside (the epoch case has them). Returns the loss.
double train_step(RecipeLearner& l, StepBatches& s) {
  const train::TrainConfig config = l.config();
  const std::size_t b = s.next;
  s.next = (s.next + 1) % s.batches.size();
  const train::Dataset& batch = s.batches[b];
  const Tensor* input = &batch.images;
  if (!s.plans.empty()) {
    const Shape& shape = batch.images.shape();
    cpu::augment_images(s.augmented.data(), batch.images.data(), s.plans[b].data(), static_cast<int>(shape[0]),
                        static_cast<int>(shape[2]), static_cast<int>(shape[3]));
    input = &s.augmented;
  }
  l.model.zero_grad();
  benchmark::DoNotOptimize(l.model.forward(*input, nn::Mode::Train, &l.generator).to_vector());
  const double loss = config.soft_targets()
                          ? l.model.backward_from_soft_targets(batch.labels, batch.labels, s.lambda,
                                                               config.label_smoothing)
                          : l.model.backward_from_labels(batch.labels);
  l.adam.step(l.model.parameters(), l.model.gradients());
  return loss;
}

void run_train_step(benchmark::State& st, const std::string& recipe) {
  RecipeLearner l(recipe, steps_per_epoch(train::Recipe::named(recipe)));
  StepBatches batches = make_step_batches(l);
  for (int i = 0; i < kWarmupSteps; ++i) train_step(l, batches);  // allocation and first touch (see top)
  const double seconds = bench::timed_loop(st, [&] { benchmark::DoNotOptimize(train_step(l, batches)); });
  const int n = l.recipe.batch;
  // bytes: parameters, gradients and Adam moments once each (the activations come on top).
  bench::report_roofline(st, 4.0 * 5 * double(l.model.parameter_count()),
                         train_step_gemm_flops(l.model.architecture(), n), bench::cpu_ceilings(), seconds);
  st.counters["samples/s"] = benchmark::Counter(n, benchmark::Counter::kIsIterationInvariantRate);
  st.counters["batch"] = n;
}

#define SER_CPU_TRAIN_BENCH(fn) BENCHMARK(fn)->Unit(benchmark::kMillisecond)->UseRealTime()

// The default recipe's step: batch 32 of 1x128x128 windows, masks, AdamW one-cycle.
void BM_general_train_step_cpu(benchmark::State& st) { run_train_step(st, "general"); }
SER_CPU_TRAIN_BENCH(BM_general_train_step_cpu);

// The seed network's step (batch 16, 1x128x128, 6 classes, 5 240 774 parameters), as in
// RESULTS.md's history (until issue 23 without warm-up: see the top of this file).
void BM_seed_train_step_cpu(benchmark::State& st) { run_train_step(st, "seed"); }
SER_CPU_TRAIN_BENCH(BM_seed_train_step_cpu);

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void run_epoch(benchmark::State& st, const std::string& recipe) {
  RecipeLearner l(recipe, steps_per_epoch(train::Recipe::named(recipe)));
  const nn::Architecture& a = l.model.architecture();
  const int64_t stored_width = front_end(l.recipe).image_width;
  const train::Dataset train = train::synthetic_dataset(kTrainImages, kClasses, a.height, stored_width, kSeed + 2);
  const train::Dataset validation = train::synthetic_dataset(kValImages, kClasses, a.height, stored_width, kSeed + 3);
  const train::TrainConfig config = l.config();
  train::Trainer trainer(l.model, l.adam, l.generator, config);
  int epoch = 1;
  trainer.train_epoch(train, epoch++);  // warm-up: the first epoch allocates (see top)
  double train_seconds = 0, val_seconds = 0;
  for (auto _ : st) {
    const train::EpochStats stats = trainer.train_epoch(train, epoch++);
    st.SetIterationTime(stats.seconds);
    train_seconds += stats.seconds;
    const auto t0 = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(train::evaluate(l.model, validation, config.eval_batch).accuracy);
    val_seconds += seconds_since(t0);
  }
  const double epochs = double(st.iterations()), steps = double(steps_per_epoch(l.recipe));
  st.counters["epoch_s"] = train_seconds / epochs;
  st.counters["step_ms"] = 1e3 * train_seconds / (epochs * steps);
  st.counters["val_s"] = val_seconds / epochs;
  st.counters["steps"] = steps;
  st.counters["batch"] = l.recipe.batch;
  st.counters["samples/s"] = double(kTrainImages) * epochs / train_seconds;
}

#define SER_CPU_EPOCH_BENCH(fn) BENCHMARK(fn)->Unit(benchmark::kMillisecond)->UseManualTime()

void BM_general_epoch_cpu(benchmark::State& st) { run_epoch(st, "general"); }
SER_CPU_EPOCH_BENCH(BM_general_epoch_cpu);

void BM_seed_epoch_cpu(benchmark::State& st) { run_epoch(st, "seed"); }
SER_CPU_EPOCH_BENCH(BM_seed_epoch_cpu);

}  // namespace
