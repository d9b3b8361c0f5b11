// GPU test helper. Begin every test case that needs a CUDA device with
//   SER_REQUIRE_GPU();
// Without a device (or in the CPU-only build) the case prints a SKIP line naming itself,
// is counted in the run's summary, and returns without asserting anything.
#pragma once

#include <string>

namespace ser::test {
int gpu_skip_count();
std::string gpu_skip_reason();
// The running doctest case's name (defined in tests/main.cpp, which holds doctest's state).
std::string current_test_name();
// True if a device is usable; otherwise records and prints the skip of the current case.
bool gpu_available_or_skip();
}  // namespace ser::test

#define SER_REQUIRE_GPU()                                          \
  do {                                                             \
    if (!::ser::test::gpu_available_or_skip()) return;             \
  } while (0)
