// Train / validation / test splits of a manifest, seeded with ser::Generator so that the
// same entries and seed give the same split on every machine:
//   seed     stratified 80/20 train/test, validation == test (the notebook's protocol)
//   holdout  stratified train/validation/test (default 70/15/15)
//   speaker  speaker-disjoint train/validation/test: every speaker in exactly one part,
//            speakers assigned greedily so each part's class mix follows its target
//   named    speaker-disjoint, the user names the validation and test speakers
//            (named_speaker_split); everyone else trains
//   listed   the parts a --labels list's split column assigns (listed_split); rows
//            without one train
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/corpus.h"

namespace ser::data {

enum class Protocol { Seed, Holdout, Speaker };

// "seed|holdout|speaker" (case-insensitive).
Protocol parse_protocol(const std::string& text);
const char* protocol_name(Protocol protocol);

// Indices into the entries, each part sorted ascending. For Protocol::Seed, validation is
// a copy of test.
struct Split {
  std::vector<int64_t> train, validation, test;
};

// For Seed the fractions are fixed (test 0.2) and the arguments are ignored. Stratified
// protocols give each class round(n_c * fraction) files in validation and test. Throws
// ser::Error for fractions outside [0, 1) summing to >= 1, or too few speakers.
Split make_split(const std::vector<ManifestEntry>& entries, Protocol protocol, uint64_t seed,
                 double validation_fraction = 0.15, double test_fraction = 0.15);

// A --val-speakers / --test-speakers value: comma-separated speaker ids, each either whole
// ("ravdess:Actor_17"), without its corpus ("Actor_17", "1001", "03") or a range over a
// trailing number ("Actor_17..Actor_20", "Actor_17..20", "cremad:1001..1010"; zero padding
// as in the first id). Returns the ids with ranges expanded, in order. Throws ser::Error
// naming the item for an empty item, a malformed or descending range, or one of over 10000 ids.
std::vector<std::string> parse_speaker_list(const std::string& text);

// True when speaker id `item` (from parse_speaker_list) names the manifest speaker
// `speaker`: equal, case-insensitively, to any run of consecutive ':'-separated parts of
// its id other than the corpus name alone. "ravdess:Actor_17" answers to itself and
// "Actor_17"; a renamed corpus's "renamed:spk15:15" (folder spk15, actor field 15) also to
// "spk15", "15", "spk15:15" and "renamed:spk15", so "spk15..spk16" and "15..16" name it.
bool speaker_matches(const std::string& item, const std::string& speaker);

// Entries of the `validation` speakers to validation, of the `test` speakers to test, the
// rest to train (each part sorted). Throws ser::Error for a speaker named in both lists, or
// for an id that matches no speaker, naming the ids and the manifest's speakers: all of
// them up to 30, else the 5 closest (edit distance) to each id asked for.
Split named_speaker_split(const std::vector<ManifestEntry>& entries, const std::vector<std::string>& validation,
                          const std::vector<std::string>& test);

// The parts the entries' split column assigns (ManifestEntry::split): "validation" to
// validation, "test" to test, "train" and unassigned ("") to train (each part sorted).
// Throws ser::Error when no entry validates or none is left to train on.
Split listed_split(const std::vector<ManifestEntry>& entries);

// A --val-corpus / --test-corpus value: comma-separated corpus names ("tess", "ravdess,savee"),
// lower-cased. Throws ser::Error for an empty item.
std::vector<std::string> parse_corpus_list(const std::string& text);

// Leave-corpus-out: the entries of the `test` corpora to test, of the `validation` corpora
// to validation, the rest to train. Throws ser::Error, naming the corpora the manifest has,
// for a name that matches none, or a corpus named in both lists.
Split corpus_split(const std::vector<ManifestEntry>& entries, const std::vector<std::string>& validation,
                   const std::vector<std::string>& test);

}  // namespace ser::data
