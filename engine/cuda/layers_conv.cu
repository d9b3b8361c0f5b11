// Conv2d<float> on the GPU: cuDNN convolution forward, backward data and backward filter,
// plus our deterministic per-channel bias kernels (kernels/channel_ops.h).
// Layouts: x (N, Cin, H, W) NCHW, w (Cout, Cin, KH, KW) OIHW, b (Cout), y (N, Cout, Ho, Wo).
//
// API choice: cuDNN 9's legacy descriptor API (cudnnConvolutionForward & co., deprecated
// but still shipped) rather than the graph API. For plain FP32 NCHW convolutions it offers
// the same kernels, and it has what this layer needs directly: cudnnFind* to MEASURE every
// algorithm per shape, per-call workspace control, and cudnnSetConvolutionMathType to pin
// strict FP32 (CUDNN_FMA_MATH) or allow TF32 (CUDNN_TENSOR_OP_MATH). The graph API would
// need cudnn-frontend (not installed) or hundreds of lines of backend descriptors for no
// gain here. It stays behind Layer's interface, so swapping it later touches this file only.
//
// Algorithms are chosen ONCE per (input shape, math mode) by measurement, within a
// workspace budget (engine/nn/conv_algorithm.h), before any CUDA-graph capture (the first
// forward/backward of a shape runs cudnnFind*, which allocates).
#include <algorithm>
#include <array>
#include <map>
#include <mutex>
#include <tuple>

#include "engine/cuda/check.h"
#include "engine/cuda/context.h"
#include "engine/nn/conv_algorithm.h"
#include "engine/nn/layers.h"
#include "kernels/channel_ops.h"

namespace ser::cuda {

namespace {
bool is_tensor_op(cudnnMathType_t m) {
  return m == CUDNN_TENSOR_OP_MATH || m == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION;
}

template <typename Perf>
std::vector<nn::AlgorithmCandidate> candidates_of(const Perf* perf, int count) {
  std::vector<nn::AlgorithmCandidate> out;
  for (int i = 0; i < count; ++i)
    out.push_back({static_cast<int>(perf[i].algo), perf[i].status == CUDNN_STATUS_SUCCESS, perf[i].memory,
                   perf[i].time, is_tensor_op(perf[i].mathType), perf[i].determinism == CUDNN_DETERMINISTIC});
  return out;
}
}  // namespace

// One measured algorithm: the cuDNN enum value, its workspace, the math type to run it with.
struct ConvAlgorithm {
  int algorithm = 0;
  std::size_t workspace_bytes = 0;
  cudnnMathType_t math = CUDNN_FMA_MATH;
};

// Descriptors and algorithms of one input shape.
struct ConvPlan {
  cudnnTensorDescriptor_t x = nullptr, y = nullptr;
  ConvAlgorithm forward, backward_data, backward_filter;
  std::size_t max_workspace() const {
    return std::max({forward.workspace_bytes, backward_data.workspace_bytes, backward_filter.workspace_bytes});
  }
};

struct ConvState {
  std::array<int, 6> geometry{};  // Cin, Cout, KH, KW, stride, pad
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;
  std::map<std::tuple<int64_t, int64_t, int64_t, int64_t, int>, ConvPlan> plans;  // (N, C, H, W, math mode)
  ~ConvState() {
    for (auto& [key, plan] : plans) {
      cudnnDestroyTensorDescriptor(plan.x);
      cudnnDestroyTensorDescriptor(plan.y);
    }
    if (w) cudnnDestroyFilterDescriptor(w);
    if (conv) cudnnDestroyConvolutionDescriptor(conv);
  }
};

namespace {

cudnnTensorDescriptor_t make_tensor(int64_t n, int64_t c, int64_t h, int64_t w) {
  cudnnTensorDescriptor_t d = nullptr;
  CUDNN_CHECK(cudnnCreateTensorDescriptor(&d));
  CUDNN_CHECK(cudnnSetTensor4dDescriptor(d, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, int(n), int(c), int(h), int(w)));
  return d;
}

// Picks an algorithm from Find results; `fallback` is the zero-workspace algorithm used
// when no measured one qualifies.
ConvAlgorithm pick(const std::vector<nn::AlgorithmCandidate>& found, const std::vector<cudnnMathType_t>& maths,
                   std::size_t budget, bool tf32, int fallback) {
  const int i = nn::choose_algorithm(found, budget, tf32);
  if (i < 0) return {fallback, 0, tf32 ? CUDNN_TENSOR_OP_MATH : CUDNN_FMA_MATH};
  // Strict mode always runs with CUDNN_FMA_MATH on the descriptor: that is what forbids TF32.
  return {found[i].algorithm, found[i].workspace_bytes, tf32 ? maths[i] : CUDNN_FMA_MATH};
}

// pick() over the perf results of one cudnnFind* call (any of the three Perf types).
template <typename Perf>
ConvAlgorithm pick_from(const Perf* perf, int n, std::size_t budget, bool tf32, int fallback) {
  std::vector<cudnnMathType_t> maths;
  for (int i = 0; i < n; ++i) maths.push_back(perf[i].mathType);
  return pick(candidates_of(perf, n), maths, budget, tf32, fallback);
}

// Measures the three convolutions of a shape and chooses within `budget`.
void measure(ConvPlan& plan, ConvState& s, CudaContext& ctx, std::size_t budget, bool tf32) {
  cudnnHandle_t h = ctx.cudnn();
  CUDNN_CHECK(cudnnSetConvolutionMathType(s.conv, tf32 ? CUDNN_TENSOR_OP_MATH : CUDNN_FMA_MATH));
  {
    cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    int n = 0;
    CUDNN_CHECK(cudnnFindConvolutionForwardAlgorithm(h, plan.x, s.w, s.conv, plan.y, CUDNN_CONVOLUTION_FWD_ALGO_COUNT,
                                                     &n, perf));
    plan.forward = pick_from(perf, n, budget, tf32, CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM);
  }
  {
    cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
    int n = 0;
    CUDNN_CHECK(cudnnFindConvolutionBackwardDataAlgorithm(h, s.w, plan.y, s.conv, plan.x,
                                                          CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &n, perf));
    // ALGO_1 is the deterministic fallback (ALGO_0 sums with atomics). pick() gives a
    // fallback no workspace size: ask cuDNN (a no-op for a measured 0-byte algorithm).
    plan.backward_data = pick_from(perf, n, budget, tf32, CUDNN_CONVOLUTION_BWD_DATA_ALGO_1);
    if (plan.backward_data.workspace_bytes == 0)
      CUDNN_CHECK(cudnnGetConvolutionBackwardDataWorkspaceSize(
          h, s.w, plan.y, s.conv, plan.x, static_cast<cudnnConvolutionBwdDataAlgo_t>(plan.backward_data.algorithm),
          &plan.backward_data.workspace_bytes));
  }
  {
    cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
    int n = 0;
    CUDNN_CHECK(cudnnFindConvolutionBackwardFilterAlgorithm(h, plan.x, plan.y, s.conv, s.w,
                                                            CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &n, perf));
    plan.backward_filter = pick_from(perf, n, budget, tf32, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1);
    if (plan.backward_filter.workspace_bytes == 0)
      CUDNN_CHECK(cudnnGetConvolutionBackwardFilterWorkspaceSize(
          h, plan.x, plan.y, s.conv, s.w,
          static_cast<cudnnConvolutionBwdFilterAlgo_t>(plan.backward_filter.algorithm),
          &plan.backward_filter.workspace_bytes));
  }
}

}  // namespace

namespace {
// The algorithms chosen for one convolution problem, shared by every layer and model of a
// context: two models of the same architecture (a parity test, a benchmark) then run the
// same kernels even though cudnnFind's timings vary from one search to the next.
using ProblemKey = std::tuple<const CudaContext*, int64_t, int64_t, int64_t, int64_t, std::array<int, 6>, int>;
struct ChosenAlgorithms {
  ConvAlgorithm forward, backward_data, backward_filter;
};
std::mutex& chosen_mutex() {
  static std::mutex m;
  return m;
}
std::map<ProblemKey, ChosenAlgorithms>& chosen_algorithms() {
  static std::map<ProblemKey, ChosenAlgorithms> chosen;
  return chosen;
}
}  // namespace

namespace {
// Fills plan's algorithms: those chosen earlier in this context for the same problem, else
// measured. The shared workspace is grown here (outside any graph capture); if that
// allocation runs out of memory the algorithms are re-chosen with a zero workspace budget.
void choose_algorithms(ConvPlan& plan, ConvState& s, CudaContext& ctx, const Shape& in, bool tf32) {
  const ProblemKey problem{&ctx, in[0], in[1], in[2], in[3], s.geometry, tf32 ? 1 : 0};
  {
    std::lock_guard<std::mutex> lock(chosen_mutex());
    auto chosen = chosen_algorithms().find(problem);
    if (chosen != chosen_algorithms().end()) {
      plan.forward = chosen->second.forward;
      plan.backward_data = chosen->second.backward_data;
      plan.backward_filter = chosen->second.backward_filter;
      ctx.workspace(plan.max_workspace());
      return;
    }
  }
  std::size_t free_bytes = 0, total_bytes = 0;
  CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
  measure(plan, s, ctx, nn::conv_workspace_budget(free_bytes), tf32);
  try {
    ctx.workspace(plan.max_workspace());
  } catch (const Error&) {
    // Only an out-of-memory is recoverable; anything else (a sticky fault met by the
    // workspace's stream synchronisation) goes to the caller.
    if (cudaGetLastError() != cudaErrorMemoryAllocation) throw;
    measure(plan, s, ctx, 0, tf32);
  }
  std::lock_guard<std::mutex> lock(chosen_mutex());
  chosen_algorithms().emplace(problem, ChosenAlgorithms{plan.forward, plan.backward_data, plan.backward_filter});
}
}  // namespace

// The plan of an input shape: its tensor descriptors and algorithms, made on first use and
// cached in s.plans (whose destructor releases the descriptors).
ConvPlan& conv_plan(ConvState& s, CudaContext& ctx, const Shape& in, const Shape& out) {
  const bool tf32 = ctx.math_mode() == MathMode::AllowTf32;
  const auto key = std::make_tuple(in[0], in[1], in[2], in[3], tf32 ? 1 : 0);
  auto it = s.plans.find(key);
  if (it != s.plans.end()) return it->second;
  ctx.check_not_capturing("a convolution algorithm search for a new shape");
  ConvPlan plan;
  try {
    plan.x = make_tensor(in[0], in[1], in[2], in[3]);
    plan.y = make_tensor(out[0], out[1], out[2], out[3]);
    choose_algorithms(plan, s, ctx, in, tf32);
  } catch (...) {
    if (plan.x) cudnnDestroyTensorDescriptor(plan.x);  // not in s.plans yet: released here
    if (plan.y) cudnnDestroyTensorDescriptor(plan.y);
    throw;
  }
  return s.plans.emplace(key, plan).first->second;
}

}  // namespace ser::cuda

namespace ser::nn {

namespace {
void ensure_conv_state(std::shared_ptr<cuda::ConvState>& state, int cin, int cout, int kh, int kw, int stride,
                       int pad) {
  if (state) return;
  auto s = std::make_shared<cuda::ConvState>();
  s->geometry = {cin, cout, kh, kw, stride, pad};
  CUDNN_CHECK(cudnnCreateFilterDescriptor(&s->w));
  CUDNN_CHECK(cudnnSetFilter4dDescriptor(s->w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, cout, cin, kh, kw));
  CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&s->conv));
  // CROSS_CORRELATION: no kernel flip, as the CPU path and Keras/PyTorch.
  CUDNN_CHECK(cudnnSetConvolution2dDescriptor(s->conv, pad, pad, stride, stride, 1, 1, CUDNN_CROSS_CORRELATION,
                                              CUDNN_DATA_FLOAT));
  state = std::move(s);
}
}  // namespace

template <>
void Conv2d<float>::forward_cuda(const float* x, float* y, Mode) {
  cuda::CudaContext& ctx = this->cuda_context();
  ensure_conv_state(cuda_state_, cin_, cout_, kh_, kw_, stride_, pad_);
  const Shape& in = this->input_shape();
  const Shape out = output_shape(in);
  cuda::ConvPlan& plan = cuda::conv_plan(*cuda_state_, ctx, in, out);
  const float* w = this->params_;
  const float* b = w + static_cast<int64_t>(cout_) * cin_ * kh_ * kw_;
  const float one = 1.0f, zero = 0.0f;
  void* workspace = ctx.workspace(plan.max_workspace());
  CUDNN_CHECK(cudnnSetConvolutionMathType(cuda_state_->conv, plan.forward.math));
  CUDNN_CHECK(cudnnConvolutionForward(ctx.cudnn(), &one, plan.x, x, cuda_state_->w, w, cuda_state_->conv,
                                      static_cast<cudnnConvolutionFwdAlgo_t>(plan.forward.algorithm), workspace,
                                      plan.forward.workspace_bytes, &zero, plan.y, y));
  kernels::bias_add(y, b, out[0], out[1], out[2] * out[3], ctx.stream());
}

template <>
void Conv2d<float>::backward_cuda(const float* dy, float* dx) {
  cuda::CudaContext& ctx = this->cuda_context();
  const Shape& in = this->input_shape();
  const Shape out = output_shape(in);
  cuda::ConvPlan& plan = cuda::conv_plan(*cuda_state_, ctx, in, out);
  const int64_t wsize = static_cast<int64_t>(cout_) * cin_ * kh_ * kw_;
  float* dw = this->grads_;
  float* db = this->grads_ + wsize;
  const float one = 1.0f, zero = 0.0f;
  // The bias reduction's doubles and cuDNN's workspace share the one buffer: both are
  // queued on the same stream, so they never overlap in time.
  const std::size_t bias_bytes = sizeof(double) * kernels::channel_ops_workspace_doubles(out[0], out[1]);
  void* workspace = ctx.workspace(std::max(plan.max_workspace(), bias_bytes));
  kernels::bias_backward(db, dy, out[0], out[1], out[2] * out[3], static_cast<double*>(workspace), ctx.stream());
  // beta = 1: the filter gradient ACCUMULATES (layer.h semantics).
  CUDNN_CHECK(cudnnSetConvolutionMathType(cuda_state_->conv, plan.backward_filter.math));
  CUDNN_CHECK(cudnnConvolutionBackwardFilter(ctx.cudnn(), &one, plan.x, this->saved_input(), plan.y, dy,
                                             cuda_state_->conv,
                                             static_cast<cudnnConvolutionBwdFilterAlgo_t>(plan.backward_filter.algorithm),
                                             workspace, plan.backward_filter.workspace_bytes, &one, cuda_state_->w, dw));
  if (dx == nullptr) return;
  CUDNN_CHECK(cudnnSetConvolutionMathType(cuda_state_->conv, plan.backward_data.math));
  CUDNN_CHECK(cudnnConvolutionBackwardData(ctx.cudnn(), &one, cuda_state_->w, this->params_, plan.y, dy,
                                           cuda_state_->conv,
                                           static_cast<cudnnConvolutionBwdDataAlgo_t>(plan.backward_data.algorithm),
                                           workspace, plan.backward_data.workspace_bytes, &zero, plan.x, dx));
}

}  // namespace ser::nn
