// Host-only bookkeeping of the cuDNN convolution algorithm choice (engine/cuda/
// layers_conv.cu), kept free of CUDA types so the CPU build tests it.
// cudnnFind* measures every algorithm once per input shape; from those measurements we
// take the FASTEST one that (a) ran successfully, (b) needs no more workspace than the
// budget, (c) respects the math mode (strict FP32 refuses tensor-core/TF32 kernels) and
// (d) is deterministic (some backward algorithms sum with atomics: the same seed and data
// must give the same model, and CUDA-graph replays must equal eager steps bit for bit).
// When the workspace then cannot be allocated, the choice is redone with a zero budget,
// and when nothing fits, a fixed zero-workspace algorithm is used (fallback_index -1).
#pragma once

#include <cstddef>
#include <vector>

namespace ser::nn {

struct AlgorithmCandidate {
  int algorithm = 0;             // the cuDNN enum value
  bool succeeded = false;        // status == CUDNN_STATUS_SUCCESS
  std::size_t workspace_bytes = 0;
  float milliseconds = 0;        // measured by cudnnFind*
  bool uses_tensor_cores = false;  // mathType is a tensor-op (TF32) type
  bool deterministic = true;       // determinism == CUDNN_DETERMINISTIC
};

// Index of the chosen candidate, or -1 when none qualifies.
int choose_algorithm(const std::vector<AlgorithmCandidate>& candidates, std::size_t workspace_budget,
                     bool allow_tensor_cores);

// The workspace budget for one convolution given the free device memory: a quarter of
// what is free, at most kMaxConvWorkspaceBytes (cuDNN's fastest algorithms rarely gain
// beyond that, and activations need the memory more).
constexpr std::size_t kMaxConvWorkspaceBytes = std::size_t(512) << 20;
std::size_t conv_workspace_budget(std::size_t free_device_bytes);

}  // namespace ser::nn
