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
// Records and prints "[ SKIP ] <case>: <why>": for the few non-gpu-suite cases that only
// make sense WITHOUT a device or a CUDA build. Counted apart from the GPU skips.
void note_skip(const std::string& why);
int other_skip_count();
}  // namespace ser::test

// Ends the current case with a visible, counted skip when `condition` holds.
#define SER_SKIP_IF(condition, why)          \
  do {                                       \
    if (condition) {                         \
      ::ser::test::note_skip(why);           \
      return;                                \
    }                                        \
  } while (0)

#define SER_REQUIRE_GPU()                                          \
  do {                                                             \
    if (!::ser::test::gpu_available_or_skip()) return;             \
  } while (0)
