// Splits: every file in exactly one part, per-class proportions within one file of the
// target, speaker disjointness, and determinism in the seed.
#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <set>

#include "data/split.h"
#include "engine/core/error.h"

using namespace ser;
using namespace ser::data;

namespace {

// Uneven classes (6) spread over `speakers` speakers of uneven sizes in two corpora.
std::vector<ManifestEntry> make_entries(int speakers) {
  const int per_class[] = {50, 37, 23, 101, 9, 64};
  std::vector<ManifestEntry> entries;
  int k = 0;
  for (int c = 0; c < 6; ++c)
    for (int i = 0; i < per_class[c]; ++i, ++k) {
      const int s = (k * 7 + k / 5) % speakers;  // mixes classes across speakers
      entries.push_back({"f" + std::to_string(k) + ".wav", s % 2 ? "tess" : "cremad", "spk" + std::to_string(s), c,
                         "c" + std::to_string(c)});
    }
  return entries;
}

// Each index 0..n-1 appears exactly once over the given parts.
void check_partition(std::size_t n, const std::vector<const std::vector<int64_t>*>& parts) {
  std::vector<int> seen(n, 0);
  for (const auto* p : parts)
    for (int64_t i : *p) {
      REQUIRE(i >= 0);
      REQUIRE(i < static_cast<int64_t>(n));
      ++seen[static_cast<std::size_t>(i)];
    }
  for (std::size_t i = 0; i < n; ++i) CHECK(seen[i] == 1);
}

std::map<int, int> class_counts(const std::vector<ManifestEntry>& e, const std::vector<int64_t>& part) {
  std::map<int, int> counts;
  for (int64_t i : part) ++counts[e[static_cast<std::size_t>(i)].label];
  return counts;
}

std::map<int, int> class_totals(const std::vector<ManifestEntry>& e) {
  std::map<int, int> counts;
  for (const auto& x : e) ++counts[x.label];
  return counts;
}

}  // namespace

TEST_SUITE("data") {

TEST_CASE("split: holdout is stratified per class within one file and partitions the entries") {
  const auto entries = make_entries(12);
  // Plain variables, not structured bindings: C++17 lambdas (CAPTURE) cannot capture those.
  for (const auto& fractions : {std::pair{0.15, 0.15}, std::pair{0.1, 0.25}, std::pair{0.0, 0.3}}) {
    const double val = fractions.first, test = fractions.second;
    CAPTURE(val);
    CAPTURE(test);
    const Split s = make_split(entries, Protocol::Holdout, 42, val, test);
    check_partition(entries.size(), {&s.train, &s.validation, &s.test});
    const auto totals = class_totals(entries), in_val = class_counts(entries, s.validation),
               in_test = class_counts(entries, s.test);
    for (const auto& total : totals) {
      const auto c = total.first;
      const auto n = total.second;
      CAPTURE(c);
      CHECK(std::abs(in_test.count(c) ? in_test.at(c) - n * test : -n * test) <= 1.0);
      CHECK(std::abs(in_val.count(c) ? in_val.at(c) - n * val : -n * val) <= 1.0);
    }
  }
}

TEST_CASE("split: seed protocol is 80/20 with validation equal to test") {
  const auto entries = make_entries(12);
  const Split s = make_split(entries, Protocol::Seed, 42, 0.3, 0.3);  // fractions ignored
  CHECK(s.validation == s.test);
  check_partition(entries.size(), {&s.train, &s.test});
  const auto totals = class_totals(entries), in_test = class_counts(entries, s.test);
  for (const auto& [c, n] : totals) CHECK(std::abs(in_test.at(c) - 0.2 * n) <= 1.0);
}

TEST_CASE("split: same seed gives the same split, another seed another") {
  const auto entries = make_entries(12);
  for (Protocol p : {Protocol::Seed, Protocol::Holdout, Protocol::Speaker}) {
    CAPTURE(protocol_name(p));
    const Split a = make_split(entries, p, 1234), b = make_split(entries, p, 1234);
    CHECK(a.train == b.train);
    CHECK(a.validation == b.validation);
    CHECK(a.test == b.test);
  }
  const Split a = make_split(entries, Protocol::Holdout, 1), b = make_split(entries, Protocol::Holdout, 2);
  CHECK(a.test != b.test);
}

TEST_CASE("split: speaker protocol keeps each speaker in one part, near the target sizes") {
  const auto entries = make_entries(20);
  const Split s = make_split(entries, Protocol::Speaker, 42, 0.15, 0.15);
  check_partition(entries.size(), {&s.train, &s.validation, &s.test});
  std::map<std::string, std::set<int>> parts_of_speaker;
  const std::vector<int64_t>* parts[] = {&s.train, &s.validation, &s.test};
  for (int p = 0; p < 3; ++p)
    for (int64_t i : *parts[p]) {
      const auto& e = entries[static_cast<std::size_t>(i)];
      parts_of_speaker[e.corpus + "/" + e.speaker].insert(p);
    }
  CHECK(parts_of_speaker.size() == 20);
  for (const auto& parts : parts_of_speaker) CHECK_MESSAGE(parts.second.size() == 1, parts.first);
  const double n = static_cast<double>(entries.size());
  CHECK(s.validation.size() / n == doctest::Approx(0.15).epsilon(0.5));  // within 15 % +- 7.5 points
  CHECK(s.test.size() / n == doctest::Approx(0.15).epsilon(0.5));
  // Every class with enough speakers reaches every part.
  for (const auto* part : parts) CHECK(class_counts(entries, *part).size() == 6);
}

TEST_CASE("split: few speakers still give non-empty parts; too few are refused") {
  std::vector<ManifestEntry> entries;
  for (int s = 0; s < 4; ++s)
    for (int c = 0; c < 3; ++c)
      for (int k = 0; k < 5; ++k) entries.push_back({"x.wav", "demo", "spk" + std::to_string(s), c, "c"});
  const Split s = make_split(entries, Protocol::Speaker, 42);
  CHECK(!s.train.empty());
  CHECK(!s.validation.empty());
  CHECK(!s.test.empty());
  CHECK(s.train.size() == 30);  // 2 speakers of 15 files
  entries.resize(30);           // two speakers left
  CHECK_THROWS_WITH_AS(make_split(entries, Protocol::Speaker, 42), doctest::Contains("at least 3 speakers"), Error);
  CHECK_NOTHROW(make_split(entries, Protocol::Speaker, 42, 0.0, 0.5));  // two parts need two speakers
}

TEST_CASE("split: bad protocol names and fractions are refused") {
  CHECK(parse_protocol("Holdout") == Protocol::Holdout);
  CHECK(parse_protocol("seed") == Protocol::Seed);
  CHECK(parse_protocol("speaker") == Protocol::Speaker);
  CHECK_THROWS_AS(parse_protocol("kfold"), Error);
  const auto entries = make_entries(12);
  CHECK_THROWS_AS(make_split(entries, Protocol::Holdout, 1, 0.5, 0.5), Error);
  CHECK_THROWS_AS(make_split(entries, Protocol::Holdout, 1, -0.1, 0.2), Error);
  CHECK_THROWS_AS(make_split({}, Protocol::Holdout, 1), Error);
}

}  // TEST_SUITE
