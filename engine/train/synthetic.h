// Synthetic labelled log-mel images of a real corpus's size and class mix, for benchmarks
// and tests that run the trainer's own loop (Trainer::train_epoch, evaluate) without audio:
//   images: (count, 1, height, width) float32, uniform in [-sqrt(3), sqrt(3)) (mean 0, std 1:
//           what a z-normalised training split is on average; the speed of every layer but
//           max-pool and ReLU is data-independent, and those see a similar sign mix)
//   labels: (count) RAVDESS's mix, actor by actor (ravdess_like_label)
//   groups: (count) all 0 (one corpus: corpus-balanced sampling is then `balanced`)
// ravdess-dev actors 01-16 as the trainer sees them: synthetic_dataset(704, 6, 128, W, seed)
// (16 actors x 44 clips of the six classes), validation actors 17-18: 88 rows.
#pragma once

#include <cstdint>

#include "engine/train/dataset.h"

namespace ser::train {

// Clips per RAVDESS actor for `classes` classes: 4 neutral (class 0) + 8 of each other class
// (two statements x two intensities x two repetitions; neutral has no strong intensity).
int64_t ravdess_clips_per_actor(int classes);
// Label of row i: row i % ravdess_clips_per_actor(classes) of an actor's clips, ordered by
// class: 0 for the first 4, then 8 rows of each class 1 .. classes - 1.
int32_t ravdess_like_label(int64_t i, int classes);

// count >= 1 rows, classes >= 1, height, width >= 1; the same seed gives the same images.
Dataset synthetic_dataset(int64_t count, int classes, int64_t height, int64_t width, uint64_t seed);

}  // namespace ser::train
