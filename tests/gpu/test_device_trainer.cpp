// The synchronisation-free GPU trainer (engine/train/device_trainer.h), suite "gpu":
//  - CUDA-graph replays are bit-identical to eager device steps over several epochs with
//    a partial last batch (the same kernels in the same order; graphs recaptured as needed);
//  - the DeviceTrainer equals the host loop on the same GPU (same data order, dropout
//    streams and Adam steps) and tracks the CPU Trainer (strict FP32);
//  - the host Generator and Adam step count end where the host Trainer's do, so
//    checkpoints and --resume need no special case.
// Tolerances (max-norm relative, as tests/gpu/test_layers_gpu.cpp):
//   0       graphs vs eager: identical work on one device. The epoch LOSS is compared to
//           1e-6 only: the fused loss kernel adds rows with float atomics, whose order varies.
//   1e-6    DeviceTrainer vs host loop on the GPU: the same kernels, except Adam's alpha_t,
//           computed in double by the host's pow or the device's pow (may differ by an ulp of
//           a double before the rounding to float).
//   2e-3 * steps/5  vs the CPU: the bound argued in test_layers_gpu.cpp (an element whose
//           gradient is rounding noise may move by up to lr per step on either device).
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "engine/core/error.h"
#include "engine/core/tensor.h"
#include "engine/nn/adam.h"
#include "engine/nn/model.h"
#include "engine/nn/network.h"
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

// 37 samples: batch 8 leaves a partial last batch of 5.
Dataset small_dataset(int64_t m = 37) {
  Dataset d;
  d.images = Tensor::from_vector(Shape{m, 1, 32, 32}, test::uniform_values(m * 32 * 32, -1, 1, 5));
  for (int64_t i = 0; i < m; ++i) d.labels.push_back(static_cast<int32_t>((i * 7) % 4));
  return d;
}

TrainConfig quiet(int batch) {
  TrainConfig c;
  c.batch = batch;
  c.progress = false;
  return c;
}

// A model on `device` with the weights of a CPU model initialised from seed 7.
struct Run : test::ModelRun {
  explicit Run(Device device) : ModelRun(test::small_architecture(), device) {}
};

}  // namespace

TEST_SUITE("gpu") {

TEST_CASE("DeviceTrainer: CUDA-graph replays equal eager device steps bit for bit (partial last batch too)") {
  SER_REQUIRE_GPU();
  const Dataset data = small_dataset();
  const int epochs = 3, batch = 8;
  Run graphs(Device::CUDA), eager(Device::CUDA);
  DeviceTrainerOptions with_graphs, without_graphs;
  without_graphs.cuda_graphs = false;
  without_graphs.queue_depth_steps = 2;  // exercises the queue bound too
  DeviceTrainer a(graphs.model, graphs.adam, graphs.rng, data, quiet(batch), with_graphs);
  DeviceTrainer b(eager.model, eager.adam, eager.rng, data, quiet(batch), without_graphs);
  // All of a's epochs first, then b's: b's first step allocates (the context is shared),
  // which would make a's graphs stale in between and blur the replay count checked below.
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
  const int64_t steps = epochs * ((37 + batch - 1) / batch);
  CHECK(graphs.adam.steps() == steps);
  CHECK(eager.adam.steps() == steps);
  CHECK(graphs.rng.offset() == eager.rng.offset());
  CHECK(a.counts().eager_steps + a.counts().graph_replays == steps);
  // Eager: the first step of each size, and again at most once per size after a reallocation
  // (the partial batch's first conv plans may grow the workspace); every other step replays.
  CHECK(a.counts().capture_failures == 0);
  CHECK(a.counts().graph_captures >= 2);  // the full batch and the partial one
  CHECK(a.counts().graph_captures <= 4);
  CHECK(a.counts().graph_replays >= steps - 4);
  CHECK(b.counts().eager_steps == steps);
  CHECK(b.counts().graph_captures == 0);
}

TEST_CASE("DeviceTrainer equals the host loop on the GPU and tracks the CPU Trainer") {
  SER_REQUIRE_GPU();
  const Dataset data = small_dataset();
  const int epochs = 2, batch = 8;
  Run device(Device::CUDA), host_gpu(Device::CUDA), cpu(Device::CPU);
  DeviceTrainer dt(device.model, device.adam, device.rng, data, quiet(batch));
  Trainer gpu_loop(host_gpu.model, host_gpu.adam, host_gpu.rng, quiet(batch));
  Trainer cpu_loop(cpu.model, cpu.adam, cpu.rng, quiet(batch));
  for (int e = 1; e <= epochs; ++e) {
    CAPTURE(e);
    const EpochStats sd = dt.train_epoch(e);
    const EpochStats sg = gpu_loop.train_epoch(data, e);
    const EpochStats sc = cpu_loop.train_epoch(data, e);
    CHECK(std::fabs(sd.train_loss - sg.train_loss) <= 1e-5 * std::fabs(sg.train_loss));
    CHECK(sd.train_accuracy == sg.train_accuracy);
    CHECK(std::fabs(sd.train_loss - sc.train_loss) <= 1e-3 * std::fabs(sc.train_loss));
    CHECK(std::fabs(sd.train_accuracy - sc.train_accuracy) <= 1.0 / 37 + 1e-12);  // one argmax may flip
  }
  CHECK(test::max_norm_relative_error(device.state(), host_gpu.state()) <= 1e-6);
  const int64_t steps = epochs * ((37 + batch - 1) / batch);
  CHECK(test::max_norm_relative_error(device.state(), cpu.state()) <= 2e-3 * steps / 5.0);
  CHECK(device.rng.offset() == cpu.rng.offset());
  CHECK(device.rng.offset() == host_gpu.rng.offset());
  CHECK(device.adam.steps() == cpu.adam.steps());
}

TEST_CASE("DeviceTrainer with dropout 0 consumes the host loop's random streams (none per step)") {
  SER_REQUIRE_GPU();
  const Dataset data = small_dataset();
  Architecture arch = test::small_architecture();
  arch.dropout = 0.0f;
  Model device(arch, Device::CUDA), cpu(arch);
  Generator init(7);
  cpu.initialize(init);
  device.load_named_state(copy_state(cpu));
  Adam device_adam({}, device.parameter_count(), Device::CUDA), cpu_adam({}, cpu.parameter_count());
  Generator device_rng(11), cpu_rng(11);
  DeviceTrainer dt(device, device_adam, device_rng, data, quiet(8));
  Trainer loop(cpu, cpu_adam, cpu_rng, quiet(8));
  for (int e = 1; e <= 2; ++e) {
    dt.train_epoch(e);
    loop.train_epoch(data, e);
    CHECK(device_rng.offset() == cpu_rng.offset());  // epoch 2's order depends on it
  }
  std::vector<float> a, b;
  for (auto& [name, t] : device.named_state()) for (float v : t.to_vector()) a.push_back(v);
  for (auto& [name, t] : cpu.named_state()) for (float v : t.to_vector()) b.push_back(v);
  CHECK(test::max_norm_relative_error(a, b) <= 2e-3 * 10 / 5.0);
}

TEST_CASE("Trainer::fit on a CUDA model trains through the DeviceTrainer and keeps the best weights") {
  SER_REQUIRE_GPU();
  const Dataset data = small_dataset();
  Run device(Device::CUDA), host_gpu(Device::CUDA);
  TrainConfig resident = quiet(8), loop = quiet(8);
  resident.epochs = loop.epochs = 3;
  loop.device_resident = false;
  TrainState s1, s2;
  Trainer(device.model, device.adam, device.rng, resident).fit(data, data, s1);
  Trainer(host_gpu.model, host_gpu.adam, host_gpu.rng, loop).fit(data, data, s2);
  REQUIRE(s1.history.size() == 3);
  REQUIRE(s2.history.size() == 3);
  // Weights agree to 1e-6, not bit for bit (device vs host pow in Adam's step size), so an
  // argmax near a tie may flip: accuracies within one sample, and the same best epoch
  // whenever every accuracy is equal.
  const double one_sample = 1.0 / static_cast<double>(data.size());
  bool all_equal = true;
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(std::fabs(s1.history[i].val_accuracy - s2.history[i].val_accuracy) <= one_sample + 1e-12);
    all_equal = all_equal && s1.history[i].val_accuracy == s2.history[i].val_accuracy;
  }
  if (all_equal) CHECK(s1.best_epoch == s2.best_epoch);
  CHECK(test::max_norm_relative_error(device.state(), host_gpu.state()) <= 1e-6);
}

}  // TEST_SUITE

TEST_SUITE("nn") {

// No device needed: the argument check (CUDA build) or the "built without CUDA" error
// (CPU-only build) comes before any device work.
TEST_CASE("a Train forward draws one random stream per dropout layer with rate > 0") {
  Architecture arch = test::small_architecture({4}, 8);
  arch.dense_units = {8, 8, 8};
  Network<float> with_dropout(arch);
  CHECK(with_dropout.dropout_streams_per_step() == 3);
  arch.dropout = 0.0f;
  Network<float> without(arch);
  CHECK(without.dropout_streams_per_step() == 0);
  // The host layers agree: a rate-0 network's Train forward leaves the generator alone.
  std::vector<float> params(static_cast<std::size_t>(without.parameter_count())), grads(params.size()),
      state(static_cast<std::size_t>(std::max<int64_t>(without.state_count(), 1)));
  without.bind(params.data(), grads.data(), state.data());
  Generator init(1), rng(2);
  without.initialize(init);
  const std::vector<float> x = test::uniform_values(2 * 32 * 32, -1, 1, 3);
  without.forward(x.data(), Shape{2, 1, 32, 32}, Mode::Train, &rng);
  CHECK(rng.offset() == 0);
}

TEST_CASE("DeviceTrainer refuses a model on the CPU with a clear error") {
  Model model(test::small_architecture());
  Adam adam({}, model.parameter_count());
  Generator rng(1);
  const Dataset data = small_dataset(4);
  try {
    DeviceTrainer trainer(model, adam, rng, data, quiet(2));
    FAIL("constructed a DeviceTrainer for a CPU model");
  } catch (const Error& e) {
    const std::string what = e.what();
    CHECK((what.find("must be on cuda") != std::string::npos || what.find("without the CUDA backend") != std::string::npos));
  }
}

}  // TEST_SUITE
