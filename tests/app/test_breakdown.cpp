// Per-corpus rows of an evaluation (apps/breakdown.h): the full decision, the decision
// restricted to the classes a corpus has, UAR, and the JSON / text forms.
#include <doctest/doctest.h>

#include "apps/breakdown.h"

namespace ser::app {

TEST_SUITE("app") {
TEST_CASE("per_corpus_breakdown: one row per corpus; the restricted decision ignores classes the corpus lacks") {
  const std::vector<std::string> names{"neutral", "happy", "sad"};
  // Corpus b has no 'sad' files; its second file's top class is 'sad' but 'happy' beats 'neutral'.
  const std::vector<std::string> corpus{"a", "a", "a", "b", "b"};
  const std::vector<int> truth{0, 1, 2, 0, 1};
  const std::vector<std::vector<float>> p{{.8f, .1f, .1f}, {.1f, .2f, .7f}, {.1f, .1f, .8f}, {.6f, .3f, .1f}, {.1f, .3f, .6f}};
  const Breakdown b = per_corpus_breakdown(corpus, truth, p, names);
  REQUIRE(b.rows.size() == 2);
  const BreakdownRow& a = b.rows[0];
  CHECK(a.name == "a");
  CHECK(a.metrics.accuracy == doctest::Approx(2.0 / 3));
  CHECK(a.metrics.uar == doctest::Approx(2.0 / 3));  // recalls 1, 0, 1
  CHECK(a.restricted_classes.size() == 3);
  CHECK(a.restricted.accuracy == a.metrics.accuracy);  // every class present: the same decision
  const BreakdownRow& rb = b.rows[1];
  CHECK(rb.metrics.accuracy == doctest::Approx(0.5));
  CHECK(rb.metrics.uar == doctest::Approx(0.5));  // over the two classes b has, not three
  CHECK(rb.restricted_classes == std::vector<std::string>{"neutral", "happy"});
  CHECK(rb.restricted.accuracy == doctest::Approx(1.0));
  const nlohmann::json j = to_json(b, names);
  CHECK(j.size() == 2);
  CHECK(j[1]["restricted"]["accuracy"] == doctest::Approx(1.0));
  CHECK(j[1]["files"] == 2);
  CHECK(text_table(b).find("restricted") != std::string::npos);
  CHECK(html_table(b).find("<td>b</td>") != std::string::npos);
  // One corpus: no rows (the overall figures say it all).
  CHECK(per_corpus_breakdown({"a", "a"}, {0, 1}, {{.9f, .1f, 0}, {.2f, .8f, 0}}, names).empty());
}
}

}  // namespace ser::app
