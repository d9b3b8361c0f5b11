// The host-only rule that picks a cuDNN convolution algorithm from cudnnFind* measurements
// (engine/nn/conv_algorithm.h), and the CUDA entry points' behaviour without a device.
#include <doctest/doctest.h>

#include <vector>

#include "engine/core/device.h"
#include "engine/core/error.h"
#include "engine/nn/adam.h"
#include "engine/nn/conv_algorithm.h"
#include "engine/nn/model.h"
#include "support/gpu.h"

using namespace ser;
using namespace ser::nn;

TEST_SUITE("nn") {

TEST_CASE("choose_algorithm: fastest successful candidate within the budget and the math mode") {
  const std::vector<AlgorithmCandidate> found = {
      {1, true, 64u << 20, 0.50f, false},   // fast but needs 64 MiB
      {2, true, 0, 1.00f, false},           // slow, no workspace
      {3, true, 1u << 20, 0.20f, true},     // fastest, tensor cores (TF32)
      {4, false, 0, 0.01f, false},          // failed: never chosen whatever its time
      {5, true, 2u << 20, 0.70f, false},
  };
  CHECK(found[choose_algorithm(found, 128u << 20, true)].algorithm == 3);
  CHECK(found[choose_algorithm(found, 128u << 20, false)].algorithm == 1);  // strict FP32: no TF32 kernel
  CHECK(found[choose_algorithm(found, 4u << 20, false)].algorithm == 5);    // 64 MiB does not fit
  CHECK(found[choose_algorithm(found, 0, true)].algorithm == 2);            // workspace allocation failed
  CHECK(choose_algorithm({{4, false, 0, 0.01f, false}}, 1u << 30, true) == -1);
  CHECK(choose_algorithm({}, 1u << 30, true) == -1);
  // Equal times: the earlier candidate (cuDNN's own order) is kept.
  CHECK(choose_algorithm({{7, true, 0, 0.3f, false}, {8, true, 0, 0.3f, false}}, 0, false) == 0);
  // A faster algorithm that sums with atomics (non-deterministic) is never chosen.
  CHECK(choose_algorithm({{0, true, 0, 0.1f, false, false}, {1, true, 0, 0.4f, false, true}}, 0, false) == 1);
  CHECK(choose_algorithm({{0, true, 0, 0.1f, false, false}}, 0, true) == -1);
}

TEST_CASE("conv_workspace_budget: a quarter of free memory, capped") {
  CHECK(conv_workspace_budget(0) == 0);
  CHECK(conv_workspace_budget(std::size_t(400) << 20) == std::size_t(100) << 20);
  CHECK(conv_workspace_budget(std::size_t(80) << 30) == kMaxConvWorkspaceBytes);
}

TEST_CASE("CUDA Model and Adam without a usable device: clear errors, never a CPU fallback") {
  SER_SKIP_IF(cuda_device_available(), "a CUDA device is present (the gpu suite covers it)");
  Architecture arch;
  arch.height = arch.width = 30;
  arch.conv_channels = {2};
  arch.dense_units = {4};
  try {
    Model model(arch, Device::CUDA);
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("CUDA") != std::string::npos);
  }
  CHECK_THROWS_AS(Adam({}, 10, Device::CUDA), Error);  // device arenas cannot be allocated
}

}  // TEST_SUITE
