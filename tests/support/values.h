// Test values shared by the parity suites: seeded uniform vectors and the max-norm relative
// error max|got - want| / max(1, max|want|) used to compare devices.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace ser::test {

inline std::vector<float> uniform_values(int64_t n, float lo, float hi, uint32_t seed) {
  std::mt19937 engine(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(static_cast<std::size_t>(n));
  for (float& x : v) x = dist(engine);
  return v;
}

// Infinity when the sizes differ, NaN when any difference is NaN: both fail any "<= tol".
inline double max_norm_relative_error(const std::vector<float>& got, const std::vector<float>& want) {
  if (got.size() != want.size()) return INFINITY;
  double worst = 0, scale = 1;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double e = std::fabs(double(got[i]) - double(want[i]));
    if (std::isnan(e)) return NAN;
    worst = std::max(worst, e);
    scale = std::max(scale, std::fabs(double(want[i])));
  }
  return worst / scale;
}

}  // namespace ser::test
