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
// Algorithms are chosen ONCE per (input shape, math mode) by the fixed rule of
// engine/nn/conv_algorithm.h, which reads cudnnFind*'s results (did it run, workspace,
// determinism, math type) but never its timings, so that every process runs the same kernels.
// The choice is made before any CUDA-graph capture (cudnnFind* and the workspace allocate).
#include <algorithm>
#include <array>
#include <map>
#include <mutex>
#include <optional>
#include <tuple>

#include "engine/cuda/check.h"
#include "engine/cuda/context.h"
#include "engine/nn/conv_algorithm.h"
#include "engine/nn/layers.h"
#include "kernels/channel_ops.h"

namespace ser::cuda {

// conv_algorithm.h mirrors cuDNN's enum values; a cuDNN that renumbers them fails here.
static_assert(nn::cudnn_algo::kFwdImplicitGemm == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM);
static_assert(nn::cudnn_algo::kFwdImplicitPrecompGemm == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM);
static_assert(nn::cudnn_algo::kFwdGemm == CUDNN_CONVOLUTION_FWD_ALGO_GEMM);
static_assert(nn::cudnn_algo::kFwdDirect == CUDNN_CONVOLUTION_FWD_ALGO_DIRECT);
static_assert(nn::cudnn_algo::kFwdFft == CUDNN_CONVOLUTION_FWD_ALGO_FFT);
static_assert(nn::cudnn_algo::kFwdFftTiling == CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING);
static_assert(nn::cudnn_algo::kFwdWinograd == CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD);
static_assert(nn::cudnn_algo::kFwdWinogradNonfused == CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED);
static_assert(nn::cudnn_algo::kBwdData0 == CUDNN_CONVOLUTION_BWD_DATA_ALGO_0);
static_assert(nn::cudnn_algo::kBwdData1 == CUDNN_CONVOLUTION_BWD_DATA_ALGO_1);
static_assert(nn::cudnn_algo::kBwdDataFft == CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT);
static_assert(nn::cudnn_algo::kBwdDataFftTiling == CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT_TILING);
static_assert(nn::cudnn_algo::kBwdDataWinograd == CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD);
static_assert(nn::cudnn_algo::kBwdDataWinogradNonfused == CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD_NONFUSED);
static_assert(nn::cudnn_algo::kBwdFilter0 == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0);
static_assert(nn::cudnn_algo::kBwdFilter1 == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1);
static_assert(nn::cudnn_algo::kBwdFilterFft == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT);
static_assert(nn::cudnn_algo::kBwdFilter3 == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_3);
static_assert(nn::cudnn_algo::kBwdFilterWinograd == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_WINOGRAD);
static_assert(nn::cudnn_algo::kBwdFilterWinogradNonfused == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_WINOGRAD_NONFUSED);
static_assert(nn::cudnn_algo::kBwdFilterFftTiling == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT_TILING);

namespace {
bool is_tensor_op(cudnnMathType_t m) {
  return m == CUDNN_TENSOR_OP_MATH || m == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION;
}

bool is_allocation_failure(cudnnStatus_t s) {
  return s == CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED ||
         s == CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED;
}

nn::CandidateStatus status_of(cudnnStatus_t s) {
  if (s == CUDNN_STATUS_SUCCESS) return nn::CandidateStatus::Ran;
  return is_allocation_failure(s) ? nn::CandidateStatus::OutOfMemory : nn::CandidateStatus::Failed;
}

template <typename Perf>
std::vector<nn::AlgorithmCandidate> candidates_of(const std::vector<Perf>& perf, int count) {
  std::vector<nn::AlgorithmCandidate> out;
  for (int i = 0; i < count; ++i) {
    const Perf& p = perf[static_cast<std::size_t>(i)];
    out.push_back({static_cast<int>(p.algo), status_of(p.status), p.memory, p.time, is_tensor_op(p.mathType),
                   p.determinism == CUDNN_DETERMINISTIC, static_cast<int>(p.mathType)});
  }
  return out;
}

// How many results to ask cudnnFind* for: all of them (cuDNN's maximum, and at least two per
// algorithm: with and without tensor ops). Fewer would return only the fastest, and which
// algorithms are seen at all would depend on the timings.
int find_result_count(int cudnn_max_count, int algo_count) { return std::max(cudnn_max_count, 2 * algo_count); }

// A failed trial allocation inside cudnnFind* may leave cudaErrorMemoryAllocation as the
// runtime's last error, which the next SER_CHECK_LAUNCH would report as a kernel's fault.
void clear_pending_allocation_error() {
  if (cudaPeekAtLastError() == cudaErrorMemoryAllocation) (void)cudaGetLastError();
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

// The math type set on the descriptor for a search, a workspace query and a fallback run.
// Strict mode always runs with CUDNN_FMA_MATH: that is what forbids TF32.
cudnnMathType_t descriptor_math(bool tf32) { return tf32 ? CUDNN_TENSOR_OP_MATH : CUDNN_FMA_MATH; }

// The fixed rule's choice among the results of one cudnnFind* call (any of the three Perf
// types), or nullopt when the fallback must be used.
template <typename Perf>
std::optional<ConvAlgorithm> chosen_from(nn::ConvDirection direction, const std::vector<Perf>& perf, int n,
                                         bool tf32) {
  const std::vector<nn::AlgorithmCandidate> found = candidates_of(perf, n);
  const int i = nn::choose_algorithm(direction, found, nn::kConvWorkspaceBudgetBytes, tf32);
  if (i < 0) return std::nullopt;
  const std::size_t k = static_cast<std::size_t>(i);
  return ConvAlgorithm{found[k].algorithm, found[k].workspace_bytes, tf32 ? perf[k].mathType : CUDNN_FMA_MATH};
}

// The fallback of one direction (nn::choose_fallback_algorithm): the workspace of every
// listed algorithm asked of cuDNN, which allocates and times nothing, the least taken.
// `workspace_size(algorithm, &bytes)` is the direction's cudnnGet*WorkspaceSize; the
// descriptor must carry descriptor_math(tf32), the math type the algorithm then runs with.
template <typename WorkspaceSize>
ConvAlgorithm fallback(nn::ConvDirection direction, const char* name, bool tf32, WorkspaceSize workspace_size) {
  std::vector<nn::WorkspaceQuery> queries;
  for (int algorithm : nn::conv_preference_order(direction)) {
    std::size_t bytes = 0;
    const bool supported = workspace_size(algorithm, &bytes) == CUDNN_STATUS_SUCCESS;
    queries.push_back({algorithm, supported, supported ? bytes : 0});
  }
  const int i = nn::choose_fallback_algorithm(direction, queries);
  SER_CHECK(i >= 0, "cuDNN supports none of the deterministic convolution {} algorithms for this shape", name);
  const nn::WorkspaceQuery& q = queries[static_cast<std::size_t>(i)];
  return {q.algorithm, q.bytes, descriptor_math(tf32)};
}

ConvAlgorithm forward_fallback(const ConvPlan& plan, const ConvState& s, cudnnHandle_t h, bool tf32) {
  return fallback(nn::ConvDirection::Forward, "forward", tf32, [&](int algorithm, std::size_t* bytes) {
    return cudnnGetConvolutionForwardWorkspaceSize(h, plan.x, s.w, s.conv, plan.y,
                                                   static_cast<cudnnConvolutionFwdAlgo_t>(algorithm), bytes);
  });
}

ConvAlgorithm backward_data_fallback(const ConvPlan& plan, const ConvState& s, cudnnHandle_t h, bool tf32) {
  return fallback(nn::ConvDirection::BackwardData, "backward-data", tf32, [&](int algorithm, std::size_t* bytes) {
    return cudnnGetConvolutionBackwardDataWorkspaceSize(h, s.w, plan.y, s.conv, plan.x,
                                                        static_cast<cudnnConvolutionBwdDataAlgo_t>(algorithm), bytes);
  });
}

ConvAlgorithm backward_filter_fallback(const ConvPlan& plan, const ConvState& s, cudnnHandle_t h, bool tf32) {
  return fallback(nn::ConvDirection::BackwardFilter, "backward-filter", tf32, [&](int algorithm, std::size_t* bytes) {
    return cudnnGetConvolutionBackwardFilterWorkspaceSize(
        h, plan.x, plan.y, s.conv, s.w, static_cast<cudnnConvolutionBwdFilterAlgo_t>(algorithm), bytes);
  });
}

// Runs cudnnFind* for the three convolutions of a shape and chooses by the fixed rule; a
// direction where the rule finds nothing gets its fallback.
void find_and_choose(ConvPlan& plan, ConvState& s, CudaContext& ctx, bool tf32) {
  cudnnHandle_t h = ctx.cudnn();
  CUDNN_CHECK(cudnnSetConvolutionMathType(s.conv, descriptor_math(tf32)));
  {
    int max_count = 0;
    CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithmMaxCount(h, &max_count));
    std::vector<cudnnConvolutionFwdAlgoPerf_t> perf(
        static_cast<std::size_t>(find_result_count(max_count, CUDNN_CONVOLUTION_FWD_ALGO_COUNT)));
    int n = 0;
    CUDNN_CHECK(cudnnFindConvolutionForwardAlgorithm(h, plan.x, s.w, s.conv, plan.y, static_cast<int>(perf.size()),
                                                     &n, perf.data()));
    clear_pending_allocation_error();
    const auto chosen = chosen_from(nn::ConvDirection::Forward, perf, n, tf32);
    plan.forward = chosen ? *chosen : forward_fallback(plan, s, h, tf32);
  }
  {
    int max_count = 0;
    CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithmMaxCount(h, &max_count));
    std::vector<cudnnConvolutionBwdDataAlgoPerf_t> perf(
        static_cast<std::size_t>(find_result_count(max_count, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT)));
    int n = 0;
    CUDNN_CHECK(cudnnFindConvolutionBackwardDataAlgorithm(h, s.w, plan.y, s.conv, plan.x,
                                                          static_cast<int>(perf.size()), &n, perf.data()));
    clear_pending_allocation_error();
    const auto chosen = chosen_from(nn::ConvDirection::BackwardData, perf, n, tf32);
    plan.backward_data = chosen ? *chosen : backward_data_fallback(plan, s, h, tf32);
  }
  {
    int max_count = 0;
    CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithmMaxCount(h, &max_count));
    std::vector<cudnnConvolutionBwdFilterAlgoPerf_t> perf(
        static_cast<std::size_t>(find_result_count(max_count, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT)));
    int n = 0;
    CUDNN_CHECK(cudnnFindConvolutionBackwardFilterAlgorithm(h, plan.x, plan.y, s.conv, s.w,
                                                            static_cast<int>(perf.size()), &n, perf.data()));
    clear_pending_allocation_error();
    const auto chosen = chosen_from(nn::ConvDirection::BackwardFilter, perf, n, tf32);
    plan.backward_filter = chosen ? *chosen : backward_filter_fallback(plan, s, h, tf32);
  }
}

// All three directions from their fallbacks (the fixed choice's workspace could not be
// allocated). No cudnnFind*: it would allocate, and what it could run would depend on the
// memory left.
void use_fallbacks(ConvPlan& plan, ConvState& s, CudaContext& ctx, bool tf32) {
  cudnnHandle_t h = ctx.cudnn();
  CUDNN_CHECK(cudnnSetConvolutionMathType(s.conv, descriptor_math(tf32)));
  plan.forward = forward_fallback(plan, s, h, tf32);
  plan.backward_data = backward_data_fallback(plan, s, h, tf32);
  plan.backward_filter = backward_filter_fallback(plan, s, h, tf32);
}

}  // namespace

namespace {
// The algorithms chosen for one convolution problem, shared by every layer and model of a
// context, so that a shape's cudnnFind* runs once per context. (The rule itself gives the
// same choice in every search: it never reads cudnnFind's timings.)
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
// by the fixed rule. The shared workspace is grown here (outside any graph capture); if that
// allocation runs out of memory every direction takes its least-workspace fallback, and if
// even that workspace (zero bytes unless cuDNN has no deterministic zero-workspace algorithm
// for the shape) cannot be allocated, the out-of-memory error goes to the caller.
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
  find_and_choose(plan, s, ctx, tf32);
  try {
    ctx.workspace(plan.max_workspace());
  } catch (const Error&) {
    // Only an out-of-memory is recoverable; anything else (a sticky fault met by the
    // workspace's stream synchronisation) goes to the caller.
    if (cudaGetLastError() != cudaErrorMemoryAllocation) throw;
    use_fallbacks(plan, s, ctx, tf32);
    ctx.workspace(plan.max_workspace());
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
