// See synthetic.h: RAVDESS-sized synthetic datasets for the trainer's benchmarks and tests.
#include "engine/train/synthetic.h"

#include <cmath>

#include "engine/core/error.h"
#include "engine/core/random.h"

namespace ser::train {

int64_t ravdess_clips_per_actor(int classes) { return 4 + 8 * static_cast<int64_t>(classes - 1); }

int32_t ravdess_like_label(int64_t i, int classes) {
  const int64_t k = i % ravdess_clips_per_actor(classes);
  return k < 4 ? 0 : static_cast<int32_t>(1 + (k - 4) / 8);
}

Dataset synthetic_dataset(int64_t count, int classes, int64_t height, int64_t width, uint64_t seed) {
  SER_CHECK(count >= 1 && classes >= 1 && height >= 1 && width >= 1,
            "synthetic_dataset: count {}, classes {}, height {} and width {} must be >= 1", count, classes, height,
            width);
  Dataset d;
  d.images = Tensor(Shape{count, 1, height, width});
  const float half_range = std::sqrt(3.0f);  // uniform [-a, a) has variance a^2 / 3
  Generator generator(seed);
  generator.fill_uniform(d.images.data(), d.images.numel(), -half_range, half_range);
  d.labels.resize(static_cast<std::size_t>(count));
  for (int64_t i = 0; i < count; ++i) d.labels[static_cast<std::size_t>(i)] = ravdess_like_label(i, classes);
  d.groups.assign(static_cast<std::size_t>(count), 0);
  return d;
}

}  // namespace ser::train
