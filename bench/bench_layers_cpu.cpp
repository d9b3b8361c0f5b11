// CPU timings of every layer's forward and backward at the seed network's shapes, for
// batch 16 (the protocol's) and 256 (a large batch); the whole training step
// (BM_seed_train_step_cpu) is in bench/bench_train_cpu.cpp with the recipes' cases.
// Input x: (N, C, H, W) NCHW; conv weights OIHW; dense x (N, in), W (out, in).
// Conv and dense run through OpenBLAS; the rest through the engine's thread pool, so all
// cases use wall time (UseRealTime) and report roofline counters against the host
// ceilings (bench/roofline.h) with the bytes and FLOPs of bench/layer_costs.h (shared with
// the GPU cases of bench/bench_layers_gpu.cu).
#include <benchmark/benchmark.h>

#include <vector>

#include "bench/bench_data.h"
#include "bench/ceilings_cpu.h"
#include "bench/layer_costs.h"
#include "engine/nn/layers.h"

using namespace ser;
using namespace ser::nn;
using namespace ser::bench;

namespace {

// Holds one layer with bound parameters and its buffers at a given input shape.
struct LayerBench {
  Layer<float>& layer;
  Shape x_shape, y_shape;
  std::vector<float> params, grads, state, x, y, dy, dx;
  LayerBench(Layer<float>& l, Shape xs) : layer(l), x_shape(xs), y_shape(l.output_shape(xs)) {
    params = random_floats(total_numel(l.parameter_specs()), -0.1f, 0.1f, 1);
    grads.assign(params.size(), 0.0f);
    state.assign(static_cast<std::size_t>(total_numel(l.state_specs())), 1.0f);
    l.bind(params.data(), grads.data(), state.data());
    x = random_floats(xs.numel(), -1, 1, 2);
    y.resize(static_cast<std::size_t>(y_shape.numel()));
    dy = random_floats(y_shape.numel(), -1, 1, 3);
    dx.resize(x.size());
  }
  void forward() { layer.forward({x.data(), x_shape}, {y.data(), y_shape}, Mode::Train); }
  void backward() { layer.backward({dy.data(), y_shape}, {dx.data(), x_shape}); }
};

// Times the forward (backward = false) or the backward after one forward.
void run_layer(benchmark::State& st, Layer<float>& layer, Shape xs, bool backward, LayerCost cost) {
  LayerBench b(layer, xs);
  b.forward();
  const double seconds = bench::timed_loop(st, [&] {
    if (backward)
      b.backward();
    else
      b.forward();
  });
  bench::report_roofline(st, cost.bytes, cost.flops, bench::cpu_ceilings(), seconds);
}

#define SER_CPU_BENCH(fn) BENCHMARK(fn)->Unit(benchmark::kMillisecond)->UseRealTime()

// Conv block b: (N, Cin, S, S) -> 3x3 valid conv -> (N, Cout, S-2, S-2), bias added.
// The backward computes dW, db and dx (the model skips dx for the first block).
void BM_conv2d_cpu(benchmark::State& st) {
  const int n = int(st.range(0)), blk = int(st.range(1));
  const bool backward = st.range(2) != 0;
  Conv2d<float> conv("conv", kConvIn[blk], kConvOut[blk], 3, 3);
  run_layer(st, conv, conv_input_shape(n, blk), backward, conv2d_cost(n, blk, backward));
}
SER_CPU_BENCH(BM_conv2d_cpu)->ArgNames({"batch", "block", "backward"})->ArgsProduct({{16, 256}, {0, 1, 2, 3}, {0, 1}});

// The element-wise layers at each conv block's output (N, C, S, S).
Shape block_output_shape(benchmark::State& st) { return conv_output_shape(st.range(0), int(st.range(1))); }

// Training-mode batch norm (two-pass statistics in double re-read x; not counted).
void BM_batchnorm2d_cpu(benchmark::State& st) {
  const bool backward = st.range(2) != 0;
  BatchNorm2d<float> bn("bn", kConvOut[st.range(1)]);
  const Shape xs = block_output_shape(st);
  run_layer(st, bn, xs, backward, batchnorm2d_cost(double(xs.numel()), backward));
}
SER_CPU_BENCH(BM_batchnorm2d_cpu)->ArgNames({"batch", "block", "backward"})->ArgsProduct({{16, 256}, {0, 1, 2, 3}, {0, 1}});

void BM_relu_cpu(benchmark::State& st) {
  const bool backward = st.range(2) != 0;
  ReLU<float> relu("relu");
  const Shape xs = block_output_shape(st);
  run_layer(st, relu, xs, backward, relu_cost(double(xs.numel()), backward));
}
SER_CPU_BENCH(BM_relu_cpu)->ArgNames({"batch", "block", "backward"})->ArgsProduct({{16, 256}, {0, 1, 2, 3}, {0, 1}});

void BM_maxpool2d_cpu(benchmark::State& st) {
  const bool backward = st.range(2) != 0;
  MaxPool2d<float> pool("pool");
  const Shape xs = block_output_shape(st);
  run_layer(st, pool, xs, backward, maxpool2d_cost(double(xs.numel()), backward));
}
SER_CPU_BENCH(BM_maxpool2d_cpu)->ArgNames({"batch", "block", "backward"})->ArgsProduct({{16, 256}, {0, 1, 2, 3}, {0, 1}});

// Dense (N, in) -> (N, out): the seed's fc1 9216 -> 512, fc2 512 -> 256, logits 256 -> 8.
void BM_dense_cpu(benchmark::State& st) {
  const int n = int(st.range(0)), in = int(st.range(1)), out = int(st.range(2));
  const bool backward = st.range(3) != 0;
  Dense<float> fc("fc", in, out);
  run_layer(st, fc, Shape{n, in}, backward, dense_cost(n, in, out, backward));
}
SER_CPU_BENCH(BM_dense_cpu)
    ->ArgNames({"batch", "in", "out", "backward"})
    ->ArgsProduct({{16, 256}, {9216}, {512}, {0, 1}})
    ->ArgsProduct({{16, 256}, {512}, {256}, {0, 1}})
    ->ArgsProduct({{16, 256}, {256}, {8}, {0, 1}});

}  // namespace
