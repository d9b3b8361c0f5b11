// Batch augmentation on the device; see augment.h. Launch: grid (N, min(H, 64)), 128
// threads: block (b, y) writes rows h = y, y + gridDim.y, ... of sample b, the threads
// stride over the W columns of a row (coalesced reads and writes; the circular shift makes
// the read of a row two contiguous runs). Each thread reads its sample's plan row and the
// partner's (116 bytes each, the same address for the whole block: one broadcast load) and
// evaluates cpu::augmented_pixel, the CPU's own inline function. Memory-bound: one image
// read (two with mixup) and one written per sample, 64 KiB each at 128 x 128.
#include <cmath>

#include "engine/cuda/check.h"
#include "kernels/augment.h"

namespace ser::kernels {
namespace {

constexpr unsigned kThreads = 128;
constexpr int kMaxRowBlocks = 64;

// out, x: (N, H*W); plan: (plan_size); cursor: (1) or null (position of sample b = b);
// labels, labels_b, lambda_out: (N) or all null.
__global__ void augment_kernel(float* __restrict__ out, int32_t* __restrict__ labels_b, float* __restrict__ lambda_out,
                               const float* __restrict__ x, const int32_t* __restrict__ labels,
                               const cpu::SampleAugment* __restrict__ plan, int64_t plan_size,
                               const int64_t* __restrict__ cursor, int64_t n, int H, int W) {
  const int64_t b = blockIdx.x;
  const int64_t base = cursor != nullptr ? *cursor : 0;
  const int64_t position = base + b;
  bool usable = position >= 0 && position < plan_size;
  cpu::SampleAugment own, partner;
  if (usable) {
    own = plan[position];
    usable = own.partner >= 0 && own.partner < n && cpu::augment_plan_row_valid(own, W);
  }
  if (usable) {
    const int64_t partner_position = base + own.partner;
    usable = partner_position >= 0 && partner_position < plan_size;
    if (usable) {
      partner = plan[partner_position];
      usable = cpu::augment_plan_row_valid(partner, W);
    }
  }
  if (labels != nullptr && blockIdx.y == 0 && threadIdx.x == 0) {
    labels_b[b] = usable ? labels[own.partner] : -1;
    lambda_out[b] = usable ? own.lambda : NAN;
  }
  const int64_t hw = static_cast<int64_t>(H) * W;
  float* o = out + b * hw;
  if (!usable) {
    for (int h = blockIdx.y; h < H; h += gridDim.y)
      for (int w = threadIdx.x; w < W; w += blockDim.x) o[static_cast<int64_t>(h) * W + w] = NAN;
    return;
  }
  const float* xn = x + b * hw;
  const float* xp = x + own.partner * hw;
  const float lambda = own.lambda, rest = __fsub_rn(1.0f, own.lambda);
  for (int h = blockIdx.y; h < H; h += gridDim.y) {
    for (int w = threadIdx.x; w < W; w += blockDim.x) {
      const float mine = cpu::augmented_pixel(xn, own, h, w, H, W);
      // The CPU's lambda*own + rest*partner: two rounded products and a rounded sum.
      o[static_cast<int64_t>(h) * W + w] =
          lambda == 1.0f ? mine
                         : __fadd_rn(__fmul_rn(lambda, mine), __fmul_rn(rest, cpu::augmented_pixel(xp, partner, h, w, H, W)));
    }
  }
}

void check_sizes(const char* entry, float* out, const float* x, const cpu::SampleAugment* plan, int64_t n, int h,
                 int w) {
  SER_CHECK(n >= 0 && h >= 1 && w >= 1, "{}: bad sizes (N, H, W) = ({}, {}, {})", entry, n, h, w);
  SER_CHECK(n <= INT32_MAX, "{}: batch N = {} is too large for one launch", entry, n);
  SER_CHECK(n == 0 || (out != nullptr && x != nullptr && plan != nullptr), "{}: null device pointer", entry);
  SER_CHECK(n == 0 || out != x, "{}: output and input must be different buffers", entry);
}

void launch(float* out, int32_t* labels_b, float* lambda, const float* x, const int32_t* labels,
            const cpu::SampleAugment* plan, int64_t plan_size, const int64_t* cursor, int64_t n, int h, int w,
            cudaStream_t stream) {
  const dim3 grid(static_cast<unsigned>(n), static_cast<unsigned>(h < kMaxRowBlocks ? h : kMaxRowBlocks));
  augment_kernel<<<grid, kThreads, 0, stream>>>(out, labels_b, lambda, x, labels, plan, plan_size, cursor, n, h, w);
  SER_CHECK_LAUNCH();
}

}  // namespace

void augment_images(float* out, const float* x, const cpu::SampleAugment* plan, int64_t n, int h, int w,
                    cudaStream_t stream) {
  check_sizes("augment_images", out, x, plan, n, h, w);
  if (n == 0) return;
  launch(out, nullptr, nullptr, x, nullptr, plan, n, nullptr, n, h, w, stream);
}

void augment_batch_at_cursor(float* out, int32_t* labels_b, float* lambda, const float* x, const int32_t* labels,
                             const cpu::SampleAugment* plan, int64_t plan_size, const int64_t* cursor, int64_t n,
                             int h, int w, cudaStream_t stream) {
  check_sizes("augment_batch_at_cursor", out, x, plan, n, h, w);
  SER_CHECK(plan_size >= 0 && cursor != nullptr, "augment_batch_at_cursor: plan size {} / null cursor", plan_size);
  SER_CHECK((labels == nullptr) == (labels_b == nullptr) && (labels == nullptr) == (lambda == nullptr),
            "augment_batch_at_cursor: labels, labels_b and lambda are given together or not at all");
  if (n == 0) return;
  launch(out, labels_b, lambda, x, labels, plan, plan_size, cursor, n, h, w, stream);
}

}  // namespace ser::kernels
