// Training-time augmentation settings and the per-epoch plan drawn from them. The host
// draws every random choice of an epoch at once, from one stream of the run's Generator,
// right after the epoch's order; the CPU loop and the GPU step (which uploads the plan
// with the order) then apply the same plan with engine/cpu/augment.h or kernels/augment.h,
// so both devices see the same augmented images and a resumed run redraws the same plan.
//   SpecAugment-style masks: `time_masks` masks of width U{0..time_mask_max} frames at a
//     uniform start, `freq_masks` masks of U{0..freq_mask_max} mel bands (fill 0, the mean)
//   random time shift: a circular shift by U{-time_shift_max..time_shift_max} frames
//   frequency warp: the mel axis scaled by a factor U(1 - band_warp, 1 + band_warp), linearly
//     interpolated (engine/cpu/augment.h); a stand-in for speed / vocal-tract perturbation
//   chunk shuffle: the window cut into `chunks` equal parts, put back in a random order
//     (engine/cpu/augment.h)
//   mixup: a partner from a random permutation of the same batch, own weight
//     lambda = max(l, 1 - l) with l ~ Beta(mixup_alpha, mixup_alpha); targets mix alike
// Text form (--augment): "none", or comma-separated items
//   time-masks=COUNTxMAXWIDTH  freq-masks=COUNTxMAXWIDTH  shift=MAXFRAMES  warp=FRACTION
//   mixup=ALPHA  chunks=K
// e.g. "time-masks=2x16,freq-masks=2x16,shift=16"; items not given are off.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "engine/core/random.h"
#include "engine/cpu/augment.h"

namespace ser::train {

struct AugmentConfig {
  int time_masks = 0, time_mask_max = 0;  // count (<= kMaxAugmentMasks), widest mask in frames
  int freq_masks = 0, freq_mask_max = 0;  // count, widest mask in mel bands
  int time_shift_max = 0;                 // frames
  double band_warp = 0.0;                 // 0: no frequency warp; else the largest relative change
  double mixup_alpha = 0.0;               // 0: no mixup
  int chunks = 0;                         // 0: no chunk shuffle; else K in [2, kMaxAugmentChunks]

  bool enabled() const {
    return time_masks > 0 || freq_masks > 0 || time_shift_max > 0 || band_warp > 0 || mixup_alpha > 0 || chunks > 1;
  }
  bool mixes() const { return mixup_alpha > 0; }
  // The text form above ("none" when nothing is on); parse(text()) == *this.
  std::string text() const;
  // Throws ser::Error naming the item for anything malformed or out of range.
  static AugmentConfig parse(const std::string& text);
  // Throws ser::Error when a count or width is outside its range for H x W images.
  void validate(int H, int W) const;
  bool operator==(const AugmentConfig& o) const;
};

void to_json(nlohmann::json& j, const AugmentConfig& a);
void from_json(const nlohmann::json& j, AugmentConfig& a);

// The plan of one epoch: plan[i] is for position i of the epoch's order (count positions,
// cut into batches of `batch`; the last may be smaller). Partners index the batch. Draws
// one Generator stream.
std::vector<cpu::SampleAugment> draw_augment_plan(Generator& generator, int64_t count, int batch, int H, int W,
                                                  const AugmentConfig& config);

// A Beta(alpha, alpha) draw from uniforms in [0, 1) that `uniform` returns in turn (a ratio
// of Marsaglia-Tsang gamma draws); exposed for its test.
double beta_symmetric(double alpha, const std::function<double()>& uniform);

}  // namespace ser::train
