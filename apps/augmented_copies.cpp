// Waveform-augmented training copies; see augmented_copies.h.
#include "apps/augmented_copies.h"

#include <fmt/format.h>

#include <cstring>

#include "engine/core/error.h"
#include "features/audio.h"

namespace ser::app {

std::vector<std::vector<float>> babble_pool(const std::vector<data::ManifestEntry>& entries, int sample_rate,
                                            std::size_t count) {
  std::vector<std::vector<float>> pool;
  if (entries.empty()) return pool;
  const std::size_t step = std::max<std::size_t>(1, entries.size() / count);
  for (std::size_t i = 0; i < entries.size() && pool.size() < count; i += step) {
    try {
      pool.push_back(features::load_audio(entries[i].path, sample_rate));
    } catch (const std::exception&) {
      // a file that does not decode is no babble; the clean pass reports it
    }
  }
  return pool;
}

Tensor augmented_copies(const std::vector<data::ManifestEntry>& entries, const features::LogMelConfig& config,
                        const features::WaveAugmentConfig& augment, int copies, uint64_t seed,
                        const FeatureOptions& options) {
  SER_CHECK(copies > 0 && !entries.empty(), "augmented_copies: {} copies of {} files", copies, entries.size());
  augment.validate();
  const std::vector<std::vector<float>> pool =
      augment.uses_babble() ? babble_pool(entries, config.sample_rate) : std::vector<std::vector<float>>{};
  std::vector<const std::vector<float>*> pool_refs;
  for (const auto& clip : pool) pool_refs.push_back(&clip);
  SER_CHECK(!augment.uses_babble() || !pool_refs.empty(), "--wave-augment babble: no training clip decoded");

  const auto m = static_cast<int64_t>(entries.size());
  const int64_t per = static_cast<int64_t>(config.image_height) * config.image_width;
  Tensor out(Shape{copies * m, 1, config.image_height, config.image_width});
  for (int k = 1; k <= copies; ++k) {
    if (options.progress) fmt::print(stderr, "augmented copy {}/{} ({})\n", k, copies, augment.text());
    FeatureOptions fopts = options;
    fopts.waveform_transform = [&, k](const std::vector<float>& x, int sample_rate, std::size_t file) {
      const uint64_t stream = kWaveCopyStreamBase + static_cast<uint64_t>(k - 1) * static_cast<uint64_t>(m) + file;
      return features::augment_waveform(x, sample_rate, augment, seed, stream, pool_refs);
    };
    const LabelledImages copy = extract_labelled(entries, config, fopts);
    if (!copy.failures.empty())
      throw Error(fmt::format("{}: augmented copy {} failed: {}", copy.failures.front().first.string(), k,
                              copy.failures.front().second));
    SER_CHECK(copy.data.size() == m, "augmented copy {}: {} images for {} files", k, copy.data.size(), m);
    std::memcpy(out.data() + (k - 1) * m * per, copy.data.images.data(),
                static_cast<std::size_t>(m * per) * sizeof(float));
  }
  return out;
}

}  // namespace ser::app
