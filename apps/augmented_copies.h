// Waveform-augmented copies of the training clips for `ser train` (recipe fields
// wave_augment and wave_copies): copy k decodes every training file again, passes the
// signal through features::augment_waveform (seeded by the run's seed, the copy and the
// file, so a run is reproducible on any thread count), and computes its image with the
// run's front end. The copies become the training set's variants (train::Dataset::variants,
// (K*M, 1, H, W), copy k of row i at (k - 1) * M + i), normalised with the statistics of the
// clean training images; each epoch shows every clip as one of its K + 1 versions.
// Babble noise is made from the first clips of a fixed spread of the training files.
#pragma once

#include <cstdint>
#include <vector>

#include "apps/pipeline.h"
#include "data/data.h"
#include "engine/core/tensor.h"
#include "features/logmel.h"
#include "features/wave_augment.h"

namespace ser::app {

// The streams of copy k (1-based) start here: far above the run Generator's own draws.
constexpr uint64_t kWaveCopyStreamBase = uint64_t{1} << 40;

// (copies * M, 1, H, W) images of `entries` (M files, the training rows in order), not
// normalised. Throws ser::Error naming the file when one fails to decode or augment (the
// clean pass decoded it, so that is a change on disk during the run).
Tensor augmented_copies(const std::vector<data::ManifestEntry>& entries, const features::LogMelConfig& config,
                        const features::WaveAugmentConfig& augment, int copies, uint64_t seed,
                        const FeatureOptions& options);

// Up to `count` decoded training clips (mono, sample_rate) spread evenly over `entries`:
// the babble pool. Files that fail to decode are left out.
std::vector<std::vector<float>> babble_pool(const std::vector<data::ManifestEntry>& entries, int sample_rate,
                                            std::size_t count = 24);

}  // namespace ser::app
