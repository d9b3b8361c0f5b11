// GPU smoke test: allocate, copy both ways, run a kernel, create the cuDNN and cuBLAS
// handles and run one SGEMM. Compiled in the CUDA build; skips visibly without a device.
#include <doctest/doctest.h>

#include <string>

#include "engine/core/tensor.h"
#include "engine/cuda/check.h"
#include "engine/cuda/context.h"
#include "engine/nn/model.h"
#include "kernels/fill.h"
#include "support/gpu.h"

using namespace ser;

TEST_SUITE("gpu") {

TEST_CASE("device memory round trip and a kernel") {
  SER_REQUIRE_GPU();
  cuda::CudaContext ctx;
  Tensor host = Tensor::from_vector(Shape{5}, {1, 2, 3, 4, 5});
  Tensor dev = host.to(Device::CUDA);
  CHECK(dev.device() == Device::CUDA);
  CUDA_CHECK(cudaDeviceSynchronize());  // upload/zero fill ran on the legacy stream; ctx.stream() does not wait for it
  kernels::axpby(dev.data(), dev.data(), dev.numel(), 2.0f, 1.0f, ctx.stream());  // x = 3x
  ctx.synchronize();
  CHECK(dev.to_vector() == std::vector<float>{3, 6, 9, 12, 15});
  Tensor filled(Shape{1000}, Device::CUDA);
  CUDA_CHECK(cudaDeviceSynchronize());  // upload/zero fill ran on the legacy stream; ctx.stream() does not wait for it
  kernels::fill(filled.data(), filled.numel(), -1.5f, ctx.stream());
  ctx.synchronize();
  for (float v : filled.to_vector()) REQUIRE(v == -1.5f);
}

TEST_CASE("cuDNN and cuBLAS handles work on the context's stream") {
  SER_REQUIRE_GPU();
  cuda::CudaContext ctx;
  CHECK(cudnnGetVersion() >= 90000);
  // C = A * B with A = [[1,2],[3,4]], B = I (column-major in cuBLAS).
  Tensor a = Tensor::from_vector(Shape{4}, {1, 3, 2, 4}).to(Device::CUDA);
  Tensor b = Tensor::from_vector(Shape{4}, {1, 0, 0, 1}).to(Device::CUDA);
  Tensor c(Shape{4}, Device::CUDA);
  CUDA_CHECK(cudaDeviceSynchronize());  // upload/zero fill ran on the legacy stream; ctx.stream() does not wait for it
  const float one = 1, zero = 0;
  CUBLAS_CHECK(cublasSgemm(ctx.cublas(), CUBLAS_OP_N, CUBLAS_OP_N, 2, 2, 2, &one, a.data(), 2, b.data(), 2, &zero,
                           c.data(), 2));
  ctx.synchronize();
  CHECK(c.to_vector() == std::vector<float>{1, 3, 2, 4});
}

TEST_CASE("an impossible allocation reports sizes, not a raw CUDA code") {
  SER_REQUIRE_GPU();
  CHECK_THROWS_WITH_AS(Tensor(Shape{int64_t(1) << 40}, Device::CUDA), doctest::Contains("out of GPU memory"), Error);
}

// A batch of 20 000 seed images needs ~40 GB for conv1's output alone, and as much for its
// gradient and for each following activation: more than an H100 or H200 holds. The error
// must say what was asked, what was free, and what to change.
TEST_CASE("a training batch too large for the GPU gives the sizes and suggests --batch") {
  SER_REQUIRE_GPU();
  nn::Model model(nn::Architecture::seed(), Device::CUDA);
  Generator gen(1);
  model.initialize(gen);
  const Tensor x(Shape{20000, 1, 128, 128}, Device::CUDA);
  try {
    model.forward(x, nn::Mode::Train, &gen);
    FAIL("a 20 000-image batch fitted on the GPU");
  } catch (const Error& e) {
    const std::string what = e.what();
    CHECK(what.find("out of GPU memory: asked for") != std::string::npos);
    CHECK(what.find("MiB free of") != std::string::npos);
    CHECK(what.find("--batch") != std::string::npos);
  }
}

}  // TEST_SUITE
