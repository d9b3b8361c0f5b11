// TF32 math mode of the CUDA Model (suite "gpu"): CudaContext::set_math_mode switches
// cuBLAS and the cuDNN convolution plans (re-measured per math mode) to tensor-core TF32;
// the logits must stay near the strict-FP32 ones, and switching back must restore the
// strict plans. A .cu file because it uses the CUDA-only CudaContext header.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "engine/cuda/context.h"
#include "engine/nn/model.h"
#include "support/architectures.h"
#include "support/gpu.h"
#include "support/values.h"

using namespace ser;
using namespace ser::nn;


TEST_SUITE("gpu") {

TEST_CASE("Model on CUDA: TF32 math mode runs and stays near strict FP32") {
  SER_REQUIRE_GPU();
  const Architecture arch = test::small_architecture({8, 16}, 32);
  Model gpu(arch, Device::CUDA);
  Generator init(3);
  gpu.initialize(init);
  const Tensor x = Tensor::from_vector(Shape{4, 1, 32, 32}, test::uniform_values(4 * 32 * 32, -1, 1, 9));
  const std::vector<float> strict = gpu.forward(x, Mode::Eval).to_vector();
  cuda::CudaContext& ctx = *gpu.cuda_context();
  ctx.set_math_mode(cuda::MathMode::AllowTf32);
  const std::vector<float> tf32 = gpu.forward(x, Mode::Eval).to_vector();
  ctx.set_math_mode(cuda::MathMode::StrictFp32);
  // TF32 keeps 10 mantissa bits: ~1e-3 relative per product; three layers deep, 2e-2.
  const double tf32_error = test::max_norm_relative_error(tf32, strict);
  CHECK(tf32_error <= 2e-2);
  // Identical logits mean cuBLAS/cuDNN chose no tensor-core kernel at these small shapes:
  // not a failure of ours, but this case then has not exercised TF32, so it says so.
  WARN_MESSAGE(tf32_error > 0, "TF32 mode gave logits identical to strict FP32: no TF32 kernel ran here");
  CHECK(test::max_norm_relative_error(gpu.forward(x, Mode::Eval).to_vector(), strict) <= 1e-6);  // back to strict plans
}

}  // TEST_SUITE
