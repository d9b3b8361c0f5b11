// Stratified and speaker-disjoint splits. Every random choice comes from one
// ser::Generator(seed), consumed in a fixed order (one permutation per class, or one over
// speakers), so a split depends only on the entries, the protocol, the fractions and seed.
#include "data/split.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>

#include "engine/core/error.h"
#include "engine/core/random.h"

namespace ser::data {
namespace {

constexpr int kParts = 3;  // train, validation, test

int class_count(const std::vector<ManifestEntry>& entries) {
  int classes = 0;
  for (const auto& e : entries) {
    SER_CHECK(e.label >= 0, "cannot split: entry '{}' has no label ({})", e.path.string(), e.label);
    classes = std::max(classes, e.label + 1);
  }
  return classes;
}

std::vector<int64_t>& part(Split& split, int p) { return p == 0 ? split.train : p == 1 ? split.validation : split.test; }

void sort_parts(Split& split) {
  for (int p = 0; p < kParts; ++p) std::sort(part(split, p).begin(), part(split, p).end());
}

// Per class: shuffle its entries, put round(n * test) in test, round(n * validation) in
// validation, the rest in train.
Split stratified_split(const std::vector<ManifestEntry>& entries, uint64_t seed, double validation_fraction,
                       double test_fraction) {
  const int classes = class_count(entries);
  std::vector<std::vector<int64_t>> members(static_cast<std::size_t>(classes));
  for (std::size_t i = 0; i < entries.size(); ++i) members[static_cast<std::size_t>(entries[i].label)].push_back(static_cast<int64_t>(i));
  Generator generator(seed);
  Split split;
  for (const auto& indices : members) {
    const int64_t n = static_cast<int64_t>(indices.size());
    const std::vector<int64_t> order = generator.permutation(n);
    const int64_t n_test = std::min<int64_t>(n, std::llround(static_cast<double>(n) * test_fraction));
    const int64_t n_validation = std::min<int64_t>(n - n_test, std::llround(static_cast<double>(n) * validation_fraction));
    for (int64_t k = 0; k < n; ++k) {
      const int64_t index = indices[static_cast<std::size_t>(order[static_cast<std::size_t>(k)])];
      (k < n_test ? split.test : k < n_test + n_validation ? split.validation : split.train).push_back(index);
    }
  }
  sort_parts(split);
  return split;
}

// Entries grouped by speaker (corpus + speaker id), in order of first appearance.
struct SpeakerGroups {
  std::vector<std::vector<int64_t>> members;    // speaker -> entry indices
  std::vector<std::vector<double>> histogram;   // (speakers, classes) files per class
  std::vector<double> class_total;              // (classes,)
};

SpeakerGroups group_by_speaker(const std::vector<ManifestEntry>& entries, int classes) {
  SpeakerGroups g;
  g.class_total.assign(static_cast<std::size_t>(classes), 0.0);
  std::map<std::string, std::size_t> id_of;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const auto [it, added] = id_of.emplace(entries[i].corpus + "\x1f" + entries[i].speaker, g.members.size());
    if (added) {
      g.members.emplace_back();
      g.histogram.emplace_back(static_cast<std::size_t>(classes), 0.0);
    }
    const auto label = static_cast<std::size_t>(entries[i].label);
    g.members[it->second].push_back(static_cast<int64_t>(i));
    g.histogram[it->second][label] += 1.0;
    g.class_total[label] += 1.0;
  }
  return g;
}

// Speakers in random order (seeded), then largest first; each goes to the part whose
// class counts lag their targets most, weighted by the speaker's own class mix. When only
// as many speakers remain as parts are still empty, they go to the empty parts.
Split speaker_split(const std::vector<ManifestEntry>& entries, uint64_t seed, double validation_fraction,
                    double test_fraction) {
  const int classes = class_count(entries);
  const SpeakerGroups g = group_by_speaker(entries, classes);
  const double fraction[kParts] = {1.0 - validation_fraction - test_fraction, validation_fraction, test_fraction};
  std::vector<int> active;
  for (int p = 0; p < kParts; ++p)
    if (fraction[p] > 0) active.push_back(p);
  const std::size_t speakers = g.members.size();
  SER_CHECK(speakers >= active.size(), "speaker protocol needs at least {} speakers (one per part), the manifest has {}",
            active.size(), speakers);

  Generator generator(seed);
  std::vector<int64_t> order = generator.permutation(static_cast<int64_t>(speakers));
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    return g.members[static_cast<std::size_t>(a)].size() > g.members[static_cast<std::size_t>(b)].size();
  });

  // (parts, classes) files assigned so far, and speakers per part.
  std::vector<std::vector<double>> assigned(kParts, std::vector<double>(static_cast<std::size_t>(classes), 0.0));
  std::vector<std::size_t> speakers_in(kParts, 0);
  // Mean relative deficit (target - assigned) / target of part p over speaker s's files.
  auto deficit = [&](int p, std::size_t s) {
    double score = 0.0;
    for (std::size_t c = 0; c < g.class_total.size(); ++c) {
      const double target = fraction[p] * g.class_total[c];
      if (g.histogram[s][c] > 0 && target > 0) score += g.histogram[s][c] * (target - assigned[p][c]) / target;
    }
    return score / static_cast<double>(g.members[s].size());
  };
  Split split;
  for (std::size_t k = 0; k < speakers; ++k) {
    const auto s = static_cast<std::size_t>(order[k]);
    std::size_t empty_parts = 0;
    for (int p : active) empty_parts += speakers_in[p] == 0;
    const bool only_empty = speakers - k <= empty_parts;
    int best = -1;
    double best_score = -1e300;
    for (int p : active) {
      if (only_empty && speakers_in[p] > 0) continue;
      const double score = deficit(p, s);
      if (score >= best_score) {  // ties go to the later (smaller) part
        best_score = score;
        best = p;
      }
    }
    for (std::size_t c = 0; c < g.class_total.size(); ++c) assigned[best][c] += g.histogram[s][c];
    ++speakers_in[best];
    part(split, best).insert(part(split, best).end(), g.members[s].begin(), g.members[s].end());
  }
  sort_parts(split);
  return split;
}

}  // namespace

Protocol parse_protocol(const std::string& text) {
  std::string s = text;
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (s == "seed") return Protocol::Seed;
  if (s == "holdout") return Protocol::Holdout;
  if (s == "speaker") return Protocol::Speaker;
  SER_FAIL("unknown split protocol '{}': expected seed, holdout or speaker", text);
}

const char* protocol_name(Protocol protocol) {
  switch (protocol) {
    case Protocol::Seed: return "seed";
    case Protocol::Holdout: return "holdout";
    case Protocol::Speaker: return "speaker";
  }
  return "?";
}

Split make_split(const std::vector<ManifestEntry>& entries, Protocol protocol, uint64_t seed,
                 double validation_fraction, double test_fraction) {
  SER_CHECK(!entries.empty(), "cannot split an empty manifest");
  if (protocol == Protocol::Seed) {
    Split split = stratified_split(entries, seed, 0.0, 0.2);
    split.validation = split.test;
    return split;
  }
  SER_CHECK(validation_fraction >= 0 && validation_fraction < 1 && test_fraction >= 0 && test_fraction < 1 &&
                validation_fraction + test_fraction < 1,
            "split fractions validation {} and test {} must lie in [0, 1) and sum to less than 1",
            validation_fraction, test_fraction);
  return protocol == Protocol::Holdout ? stratified_split(entries, seed, validation_fraction, test_fraction)
                                       : speaker_split(entries, seed, validation_fraction, test_fraction);
}

}  // namespace ser::data
