// GPU timings of every layer's forward and backward at the seed network's shapes, the
// twins of bench/bench_layers_cpu.cpp: the same case names with `_gpu`, the same arguments
// (batch 16 and 256 x conv block 0..3 x forward/backward; dense fc1/fc2/logits), the same
// inputs (bench/bench_data.h, same seeds) and the same bytes/FLOPs (bench/layer_costs.h).
// Tensors: x (N, C, H, W) NCHW; conv weights OIHW; dense x (N, in), W (out, in).
//
// Each case runs the engine's own layer (engine/nn/layers.h) on Device::CUDA the way Model
// does: parameters, gradients and state in device arenas bound with bind(), CUDA tensors
// for x, y, dy, dx, the process-wide context cuda::default_context() in strict FP32.
//
// Check, once per case and process, before anything is timed: the same layer on the CPU
// with the same parameters and inputs. Layers that treat samples independently (conv,
// ReLU, max-pool, dense) are compared on the first kCheckSamples samples only (the CPU
// conv at batch 256 takes seconds): the CPU twin runs on those samples; the GPU layer runs
// the whole batch with dy zeroed beyond them, so its dx must be 0 there and its
// (batch-summed) parameter gradients must equal the CPU twin's, within the tolerance. Batch norm in Train mode
// couples the batch through its statistics and is checked on the whole batch (cheap).
// Compared: forward output, BN moving statistics, and for backward cases dx and the
// parameter gradients, within the tolerances of tests/gpu/test_layers_gpu.cpp. A mismatch
// skips the case with an error; nothing is timed.
//
// Timing: bench::time_on_device on the context's stream, where the layer queues its work:
// L2 flush, start event, the layer call, stop event, all in order on that one stream.
// Backward cases time the backward alone, after one forward (as the CPU cases). Counters:
// bench::report_roofline against the FP32 GPU ceilings (bench/ceilings_gpu.h). Without a
// device every case calls SkipWithError("no CUDA device").
#include <benchmark/benchmark.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <exception>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "bench/bench_data.h"
#include "bench/ceilings_gpu.h"
#include "bench/layer_costs.h"
#include "engine/core/tensor.h"
#include "engine/cuda/context.h"
#include "engine/nn/cuda_backend.h"
#include "engine/nn/layers.h"
#include "tests/support/values.h"

namespace ser::bench {
namespace {

using nn::Layer;
using nn::Mode;

// Max-norm relative error max|gpu - cpu| / max(1, max|cpu|) allowed (test_layers_gpu.cpp):
// ReLU and max-pool are one compare / copy per element, identical on both devices; conv,
// dense and BN sum in a different order (FP32 dot products; BN in double on both sides).
// The longest FP32 sums here are conv1's filter/bias gradients over 2 x 126 x 126 terms;
// the same slicing run CPU against CPU (full batch vs 2 samples) differed by <= 4.4e-7.
constexpr double kExact = 0;
constexpr double kReorderedSums = 1e-5;

// Samples compared for the layers that treat samples independently.
constexpr int64_t kCheckSamples = 2;

// Makes one fresh layer; called twice per case (the GPU layer and its CPU twin).
using LayerFactory = std::function<std::unique_ptr<Layer<float>>()>;

// What a case runs and how it is checked and counted.
struct LayerCase {
  LayerFactory make;
  Shape x_shape;               // (N, ...) input of the layer
  bool backward = false;       // time the backward (after one forward) instead of the forward
  bool batch_coupled = false;  // Train-mode statistics span the batch: check the whole batch
  double tolerance = kExact;
  LayerCost cost;
};

Shape with_batch(const Shape& s, int64_t n) {
  std::vector<int64_t> dims = s.dims();
  dims[0] = n;
  return Shape(dims);
}

// One case's host inputs, as bench_layers_cpu.cpp builds them: parameters U(-0.1, 0.1),
// moving statistics 1, x and dy U(-1, 1).
struct HostInputs {
  std::vector<float> params;  // (P) the layer's parameter arena
  std::vector<float> state;   // (S) the layer's state arena
  std::vector<float> x;       // x_shape
  std::vector<float> dy;      // output_shape(x_shape)
};

HostInputs make_inputs(const Layer<float>& layer, const Shape& xs) {
  HostInputs in;
  in.params = random_floats(nn::total_numel(layer.parameter_specs()), -0.1f, 0.1f, 1);
  in.state.assign(static_cast<std::size_t>(nn::total_numel(layer.state_specs())), 1.0f);
  in.x = random_floats(xs.numel(), -1, 1, 2);
  in.dy = random_floats(layer.output_shape(xs).numel(), -1, 1, 3);
  return in;
}

// A flat device copy of host values (at least one float: layers without parameters or
// state are still bound to a valid pointer, as in the parity tests).
Tensor upload(const std::vector<float>& host) {
  if (host.empty()) return Tensor::zeros(Shape{1}, Device::CUDA);
  return Tensor::from_vector(Shape{static_cast<int64_t>(host.size())}, host).to(Device::CUDA);
}

// The layer's work is queued on ctx's stream: wait for it before reading back.
std::vector<float> download(cuda::CudaContext& ctx, const Tensor& t, int64_t count) {
  cuda::synchronize(ctx);
  std::vector<float> v = t.to_vector();
  v.resize(static_cast<std::size_t>(count));
  return v;
}

// A layer bound to device arenas with its device buffers at one input shape.
struct DeviceLayer {
  Layer<float>& layer;
  cuda::CudaContext& ctx;
  Shape x_shape, y_shape;
  int64_t param_count, state_count;
  Tensor params, grads, state;  // (max(1, P)), (max(1, P)) zeroed, (max(1, S))
  Tensor x, y, dy, dx;          // x: x_shape, y: y_shape, dy: y_shape, dx: x_shape (flat)

  DeviceLayer(Layer<float>& l, cuda::CudaContext& c, const Shape& xs, const HostInputs& in)
      : layer(l),
        ctx(c),
        x_shape(xs),
        y_shape(l.output_shape(xs)),
        param_count(nn::total_numel(l.parameter_specs())),
        state_count(nn::total_numel(l.state_specs())),
        params(upload(in.params)),
        grads(Tensor::zeros(params.shape(), Device::CUDA)),
        state(upload(in.state)),
        x(upload(in.x)),
        y(Shape{y_shape.numel()}, Device::CUDA),
        dy(upload(in.dy)),
        dx(Shape{x_shape.numel()}, Device::CUDA) {
    layer.bind(params.data(), grads.data(), state.data());
    layer.set_cuda_context(&ctx);
    cuda::wait_for_legacy_stream(ctx);  // the uploads ran on the legacy stream
  }
  // Replaces dy (the check runs the backward with part of dy zeroed).
  void set_dy(const std::vector<float>& host) {
    cuda::synchronize(ctx);
    dy = upload(host);
    cuda::wait_for_legacy_stream(ctx);
  }
  void forward() {
    layer.forward({x.data(), x_shape, Device::CUDA}, {y.data(), y_shape, Device::CUDA}, Mode::Train);
  }
  void backward() { layer.backward({dy.data(), y_shape, Device::CUDA}, {dx.data(), x_shape, Device::CUDA}); }
};

// Empty when got (GPU) matches want (CPU) within `tolerance`, else what differs and by how much.
std::string mismatch(const char* what, const std::vector<float>& got, const std::vector<float>& want,
                     double tolerance) {
  const double error = test::max_norm_relative_error(got, want);
  if (error <= tolerance) return "";
  return std::string(what) + " mismatch against the CPU layer: max-norm relative error " + std::to_string(error) +
         " > " + std::to_string(tolerance);
}

// Empty when `gpu` (whole batch) agrees with the CPU twin `cpu` on the first `check_n`
// samples, else the first mismatch. Runs one forward (and one backward) of the GPU layer.
std::string compare_with_cpu(DeviceLayer& gpu, Layer<float>& cpu, const HostInputs& in, int64_t check_n,
                             bool backward, double tolerance) {
  const Shape xs = with_batch(gpu.x_shape, check_n), ys = with_batch(gpu.y_shape, check_n);
  std::vector<float> params = in.params, grads(in.params.size(), 0.0f), state = in.state;
  std::vector<float> x(in.x.begin(), in.x.begin() + xs.numel());  // xs: the first check_n samples
  std::vector<float> y(static_cast<std::size_t>(ys.numel()));     // ys
  cpu.bind(params.data(), grads.data(), state.data());
  cpu.forward({x.data(), xs}, {y.data(), ys}, Mode::Train);
  gpu.forward();
  std::string differs = mismatch("forward output", download(gpu.ctx, gpu.y, ys.numel()), y, tolerance);
  if (differs.empty() && gpu.state_count > 0)
    differs = mismatch("moving statistics", download(gpu.ctx, gpu.state, gpu.state_count), state, tolerance);
  if (!differs.empty() || !backward) return differs;

  // dy (N, ...) zero beyond the checked samples: the GPU's batch-summed parameter gradients
  // are then the checked samples' alone, and its dx must be exactly 0 beyond them.
  std::vector<float> dy_checked = in.dy;
  std::fill(dy_checked.begin() + ys.numel(), dy_checked.end(), 0.0f);
  std::vector<float> dx(static_cast<std::size_t>(gpu.x_shape.numel()), 0.0f);  // x_shape, zero beyond xs
  cpu.backward({dy_checked.data(), ys}, {dx.data(), xs});
  gpu.set_dy(dy_checked);
  gpu.backward();
  differs = mismatch("input gradient", download(gpu.ctx, gpu.dx, gpu.x_shape.numel()), dx, tolerance);
  if (differs.empty() && gpu.param_count > 0)
    differs = mismatch("parameter gradients", download(gpu.ctx, gpu.grads, gpu.param_count), grads, tolerance);
  gpu.set_dy(in.dy);  // the timed backward uses the full dy
  return differs;
}

// Cases whose check passed in this process (key: layer kind, input shape, direction), so
// that Google Benchmark's repeated calls of one case pay for the CPU reference once.
std::set<std::string>& passed_checks() {
  static std::set<std::string> passed;
  return passed;
}

void run_case(benchmark::State& st, const LayerCase& c) {
  const std::unique_ptr<Layer<float>> layer = c.make();
  cuda::CudaContext& ctx = cuda::default_context();
  ctx.set_math_mode(cuda::MathMode::StrictFp32);  // the default; another case may have left TF32
  const HostInputs in = make_inputs(*layer, c.x_shape);
  DeviceLayer gpu(*layer, ctx, c.x_shape, in);

  const std::string key = std::string(layer->kind()) + " " + gpu.x_shape.str() + " -> " + gpu.y_shape.str() +
                          (c.backward ? " backward" : " forward");
  if (passed_checks().count(key) == 0) {
    const int64_t n = c.x_shape[0], check_n = c.batch_coupled ? n : std::min(n, kCheckSamples);
    const std::unique_ptr<Layer<float>> cpu_twin = c.make();
    const std::string differs = compare_with_cpu(gpu, *cpu_twin, in, check_n, c.backward, c.tolerance);
    if (!differs.empty()) return st.SkipWithError((std::string(layer->kind()) + ": " + differs).c_str());
    passed_checks().insert(key);
  }
  gpu.forward();  // warm-up: cuDNN algorithm search, layer buffers sized before timing
  if (c.backward) gpu.backward();
  cuda::synchronize(ctx);

  // The layer queues on ctx.stream(): flush, events and layer call all go there.
  const double seconds = time_on_device(st, ctx.stream(), [&](cudaStream_t) {
    if (c.backward)
      gpu.backward();
    else
      gpu.forward();
  });
  report_roofline(st, c.cost.bytes, c.cost.flops, gpu_ceilings().fp32, seconds);
}

// Device check, then the case; a ser::Error or CUDA failure becomes the case's error.
void run_layer_gpu(benchmark::State& st, const LayerCase& c) {
  if (skip_without_device(st)) return;
  try {
    run_case(st, c);
  } catch (const std::exception& e) {
    st.SkipWithError(e.what());
  }
}

bool backward_arg(benchmark::State& st, int index) { return st.range(index) != 0; }

// Conv block b: (N, Cin, S, S) -> 3x3 valid conv (cuDNN) -> (N, Cout, S-2, S-2), bias
// added. The backward computes dW, db and dx (as the CPU case, also for the first block).
void BM_conv2d_gpu(benchmark::State& st) {
  const int64_t n = st.range(0);
  const int blk = int(st.range(1));
  const bool backward = backward_arg(st, 2);
  run_layer_gpu(st, {[blk] { return std::make_unique<nn::Conv2d<float>>("conv", kConvIn[blk], kConvOut[blk], 3, 3); },
                     conv_input_shape(n, blk), backward, false, kReorderedSums, conv2d_cost(n, blk, backward)});
}

// The element-wise layers at each conv block's output (N, C, S, S).
Shape block_output_shape(benchmark::State& st) { return conv_output_shape(st.range(0), int(st.range(1))); }

// Training-mode batch norm: batch statistics over (N, H, W) per channel.
void BM_batchnorm2d_gpu(benchmark::State& st) {
  const int channels = kConvOut[st.range(1)];
  const bool backward = backward_arg(st, 2);
  const Shape xs = block_output_shape(st);
  run_layer_gpu(st, {[channels] { return std::make_unique<nn::BatchNorm2d<float>>("bn", channels); }, xs, backward,
                     true, kReorderedSums, batchnorm2d_cost(double(xs.numel()), backward)});
}

void BM_relu_gpu(benchmark::State& st) {
  const bool backward = backward_arg(st, 2);
  const Shape xs = block_output_shape(st);
  run_layer_gpu(st, {[] { return std::make_unique<nn::ReLU<float>>("relu"); }, xs, backward, false, kExact,
                     relu_cost(double(xs.numel()), backward)});
}

void BM_maxpool2d_gpu(benchmark::State& st) {
  const bool backward = backward_arg(st, 2);
  const Shape xs = block_output_shape(st);
  run_layer_gpu(st, {[] { return std::make_unique<nn::MaxPool2d<float>>("pool"); }, xs, backward, false, kExact,
                     maxpool2d_cost(double(xs.numel()), backward)});
}

// Dense (N, in) -> (N, out) (cuBLAS): the seed's fc1 9216 -> 512, fc2 512 -> 256, logits 256 -> 8.
void BM_dense_gpu(benchmark::State& st) {
  const int64_t n = st.range(0), in = st.range(1), out = st.range(2);
  const bool backward = backward_arg(st, 3);
  run_layer_gpu(st, {[in, out] { return std::make_unique<nn::Dense<float>>("fc", int(in), int(out)); }, Shape{n, in},
                     backward, false, kReorderedSums, dense_cost(n, in, out, backward)});
}

}  // namespace

#define SER_GPU_LAYER_BENCH(fn) BENCHMARK(fn)->UseManualTime()->Unit(benchmark::kMicrosecond)
#define SER_BLOCK_ARGS ArgNames({"batch", "block", "backward"})->ArgsProduct({{16, 256}, {0, 1, 2, 3}, {0, 1}})
SER_GPU_LAYER_BENCH(BM_conv2d_gpu)->SER_BLOCK_ARGS;
SER_GPU_LAYER_BENCH(BM_batchnorm2d_gpu)->SER_BLOCK_ARGS;
SER_GPU_LAYER_BENCH(BM_relu_gpu)->SER_BLOCK_ARGS;
SER_GPU_LAYER_BENCH(BM_maxpool2d_gpu)->SER_BLOCK_ARGS;
SER_GPU_LAYER_BENCH(BM_dense_gpu)
    ->ArgNames({"batch", "in", "out", "backward"})
    ->ArgsProduct({{16, 256}, {9216}, {512}, {0, 1}})
    ->ArgsProduct({{16, 256}, {512}, {256}, {0, 1}})
    ->ArgsProduct({{16, 256}, {256}, {8}, {0, 1}});
#undef SER_BLOCK_ARGS
#undef SER_GPU_LAYER_BENCH

}  // namespace ser::bench
