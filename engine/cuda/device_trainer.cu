// DeviceTrainer (engine/train/device_trainer.h): the resident training set, the queued
// step, its CUDA-graph capture and replay, and the once-per-epoch host exchange.
// Device buffers:
//   images       (M, C, H, W) float   the normalised training set
//   labels       (M) int32
//   order        (M) int64            the epoch's order (shuffle or balanced, sampling.h)
//   plan         (M) SampleAugment    the epoch's augmentation plan, row i for position i of
//                                     the order (only when augmentation is on)
//   counters     (1) TrainStepCounters cursor, dropout stream, Adam t, epoch totals
//   step_loss    (1) StepLoss          the current step's loss sum and correct count
//   x_batch      (B, C, H, W) float    the gathered batch (a partial batch uses its front)
//   y_batch      (B) int32             the batch's labels (the soft loss's labels_a)
//   x_augmented  (B, 1, H, W) float    the augmented batch (augmentation on)
//   y_partner    (B) int32, mix_weight (B) float   mixup partner labels and own weights
//                                     (augmentation and soft targets on)
// Pinned host mirrors of order, plan and counters make the epoch's copies asynchronous.
// All of these are allocated in the constructor, before any capture.
#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <deque>
#include <limits>
#include <map>
#include <optional>

#include <unistd.h>

#include "engine/core/error.h"
#include "engine/core/progress.h"
#include "engine/cuda/check.h"
#include "engine/cuda/context.h"
#include "engine/train/augment_plan.h"
#include "engine/train/device_trainer.h"
#include "engine/train/sampling.h"
#include "kernels/adam.h"
#include "kernels/augment.h"
#include "kernels/device_array.h"
#include "kernels/train_step.h"

namespace ser::train {
namespace {

constexpr uint64_t kNever = std::numeric_limits<uint64_t>::max();

// A pinned host array of n T (page-locked, so cudaMemcpyAsync from it is truly asynchronous).
template <typename T>
struct PinnedArray {
  explicit PinnedArray(int64_t n) : size(n) {
    CUDA_CHECK(cudaMallocHost(reinterpret_cast<void**>(&data), sizeof(T) * static_cast<std::size_t>(std::max<int64_t>(n, 1))));
  }
  ~PinnedArray() {
    if (data != nullptr) cudaFreeHost(data);
  }
  PinnedArray(const PinnedArray&) = delete;
  PinnedArray& operator=(const PinnedArray&) = delete;
  T* data = nullptr;
  int64_t size = 0;
};

// One captured step of a given batch size.
struct StepGraph {
  cudaGraphExec_t exec = nullptr;
  uint64_t captured_at = kNever;   // memory generation of the capture
  uint64_t warmed_at = kNever;     // memory generation after the last eager step of this size
  bool eager_only = false;         // capture or instantiation failed once: run this size eagerly
  StepGraph() = default;
  StepGraph(const StepGraph&) = delete;
  StepGraph& operator=(const StepGraph&) = delete;
  ~StepGraph() { reset(); }
  void reset() {
    if (exec != nullptr) cudaGraphExecDestroy(exec);
    exec = nullptr;
    captured_at = kNever;
  }
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// The optimizer's settings as the Adam kernel takes them (by value: a captured graph holds
// the values of its capture, so the trainer recaptures when they change).
kernels::AdamHyper adam_hyper(const nn::AdamConfig& c) {
  kernels::AdamHyper h;
  h.learning_rate = c.lr;
  h.beta1 = c.beta1;
  h.beta2 = c.beta2;
  h.epsilon = c.epsilon;
  h.weight_decay = c.weight_decay;
  h.schedule = c.schedule;
  return h;
}

bool same_hyper(const kernels::AdamHyper& a, const kernels::AdamHyper& b) {
  const nn::LrSchedule &s = a.schedule, &t = b.schedule;
  return a.learning_rate == b.learning_rate && a.beta1 == b.beta1 && a.beta2 == b.beta2 && a.epsilon == b.epsilon &&
         a.weight_decay == b.weight_decay && s.kind == t.kind && s.max_lr == t.max_lr &&
         s.total_steps == t.total_steps && s.pct_start == t.pct_start && s.div_factor == t.div_factor &&
         s.final_div_factor == t.final_div_factor;
}

}  // namespace

struct DeviceTrainer::Impl {
  Impl(nn::Model& m, nn::Adam& a, Generator& g, const Dataset& train, TrainConfig c, DeviceTrainerOptions o)
      : model(m),
        adam(a),
        generator(g),
        config(c),
        options(o),
        ctx(*m.cuda_context()),
        net(m.network()),
        sample_shape(train.images.shape()),
        samples(train.size()),
        sample_numel(train.images.shape().numel() / std::max<int64_t>(train.size(), 1)),
        classes(m.architecture().classes),
        augments(c.augment.enabled()),
        soft_targets(c.soft_targets()),
        images(train.images.to(Device::CUDA)),
        host_labels(train.labels),
        host_groups(train.groups),
        labels(train.labels),
        order(train.size()),
        plan(augments ? train.size() : 0),
        counters(1),
        step_loss(1),
        x_batch(static_cast<int64_t>(c.batch) * sample_numel),
        y_batch(c.batch),
        x_augmented(augments ? static_cast<int64_t>(c.batch) * sample_numel : 0),
        y_partner(augments && soft_targets ? c.batch : 0),
        mix_weight(augments && soft_targets ? c.batch : 0),
        host_order(train.size()),
        host_plan(augments ? train.size() : 0),
        host_counters(1) {
    cudaEvent_t e = nullptr;
    CUDA_CHECK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
    progress_event_pool.push_back(e);
  }

  ~Impl() {
    for (auto* e : progress_event_pool) cudaEventDestroy(e);
  }

  // Queues one training step of `count` rows (count <= config.batch) on the stream: the
  // host Trainer's step (gather, augment, forward, hard or soft loss, backward, Adam(W)) with
  // every per-step value read from device memory (cursor, dropout stream, Adam's t).
  void enqueue_step(int64_t count) {
    const cudaStream_t s = ctx.stream();
    CUDA_CHECK(cudaMemsetAsync(model.gradients().data(), 0, model.gradients().bytes(), s));
    CUDA_CHECK(cudaMemsetAsync(step_loss.data(), 0, sizeof(kernels::StepLoss), s));
    kernels::gather_batch_at_cursor(x_batch.data(), y_batch.data(), images.data(), labels.data(), samples,
                                    sample_numel, order.data(), counters.data(), count, s);
    const float* input = x_batch.data();
    const bool mixes = augments && soft_targets;  // mixup targets from the plan (partner = self without mixup)
    if (augments) {
      kernels::augment_batch_at_cursor(x_augmented.data(), mixes ? y_partner.data() : nullptr,
                                       mixes ? mix_weight.data() : nullptr, x_batch.data(),
                                       mixes ? y_batch.data() : nullptr, plan.data(), samples,
                                       &counters.data()->cursor, count, static_cast<int>(sample_shape[2]),
                                       static_cast<int>(sample_shape[3]), s);
      input = x_augmented.data();
    }
    const Shape x_shape{count, sample_shape[1], sample_shape[2], sample_shape[3]};
    net.forward(input, x_shape, nn::Mode::Train, &generator, Device::CUDA);
    if (soft_targets)
      net.backward_from_device_soft_targets(y_batch.data(), mixes ? y_partner.data() : nullptr,
                                            mixes ? mix_weight.data() : nullptr, config.label_smoothing,
                                            &step_loss.data()->loss_sum, &step_loss.data()->correct);
    else
      net.backward_from_device_labels(y_batch.data(), &step_loss.data()->loss_sum, &step_loss.data()->correct);
    kernels::adam_step_device_counter(model.parameters().data(), model.gradients().data(), adam.m().data(),
                                      adam.v().data(), model.parameter_count(), adam_hyper(adam.config()),
                                      &counters.data()->adam_step, s);
    kernels::finish_training_step(counters.data(), step_loss.data(), count,
                                  static_cast<uint64_t>(net.dropout_streams_per_step()), s);
  }

  // Captures enqueue_step(count) into graph.exec. The stream is left out of capture mode
  // whatever happens.
  void capture(StepGraph& graph, int64_t count) {
    const cudaStream_t s = ctx.stream();
    const uint64_t generation = ctx.memory_generation();
    CUDA_CHECK(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal));
    cudaGraph_t captured = nullptr;
    try {
      enqueue_step(count);
    } catch (...) {
      cudaStreamEndCapture(s, &captured);
      if (captured != nullptr) cudaGraphDestroy(captured);
      cudaGetLastError();
      throw;
    }
    const cudaError_t ended = cudaStreamEndCapture(s, &captured);
    if (ended != cudaSuccess) {
      if (captured != nullptr) cudaGraphDestroy(captured);
      cudaGetLastError();
      CUDA_CHECK(ended);
    }
    SER_CHECK(ctx.memory_generation() == generation,
              "internal error: device memory was reallocated while the training step was captured");
    cudaGraphExec_t exec = nullptr;
    const cudaError_t status = cudaGraphInstantiate(&exec, captured, 0);
    cudaGraphDestroy(captured);
    if (status != cudaSuccess) cudaGetLastError();
    CUDA_CHECK(status);
    graph.reset();
    graph.exec = exec;
    graph.captured_at = generation;
    ++counts.graph_captures;
  }

  // Runs one step of `count` rows: replay, capture then replay, or eager (see the header).
  void run_step(int64_t count) {
    // The Adam settings are baked into a graph by value: should the caller change them
    // (Adam::set_schedule between epochs), every graph is captured again.
    const kernels::AdamHyper hyper = adam_hyper(adam.config());
    if (!same_hyper(hyper, captured_hyper)) {
      for (auto& [size, g] : graphs) g.reset();
      captured_hyper = hyper;
    }
    StepGraph& graph = graphs[count];
    const uint64_t generation = ctx.memory_generation();
    if (options.cuda_graphs && graph.exec != nullptr && graph.captured_at == generation) {
      CUDA_CHECK(cudaGraphLaunch(graph.exec, ctx.stream()));
      ++counts.graph_replays;
      return;
    }
    if (options.cuda_graphs && !graph.eager_only && graph.warmed_at == generation) {
      bool captured = false;
      try {
        capture(graph, count);
        captured = true;
      } catch (const Error& e) {
        // A library call that cannot be captured must not cost the run: eager steps give
        // the same results, only slower. Said once per batch size.
        graph.eager_only = true;
        graph.reset();
        ++counts.capture_failures;
        fmt::print(stderr, "warning: the training step (batch {}) could not be captured as a CUDA graph; running "
                           "it without graphs ({})\n", count, e.what());
      }
      if (captured) {
        CUDA_CHECK(cudaGraphLaunch(graph.exec, ctx.stream()));
        ++counts.graph_replays;
        return;
      }
    }
    enqueue_step(count);
    ++counts.eager_steps;
    graph.warmed_at = ctx.memory_generation();
  }

  // Draws the epoch's order and augmentation plan from the Generator exactly as
  // Trainer::train_epoch does (same calls, same order: the order's stream, then the plan's),
  // and uploads them with the counters (one async copy each, from pinned memory).
  void begin_epoch() {
    ctx.synchronize();  // the pinned mirrors may still be read by the previous epoch's copies
    const std::vector<int64_t> epoch_rows = epoch_order(generator, config.sampling, host_labels, classes, host_groups);
    SER_CHECK(static_cast<int64_t>(epoch_rows.size()) == samples,
              "internal error: the epoch's order has {} rows for {} samples", epoch_rows.size(), samples);
    std::copy(epoch_rows.begin(), epoch_rows.end(), host_order.data);
    if (augments) {
      const std::vector<cpu::SampleAugment> epoch_plan =
          draw_augment_plan(generator, samples, config.batch, static_cast<int>(sample_shape[2]),
                            static_cast<int>(sample_shape[3]), config.augment);
      std::copy(epoch_plan.begin(), epoch_plan.end(), host_plan.data);
    }
    kernels::TrainStepCounters& c = *host_counters.data;
    c = kernels::TrainStepCounters{};
    c.dropout_stream = generator.offset();  // after the order and the plan, as the host loop's dropout draws
    c.adam_step = adam.steps();
    const cudaStream_t s = ctx.stream();
    CUDA_CHECK(cudaMemcpyAsync(order.data(), host_order.data, sizeof(int64_t) * static_cast<std::size_t>(samples),
                               cudaMemcpyHostToDevice, s));
    if (augments)
      CUDA_CHECK(cudaMemcpyAsync(plan.data(), host_plan.data,
                                 sizeof(cpu::SampleAugment) * static_cast<std::size_t>(samples),
                                 cudaMemcpyHostToDevice, s));
    CUDA_CHECK(cudaMemcpyAsync(counters.data(), host_counters.data, sizeof(kernels::TrainStepCounters),
                               cudaMemcpyHostToDevice, s));
  }

  // After a complete epoch: the host Generator and Adam end where the host Trainer's steps
  // would have left them (streams: one per drawing dropout layer per step).
  void advance_host_state(int64_t steps) {
    generator.set_offset(generator.offset() + static_cast<uint64_t>(steps) *
                                                  static_cast<uint64_t>(net.dropout_streams_per_step()));
    adam.set_steps(adam.steps() + steps);
  }

  // Reads the epoch's totals back (the only host wait of the epoch besides the queue bound).
  kernels::TrainStepCounters end_epoch() {
    CUDA_CHECK(cudaMemcpyAsync(host_counters.data, counters.data(), sizeof(kernels::TrainStepCounters),
                               cudaMemcpyDeviceToHost, ctx.stream()));
    ctx.synchronize();
    return *host_counters.data;
  }

  EpochStats train_epoch(int epoch_number) {
    const auto t0 = std::chrono::steady_clock::now();
    const int64_t steps = (samples + config.batch - 1) / config.batch;
    cuda::CudaContext& c = ctx;
    // Tensor copies and allocations (checkpoint loads, the dataset upload) ran on the legacy stream.
    cudaEvent_t legacy = nullptr;
    CUDA_CHECK(cudaEventCreateWithFlags(&legacy, cudaEventDisableTiming));
    CUDA_CHECK(cudaEventRecord(legacy, cudaStreamLegacy));
    CUDA_CHECK(cudaStreamWaitEvent(c.stream(), legacy, 0));
    CUDA_CHECK(cudaEventDestroy(legacy));
    begin_epoch();
    net.set_dropout_device_stream(&counters.data()->dropout_stream);
    std::optional<ProgressBar> bar;
    if (config.progress && ::isatty(::fileno(stderr)) == 1)
      bar.emplace(steps, fmt::format("epoch {}/{}", epoch_number, config.epochs));
    std::deque<std::pair<cudaEvent_t, int64_t>> in_flight;  // (event after step k, k + 1)
    int64_t reported = 0;
    try {
      for (int64_t step = 0; step < steps; ++step) {
        const int64_t count = std::min<int64_t>(config.batch, samples - step * config.batch);
        run_step(count);
        if ((step + 1) % options.queue_depth_steps == 0 || step + 1 == steps) {
          cudaEvent_t e = take_event();
          CUDA_CHECK(cudaEventRecord(e, c.stream()));
          in_flight.emplace_back(e, step + 1);
          while (in_flight.size() > 1) {  // keep at most two windows queued
            CUDA_CHECK(cudaEventSynchronize(in_flight.front().first));
            const int64_t done = in_flight.front().second;
            give_event(in_flight.front().first);
            in_flight.pop_front();
            if (bar) {
              const double elapsed = seconds_since(t0);
              bar->tick(done - reported, fmt::format("{:.0f} samples/s",
                                                     std::min(done * config.batch, samples) / std::max(elapsed, 1e-9)));
            }
            reported = done;
          }
        }
      }
    } catch (...) {
      net.set_dropout_device_stream(nullptr);
      for (auto& [e, done] : in_flight) give_event(e);
      throw;
    }
    net.set_dropout_device_stream(nullptr);
    for (auto& [e, done] : in_flight) give_event(e);
    const kernels::TrainStepCounters totals = end_epoch();
    advance_host_state(steps);
    if (bar) {
      bar->tick(steps - reported);
      bar->finish();
    }
    EpochStats stats;
    stats.epoch = epoch_number;
    stats.train_loss = totals.loss_sum / static_cast<double>(samples);
    stats.train_accuracy = static_cast<double>(totals.correct) / static_cast<double>(samples);
    SER_CHECK(std::isfinite(stats.train_loss), "training diverged: the mean loss of epoch {} is {}", epoch_number,
              stats.train_loss);
    SER_CHECK(totals.cursor == samples && totals.adam_step == adam.steps(),
              "internal error: the device step counters disagree with the host after epoch {} (cursor {} of {}, "
              "Adam step {} vs {})", epoch_number, totals.cursor, samples, totals.adam_step, adam.steps());
    stats.seconds = seconds_since(t0);
    stats.samples_per_second = static_cast<double>(samples) / std::max(stats.seconds, 1e-9);
    return stats;
  }

  cudaEvent_t take_event() {
    if (progress_event_pool.empty()) {
      cudaEvent_t e = nullptr;
      CUDA_CHECK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
      return e;
    }
    cudaEvent_t e = progress_event_pool.back();
    progress_event_pool.pop_back();
    return e;
  }
  void give_event(cudaEvent_t e) { progress_event_pool.push_back(e); }

  nn::Model& model;
  nn::Adam& adam;
  Generator& generator;
  TrainConfig config;
  DeviceTrainerOptions options;
  cuda::CudaContext& ctx;
  nn::Network<float>& net;
  Shape sample_shape;     // (M, C, H, W) of the training set
  int64_t samples;        // M
  int64_t sample_numel;   // C * H * W
  int classes;
  bool augments;          // config.augment.enabled()
  bool soft_targets;      // config.soft_targets(): label smoothing or mixup
  Tensor images;          // (M, C, H, W) on the device
  std::vector<int32_t> host_labels;       // (M), for balanced sampling
  std::vector<int32_t> host_groups;       // (M) corpus of each image, or empty (corpus-balanced sampling)
  kernels::DeviceArray<int32_t> labels;   // (M)
  kernels::DeviceArray<int64_t> order;    // (M)
  kernels::DeviceArray<cpu::SampleAugment> plan;  // (M) or empty
  kernels::DeviceArray<kernels::TrainStepCounters> counters;  // (1)
  kernels::DeviceArray<kernels::StepLoss> step_loss;          // (1)
  kernels::DeviceArray<float> x_batch;    // (B, C, H, W)
  kernels::DeviceArray<int32_t> y_batch;  // (B)
  kernels::DeviceArray<float> x_augmented;   // (B, 1, H, W) or empty
  kernels::DeviceArray<int32_t> y_partner;   // (B) or empty
  kernels::DeviceArray<float> mix_weight;    // (B) or empty
  PinnedArray<int64_t> host_order;                         // (M)
  PinnedArray<cpu::SampleAugment> host_plan;               // (M), or 1 unused
  PinnedArray<kernels::TrainStepCounters> host_counters;  // (1)
  std::map<int64_t, StepGraph> graphs;  // by batch size
  kernels::AdamHyper captured_hyper = adam_hyper(adam.config());  // what the graphs hold
  std::vector<cudaEvent_t> progress_event_pool;
  DeviceStepCounts counts;
};

namespace {
void check_device_trainer_arguments(nn::Model& model, nn::Adam& adam, const Dataset& train, const TrainConfig& config,
                                    const DeviceTrainerOptions& options) {
  SER_CHECK(model.device() == Device::CUDA, "DeviceTrainer: the model is on {}, it must be on cuda",
            device_name(model.device()));
  SER_CHECK(adam.m().device() == Device::CUDA, "DeviceTrainer: the optimizer's moments must be on cuda");
  SER_CHECK(adam.m().numel() == model.parameter_count() && adam.v().numel() == model.parameter_count(),
            "DeviceTrainer: the optimizer holds {} moments for a model of {} parameters", adam.m().numel(),
            model.parameter_count());
  for (auto* dropout : model.network().dropout_layers())
    SER_CHECK(!dropout->has_injected_mask(),
              "DeviceTrainer: layer {} has an injected dropout mask (a test hook the device loop does not support)",
              dropout->name());
  train.check(model.architecture().classes);  // (M, C, H, W) images, M labels in [0, classes) or none
  SER_CHECK(train.size() > 0 && train.labelled(), "the training set is empty or has no labels");
  SER_CHECK(config.batch > 0, "batch size must be positive, got {}", config.batch);
  SER_CHECK(options.queue_depth_steps > 0, "DeviceTrainer: queue depth {} must be positive",
            options.queue_depth_steps);
  if (config.augment.enabled()) {
    const Shape& s = train.images.shape();
    SER_CHECK(s[1] == 1, "DeviceTrainer: augmentation works on (M, 1, H, W) images, got {}", s.str());
    config.augment.validate(static_cast<int>(s[2]), static_cast<int>(s[3]));
  }
  SER_CHECK(config.label_smoothing >= 0 && config.label_smoothing < 1,
            "DeviceTrainer: label smoothing {} must lie in [0, 1)", config.label_smoothing);
}
}  // namespace

DeviceTrainer::DeviceTrainer(nn::Model& model, nn::Adam& adam, Generator& generator, const Dataset& train,
                             TrainConfig config, DeviceTrainerOptions options) {
  check_device_trainer_arguments(model, adam, train, config, options);
  impl_ = std::make_unique<Impl>(model, adam, generator, train, config, options);
}

DeviceTrainer::~DeviceTrainer() = default;

EpochStats DeviceTrainer::train_epoch(int epoch_number) { return impl_->train_epoch(epoch_number); }

const DeviceStepCounts& DeviceTrainer::counts() const { return impl_->counts; }

}  // namespace ser::train
