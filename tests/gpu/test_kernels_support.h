// Helpers for the kernel tests (tests/gpu/test_kernels_*.cu): seeded random integers
// and a max-abs-error report. The CPU reference of each kernel is written in its test.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "support/values.h"  // uniform_values: seeded float data

namespace ser::test {

// n ints uniform in [low, high], reproducible from `seed`.
template <typename Int>
std::vector<Int> random_ints(int64_t n, Int low, Int high, uint32_t seed) {
  std::mt19937 engine(seed);
  std::uniform_int_distribution<int64_t> dist(low, high);
  std::vector<Int> values(static_cast<std::size_t>(n));
  for (Int& v : values) v = static_cast<Int>(dist(engine));
  return values;
}

// max_i |got[i] - want[i]| (NaN if any side is NaN where the other is not, or the sizes differ).
inline double max_abs_error(const std::vector<float>& got, const std::vector<double>& want) {
  if (got.size() != want.size()) return NAN;  // a wrong element count fails every tolerance
  double worst = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double e = std::fabs(static_cast<double>(got[i]) - want[i]);
    if (std::isnan(e)) return NAN;
    worst = std::max(worst, e);
  }
  return worst;
}

}  // namespace ser::test
