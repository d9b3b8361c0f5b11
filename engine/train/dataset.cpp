// Dataset subsets, normalisation statistics (accumulated in double), batch gathering.
#include "engine/train/dataset.h"

#include <cmath>
#include <cstring>

#include "engine/core/error.h"

namespace ser::train {
namespace {
int64_t image_elements(const Tensor& images) { return images.numel() / std::max<int64_t>(images.size(0), 1); }
}  // namespace

void Dataset::check(int classes) const {
  SER_CHECK(images.rank() == 4 || (images.rank() == 0 && labels.empty()),
            "dataset: images must be (M, C, H, W), got shape {}", images.shape().str());
  const int64_t m = size();
  SER_CHECK(labels.empty() || static_cast<int64_t>(labels.size()) == m,
            "dataset: {} labels for {} images (need one per image, or none)", labels.size(), m);
  SER_CHECK(groups.empty() || static_cast<int64_t>(groups.size()) == m, "dataset: {} corpus groups for {} images",
            groups.size(), m);
  for (int32_t g : groups) SER_CHECK(g >= 0, "dataset: corpus group {} is negative", g);
  if (variants.numel() != 0) {
    const Shape& v = variants.shape();
    SER_CHECK(variants.rank() == 4 && m > 0 && v[0] % m == 0 && v[1] == images.size(1) && v[2] == images.size(2) &&
                  v[3] == images.size(3),
              "dataset: variants of shape {} are not K copies of the images {}", v.str(), images.shape().str());
  }
  for (std::size_t i = 0; i < labels.size(); ++i)
    SER_CHECK(labels[i] >= 0 && labels[i] < classes, "dataset: label {} of image {} is outside [0, {})", labels[i], i,
              classes);
}

Dataset subset(const Dataset& all, const std::vector<int64_t>& indices) {
  SER_CHECK(all.images.is_cpu(), "subset: the dataset must be on the CPU");
  const int64_t per = image_elements(all.images);
  const Shape& s = all.images.shape();
  Dataset out;
  out.images = Tensor(Shape{static_cast<int64_t>(indices.size()), s[1], s[2], s[3]});
  SER_CHECK(!all.labelled() || static_cast<int64_t>(all.labels.size()) == all.size(),
            "subset: {} labels for {} images", all.labels.size(), all.size());
  out.labels.reserve(all.labelled() ? indices.size() : 0);
  for (std::size_t i = 0; i < indices.size(); ++i) {
    const int64_t src = indices[i];
    SER_CHECK(src >= 0 && src < all.size(), "subset: index {} out of range for {} samples", src, all.size());
    std::memcpy(out.images.data() + i * per, all.images.data() + src * per, per * sizeof(float));
    if (all.labelled()) out.labels.push_back(all.labels[static_cast<std::size_t>(src)]);
    if (!all.groups.empty()) out.groups.push_back(all.groups[static_cast<std::size_t>(src)]);
  }
  const int64_t k_count = all.variant_count();
  if (k_count > 0) {
    const auto m = static_cast<int64_t>(indices.size());
    out.variants = Tensor(Shape{k_count * m, s[1], s[2], s[3]});
    for (int64_t k = 0; k < k_count; ++k)
      for (int64_t i = 0; i < m; ++i)
        std::memcpy(out.variants.data() + (k * m + i) * per,
                    all.variants.data() + (k * all.size() + indices[static_cast<std::size_t>(i)]) * per,
                    per * sizeof(float));
  }
  return out;
}

Normalization compute_normalization(const Tensor& images) {
  SER_CHECK(images.is_cpu() && images.numel() > 0, "compute_normalization: needs a non-empty CPU tensor");
  const float* x = images.data();
  const int64_t n = images.numel();
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += x[i];
  const double mean = sum / n;
  double sq = 0;
  for (int64_t i = 0; i < n; ++i) sq += (x[i] - mean) * (x[i] - mean);
  const double std = std::sqrt(sq / n);
  return {mean, std > 0 ? std : 1.0};
}

void normalize_in_place(Tensor& images, const Normalization& norm) {
  SER_CHECK(images.is_cpu(), "normalize_in_place: needs a CPU tensor");
  const float mean = static_cast<float>(norm.mean), inv = static_cast<float>(1.0 / norm.std);
  float* x = images.data();
  for (int64_t i = 0, n = images.numel(); i < n; ++i) x[i] = (x[i] - mean) * inv;
}

void gather_batch(const Dataset& data, const std::vector<int64_t>& indices, const std::vector<int32_t>& versions,
                  int64_t begin, int64_t count, Tensor& batch, std::vector<int32_t>& labels) {
  gather_batch(data, indices, begin, count, batch, labels);
  const int64_t per = image_elements(data.images);
  const int64_t k_count = data.variant_count();
  for (int64_t i = 0; i < count; ++i) {
    const int32_t version = versions[static_cast<std::size_t>(begin + i)];
    if (version == 0) continue;
    SER_CHECK(version > 0 && version <= k_count, "gather_batch: version {} of a dataset with {} variants", version,
              k_count);
    const int64_t src = (version - 1) * data.size() + indices[static_cast<std::size_t>(begin + i)];
    std::memcpy(batch.data() + i * per, data.variants.data() + src * per, per * sizeof(float));
  }
}

void gather_batch(const Dataset& data, const std::vector<int64_t>& indices, int64_t begin, int64_t count,
                  Tensor& batch, std::vector<int32_t>& labels) {
  const Shape& s = data.images.shape();
  const Shape want{count, s[1], s[2], s[3]};
  if (batch.shape() != want || !batch.is_cpu()) batch = Tensor(want);
  const int64_t per = image_elements(data.images);
  labels.resize(data.labelled() ? static_cast<std::size_t>(count) : 0);
  for (int64_t i = 0; i < count; ++i) {
    const int64_t src = indices[static_cast<std::size_t>(begin + i)];
    std::memcpy(batch.data() + i * per, data.images.data() + src * per, per * sizeof(float));
    if (data.labelled()) labels[static_cast<std::size_t>(i)] = data.labels[static_cast<std::size_t>(src)];
  }
}

}  // namespace ser::train
