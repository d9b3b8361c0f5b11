// Waveform-augmented training copies (apps/augmented_copies.h) on a small synthetic corpus:
// reproducible bit for bit on any thread count, different from the clean images and from
// each other, a function of the seed; a file that stops decoding is named.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>
#include <fstream>

#include "apps/augmented_copies.h"
#include "apps/pipeline.h"
#include "data/demo_corpus.h"
#include "engine/core/error.h"
#include "support/temp_dir.h"

using namespace ser;
using namespace ser::app;
namespace fs = std::filesystem;

namespace {

std::vector<data::ManifestEntry> demo_entries(const fs::path& dir) {
  data::DemoCorpusOptions corpus;
  corpus.speakers = 1;
  corpus.clips_per_class = 1;
  data::generate_demo_corpus(dir, corpus);
  std::vector<data::ManifestEntry> out;
  for (const auto& f : fs::recursive_directory_iterator(dir))
    if (f.path().extension() == ".wav") out.push_back({f.path(), "ravdess", "ravdess:Actor_01", 0, "neutral"});
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.path < b.path; });
  return out;
}

bool same_bits(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() &&
         std::memcmp(a.data(), b.data(), static_cast<std::size_t>(a.numel()) * sizeof(float)) == 0;
}

Tensor rows(const Tensor& t, int64_t begin, int64_t count) {
  const Shape& s = t.shape();
  Tensor out(Shape{count, s[1], s[2], s[3]});
  const int64_t per = s[1] * s[2] * s[3];
  std::memcpy(out.data(), t.data() + begin * per, static_cast<std::size_t>(count * per) * sizeof(float));
  return out;
}

}  // namespace

TEST_SUITE("app") {

TEST_CASE("augmented_copies: reproducible on any thread count, unlike the clean images and each other") {
  test::TempDir dir;
  const std::vector<data::ManifestEntry> entries = demo_entries(dir / "corpus");
  REQUIRE(entries.size() == 6);
  const auto m = static_cast<int64_t>(entries.size());
  const features::LogMelConfig config = features::LogMelConfig::named("fixed");
  const features::WaveAugmentConfig augment =
      features::WaveAugmentConfig::parse("speed=0.9-1.1,noise=1@5-20:pink+babble,reverb=0.5@0.2-0.8");
  FeatureOptions one, two;
  one.threads = 1;
  one.progress = two.progress = false;
  two.threads = 2;
  const Tensor a = augmented_copies(entries, config, augment, 2, 5, one);
  REQUIRE(a.shape() == Shape{2 * m, 1, config.image_height, config.image_width});
  CHECK(same_bits(a, augmented_copies(entries, config, augment, 2, 5, two)));
  CHECK(!same_bits(a, augmented_copies(entries, config, augment, 2, 6, one)));  // another seed
  CHECK(!same_bits(rows(a, 0, m), rows(a, m, m)));                              // copy 1 != copy 2
  const LabelledImages clean = extract_labelled(entries, config, one);
  CHECK(!same_bits(rows(a, 0, m), clean.data.images));
  // A single copy is the first copy of two: copy k's streams do not depend on how many follow.
  CHECK(same_bits(augmented_copies(entries, config, augment, 1, 5, one), rows(a, 0, m)));

  std::ofstream(entries[3].path) << "no longer audio";
  const std::string says = entries[3].path.string() + ": augmented copy 1 failed";
  CHECK_THROWS_WITH_AS(augmented_copies(entries, config, augment, 1, 5, one), doctest::Contains(says.c_str()), Error);
  CHECK_THROWS_AS(augmented_copies(entries, config, augment, 0, 5, one), Error);
}

TEST_CASE("babble_pool: decoded clips spread over the list, undecodable ones left out") {
  test::TempDir dir;
  std::vector<data::ManifestEntry> entries = demo_entries(dir / "corpus");
  std::ofstream(entries[0].path) << "x";
  const auto pool = babble_pool(entries, 16000, 3);
  CHECK(pool.size() == 2);  // every second file: 0 (broken), 2, 4
  for (const auto& clip : pool) CHECK(clip.size() == 24000);
  CHECK(babble_pool({}, 16000).empty());
}

}  // TEST_SUITE
