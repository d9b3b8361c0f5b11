// Convolution algorithm choice (see conv_algorithm.h).
#include "engine/nn/conv_algorithm.h"

#include <algorithm>

namespace ser::nn {

int choose_algorithm(const std::vector<AlgorithmCandidate>& candidates, std::size_t workspace_budget,
                     bool allow_tensor_cores) {
  int best = -1;
  for (int i = 0; i < static_cast<int>(candidates.size()); ++i) {
    const AlgorithmCandidate& c = candidates[static_cast<std::size_t>(i)];
    if (!c.succeeded || c.workspace_bytes > workspace_budget) continue;
    if (c.uses_tensor_cores && !allow_tensor_cores) continue;
    if (!c.deterministic) continue;
    // Strictly faster wins: on equal times the earlier (cuDNN's own ranking) stays.
    if (best < 0 || c.milliseconds < candidates[static_cast<std::size_t>(best)].milliseconds) best = i;
  }
  return best;
}

std::size_t conv_workspace_budget(std::size_t free_device_bytes) {
  return std::min(kMaxConvWorkspaceBytes, free_device_bytes / 4);
}

}  // namespace ser::nn
