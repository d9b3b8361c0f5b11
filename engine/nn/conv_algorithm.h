// Host-only rule that chooses the cuDNN convolution algorithms of engine/cuda/layers_conv.cu,
// kept free of CUDA types so the CPU build tests it.
//
// The choice must be the same in EVERY process for the same problem (shape, filter, math
// mode, device, cuDNN version): a seed fixes the model and `ser train --resume` equals an
// uninterrupted run only if a new process runs the same kernels. So nothing here depends
// on timings or on the free device memory:
//  - choose_algorithm walks cudnnFind*'s results in a FIXED order (the direction's
//    preference list of deterministic algorithms, conv_preference_order) and takes the
//    first that ran, fits the fixed budget kConvWorkspaceBudgetBytes and respects the math
//    mode. cudnnFind's timings are never read. A result that failed only for lack of memory
//    is not skipped (a process with more memory would take it): the choice is -1 instead;
//  - choose_fallback_algorithm is used when choose_algorithm finds nothing and when the
//    chosen workspace cannot be allocated: from cudnnGet*WorkspaceSize (no allocation, no
//    timing) it takes the deterministic algorithm with the LEAST workspace, zero bytes
//    whenever one needs none, ties broken by the preference list.
// A process short of memory therefore runs the fallback and gets other bits than one that
// was not; every process of either kind runs the same kernels.
#pragma once

#include <cstddef>
#include <vector>

namespace ser::nn {

enum class ConvDirection { Forward, BackwardData, BackwardFilter };

// cuDNN's enum values of the algorithms (cudnn_ops.h); layers_conv.cu static_asserts each.
namespace cudnn_algo {
constexpr int kFwdImplicitGemm = 0;
constexpr int kFwdImplicitPrecompGemm = 1;
constexpr int kFwdGemm = 2;
constexpr int kFwdDirect = 3;
constexpr int kFwdFft = 4;
constexpr int kFwdFftTiling = 5;
constexpr int kFwdWinograd = 6;
constexpr int kFwdWinogradNonfused = 7;
constexpr int kBwdData0 = 0;  // non-deterministic (atomics): never chosen
constexpr int kBwdData1 = 1;
constexpr int kBwdDataFft = 2;
constexpr int kBwdDataFftTiling = 3;
constexpr int kBwdDataWinograd = 4;
constexpr int kBwdDataWinogradNonfused = 5;
constexpr int kBwdFilter0 = 0;  // non-deterministic: never chosen
constexpr int kBwdFilter1 = 1;
constexpr int kBwdFilterFft = 2;
constexpr int kBwdFilter3 = 3;         // non-deterministic: never chosen
constexpr int kBwdFilterWinograd = 4;  // not implemented by cuDNN: never chosen
constexpr int kBwdFilterWinogradNonfused = 5;
constexpr int kBwdFilterFftTiling = 6;
}  // namespace cudnn_algo

// The deterministic algorithms of a direction, most preferred first (the reasons are in
// conv_algorithm.cpp). Algorithms not listed are never chosen.
const std::vector<int>& conv_preference_order(ConvDirection direction);

// The fixed workspace budget of one convolution. Not derived from the free memory, which
// differs between processes; when it cannot be allocated the fallback takes over.
constexpr std::size_t kConvWorkspaceBudgetBytes = std::size_t(512) << 20;

// How one cudnnFind* result ended.
enum class CandidateStatus {
  Ran,          // CUDNN_STATUS_SUCCESS
  OutOfMemory,  // a host or device allocation failed: depends on the memory free then
  Failed,       // not supported or any other error: the same in every process
};

// One cudnnFind* result (cudnnConvolution*AlgoPerf_t without CUDA types).
struct AlgorithmCandidate {
  int algorithm = 0;  // the cuDNN enum value
  CandidateStatus status = CandidateStatus::Failed;
  std::size_t workspace_bytes = 0;
  float milliseconds = 0;          // measured by cudnnFind*; plays no part in the choice
  bool uses_tensor_cores = false;  // mathType is a tensor-op (TF32) type
  bool deterministic = true;       // determinism == CUDNN_DETERMINISTIC
  int math_type = 0;               // the cudnnMathType_t value (last tie-break)
};

// Index of the chosen candidate, or -1 (use choose_fallback_algorithm). Candidates are
// walked by (preference rank of the algorithm; with TF32 allowed, tensor-op results first;
// less workspace; math type; ran before out of memory), never by time or by their order.
// Refused: algorithms not in the preference list, results cuDNN reports non-deterministic,
// tensor-op results in strict FP32 (!allow_tensor_cores), results above workspace_budget,
// failed results. The first remaining one is taken if it ran; if it ran out of memory the
// answer is -1.
int choose_algorithm(ConvDirection direction, const std::vector<AlgorithmCandidate>& candidates,
                     std::size_t workspace_budget, bool allow_tensor_cores);

// cudnnGet*WorkspaceSize's answer for one algorithm.
struct WorkspaceQuery {
  int algorithm = 0;       // the cuDNN enum value
  bool supported = false;  // the query returned CUDNN_STATUS_SUCCESS
  std::size_t bytes = 0;
};

// Index of the fallback among `queries`, or -1 when no listed algorithm is supported: the
// supported algorithm of the preference list with the least workspace (the first of the
// list among equals), whatever the order of `queries`. Zero bytes whenever any of them
// needs none; otherwise the smallest deterministic workspace there is (an algorithm that
// needs none but sums with atomics is never taken).
int choose_fallback_algorithm(ConvDirection direction, const std::vector<WorkspaceQuery>& queries);

}  // namespace ser::nn
