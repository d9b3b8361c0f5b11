// DeviceTrainer: the synchronisation-free training loop of a model on the GPU.
//
// The whole training set lives in device memory (uploaded once). Each epoch the host draws
// the order (config.sampling: shuffle or balanced) and, with augmentation on, the epoch's
// augmentation plan from the run's Generator exactly as the host Trainer does, uploads them
// with the step counters (kernels/train_step.h) in asynchronous copies, and then only
// QUEUES steps: gather the batch at the device cursor, augment it (kernels/augment.h, the
// plan rows at the cursor; bit-identical to the CPU's), forward, fused loss (hard labels,
// or soft targets: label smoothing and mixup), backward, Adam or AdamW with the learning-
// rate schedule evaluated from the device step counter, counter update. Nothing is read
// back until the epoch ends (loss and accuracy totals), so the GPU never waits for the host.
//
// With cuda_graphs on, the step of each batch size (the full batch and the last partial
// one) is captured once as a CUDA graph and replayed. Everything that changes between
// steps (cursor, dropout Philox stream, Adam's t, hence the plan rows and the learning
// rate) is read from device memory, so replays
// are exact: the same kernels in the same order as an eager step, hence bit-identical
// weights and accuracy counts (the epoch's loss sum adds per-block float atomics, so its
// last bits depend on block order in both modes). A graph is captured only after one eager step of its size has run at the
// current memory generation (CudaContext::memory_generation), because a first step
// allocates (activation buffers, cuDNN algorithm search, workspace) and a capture may not;
// a later reallocation (e.g. an evaluation batch larger than the training batch) makes the
// graphs stale and they are recaptured the same way. Should a capture fail (a library call
// that cannot be captured), that batch size runs eagerly from then on, with one warning.
//
// Random streams, Adam's step count and the epoch's statistics follow the host Trainer
// exactly (same Generator draws: the order, the augmentation plan if any, then one stream
// per dropout layer per step), so checkpoints and --resume work unchanged and a run on the
// GPU tracks the CPU run. Adam's settings (rate, decay, schedule) are kernel arguments of a
// captured graph; when Adam::config() changes between steps the graphs are captured again.
// CUDA build only: in the CPU-only build the constructor throws "built without CUDA".
#pragma once

#include <cstdint>
#include <memory>

#include "engine/core/random.h"
#include "engine/nn/adam.h"
#include "engine/nn/model.h"
#include "engine/train/dataset.h"
#include "engine/train/trainer.h"

namespace ser::train {

struct DeviceTrainerOptions {
  bool cuda_graphs = true;
  // The host waits for the step queued this many steps ago before queuing more: bounds the
  // queue and drives a truthful progress bar, without ever draining the GPU.
  int queue_depth_steps = 32;
};

// How the steps of all epochs so far were run.
struct DeviceStepCounts {
  int64_t eager_steps = 0;     // queued op by op (first step of a size, or graphs off)
  int64_t graph_captures = 0;  // graphs captured (one per batch size, again after a reallocation)
  int64_t graph_replays = 0;   // steps run as a graph launch
  int64_t capture_failures = 0;  // batch sizes whose capture failed (then run eagerly, with a warning)
};

class DeviceTrainer {
 public:
  // model and adam must be on Device::CUDA; `train` may be on any device and is copied to the
  // GPU now ((M, C, H, W) images and (M) labels). Throws for an empty set or a batch < 1.
  DeviceTrainer(nn::Model& model, nn::Adam& adam, Generator& generator, const Dataset& train, TrainConfig config,
                DeviceTrainerOptions options = {});
  ~DeviceTrainer();
  DeviceTrainer(const DeviceTrainer&) = delete;
  DeviceTrainer& operator=(const DeviceTrainer&) = delete;

  // One pass over the resident training set in a fresh order (config.sampling), each batch
  // augmented per config.augment. Returns with the GPU idle and the model's arenas final
  // (safe to checkpoint with plain copies). Accuracy is against each image's own label.
  EpochStats train_epoch(int epoch_number);
  const DeviceStepCounts& counts() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ser::train
