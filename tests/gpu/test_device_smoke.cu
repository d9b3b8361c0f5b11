// GPU smoke test: allocate, copy both ways, run a kernel, create the cuDNN and cuBLAS
// handles and run one SGEMM. Compiled in the CUDA build; skips visibly without a device.
#include <doctest/doctest.h>

#include "engine/core/tensor.h"
#include "engine/cuda/check.h"
#include "engine/cuda/context.h"
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
  kernels::axpby(dev.data(), dev.data(), dev.numel(), 2.0f, 1.0f, ctx.stream());  // x = 3x
  ctx.synchronize();
  CHECK(dev.to_vector() == std::vector<float>{3, 6, 9, 12, 15});
  Tensor filled(Shape{1000}, Device::CUDA);
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

}  // TEST_SUITE
