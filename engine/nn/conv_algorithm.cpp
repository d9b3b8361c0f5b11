// Convolution algorithm choice (see conv_algorithm.h): fixed preference lists, the walk over
// cudnnFind* results and the least-workspace fallback.
#include "engine/nn/conv_algorithm.h"

#include <algorithm>
#include <tuple>

namespace ser::nn {

// Why these orders. This network's convolutions are 3x3, stride 1, no padding, 1->32->64->
// 128->256 channels on 128..14 pixel sides. For such convolutions cuDNN's own heuristics
// put its implicit-GEMM kernels first (IMPLICIT_PRECOMP_GEMM forward, ALGO_1 for both
// backward directions) in FP32 and in TF32: they support every 2-D shape, have tensor-op
// (TF32) variants and need little workspace (precomputed indices). Forward IMPLICIT_GEMM
// follows: the same kernels without the index table, zero workspace. Winograd (non-fused
// needs a large workspace) and FFT (larger still) can win for wide layers but are taken only
// when the kernels above are unsupported; GEMM and DIRECT last (GEMM materialises im2col,
// DIRECT is not implemented for most shapes). The order was not measured on a GPU; it
// trades the last percent of speed for small workspaces, and changing it changes the bits
// of every GPU run (a new process then follows the new order, old checkpoints still load).
// Left out: the algorithms that sum with atomics (backward data ALGO_0, backward filter
// ALGO_0 and ALGO_3) and backward filter WINOGRAD (not implemented).
const std::vector<int>& conv_preference_order(ConvDirection direction) {
  using namespace cudnn_algo;
  static const std::vector<int> forward = {kFwdImplicitPrecompGemm, kFwdImplicitGemm, kFwdWinogradNonfused,
                                           kFwdWinograd,            kFwdFftTiling,    kFwdFft,
                                           kFwdGemm,                kFwdDirect};
  static const std::vector<int> backward_data = {kBwdData1, kBwdDataWinogradNonfused, kBwdDataWinograd,
                                                 kBwdDataFftTiling, kBwdDataFft};
  static const std::vector<int> backward_filter = {kBwdFilter1, kBwdFilterWinogradNonfused, kBwdFilterFftTiling,
                                                   kBwdFilterFft};
  switch (direction) {
    case ConvDirection::Forward: return forward;
    case ConvDirection::BackwardData: return backward_data;
    case ConvDirection::BackwardFilter: break;
  }
  return backward_filter;
}

namespace {

// Position of `algorithm` in the direction's preference list, or -1 if it is not listed.
int preference_rank(ConvDirection direction, int algorithm) {
  const std::vector<int>& order = conv_preference_order(direction);
  const auto it = std::find(order.begin(), order.end(), algorithm);
  return it == order.end() ? -1 : static_cast<int>(it - order.begin());
}

bool acceptable(ConvDirection direction, const AlgorithmCandidate& c, bool allow_tensor_cores) {
  return preference_rank(direction, c.algorithm) >= 0 && c.deterministic &&
         (allow_tensor_cores || !c.uses_tensor_cores);
}

// The walking order of a candidate (smaller first); see choose_algorithm in the header.
// Candidates equal in all of it are one algorithm reported twice: either gives the same plan.
auto walk_key(ConvDirection direction, const AlgorithmCandidate& c, bool allow_tensor_cores) {
  const int tensor_rank = allow_tensor_cores && c.uses_tensor_cores ? 0 : 1;
  const int status_rank = c.status == CandidateStatus::Ran ? 0 : c.status == CandidateStatus::OutOfMemory ? 1 : 2;
  return std::make_tuple(preference_rank(direction, c.algorithm), tensor_rank, c.workspace_bytes, c.math_type,
                         status_rank);
}

}  // namespace

int choose_algorithm(ConvDirection direction, const std::vector<AlgorithmCandidate>& candidates,
                     std::size_t workspace_budget, bool allow_tensor_cores) {
  std::vector<int> order;  // indices of the acceptable candidates, in walking order
  for (int i = 0; i < static_cast<int>(candidates.size()); ++i)
    if (acceptable(direction, candidates[static_cast<std::size_t>(i)], allow_tensor_cores)) order.push_back(i);
  std::sort(order.begin(), order.end(), [&](int a, int b) {
    return walk_key(direction, candidates[static_cast<std::size_t>(a)], allow_tensor_cores) <
           walk_key(direction, candidates[static_cast<std::size_t>(b)], allow_tensor_cores);
  });
  for (int i : order) {
    const AlgorithmCandidate& c = candidates[static_cast<std::size_t>(i)];
    if (c.workspace_bytes > workspace_budget || c.status == CandidateStatus::Failed) continue;
    // Out of memory: a process with more free memory would take this one; skipping it
    // would make the choice depend on the memory, so the fallback is used instead.
    return c.status == CandidateStatus::Ran ? i : -1;
  }
  return -1;
}

int choose_fallback_algorithm(ConvDirection direction, const std::vector<WorkspaceQuery>& queries) {
  int best = -1;
  auto key = [&](int i) {
    const WorkspaceQuery& q = queries[static_cast<std::size_t>(i)];
    return std::make_pair(q.bytes, preference_rank(direction, q.algorithm));
  };
  for (int i = 0; i < static_cast<int>(queries.size()); ++i) {
    const WorkspaceQuery& q = queries[static_cast<std::size_t>(i)];
    if (!q.supported || preference_rank(direction, q.algorithm) < 0) continue;
    if (best < 0 || key(i) < key(best)) best = i;
  }
  return best;
}

}  // namespace ser::nn
