// augment_images (see augment.h): one pass over the output, each pixel from its own
// sample and its mixup partner.
#include "engine/cpu/augment.h"

#include "engine/core/error.h"
#include "engine/cpu/parallel.h"

namespace ser::cpu {

void augment_images(float* out, const float* x, const SampleAugment* plan, int N, int H, int W) {
  SER_CHECK(out != x, "augment_images: output and input must be different buffers");
  const int64_t hw = static_cast<int64_t>(H) * W;
  for (int n = 0; n < N; ++n)
    SER_CHECK(plan[n].partner >= 0 && plan[n].partner < N && augment_plan_row_valid(plan[n], W),
              "augment_images: sample {} has partner {} / shift {} / band scale {} / {} chunks (a permutation of "
              "them, dividing W) outside the batch of {} x {} frames", n, plan[n].partner, plan[n].shift,
              plan[n].band_scale, plan[n].chunks, N, W);
  parallel_for(static_cast<int64_t>(N) * H, 16, [&](int64_t b, int64_t e) {
    for (int64_t row = b; row < e; ++row) {
      const int n = static_cast<int>(row / H), h = static_cast<int>(row % H);
      const SampleAugment& a = plan[n];
      const SampleAugment& pa = plan[a.partner];
      const float* xn = x + n * hw;
      const float* xp = x + a.partner * hw;
      float* o = out + n * hw + static_cast<int64_t>(h) * W;
      const float lambda = a.lambda, rest = 1.0f - a.lambda;
      for (int w = 0; w < W; ++w) {
        const float own = augmented_pixel(xn, a, h, w, H, W);
        // Two products and a sum, each rounded (the x86-64 baseline build has no FMA to
        // contract them into): the GPU's __fmul_rn / __fadd_rn form gives the same bits.
        o[w] = lambda == 1.0f ? own
                              : augment_add(augment_mul(lambda, own), augment_mul(rest, augmented_pixel(xp, pa, h, w, H, W)));
      }
    }
  });
}

}  // namespace ser::cpu
