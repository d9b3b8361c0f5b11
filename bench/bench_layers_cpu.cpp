// CPU timings of the layers at the seed network's shapes (batch 16, 1 x 128 x 128
// input) and of one whole training step (forward, softmax-CE, backward, Adam).
// Conv and dense run through OpenBLAS (threads as OpenBLAS decides: OPENBLAS_NUM_THREADS).
// Counters: FLOP/s of the GEMM work (2*M*N*K per GEMM) where it dominates.
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "engine/nn/adam.h"
#include "engine/nn/layers.h"
#include "engine/nn/model.h"

using namespace ser;
using namespace ser::nn;

namespace {

constexpr int kBatch = 16;

std::vector<float> random_values(int64_t n) {
  std::mt19937 rng(1);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> v(static_cast<std::size_t>(n));
  for (auto& x : v) x = normal(rng);
  return v;
}

// Holds one layer with bound parameters and its buffers at a given input shape.
struct LayerBench {
  Layer<float>& layer;
  Shape x_shape, y_shape;
  std::vector<float> params, grads, state, x, y, dy, dx;
  LayerBench(Layer<float>& l, Shape xs) : layer(l), x_shape(xs), y_shape(l.output_shape(xs)) {
    params = random_values(total_numel(l.parameter_specs()));
    grads.assign(params.size(), 0.0f);
    state.assign(static_cast<std::size_t>(total_numel(l.state_specs())), 1.0f);
    l.bind(params.data(), grads.data(), state.data());
    x = random_values(xs.numel());
    y.resize(static_cast<std::size_t>(y_shape.numel()));
    dy = random_values(y_shape.numel());
    dx.resize(x.size());
  }
  void forward() { layer.forward({x.data(), x_shape}, {y.data(), y_shape}, Mode::Train); }
  void backward() { layer.backward({dy.data(), y_shape}, {dx.data(), x_shape}); }
};

void run_layer(benchmark::State& st, Layer<float>& layer, Shape xs, bool backward, double flops) {
  LayerBench b(layer, xs);
  b.forward();
  for (auto _ : st) {
    if (backward)
      b.backward();
    else
      b.forward();
    benchmark::ClobberMemory();
  }
  if (flops > 0) st.counters["FLOP/s"] = benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate);
}

// Seed conv blocks: input (16, Cin, H, W) -> 3x3 valid conv with Cout channels.
void BM_conv2d_cpu(benchmark::State& st) {
  const int cin = int(st.range(0)), cout = int(st.range(1)), hw = int(st.range(2)), backward = int(st.range(3));
  Conv2d<float> conv("conv", cin, cout, 3, 3);
  const double out = double(hw - 2) * (hw - 2);
  const double gemm = 2.0 * kBatch * cout * out * cin * 9;  // one forward GEMM
  // backward: dW always, dx except for the first layer (Cin = 1 in the network; measured anyway here)
  run_layer(st, conv, Shape{kBatch, cin, hw, hw}, backward != 0, backward ? 2 * gemm : gemm);
}
BENCHMARK(BM_conv2d_cpu)
    ->ArgNames({"cin", "cout", "hw", "backward"})
    ->Args({1, 32, 128, 0})->Args({1, 32, 128, 1})
    ->Args({32, 64, 63, 0})->Args({32, 64, 63, 1})
    ->Args({64, 128, 30, 0})->Args({64, 128, 30, 1})
    ->Args({128, 256, 14, 0})->Args({128, 256, 14, 1})
    ->Unit(benchmark::kMillisecond);

void BM_batchnorm2d_cpu(benchmark::State& st) {
  BatchNorm2d<float> bn("bn", 32);
  run_layer(st, bn, Shape{kBatch, 32, 126, 126}, st.range(0) != 0, 0);
}
BENCHMARK(BM_batchnorm2d_cpu)->ArgName("backward")->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

void BM_relu_cpu(benchmark::State& st) {
  ReLU<float> relu("relu");
  run_layer(st, relu, Shape{kBatch, 32, 126, 126}, st.range(0) != 0, 0);
}
BENCHMARK(BM_relu_cpu)->ArgName("backward")->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

void BM_maxpool2d_cpu(benchmark::State& st) {
  MaxPool2d<float> pool("pool");
  run_layer(st, pool, Shape{kBatch, 32, 126, 126}, st.range(0) != 0, 0);
}
BENCHMARK(BM_maxpool2d_cpu)->ArgName("backward")->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

void BM_dense_cpu(benchmark::State& st) {  // fc1: 9216 -> 512
  Dense<float> fc("fc1", 9216, 512);
  const double gemm = 2.0 * kBatch * 9216 * 512;
  run_layer(st, fc, Shape{kBatch, 9216}, st.range(0) != 0, st.range(0) ? 2 * gemm : gemm);
}
BENCHMARK(BM_dense_cpu)->ArgName("backward")->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

// One full training step of the seed network: forward (Train, dropout from the RNG),
// softmax-CE, backward of every layer, Adam over the 5.24 M-parameter arena.
void BM_seed_train_step_cpu(benchmark::State& st) {
  Model model(Architecture::seed(6));
  Generator gen(42);
  model.initialize(gen);
  const Tensor x = Tensor::from_vector(Shape{kBatch, 1, 128, 128}, random_values(kBatch * 128 * 128));
  std::vector<int32_t> labels(kBatch);
  for (int i = 0; i < kBatch; ++i) labels[i] = i % 6;
  Adam adam(AdamConfig{}, model.parameter_count());
  for (auto _ : st) {
    model.forward(x, Mode::Train, &gen);
    model.zero_grad();
    benchmark::DoNotOptimize(model.backward_from_labels(labels));
    adam.step(model.parameters(), model.gradients());
  }
  st.counters["samples/s"] = benchmark::Counter(kBatch, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_seed_train_step_cpu)->Unit(benchmark::kMillisecond)->MinTime(3.0);

}  // namespace
