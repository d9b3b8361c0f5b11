// Leave-corpus-out splits (--val-corpus / --test-corpus): data::corpus_split and
// data::parse_corpus_list.
#include <doctest/doctest.h>

#include "data/split.h"
#include "engine/core/error.h"

namespace ser::data {

TEST_SUITE("data") {
TEST_CASE("corpus_split: each named corpus's files to its part, the rest to train; unknown or doubly named corpora refused") {
  std::vector<ManifestEntry> entries;
  const char* corpora[] = {"ravdess", "tess", "ravdess", "savee", "tess", "ravdess"};
  for (int i = 0; i < 6; ++i)
    entries.push_back({"f" + std::to_string(i) + ".wav", corpora[i], std::string(corpora[i]) + ":s", i % 2, "x"});
  const Split s = corpus_split(entries, {"savee"}, {"tess"});
  CHECK(s.train == std::vector<int64_t>{0, 2, 5});
  CHECK(s.validation == std::vector<int64_t>{3});
  CHECK(s.test == std::vector<int64_t>{1, 4});
  CHECK(corpus_split(entries, {}, {}).train.size() == 6);
  try {
    corpus_split(entries, {"crema"}, {});
    FAIL("an unknown corpus was accepted");
  } catch (const Error& e) {
    const std::string m = e.message();
    CHECK(m.find("crema") != std::string::npos);
    CHECK(m.find("ravdess, savee, tess") != std::string::npos);  // what the files come from
  }
  CHECK_THROWS_AS(corpus_split(entries, {"tess"}, {"tess"}), Error);
  CHECK(parse_corpus_list("TESS,ravdess") == std::vector<std::string>{"tess", "ravdess"});
  CHECK_THROWS_AS(parse_corpus_list("tess,"), Error);
}
}

}  // namespace ser::data
