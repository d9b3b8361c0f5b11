// The skip mechanism itself: on a machine without a device, a GPU case is counted as
// skipped (never as a silent pass); with a device it runs.
#include <doctest/doctest.h>

#include "engine/core/device.h"
#include "support/gpu.h"

TEST_SUITE("gpu") {

TEST_CASE("SER_REQUIRE_GPU skips visibly without a device") {
  const int before = ser::test::gpu_skip_count();
  const bool available = ser::test::gpu_available_or_skip();
  CHECK(available == ser::cuda_device_available());
  CHECK(ser::test::gpu_skip_count() == before + (available ? 0 : 1));
}

}  // TEST_SUITE
