// Two `ser train` processes filling one feature cache at the same time: both succeed, both
// train the same model (same seed, same features), and afterwards every entry in the
// cache is valid (loads without being counted corrupt), the index is well formed, and no
// temporary file is left. (features/ has the library-level fork test; this one runs the
// real binary end to end.)
#include <doctest/doctest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "engine/io/file.h"
#include "engine/train/recipe.h"
#include "features/cache.h"
#include "reliability/process.h"
#include "reliability/tiny_corpus.h"
#include "support/temp_dir.h"

namespace fs = std::filesystem;
using namespace ser;

TEST_SUITE("reliability") {

TEST_CASE("two ser train processes sharing one feature cache never corrupt it") {
  test::TempDir dir;
  test::make_tiny_corpus(dir / "corpus");
  const fs::path cache = dir / "cache";
  auto args = [&](const std::string& out) {
    return std::vector<std::string>{"train", "--quiet", "--device", "cpu", "--data", (dir / "corpus").string(),
                                    "--cache", cache.string(), "--epochs", "1", "--threads", "1", "--seed", "3",
                                    "--out", (dir / out).string()};
  };
  test::Child a(args("a"), {dir / "a.log"});
  test::Child b(args("b"), {dir / "b.log"});
  const int status_a = a.wait(), status_b = b.wait();
  CAPTURE(a.output());
  CAPTURE(b.output());
  REQUIRE(status_a == 0);
  REQUIRE(status_b == 0);
  CHECK(read_file_bytes(dir / "a" / "model.safetensors") == read_file_bytes(dir / "b" / "model.safetensors"));

  // The default recipe's front end: the one both runs cached images of.
  features::FeatureCache check(cache, features::LogMelConfig::named(train::Recipe::named(train::Recipe::default_name()).frontend));
  int64_t wavs = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir / "corpus")) {
    if (e.path().extension() != ".wav") continue;
    ++wavs;
    CHECK_MESSAGE(check.load(check.key_for(e.path())).has_value(), e.path().string());
  }
  CHECK(wavs == 3 * 6 * 3);
  CHECK(check.corrupt_count() == 0);
  const auto index = read_file_bytes(cache / "index.json");
  const auto records = features::parse_cache_index(index.data(), index.size());
  CHECK(!records.empty());
  CHECK(static_cast<int64_t>(records.size()) <= wavs);
  for (const auto& e : fs::directory_iterator(cache))
    CHECK_MESSAGE(e.path().filename().string().find(".tmp.") == std::string::npos, e.path().string());
}

TEST_CASE("a cache index with malformed records is ignored record by record, never thrown") {
  // An index whose checksum is a number (not the 16-hex-digit string load() compares)
  // must not turn a cache hit into an exception escaping extraction.
  test::TempDir dir;
  const features::LogMelConfig cfg;
  const std::string key(32, 'a');
  {
    features::FeatureCache cache(dir / "cache", cfg);
    cache.store(key, Tensor::from_vector(Shape{cfg.image_height, cfg.image_width},
                                         std::vector<float>(size_t(cfg.image_height * cfg.image_width), -1.0f)),
                dir / "nowhere.wav");
  }
  const std::string index = R"({"format": "ser-feature-cache-v1", "entries": {")" + key +
                            R"(": {"fnv1a64": 12}, "../../x": {}, "B": [1]}})";
  write_file_atomically(dir / "cache" / "index.json", index.data(), index.size());
  CHECK(features::parse_cache_index(reinterpret_cast<const unsigned char*>(index.data()), index.size()).empty());
  features::FeatureCache cache(dir / "cache", cfg);
  const auto image = cache.load(key);
  REQUIRE(image.has_value());
  CHECK((*image)[0] == -1.0f);
  CHECK(cache.corrupt_count() == 0);
  cache.flush_index();  // rewrites the index from well-formed records only
  const auto bytes = read_file_bytes(dir / "cache" / "index.json");
  CHECK(features::parse_cache_index(bytes.data(), bytes.size()).empty());
}

}  // TEST_SUITE
