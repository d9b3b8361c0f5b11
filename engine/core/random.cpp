// Host-side draws from the Philox generator.
#include "engine/core/random.h"

#include <numeric>
#include <utility>

namespace ser {

float Generator::uniform(float low, float high) {
  return low + (high - low) * philox_uniform_at(seed_, next_stream(), 0);
}

void Generator::fill_uniform(float* out, int64_t n, float low, float high) {
  const uint64_t stream = next_stream();
  for (int64_t i = 0; i < n; ++i) out[i] = low + (high - low) * philox_uniform_at(seed_, stream, i);
}

std::vector<int64_t> Generator::permutation(int64_t n) {
  std::vector<int64_t> p(static_cast<std::size_t>(n));
  std::iota(p.begin(), p.end(), 0);
  const uint64_t stream = next_stream();
  for (int64_t i = n - 1; i > 0; --i) {
    // 32 random bits -> index in [0, i] (multiply-shift; bias below 2^-32 * n).
    const uint32_t bits = philox4x32_10(static_cast<uint64_t>(i), stream, seed_).v[0];
    const int64_t j = static_cast<int64_t>((static_cast<uint64_t>(bits) * static_cast<uint64_t>(i + 1)) >> 32);
    std::swap(p[i], p[j]);
  }
  return p;
}

}  // namespace ser
