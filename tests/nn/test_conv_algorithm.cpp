// The host-only rule that picks cuDNN convolution algorithms (engine/nn/conv_algorithm.h),
// on fabricated cudnnFind* results and cudnnGet*WorkspaceSize answers, and the CUDA entry
// points' behaviour without a device.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
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

namespace {
using Status = CandidateStatus;
namespace algo = cudnn_algo;
constexpr std::size_t kMiB = std::size_t(1) << 20;

// A fabricated cudnnFind* result: deterministic FP32 (FMA) unless set otherwise.
AlgorithmCandidate ran(int algorithm, float ms, std::size_t workspace = 0) {
  AlgorithmCandidate c;
  c.algorithm = algorithm;
  c.status = Status::Ran;
  c.milliseconds = ms;
  c.workspace_bytes = workspace;
  c.math_type = 3;  // CUDNN_FMA_MATH
  return c;
}
AlgorithmCandidate tensor_op(AlgorithmCandidate c) {
  c.uses_tensor_cores = true;
  c.math_type = 1;  // CUDNN_TENSOR_OP_MATH
  return c;
}
AlgorithmCandidate with_status(AlgorithmCandidate c, Status status) {
  c.status = status;
  return c;
}
AlgorithmCandidate non_deterministic(AlgorithmCandidate c) {
  c.deterministic = false;
  return c;
}

// The chosen algorithm's cuDNN value, or -1.
int chosen(ConvDirection d, const std::vector<AlgorithmCandidate>& found, std::size_t budget, bool tf32) {
  const int i = choose_algorithm(d, found, budget, tf32);
  return i < 0 ? -1 : found[static_cast<std::size_t>(i)].algorithm;
}
}  // namespace

TEST_CASE("conv_preference_order: deterministic algorithms only, each once, implicit GEMM first") {
  for (ConvDirection d : {ConvDirection::Forward, ConvDirection::BackwardData, ConvDirection::BackwardFilter}) {
    std::vector<int> order = conv_preference_order(d);
    std::sort(order.begin(), order.end());
    CHECK(std::adjacent_find(order.begin(), order.end()) == order.end());
  }
  CHECK(conv_preference_order(ConvDirection::Forward).size() == 8);  // every forward algorithm is deterministic
  CHECK(conv_preference_order(ConvDirection::Forward).front() == algo::kFwdImplicitPrecompGemm);
  CHECK(conv_preference_order(ConvDirection::BackwardData) ==
        std::vector<int>{algo::kBwdData1, algo::kBwdDataWinogradNonfused, algo::kBwdDataWinograd,
                         algo::kBwdDataFftTiling, algo::kBwdDataFft});  // not ALGO_0 (atomics)
  CHECK(conv_preference_order(ConvDirection::BackwardFilter) ==
        std::vector<int>{algo::kBwdFilter1, algo::kBwdFilterWinogradNonfused, algo::kBwdFilterFftTiling,
                         algo::kBwdFilterFft});  // not ALGO_0 / ALGO_3 (atomics), not WINOGRAD (unimplemented)
}

TEST_CASE("choose_algorithm: the same results with other timings and in another order give the same choice") {
  // What two processes may see: the same algorithms, timed differently, so listed by
  // cudnnFind* in another order. The choice is the preference list's, never the fastest.
  std::vector<AlgorithmCandidate> found = {
      ran(algo::kFwdImplicitGemm, 0.9f),
      ran(algo::kFwdImplicitPrecompGemm, 0.5f, 2 * kMiB),
      ran(algo::kFwdWinogradNonfused, 0.3f, 40 * kMiB),
      ran(algo::kFwdFftTiling, 0.2f, 300 * kMiB),
      ran(algo::kFwdGemm, 1.5f, 8 * kMiB),
  };
  std::sort(found.begin(), found.end(),
            [](const AlgorithmCandidate& a, const AlgorithmCandidate& b) { return a.algorithm < b.algorithm; });
  uint32_t state = 12345;  // a small LCG for the timings
  int permutations = 0;
  do {
    for (AlgorithmCandidate& c : found) {
      state = state * 1664525u + 1013904223u;
      c.milliseconds = 0.01f + static_cast<float>(state >> 8) / 16777216.0f;
    }
    CHECK(chosen(ConvDirection::Forward, found, kConvWorkspaceBudgetBytes, false) == algo::kFwdImplicitPrecompGemm);
    ++permutations;
  } while (std::next_permutation(found.begin(), found.end(), [](const AlgorithmCandidate& a,
                                                                 const AlgorithmCandidate& b) {
    return a.algorithm < b.algorithm;
  }));
  CHECK(permutations == 120);
}

TEST_CASE("choose_algorithm: the first usable algorithm of the preference list, per direction") {
  const std::vector<AlgorithmCandidate> data = {ran(algo::kBwdDataFft, 0.1f, 100 * kMiB),
                                                ran(algo::kBwdDataWinogradNonfused, 0.2f, 30 * kMiB),
                                                ran(algo::kBwdData1, 0.4f, 1 * kMiB)};
  CHECK(chosen(ConvDirection::BackwardData, data, kConvWorkspaceBudgetBytes, false) == algo::kBwdData1);
  const std::vector<AlgorithmCandidate> filter = {ran(algo::kBwdFilterFftTiling, 0.1f, 50 * kMiB),
                                                  ran(algo::kBwdFilterWinogradNonfused, 0.2f, 60 * kMiB)};
  CHECK(chosen(ConvDirection::BackwardFilter, filter, kConvWorkspaceBudgetBytes, false) ==
        algo::kBwdFilterWinogradNonfused);
  // The same values mean other algorithms in another direction: 0 is forward IMPLICIT_GEMM
  // (deterministic) but backward-data ALGO_0 (atomics).
  const std::vector<AlgorithmCandidate> zero = {ran(0, 0.1f)};
  CHECK(chosen(ConvDirection::Forward, zero, 0, false) == algo::kFwdImplicitGemm);
  CHECK(chosen(ConvDirection::BackwardData, zero, 0, false) == -1);
  CHECK(chosen(ConvDirection::BackwardFilter, zero, 0, false) == -1);
}

TEST_CASE("choose_algorithm: refuses non-deterministic, unlisted, over-budget, failed and strict-mode tensor-op results") {
  const ConvDirection f = ConvDirection::BackwardFilter;
  // cuDNN reports a listed algorithm non-deterministic: refused.
  CHECK(chosen(f, {non_deterministic(ran(algo::kBwdFilter1, 0.1f)), ran(algo::kBwdFilterFft, 0.9f)}, 1u << 30,
               false) == algo::kBwdFilterFft);
  // Atomic-summing algorithms are refused even when reported deterministic.
  CHECK(chosen(f, {ran(algo::kBwdFilter0, 0.1f), ran(algo::kBwdFilter3, 0.1f), ran(algo::kBwdFilterWinograd, 0.1f)},
               1u << 30, true) == -1);
  // Over the budget (the budget itself fits).
  CHECK(chosen(f, {ran(algo::kBwdFilter1, 0.1f, 64 * kMiB + 1), ran(algo::kBwdFilterFft, 0.9f, 64 * kMiB)},
               64 * kMiB, false) == algo::kBwdFilterFft);
  // The budget is the fixed constant (not a share of the free memory): exactly it fits.
  CHECK(chosen(f, {ran(algo::kBwdFilter1, 0.1f, kConvWorkspaceBudgetBytes)}, kConvWorkspaceBudgetBytes, false) ==
        algo::kBwdFilter1);
  CHECK(chosen(f, {ran(algo::kBwdFilter1, 0.1f, kConvWorkspaceBudgetBytes + 1)}, kConvWorkspaceBudgetBytes, false) ==
        -1);
  // Failed (not supported): skipped, whatever its time.
  CHECK(chosen(f, {with_status(ran(algo::kBwdFilter1, 0.01f), Status::Failed), ran(algo::kBwdFilterFft, 0.9f)},
               1u << 30, false) == algo::kBwdFilterFft);
  // Strict FP32 refuses tensor-op (TF32) results, TF32 mode takes them.
  const std::vector<AlgorithmCandidate> tf32_only = {tensor_op(ran(algo::kBwdFilter1, 0.1f)),
                                                     ran(algo::kBwdFilterWinogradNonfused, 0.9f, 4 * kMiB)};
  CHECK(chosen(f, tf32_only, 1u << 30, false) == algo::kBwdFilterWinogradNonfused);
  CHECK(chosen(f, tf32_only, 1u << 30, true) == algo::kBwdFilter1);
  CHECK(chosen(f, {}, 1u << 30, true) == -1);
}

TEST_CASE("choose_algorithm: with TF32 allowed, an algorithm's tensor-op result before its FMA one, whatever the times") {
  const AlgorithmCandidate fma = ran(algo::kFwdImplicitPrecompGemm, 0.1f, 1 * kMiB);
  const AlgorithmCandidate tensor = tensor_op(ran(algo::kFwdImplicitPrecompGemm, 0.7f, 3 * kMiB));
  for (const auto& found : {std::vector<AlgorithmCandidate>{fma, tensor}, std::vector<AlgorithmCandidate>{tensor, fma}}) {
    const int tf32 = choose_algorithm(ConvDirection::Forward, found, kConvWorkspaceBudgetBytes, true);
    const int strict = choose_algorithm(ConvDirection::Forward, found, kConvWorkspaceBudgetBytes, false);
    REQUIRE(tf32 >= 0);
    REQUIRE(strict >= 0);
    CHECK(found[static_cast<std::size_t>(tf32)].uses_tensor_cores);
    CHECK_FALSE(found[static_cast<std::size_t>(strict)].uses_tensor_cores);
  }
  // The tensor-op result over the budget: the FMA one of the same algorithm.
  CHECK(choose_algorithm(ConvDirection::Forward, {tensor, fma}, 2 * kMiB, true) == 1);
}

TEST_CASE("choose_algorithm: a preferred result that ran out of memory means the fallback, not the next one") {
  const ConvDirection d = ConvDirection::BackwardData;
  const AlgorithmCandidate oom = with_status(ran(algo::kBwdData1, 0.1f, 1 * kMiB), Status::OutOfMemory);
  // With more memory this process would take ALGO_1: taking Winograd instead would make
  // the bits depend on the free memory, so -1 (the fallback, the same in every such process).
  CHECK(chosen(d, {ran(algo::kBwdDataWinogradNonfused, 0.2f, 2 * kMiB), oom}, 1u << 30, false) == -1);
  // Behind the choice, or over the budget, it does not matter.
  CHECK(chosen(d, {ran(algo::kBwdData1, 0.3f), with_status(ran(algo::kBwdDataFft, 0.1f), Status::OutOfMemory)},
               1u << 30, false) == algo::kBwdData1);
  CHECK(chosen(d,
               {with_status(ran(algo::kBwdData1, 0.1f, 600 * kMiB), Status::OutOfMemory),
                ran(algo::kBwdDataWinograd, 0.5f, 1 * kMiB)},
               kConvWorkspaceBudgetBytes, false) == algo::kBwdDataWinograd);
  // A non-deterministic result that ran out of memory would never be taken: ignored.
  CHECK(chosen(d, {with_status(ran(algo::kBwdData0, 0.1f), Status::OutOfMemory), ran(algo::kBwdData1, 0.2f)},
               1u << 30, false) == algo::kBwdData1);
}

TEST_CASE("choose_fallback_algorithm: the deterministic algorithm with the least workspace, zero when there is one") {
  const ConvDirection d = ConvDirection::BackwardFilter;
  auto fallback = [&](ConvDirection dir, const std::vector<WorkspaceQuery>& q) {
    const int i = choose_fallback_algorithm(dir, q);
    return i < 0 ? -1 : q[static_cast<std::size_t>(i)].algorithm;
  };
  // ALGO_1 (first preferred) needs workspace; FFT_TILING needs none: FFT_TILING.
  CHECK(fallback(d, {{algo::kBwdFilter1, true, 3 * kMiB},
                     {algo::kBwdFilterWinogradNonfused, false, 0},
                     {algo::kBwdFilterFftTiling, true, 0},
                     {algo::kBwdFilterFft, true, 0}}) == algo::kBwdFilterFftTiling);
  // Several need none: the first of the preference list, in whatever order they were asked.
  CHECK(fallback(d, {{algo::kBwdFilterFft, true, 0}, {algo::kBwdFilter1, true, 0}, {algo::kBwdFilterFftTiling, true, 0}}) ==
        algo::kBwdFilter1);
  // A zero-workspace algorithm that sums with atomics is never the fallback.
  CHECK(fallback(d, {{algo::kBwdFilter0, true, 0}, {algo::kBwdFilter3, true, 0}, {algo::kBwdFilter1, true, 5 * kMiB}}) ==
        algo::kBwdFilter1);
  // None needs zero bytes: the least (the first listed among equals).
  CHECK(fallback(d, {{algo::kBwdFilter1, true, 5 * kMiB},
                     {algo::kBwdFilterFft, true, 2 * kMiB},
                     {algo::kBwdFilterFftTiling, true, 2 * kMiB}}) == algo::kBwdFilterFftTiling);
  // Unsupported ones are refused whatever bytes they carry; none supported: -1.
  CHECK(fallback(d, {{algo::kBwdFilter1, false, 0}, {algo::kBwdFilterFft, true, 1}}) == algo::kBwdFilterFft);
  CHECK(fallback(d, {{algo::kBwdFilter1, false, 0}}) == -1);
  CHECK(fallback(d, {}) == -1);
  // Backward data: ALGO_1 with workspace, Winograd without; forward: IMPLICIT_GEMM (zero bytes)
  // over IMPLICIT_PRECOMP_GEMM (its index table).
  CHECK(fallback(ConvDirection::BackwardData,
                 {{algo::kBwdData0, true, 0}, {algo::kBwdData1, true, kMiB}, {algo::kBwdDataWinograd, true, 0}}) ==
        algo::kBwdDataWinograd);
  CHECK(fallback(ConvDirection::Forward,
                 {{algo::kFwdImplicitPrecompGemm, true, 4096}, {algo::kFwdImplicitGemm, true, 0}}) ==
        algo::kFwdImplicitGemm);
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
