// The `robust` recipe's training on the GPU (suite "gpu"): each piece the host loop adds to
// the notebook's step, on CUDA, against the CPU, then whole runs.
//  - nn::Adam on CUDA with AdamW + one-cycle equals nn::Adam on the CPU bit for bit (the
//    host-step kernel rounds like engine/cpu/adam.h);
//  - Model::backward_from_soft_targets on CUDA (label smoothing + mixup) tracks the CPU;
//  - a small robust-like network (GAP head, conv-bn-relu blocks, SpecAugment masks + time
//    shift, mixup, label smoothing, balanced sampling, AdamW + one-cycle) trained by the
//    DeviceTrainer: CUDA-graph replays equal eager device steps bit for bit; the DeviceTrainer
//    equals the host loop on the same GPU and tracks the CPU Trainer; a schedule changed
//    between epochs is captured anew; Trainer::fit trains it through the DeviceTrainer (it
//    refused these settings before).
// Tolerances (max-norm relative, as tests/gpu/test_device_trainer.cpp, whose arguments hold
// unchanged: the augmented images are bit-identical on both devices, so the only
// differences are float reductions, the float (GPU) vs double (CPU) loss, and the device's
// cos / pow in the one-cycle rate):
//   0       graphs vs eager, and nn::Adam GPU vs CPU (same gradients in).
//   1e-6    DeviceTrainer vs host loop on the GPU (Adam's lr_t, alpha_t, decay from device
//           vs host double cos / pow: may differ by an ulp of a double before the rounding).
//   2e-3 * steps/5  vs the CPU (peak lr 1e-3, as the 5-step bound of test_layers_gpu.cpp).
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "engine/core/tensor.h"
#include "engine/nn/adam.h"
#include "engine/nn/model.h"
#include "engine/train/device_trainer.h"
#include "engine/train/trainer.h"
#include "support/architectures.h"
#include "support/gpu.h"
#include "support/model_run.h"
#include "support/values.h"

using namespace ser;
using namespace ser::nn;
using namespace ser::train;

namespace {

// 37 samples: batch 8 leaves a partial last batch of 5. Classes 0..3 unevenly (balanced
// sampling then differs from a shuffle).
Dataset small_dataset(int64_t m = 37) {
  Dataset d;
  d.images = Tensor::from_vector(Shape{m, 1, 32, 32}, test::uniform_values(m * 32 * 32, -1, 1, 5));
  for (int64_t i = 0; i < m; ++i) d.labels.push_back(static_cast<int32_t>(i % 5 == 0 ? 3 : (i * 7) % 3));
  return d;
}

// The robust recipe's network at 32x32: conv-bn-relu blocks, BN momentum 0.9, GAP head;
// `dense` adds one Dense+ReLU+Dropout(0.5) layer (so the dropout streams follow the plan's).
Architecture robust_like(bool dense) {
  Architecture arch = test::small_architecture({4, 8}, 16);
  arch.block = "conv-bn-relu";
  arch.head = "gap";
  arch.bn_momentum = 0.9;
  if (!dense) arch.dense_units = {};
  return arch;
}

// The step's settings; `augment` in AugmentConfig's text form.
TrainConfig robust_config(int batch, const std::string& augment, double smoothing, Sampling sampling, int epochs) {
  TrainConfig c;
  c.batch = batch;
  c.epochs = epochs;
  c.progress = false;
  c.augment = AugmentConfig::parse(augment);
  c.label_smoothing = smoothing;
  c.sampling = sampling;
  return c;
}

// AdamW (decay 1e-2) with one-cycle over the run's steps, peak 1e-3.
AdamConfig robust_adam(int64_t total_steps) {
  AdamConfig c;
  c.lr = 1e-3;
  c.weight_decay = 1e-2;
  c.schedule.kind = LrScheduleKind::OneCycle;
  c.schedule.total_steps = total_steps;
  c.schedule.pct_start = 0.3;
  return c;
}

// A model on `device` with the weights of a CPU model initialised from seed 7, its AdamW and
// the run's Generator.
struct Run : test::ModelRun {
  Run(const Architecture& arch, Device device, int64_t total_steps)
      : ModelRun(arch, device, robust_adam(total_steps)) {}
};

struct Setting {
  const char* name;
  std::string augment;
  double smoothing;
  Sampling sampling;
  bool dense;
};

// Every combination the step distinguishes: the robust recipe with mixup and balanced
// sampling (soft targets from the plan); label smoothing alone (soft targets, no plan);
// masks and shift alone (hard labels on augmented images); the robust recipe as shipped.
const std::vector<Setting>& settings() {
  static const std::vector<Setting> all = {
      {"robust + mixup + balanced, dense+dropout", "time-masks=2x4,freq-masks=2x4,shift=4,mixup=0.4", 0.1,
       Sampling::Balanced, true},
      {"smoothing only", "none", 0.1, Sampling::Shuffle, false},
      {"masks + shift, hard labels, balanced", "time-masks=1x6,freq-masks=2x3,shift=8", 0.0, Sampling::Balanced, false},
      {"robust as shipped", "time-masks=2x4,freq-masks=2x4,shift=4", 0.1, Sampling::Shuffle, false},
  };
  return all;
}

}  // namespace

TEST_SUITE("gpu") {

TEST_CASE("nn::Adam on CUDA: AdamW with the one-cycle schedule equals the CPU optimizer bit for bit") {
  SER_REQUIRE_GPU();
  const int64_t n = 4099;  // float4 body + a scalar tail of 3
  const AdamConfig config = robust_adam(5);
  Adam cpu(config, n), gpu(config, n, Device::CUDA);
  Tensor w_cpu = Tensor::from_vector(Shape{n}, test::uniform_values(n, -1, 1, 1));
  Tensor w_gpu = w_cpu.to(Device::CUDA);
  for (int step = 0; step < 7; ++step) {  // two steps past the schedule's end
    CAPTURE(step);
    const Tensor g = Tensor::from_vector(Shape{n}, test::uniform_values(n, -0.5f, 0.5f, 10 + step));
    const Tensor g_gpu = g.to(Device::CUDA);
    cpu.step(w_cpu, g);
    gpu.step(w_gpu, g_gpu);
    CHECK(w_gpu.to_vector() == w_cpu.to_vector());
  }
  CHECK(gpu.m().to_vector() == cpu.m().to_vector());
  CHECK(gpu.v().to_vector() == cpu.v().to_vector());
  CHECK(gpu.steps() == cpu.steps());
}

// Soft targets on a CUDA Model against the CPU Model, from the same weights and batch
// (tolerances of the 5-step test in test_layers_gpu.cpp: logits 1e-4, loss 1e-4 relative,
// probabilities 1e-4, gradients 1e-3 max-norm relative).
TEST_CASE("Model::backward_from_soft_targets on CUDA (smoothing + mixup) tracks the CPU") {
  SER_REQUIRE_GPU();
  const Architecture arch = robust_like(true);
  Model cpu(arch), gpu(arch, Device::CUDA);
  Generator init(7);
  cpu.initialize(init);
  gpu.load_named_state(copy_state(cpu));
  const int batch = 9;
  const Tensor x = Tensor::from_vector(Shape{batch, 1, 32, 32}, test::uniform_values(batch * 32 * 32, -1, 1, 3));
  std::vector<int32_t> a(batch), b(batch);
  std::vector<float> lambda(batch);
  for (int i = 0; i < batch; ++i) {
    a[i] = i % arch.classes;
    b[i] = (i * 3 + 1) % arch.classes;
    lambda[i] = i % 3 == 0 ? 1.0f : 0.5f + 0.05f * static_cast<float>(i);
  }
  for (int variant = 0; variant < 2; ++variant) {  // with mixup, then smoothing alone (null partner / lambda)
    CAPTURE(variant);
    Generator cpu_rng(11), gpu_rng(11);
    cpu.zero_grad();
    gpu.zero_grad();
    const std::vector<float> cpu_logits = cpu.forward(x, Mode::Train, &cpu_rng).to_vector();
    const std::vector<float> gpu_logits = gpu.forward(x, Mode::Train, &gpu_rng).to_vector();
    CHECK(test::max_norm_relative_error(gpu_logits, cpu_logits) <= 1e-4);
    const std::vector<int32_t> partner = variant == 0 ? b : std::vector<int32_t>{};
    const std::vector<float> weights = variant == 0 ? lambda : std::vector<float>{};
    const double cpu_loss = cpu.backward_from_soft_targets(a, partner, weights, 0.1);
    const double gpu_loss = gpu.backward_from_soft_targets(a, partner, weights, 0.1);
    CHECK(std::isfinite(gpu_loss));
    CHECK(std::fabs(gpu_loss - cpu_loss) <= 1e-4 * std::fabs(cpu_loss));
    CHECK(test::max_norm_relative_error(gpu.probabilities().to_vector(), cpu.probabilities().to_vector()) <= 1e-4);
    CHECK(test::max_norm_relative_error(gpu.gradients().to_vector(), cpu.gradients().to_vector()) <= 1e-3);
  }
}

TEST_CASE("DeviceTrainer (robust-like): CUDA-graph replays equal eager device steps bit for bit") {
  SER_REQUIRE_GPU();
  const Dataset data = small_dataset();
  const int epochs = 3, batch = 8;
  const int64_t steps = epochs * ((37 + batch - 1) / batch);
  for (const Setting& setting : settings()) {
    CAPTURE(setting.name);
    const Architecture arch = robust_like(setting.dense);
    const TrainConfig config = robust_config(batch, setting.augment, setting.smoothing, setting.sampling, epochs);
    Run graphs(arch, Device::CUDA, steps), eager(arch, Device::CUDA, steps);
    DeviceTrainerOptions with_graphs, without_graphs;
    without_graphs.cuda_graphs = false;
    without_graphs.queue_depth_steps = 2;
    DeviceTrainer a(graphs.model, graphs.adam, graphs.rng, data, config, with_graphs);
    DeviceTrainer b(eager.model, eager.adam, eager.rng, data, config, without_graphs);
    // All of a's epochs first, then b's (b's first step allocates in the shared context).
    std::vector<EpochStats> sa, sb;
    for (int e = 1; e <= epochs; ++e) sa.push_back(a.train_epoch(e));
    for (int e = 1; e <= epochs; ++e) sb.push_back(b.train_epoch(e));
    for (int e = 0; e < epochs; ++e) {
      CAPTURE(e);
      CHECK(sa[e].train_accuracy == sb[e].train_accuracy);
      CHECK(std::fabs(sa[e].train_loss - sb[e].train_loss) <= 1e-6 * std::fabs(sb[e].train_loss));
      CHECK(std::isfinite(sa[e].train_loss));
    }
    CHECK(test::max_norm_relative_error(graphs.state(), eager.state()) == 0.0);
    CHECK(graphs.adam.steps() == steps);
    CHECK(eager.adam.steps() == steps);
    CHECK(graphs.rng.offset() == eager.rng.offset());
    CHECK(a.counts().eager_steps + a.counts().graph_replays == steps);
    CHECK(a.counts().capture_failures == 0);
    CHECK(a.counts().graph_captures >= 2);  // the full batch and the partial one
    CHECK(a.counts().graph_captures <= 4);
    CHECK(a.counts().graph_replays >= steps - 4);
    CHECK(b.counts().eager_steps == steps);
  }
}

TEST_CASE("DeviceTrainer (robust-like) equals the host loop on the GPU and tracks the CPU Trainer") {
  SER_REQUIRE_GPU();
  const Dataset data = small_dataset();
  const int epochs = 2, batch = 8;
  const int64_t steps = epochs * ((37 + batch - 1) / batch);
  for (const Setting& setting : settings()) {
    CAPTURE(setting.name);
    const Architecture arch = robust_like(setting.dense);
    const TrainConfig config = robust_config(batch, setting.augment, setting.smoothing, setting.sampling, epochs);
    Run device(arch, Device::CUDA, steps), host_gpu(arch, Device::CUDA, steps), cpu(arch, Device::CPU, steps);
    DeviceTrainer dt(device.model, device.adam, device.rng, data, config);
    Trainer gpu_loop(host_gpu.model, host_gpu.adam, host_gpu.rng, config);
    Trainer cpu_loop(cpu.model, cpu.adam, cpu.rng, config);
    for (int e = 1; e <= epochs; ++e) {
      CAPTURE(e);
      const EpochStats sd = dt.train_epoch(e);
      const EpochStats sg = gpu_loop.train_epoch(data, e);
      const EpochStats sc = cpu_loop.train_epoch(data, e);
      CHECK(std::fabs(sd.train_loss - sg.train_loss) <= 1e-5 * std::fabs(sg.train_loss));
      CHECK(sd.train_accuracy == sg.train_accuracy);
      CHECK(std::fabs(sd.train_loss - sc.train_loss) <= 1e-3 * std::fabs(sc.train_loss));
      CHECK(std::fabs(sd.train_accuracy - sc.train_accuracy) <= 1.0 / 37 + 1e-12);  // one argmax may flip
      // Each epoch's order and plan depend on the Generator's offset after the last one.
      CHECK(device.rng.offset() == cpu.rng.offset());
      CHECK(device.rng.offset() == host_gpu.rng.offset());
    }
    CHECK(test::max_norm_relative_error(device.state(), host_gpu.state()) <= 1e-6);
    CHECK(test::max_norm_relative_error(device.state(), cpu.state()) <= 2e-3 * steps / 5.0);
    CHECK(device.adam.steps() == cpu.adam.steps());
  }
}

// Adam's settings reach a captured graph by value: a new schedule between epochs (what
// ser train does once it knows the steps per epoch, Adam::set_schedule) must be captured
// anew, not replayed with the old rates. Eager steps read the settings at every step.
TEST_CASE("DeviceTrainer recaptures its graphs when Adam's schedule changes between epochs") {
  SER_REQUIRE_GPU();
  const Dataset data = small_dataset();
  const int batch = 8;
  const Setting& setting = settings().back();
  const Architecture arch = robust_like(setting.dense);
  const TrainConfig config = robust_config(batch, setting.augment, setting.smoothing, setting.sampling, 2);
  Run graphs(arch, Device::CUDA, 5), eager(arch, Device::CUDA, 5);
  DeviceTrainerOptions with_graphs, without_graphs;
  without_graphs.cuda_graphs = false;
  DeviceTrainer a(graphs.model, graphs.adam, graphs.rng, data, config, with_graphs);
  DeviceTrainer b(eager.model, eager.adam, eager.rng, data, config, without_graphs);
  a.train_epoch(1);
  const int64_t captures_after_first = a.counts().graph_captures;
  LrSchedule longer = graphs.adam.config().schedule;
  longer.total_steps = 40;  // another rate at every step of epoch 2
  graphs.adam.set_schedule(longer);
  a.train_epoch(2);
  CHECK(a.counts().graph_captures > captures_after_first);
  b.train_epoch(1);
  eager.adam.set_schedule(longer);
  b.train_epoch(2);
  CHECK(test::max_norm_relative_error(graphs.state(), eager.state()) == 0.0);
}

TEST_CASE("Trainer::fit trains the robust-like recipe on a CUDA model through the DeviceTrainer") {
  SER_REQUIRE_GPU();
  const Dataset data = small_dataset();
  const int epochs = 3, batch = 8;
  const int64_t steps = epochs * ((37 + batch - 1) / batch);
  const Setting& setting = settings().front();
  const Architecture arch = robust_like(setting.dense);
  TrainConfig resident = robust_config(batch, setting.augment, setting.smoothing, setting.sampling, epochs);
  TrainConfig loop = resident;
  resident.keep_best = loop.keep_best = false;  // the robust recipe keeps the last epoch
  loop.device_resident = false;
  Run device(arch, Device::CUDA, steps), host_gpu(arch, Device::CUDA, steps);
  TrainState s1, s2;
  Trainer(device.model, device.adam, device.rng, resident).fit(data, data, s1);
  Trainer(host_gpu.model, host_gpu.adam, host_gpu.rng, loop).fit(data, data, s2);
  REQUIRE(s1.history.size() == 3);
  REQUIRE(s2.history.size() == 3);
  const double one_sample = 1.0 / static_cast<double>(data.size());
  for (std::size_t i = 0; i < 3; ++i) {
    CAPTURE(i);
    CHECK(std::isfinite(s1.history[i].train_loss));
    CHECK(std::fabs(s1.history[i].train_loss - s2.history[i].train_loss) <= 1e-5 * std::fabs(s2.history[i].train_loss));
    CHECK(std::fabs(s1.history[i].val_accuracy - s2.history[i].val_accuracy) <= one_sample + 1e-12);
  }
  CHECK(test::max_norm_relative_error(device.state(), host_gpu.state()) <= 1e-6);
  CHECK(device.adam.steps() == steps);
  CHECK(device.rng.offset() == host_gpu.rng.offset());
}

}  // TEST_SUITE
