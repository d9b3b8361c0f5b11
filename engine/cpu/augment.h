// Training-time augmentation of a batch of log-mel images, on the host. The same maths
// runs on the GPU (kernels/augment.cu) from the same per-sample plan, so both devices
// produce the same bits. Images are (N, 1, H, W): H = mel bands (frequency), W = frames
// (time). Per output sample n, with partner p = plan[n].partner (the mixup partner, a row
// of the same batch) and weight lambda = plan[n].lambda:
//   A_k(h, w) = 0                                   if (h, w) is inside one of k's masks
//             = X_k(h * s_k, (w - shift_k) mod W)   otherwise (a circular time shift)
//   out[n, h, w] = lambda * A_n(h, w) + (1 - lambda) * A_p(h, w)     (lambda = 1: A_n)
// X_k(r, c) reads band r of column c of sample k, linearly interpolated between bands
// floor(r) and floor(r) + 1 (the top band repeats beyond the image): a frequency warp by
// 1/s_k of the mel axis, a cheap stand-in for vocal-tract-length / speed perturbation. At
// s_k = 1 it is x[k, h, c] exactly.
// Chunk shuffle: with chunks_k = K > 1 the W columns are cut into K equal chunks and the
// source column c (after the shift) is read from chunk order_k[c / (W / K)] instead, at the
// same offset in it: the words of an utterance reordered, their sounds kept (a sentence's
// layout in time is then no cue; RAVDESS says two sentences only).
// A time mask covers columns [start, start + width) of every band; a frequency mask rows
// [start, start + width) of every frame. 0 is the mean of the normalised images (the fill
// SpecAugment uses). Mixup's targets are mixed the same way (softmax_cross_entropy_soft).
// No backward: the op acts on the data, before the network.
#pragma once

#include <cstdint>

#include "engine/core/philox.h"  // SER_HOST_DEVICE

namespace ser::cpu {

constexpr int kMaxAugmentMasks = 4;  // time masks, and frequency masks, per sample
constexpr int kMaxAugmentChunks = 8;  // chunks of the chunk shuffle

// One sample's draws (plain data: copied to the device as is). A mask of width 0 is unused.
struct SampleAugment {
  int32_t shift = 0;  // columns, in [0, W)
  int32_t time_start[kMaxAugmentMasks] = {0, 0, 0, 0};
  int32_t time_width[kMaxAugmentMasks] = {0, 0, 0, 0};
  int32_t freq_start[kMaxAugmentMasks] = {0, 0, 0, 0};
  int32_t freq_width[kMaxAugmentMasks] = {0, 0, 0, 0};
  int32_t partner = 0;  // row of the batch mixed in (itself when lambda == 1)
  float lambda = 1.0f;  // weight of this sample's own image, in [0.5, 1]
  float band_scale = 1.0f;  // s_k: output band h reads source band h * s_k (1 = no warp)
  int32_t chunks = 0;       // K: 0 or 1 = no chunk shuffle; else W % K == 0
  int32_t chunk_order[kMaxAugmentChunks] = {0, 1, 2, 3, 4, 5, 6, 7};  // a permutation of [0, K)
};

// The plan row's fields are in range for images W columns wide (the chunk order a
// permutation); both devices check every row with this before using it.
SER_HOST_DEVICE inline bool augment_plan_row_valid(const SampleAugment& a, int W) {
  if (a.shift < 0 || a.shift >= W || !(a.band_scale > 0.0f && a.band_scale < 4.0f)) return false;
  if (a.chunks <= 1) return a.chunks >= 0;
  if (a.chunks > kMaxAugmentChunks || W % a.chunks != 0) return false;
  unsigned seen = 0;
  for (int c = 0; c < a.chunks; ++c) {
    if (a.chunk_order[c] < 0 || a.chunk_order[c] >= a.chunks) return false;
    seen |= 1u << a.chunk_order[c];
  }
  return seen == (1u << a.chunks) - 1u;
}

// One rounding per operation on both devices: plain float operations on the host (the
// x86-64 baseline build has no FMA to contract them into), the _rn intrinsics on the GPU.
SER_HOST_DEVICE inline float augment_mul(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fmul_rn(a, b);
#else
  return a * b;
#endif
}
SER_HOST_DEVICE inline float augment_add(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fadd_rn(a, b);
#else
  return a + b;
#endif
}

// Inline so the CUDA kernel evaluates exactly the same expression.
SER_HOST_DEVICE inline bool augment_masked(const SampleAugment& a, int h, int w) {
  for (int m = 0; m < kMaxAugmentMasks; ++m) {
    if (w >= a.time_start[m] && w < a.time_start[m] + a.time_width[m]) return true;
    if (h >= a.freq_start[m] && h < a.freq_start[m] + a.freq_width[m]) return true;
  }
  return false;
}

// A_k(h, w) of the header comment; x_k: (H, W) image of sample k.
SER_HOST_DEVICE inline float augmented_pixel(const float* x_k, const SampleAugment& a, int h, int w, int H, int W) {
  if (augment_masked(a, h, w)) return 0.0f;
  int src = w - a.shift;
  if (src < 0) src += W;
  if (a.chunks > 1) {
    const int width = W / a.chunks, c = src / width;
    src = a.chunk_order[c] * width + (src - c * width);
  }
  if (a.band_scale == 1.0f) return x_k[static_cast<int64_t>(h) * W + src];
  const float row = augment_mul(static_cast<float>(h), a.band_scale);
  const int r0 = static_cast<int>(row);  // row >= 0: truncation is floor
  if (r0 >= H - 1) return x_k[static_cast<int64_t>(H - 1) * W + src];
  const float frac = augment_add(row, -static_cast<float>(r0));
  const float low = x_k[static_cast<int64_t>(r0) * W + src], high = x_k[static_cast<int64_t>(r0 + 1) * W + src];
  return augment_add(augment_mul(low, augment_add(1.0f, -frac)), augment_mul(high, frac));
}

// out, x: (N, 1, H, W) float32 (out != x); plan: (N). Partners must lie in [0, N).
void augment_images(float* out, const float* x, const SampleAugment* plan, int N, int H, int W);

}  // namespace ser::cpu
