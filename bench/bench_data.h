// Benchmark input data: fast deterministic pseudo-random floats (xorshift64*), so that
// filling the batch-256 buffers (hundreds of MB) costs milliseconds, not seconds. The
// values only need a spread and mixed signs (ReLU, max-pool and dropout branch on them);
// they are not a statistical generator.
#pragma once

#include <cstdint>
#include <vector>

namespace ser::bench {

// n values uniform in [low, high), reproducible from seed.
inline std::vector<float> random_floats(int64_t n, float low, float high, uint64_t seed) {
  std::vector<float> v(static_cast<std::size_t>(n));
  uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
  const float scale = (high - low) / 16777216.0f;  // 24 random bits -> [0, 1)
  for (auto& x : v) {
    s ^= s >> 12, s ^= s << 25, s ^= s >> 27;
    x = low + float((s * 0x2545F4914F6CDD1Dull) >> 40) * scale;
  }
  return v;
}

}  // namespace ser::bench
