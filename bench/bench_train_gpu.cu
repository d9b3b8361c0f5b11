// The seed network's training throughput on the GPU through the DeviceTrainer (issue 5's
// headline figure), beside PyTorch's in bench/torch_train_step.py (same network, same
// resident data, same batch sizes; bench/train_table.py puts the two side by side).
//
// One benchmark iteration = one epoch over `kSamples` normalised random 1x128x128 images
// resident on the device (gather by index, forward, loss, backward, Adam; CUDA-graph
// replays), timed on the host from the first queued step to the epoch's final read-back
// (Trainer-visible wall time, so it includes the per-epoch permutation upload). The first
// epoch (algorithm search, graph capture) runs before timing and must give a finite loss.
// Counters:
//   samples_per_s      kSamples / epoch seconds
//   ms_per_step        epoch seconds / steps
//   epoch10k_s         seconds for 10 000 samples (the issue's target: < 1 s on an H100)
//   step_flops         FLOPs of one full-batch step (2 per MAC of conv/dense forward,
//                      backward-data except the first conv, backward-filter)
//   flop_per_s         step_flops * steps / epoch seconds
//   peak_device_bytes  device memory in use (cudaMemGetInfo) after training minus before the
//                      model was built: model, optimiser, resident data, activations,
//                      cuDNN/cuBLAS workspaces; the CUDA context itself is excluded
//   graph_replays      replayed steps in the timed epochs (0 for graphs:off)
// Names: BM_TrainStepGpu/batch:B/math:fp32|tf32[/graphs:off] (registered below).
#include <benchmark/benchmark.h>
#include <cuda_runtime.h>

#include <cmath>
#include <string>
#include <vector>

#include "engine/core/random.h"
#include "engine/cuda/context.h"
#include "engine/nn/adam.h"
#include "engine/nn/architecture.h"
#include "engine/nn/model.h"
#include "engine/train/device_trainer.h"
#include "bench/bench_data.h"
#include "bench/ceilings_gpu.h"

namespace ser::bench {
namespace {

constexpr int64_t kSamples = 10000;

// (kSamples, 1, 128, 128) normalised (uniform, zero mean, unit variance) images and balanced labels, built once.
const train::Dataset& resident_dataset() {
  static const train::Dataset data = [] {
    train::Dataset d;
    const nn::Architecture arch = nn::Architecture::seed();
    const Shape shape{kSamples, 1, arch.height, arch.width};
    d.images = Tensor::from_vector(shape, random_floats(shape.numel(), -1.73f, 1.73f, 42));  // zero mean, unit variance
    for (int64_t i = 0; i < kSamples; ++i) d.labels.push_back(static_cast<int32_t>(i % arch.classes));
    return d;
  }();
  return data;
}

// FLOPs of one training step at batch n (see the file comment).
double step_flops(const nn::Architecture& arch, int64_t n) {
  double macs = 0;
  int64_t c = arch.in_channels, h = arch.height, w = arch.width;
  for (std::size_t b = 0; b < arch.conv_channels.size(); ++b) {
    const int64_t co = arch.conv_channels[b], ho = h - 2, wo = w - 2;
    const double layer = double(n) * co * ho * wo * c * 9;
    macs += layer * (b == 0 ? 2 : 3);  // forward + filter gradient (+ data gradient after the first)
    c = co, h = ho / 2, w = wo / 2;
  }
  int64_t features = c * h * w;
  for (int units : arch.dense_units) {
    macs += 3.0 * double(n) * features * units;
    features = units;
  }
  macs += 3.0 * double(n) * features * arch.classes;
  return 2 * macs;
}

std::size_t device_bytes_in_use() {
  std::size_t free_bytes = 0, total_bytes = 0;
  cudaMemGetInfo(&free_bytes, &total_bytes);
  return total_bytes - free_bytes;
}

void BM_TrainStepGpu(benchmark::State& state, int batch, bool tf32, bool graphs) {
  if (skip_without_device(state)) return;
  const train::Dataset& data = resident_dataset();
  const nn::Architecture arch = nn::Architecture::seed();
  cudaDeviceSynchronize();
  const std::size_t before = device_bytes_in_use();
  nn::Model model(arch, Device::CUDA);
  model.cuda_context()->set_math_mode(tf32 ? cuda::MathMode::AllowTf32 : cuda::MathMode::StrictFp32);
  Generator generator(42);
  model.initialize(generator);
  nn::Adam adam({}, model.parameter_count(), Device::CUDA);
  train::TrainConfig config;
  config.batch = batch;
  config.progress = false;
  train::DeviceTrainerOptions options;
  options.cuda_graphs = graphs;
  train::DeviceTrainer trainer(model, adam, generator, data, config, options);
  const train::EpochStats warm = trainer.train_epoch(1);
  if (!std::isfinite(warm.train_loss)) return state.SkipWithError("the warm-up epoch's loss is not finite");
  const int64_t replays_before = trainer.counts().graph_replays;
  const int64_t steps = (kSamples + batch - 1) / batch;
  double seconds = 0;
  int epoch = 2;
  for (auto _ : state) {
    const train::EpochStats stats = trainer.train_epoch(epoch++);
    state.SetIterationTime(stats.seconds);
    seconds += stats.seconds;
  }
  const double epochs = static_cast<double>(state.iterations());
  const double per_epoch = seconds / epochs;
  state.counters["samples_per_s"] = kSamples / per_epoch;
  state.counters["ms_per_step"] = 1e3 * per_epoch / steps;
  state.counters["epoch10k_s"] = per_epoch * 10000.0 / kSamples;
  state.counters["step_flops"] = step_flops(arch, batch);
  state.counters["flop_per_s"] = step_flops(arch, batch) * steps / per_epoch;
  state.counters["peak_device_bytes"] = static_cast<double>(device_bytes_in_use() - before);
  state.counters["graph_replays"] = static_cast<double>(trainer.counts().graph_replays - replays_before);
  model.cuda_context()->set_math_mode(cuda::MathMode::StrictFp32);  // the process-wide context's default
}

// Registered by name so the JSON names are stable for bench/train_table.py.
const bool registered = [] {
  for (int batch : {16, 64, 256})
    for (bool tf32 : {false, true}) {
      const std::string name =
          "BM_TrainStepGpu/batch:" + std::to_string(batch) + "/math:" + (tf32 ? "tf32" : "fp32");
      benchmark::RegisterBenchmark(name.c_str(), BM_TrainStepGpu, batch, tf32, true)
          ->UseManualTime()
          ->Unit(benchmark::kMillisecond)
          ->MinTime(2.0);
    }
  benchmark::RegisterBenchmark("BM_TrainStepGpu/batch:16/math:fp32/graphs:off", BM_TrainStepGpu, 16, false, false)
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond)
      ->MinTime(2.0);
  return true;
}();

}  // namespace
}  // namespace ser::bench
