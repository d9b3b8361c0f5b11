// LogMelExtractor::image() is stages().image exactly, call after call with signals of
// different lengths (it reuses its power buffer between calls).
#include <doctest/doctest.h>

#include <cmath>

#include "features/logmel.h"

using namespace ser;
using namespace ser::features;

TEST_SUITE("features") {

TEST_CASE("image() equals stages().image bit for bit, whatever the previous call's length") {
  LogMelExtractor ex;
  for (int n : {48000, 3000, 24001, 48000, 1}) {
    CAPTURE(n);
    std::vector<float> y(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) y[static_cast<std::size_t>(i)] = static_cast<float>(0.3 * std::sin(0.01 * i * (1 + n % 7)));
    const std::vector<float> fast = ex.image(y).to_vector();
    const std::vector<float> full = ex.stages(y).image.to_vector();
    CHECK(fast == full);
  }
}

}  // TEST_SUITE
