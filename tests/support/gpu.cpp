// Counts and reports GPU test cases skipped for lack of a device.
#include "support/gpu.h"

#include <atomic>
#include <cstdio>

#include "engine/core/device.h"

namespace ser::test {
namespace {
std::atomic<int> g_skipped{0};
std::atomic<int> g_other_skipped{0};
}

int other_skip_count() { return g_other_skipped.load(); }

int gpu_skip_count() { return g_skipped.load(); }

std::string gpu_skip_reason() { return cuda_device_description(); }

void note_skip(const std::string& why) {
  ++g_other_skipped;
  std::printf("[ SKIP ] %s: %s\n", current_test_name().c_str(), why.c_str());
}

bool gpu_available_or_skip() {
  if (cuda_device_available()) return true;
  ++g_skipped;
  std::printf("[ SKIP ] %s: no CUDA device (%s)\n", current_test_name().c_str(), cuda_device_description().c_str());
  return false;
}

}  // namespace ser::test
