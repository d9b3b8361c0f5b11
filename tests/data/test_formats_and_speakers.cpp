// Corpora in any audio container libsndfile reads (FLAC, OGG, AIFF under the same names),
// the Berlin EMO-DB scheme, and named speaker splits (--val-speakers / --test-speakers):
// list parsing with ranges, matching with and without the corpus prefix, and the errors.
#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>

#include <fmt/format.h>

#include "data/audio_files.h"
#include "data/index.h"
#include "data/name_schemes.h"
#include "data/split.h"
#include "engine/core/error.h"
#include "support/temp_dir.h"

using namespace ser;
using namespace ser::data;
namespace fs = std::filesystem;

namespace {
void touch(const fs::path& root, const std::string& rel) {
  fs::create_directories((root / rel).parent_path());
  std::ofstream(root / rel, std::ios::binary) << rel;  // every file differs: no duplicates
}

std::vector<ManifestEntry> entries_of(const std::vector<std::string>& speakers) {
  std::vector<ManifestEntry> out;
  for (std::size_t i = 0; i < speakers.size(); ++i)
    out.push_back({fs::path("f" + std::to_string(i) + ".wav"), "x", speakers[i], static_cast<int>(i % 2), "c"});
  return out;
}
}  // namespace

TEST_SUITE("data") {

TEST_CASE("audio files: every container libsndfile reads, any case; other files are not audio") {
  for (const char* name : {"a.wav", "a.FLAC", "a.ogg", "a.oga", "a.opus", "a.aif", "a.AIFF", "a.aifc", "a.mp3"})
    CHECK_MESSAGE(has_audio_extension(name), name);
  for (const char* name : {"a.txt", "a", "a.wav.bak", "a.flac~", "wav", "a.mp4"})
    CHECK_MESSAGE(!has_audio_extension(name), name);
}

TEST_CASE("index: FLAC, OGG and AIFF corpora index like WAV under the same names") {
  test::TempDir dir;
  touch(dir.path(), "Actor_01/03-01-01-01-01-01-01.flac");
  touch(dir.path(), "Actor_01/03-01-05-01-01-01-01.FLAC");
  touch(dir.path(), "SAVEE/DC_a01.ogg");
  touch(dir.path(), "CREMA/1001_DFA_ANG_XX.aiff");
  touch(dir.path(), "Actor_01/notes.txt");
  const IndexResult r = index_corpora({{dir.path(), CorpusKind::Auto}}, ClassSet::six());
  REQUIRE(r.entries.size() == 4);
  CHECK(r.summary.total().files_seen == 4);  // the .txt is not audio: not even seen
  CHECK(r.entries[0].speaker == "ravdess:Actor_01");  // sorted paths: Actor_01/ < CREMA/ < SAVEE/
  CHECK(r.entries[0].label_name == "neutral");
  CHECK(r.entries[1].label_name == "angry");
  CHECK(r.entries[2].speaker == "cremad:1001");
  CHECK(r.entries[3].speaker == "savee:DC");
}

TEST_CASE("names: Berlin EMO-DB, boredom excluded like calm") {
  auto m = match_emodb("wav/03a01Fa.wav");
  REQUIRE(m);
  CHECK(m->corpus == CorpusKind::EmoDb);
  CHECK(m->speaker == "emodb:03");
  CHECK(m->emotion == "happy");
  CHECK(match_emodb("16b10Wb.wav")->emotion == "angry");
  CHECK(match_emodb("08a02Ea.flac")->emotion == "disgust");
  CHECK(match_emodb("09b03Ab.wav")->emotion == "fearful");
  CHECK(match_emodb("10a04Tc.wav")->emotion == "sad");
  CHECK(match_emodb("11a05Na.wav")->emotion == "neutral");
  CHECK(match_emodb("12a05Lb.wav")->emotion == "boredom");
  CHECK_FALSE(match_emodb("12a05Xb.wav"));   // no such emotion letter
  CHECK_FALSE(match_emodb("3a01Fa.wav"));    // speaker needs two digits
  CHECK_FALSE(match_emodb("03c01Fa.wav"));   // text codes are a.. or b..
  CHECK_FALSE(match_emodb("03a01Fa.txt"));
  CHECK(match_file_name("03a01Fa.wav", CorpusKind::Auto)->corpus == CorpusKind::EmoDb);
  CHECK(parse_corpus_kind("EMO-DB") == CorpusKind::EmoDb);
  CHECK(std::string(corpus_name(CorpusKind::EmoDb)) == "emodb");

  test::TempDir dir;
  touch(dir.path(), "wav/03a01Fa.wav");
  touch(dir.path(), "wav/03a01La.wav");
  touch(dir.path(), "wav/08a01Wa.wav");
  const IndexResult r = index_corpora({{dir.path(), CorpusKind::EmoDb}}, ClassSet::six());
  CHECK(r.entries.size() == 2);
  CHECK(r.summary.total().excluded_by_label.at("boredom") == 1);
  const IndexResult with_boredom = index_corpora({{dir.path(), CorpusKind::EmoDb}}, ClassSet::parse("happy,angry,boredom"));
  CHECK(with_boredom.entries.size() == 3);
}

TEST_CASE("speakers: lists, ranges with and without the prefix, zero padding kept") {
  CHECK(parse_speaker_list("Actor_17") == std::vector<std::string>{"Actor_17"});
  CHECK(parse_speaker_list("Actor_17..Actor_20") ==
        std::vector<std::string>{"Actor_17", "Actor_18", "Actor_19", "Actor_20"});
  CHECK(parse_speaker_list("Actor_08..10, ravdess:Actor_01") ==
        std::vector<std::string>{"Actor_08", "Actor_09", "Actor_10", "ravdess:Actor_01"});
  CHECK(parse_speaker_list("cremad:1001..1003") ==
        std::vector<std::string>{"cremad:1001", "cremad:1002", "cremad:1003"});
  CHECK_THROWS_WITH_AS(parse_speaker_list("Actor_17,,Actor_18"), doctest::Contains("empty entry"), Error);
  CHECK_THROWS_WITH_AS(parse_speaker_list("Actor_20..Actor_17"), doctest::Contains("runs backwards"), Error);
  CHECK_THROWS_WITH_AS(parse_speaker_list("Actor_17..Speaker_20"), doctest::Contains("FIRST..LAST"), Error);
  CHECK_THROWS_WITH_AS(parse_speaker_list("Actor..Actor_3"), doctest::Contains("FIRST..LAST"), Error);
  CHECK_THROWS_WITH_AS(parse_speaker_list("1..99999"), doctest::Contains("more than 10000"), Error);
  CHECK(speaker_matches("Actor_17", "ravdess:Actor_17"));
  CHECK(speaker_matches("actor_17", "ravdess:Actor_17"));
  CHECK(speaker_matches("ravdess:Actor_17", "ravdess:Actor_17"));
  CHECK_FALSE(speaker_matches("savee:Actor_17", "ravdess:Actor_17"));
  CHECK_FALSE(speaker_matches("Actor_1", "ravdess:Actor_17"));
}

TEST_CASE("speakers: a renamed corpus's ids answer to their folder and their actor field, ranges included") {
  // Folders spk10..spk19 of hand-renamed files, actor field = the folder's number.
  std::vector<std::string> speakers;
  for (int n = 10; n < 20; ++n) {
    const auto m = match_renamed(fs::path("spk" + std::to_string(n)) / ("03-01-05-01-01-01-" + std::to_string(n) + ".wav"));
    REQUIRE(m);
    speakers.push_back(m->speaker);
  }
  CHECK(speakers[5] == "renamed:spk15:15");
  for (const char* form : {"spk15", "SPK15", "15", "spk15:15", "renamed:spk15", "renamed:spk15:15"})
    CHECK_MESSAGE(speaker_matches(form, "renamed:spk15:15"), form);
  for (const char* form : {"renamed", "spk1", "5", "pk15", "ravdess:spk15", "spk15:16"})
    CHECK_FALSE_MESSAGE(speaker_matches(form, "renamed:spk15:15"), form);
  const auto entries = entries_of(speakers);
  for (const char* list : {"spk15..spk16", "15..16", "spk15..16", "renamed:spk15..renamed:spk16"}) {
    CAPTURE(list);
    const Split s = named_speaker_split(entries, parse_speaker_list(list), {});
    CHECK(s.validation == std::vector<int64_t>{5, 6});
    CHECK(s.train.size() == 8);
  }
}

TEST_CASE("speakers: an id that matches none lists every speaker up to 30, else the closest to the ids asked for") {
  std::vector<std::string> ten;
  for (int n = 10; n < 20; ++n) ten.push_back(fmt::format("renamed:spk{}:{}", n, n));
  try {
    named_speaker_split(entries_of(ten), parse_speaker_list("spk25"), {});
    FAIL("no error");
  } catch (const Error& e) {
    const std::string what = e.what();
    CAPTURE(what);
    CHECK(what.find("--val-speakers: no speaker spk25 in the corpus (its speakers: ") != std::string::npos);
    for (const auto& s : ten) CHECK_MESSAGE(what.find(s) != std::string::npos, s);  // all ten, none hidden
    CHECK(what.find("...") == std::string::npos);
  }
  std::vector<std::string> many;
  for (int n = 1; n <= 40; ++n) many.push_back(fmt::format("ravdess:Actor_{:02d}", n));
  try {
    named_speaker_split(entries_of(many), parse_speaker_list("Actor_01"), parse_speaker_list("Actr_37,Actor_99"));
    FAIL("no error");
  } catch (const Error& e) {
    const std::string what = e.what();
    CAPTURE(what);
    CHECK(what.find("--test-speakers: no speaker Actr_37, Actor_99 in the corpus (the closest of its 40 speakers: ") !=
          std::string::npos);
    CHECK(what.find("ravdess:Actor_37") != std::string::npos);  // one letter from Actr_37
    CHECK(what.find("ravdess:Actor_09") != std::string::npos);  // one digit from Actor_99
    CHECK(what.find("ravdess:Actor_21") == std::string::npos);  // far from both: left out
    CHECK(std::count(what.begin(), what.end(), ',') <= 11);     // 5 per id asked for, at most
  }
}

TEST_CASE("split: named speakers go to validation and test, the rest train") {
  const auto entries = entries_of({"ravdess:Actor_01", "ravdess:Actor_02", "ravdess:Actor_17", "ravdess:Actor_18",
                                   "ravdess:Actor_21", "cremad:1001", "ravdess:Actor_17"});
  const Split s = named_speaker_split(entries, parse_speaker_list("Actor_17..18"), parse_speaker_list("Actor_21"));
  CHECK(s.train == std::vector<int64_t>{0, 1, 5});
  CHECK(s.validation == std::vector<int64_t>{2, 3, 6});
  CHECK(s.test == std::vector<int64_t>{4});
  const Split no_test = named_speaker_split(entries, {"cremad:1001"}, {});
  CHECK(no_test.validation == std::vector<int64_t>{5});
  CHECK(no_test.test.empty());
  CHECK(no_test.train.size() == 6);
  CHECK_THROWS_WITH_AS(named_speaker_split(entries, {"Actor_19"}, {}),
                       doctest::Contains("--val-speakers: no speaker Actor_19 in the corpus (its speakers: "), Error);
  CHECK_THROWS_WITH_AS(named_speaker_split(entries, {"Actor_17"}, {"ravdess:Actor_17"}),
                       doctest::Contains("both --val-speakers and --test-speakers"), Error);
}
}
