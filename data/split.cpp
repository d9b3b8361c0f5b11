// Stratified and speaker-disjoint splits. Every random choice comes from one
// ser::Generator(seed), consumed in a fixed order (one permutation per class, or one over
// speakers), so a split depends only on the entries, the protocol, the fractions and seed.
#include "data/split.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <set>

#include <fmt/format.h>

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

namespace {

std::string lowercase(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string trimmed(const std::string& s) {
  const std::size_t b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

// "Actor_17" -> ("Actor_", "17"); no trailing digits -> ("Actor_x", "").
std::pair<std::string, std::string> split_trailing_number(const std::string& id) {
  std::size_t k = id.size();
  while (k > 0 && std::isdigit(static_cast<unsigned char>(id[k - 1]))) --k;
  return {id.substr(0, k), id.substr(k)};
}

constexpr std::size_t kMaxSpeakerIds = 10000;

// "A..B" -> A, ..., B over the trailing number of A.
void expand_range(const std::string& item, std::size_t dots, std::vector<std::string>& out) {
  const std::string first = item.substr(0, dots), last = item.substr(dots + 2);
  const auto [prefix, from_digits] = split_trailing_number(first);
  const auto [last_prefix, to_digits] = split_trailing_number(last);
  SER_CHECK(!from_digits.empty() && !to_digits.empty() && (last_prefix.empty() || lowercase(last_prefix) == lowercase(prefix)),
            "speaker range '{}': expected FIRST..LAST over a trailing number, like Actor_17..Actor_20 or Actor_17..20",
            item);
  SER_CHECK(from_digits.size() <= 9 && to_digits.size() <= 9, "speaker range '{}': numbers too long", item);
  const long from = std::stol(from_digits), to = std::stol(to_digits);
  SER_CHECK(from <= to, "speaker range '{}' runs backwards ({} > {})", item, from, to);
  SER_CHECK(static_cast<std::size_t>(to - from) < kMaxSpeakerIds, "speaker range '{}' names more than {} speakers",
            item, kMaxSpeakerIds);
  for (long n = from; n <= to; ++n)
    out.push_back(fmt::format("{}{:0{}d}", prefix, n, static_cast<int>(from_digits.size())));
}

// The ids a speaker answers to: every run of consecutive ':'-separated parts of its id
// except the corpus name alone. "renamed:spk15:15" -> renamed:spk15:15, renamed:spk15,
// spk15:15, spk15, 15 (lower-cased).
std::vector<std::string> speaker_forms(const std::string& speaker) {
  std::vector<std::string> parts;
  const std::string s = lowercase(speaker);
  for (std::size_t start = 0;;) {
    const std::size_t colon = s.find(':', start);
    parts.push_back(s.substr(start, colon == std::string::npos ? std::string::npos : colon - start));
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  std::vector<std::string> forms;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    std::string run;
    for (std::size_t j = i; j < parts.size(); ++j) {
      run += (j > i ? ":" : "") + parts[j];
      if (!(i == 0 && j == 0 && parts.size() > 1)) forms.push_back(run);
    }
  }
  return forms;
}

// Levenshtein distance (insertions, deletions, substitutions of one character).
std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

constexpr std::size_t kListAllSpeakers = 30;  // up to this many, an error lists every speaker
constexpr std::size_t kClosestPerId = 5;      // beyond, the closest this many to each id asked for

// The speakers an error about the unmatched ids `missing` shows: all of them when there are
// at most kListAllSpeakers, else those closest (edit distance to any of their forms) to
// each id asked for.
std::string speakers_for_error(const std::set<std::string>& speakers, const std::vector<std::string>& missing) {
  if (speakers.size() <= kListAllSpeakers) return fmt::format("its speakers: {}", fmt::join(speakers, ", "));
  std::set<std::string> shown;
  for (const std::string& item : missing) {
    std::vector<std::pair<std::size_t, std::string>> ranked;
    for (const std::string& s : speakers) {
      std::size_t best = std::string::npos;
      for (const std::string& form : speaker_forms(s)) best = std::min(best, edit_distance(lowercase(item), form));
      ranked.emplace_back(best, s);
    }
    std::sort(ranked.begin(), ranked.end());
    for (std::size_t k = 0; k < ranked.size() && k < kClosestPerId; ++k) shown.insert(ranked[k].second);
  }
  return fmt::format("the closest of its {} speakers: {}", speakers.size(), fmt::join(shown, ", "));
}

}  // namespace

std::vector<std::string> parse_speaker_list(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    const std::string item = trimmed(text.substr(start, comma - start));
    SER_CHECK(!item.empty(), "speaker list '{}': empty entry (expected ids like Actor_17 or ranges like "
              "Actor_17..Actor_20, separated by commas)", text);
    const std::size_t dots = item.find("..");
    if (dots == std::string::npos) out.push_back(item);
    else expand_range(item, dots, out);
    SER_CHECK(out.size() <= kMaxSpeakerIds, "speaker list '{}' names more than {} speakers", text, kMaxSpeakerIds);
    start = comma + 1;
  }
  return out;
}

bool speaker_matches(const std::string& item, const std::string& speaker) {
  const std::string a = lowercase(item);
  for (const std::string& form : speaker_forms(speaker))
    if (a == form) return true;
  return false;
}

Split named_speaker_split(const std::vector<ManifestEntry>& entries, const std::vector<std::string>& validation,
                          const std::vector<std::string>& test) {
  std::set<std::string> speakers;
  for (const auto& e : entries) speakers.insert(e.speaker);
  std::map<std::string, std::vector<std::string>> speakers_of_form;  // lower-case form -> speakers (speaker_matches)
  for (const auto& s : speakers)
    for (const auto& form : speaker_forms(s)) speakers_of_form[form].push_back(s);
  auto matched = [&](const std::vector<std::string>& items, const char* option) {
    std::set<std::string> chosen;
    std::vector<std::string> missing;
    for (const auto& item : items) {
      const auto it = speakers_of_form.find(lowercase(item));
      if (it == speakers_of_form.end()) missing.push_back(item);
      else chosen.insert(it->second.begin(), it->second.end());
    }
    SER_CHECK(missing.empty(), "{}: no speaker {} in the corpus ({})", option, fmt::join(missing, ", "),
              speakers_for_error(speakers, missing));
    return chosen;
  };
  const std::set<std::string> val = matched(validation, "--val-speakers"), tst = matched(test, "--test-speakers");
  for (const auto& s : val)
    SER_CHECK(tst.count(s) == 0, "speaker {} is named in both --val-speakers and --test-speakers", s);
  Split split;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const std::string& s = entries[i].speaker;
    (val.count(s) ? split.validation : tst.count(s) ? split.test : split.train).push_back(static_cast<int64_t>(i));
  }
  return split;  // indices ascend: already sorted
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

std::vector<std::string> parse_corpus_list(const std::string& text) {
  std::vector<std::string> names;
  std::string rest = text;
  while (true) {
    const std::size_t comma = rest.find(',');
    std::string item = rest.substr(0, comma);
    SER_CHECK(!item.empty(), "corpus list '{}': empty item (expected names like tess,ravdess)", text);
    std::transform(item.begin(), item.end(), item.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    names.push_back(item);
    if (comma == std::string::npos) break;
    rest = rest.substr(comma + 1);
  }
  return names;
}

Split listed_split(const std::vector<ManifestEntry>& entries) {
  Split split;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const std::string& part = entries[i].split;
    (part == "validation" ? split.validation : part == "test" ? split.test : split.train).push_back(static_cast<int64_t>(i));
  }
  SER_CHECK(!split.validation.empty(),
            "the --labels split column assigns no file to validation (val): the validation part chooses the epochs to "
            "keep");
  SER_CHECK(!split.train.empty(), "the --labels split column assigns every file to validation or test: none is left to "
                                  "train on");
  return split;
}

Split corpus_split(const std::vector<ManifestEntry>& entries, const std::vector<std::string>& validation,
                   const std::vector<std::string>& test) {
  std::set<std::string> corpora;
  for (const auto& e : entries) corpora.insert(e.corpus);
  auto check = [&](const std::vector<std::string>& names, const char* option) {
    for (const auto& n : names)
      SER_CHECK(corpora.count(n) > 0, "{}: no corpus '{}' among the files (they come from: {})", option, n,
                fmt::join(corpora, ", "));
  };
  check(validation, "--val-corpus");
  check(test, "--test-corpus");
  auto named = [](const std::vector<std::string>& names, const std::string& corpus) {
    return std::find(names.begin(), names.end(), corpus) != names.end();
  };
  for (const auto& n : validation)
    SER_CHECK(!named(test, n), "corpus {} is named in both --val-corpus and --test-corpus", n);
  Split split;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const std::string& c = entries[i].corpus;
    (named(test, c) ? split.test : named(validation, c) ? split.validation : split.train).push_back(static_cast<int64_t>(i));
  }
  return split;
}

}  // namespace ser::data
