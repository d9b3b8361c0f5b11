// index_corpora over a small fake tree holding every corpus layout: labels, speakers,
// per-corpus counts, skipped files with reasons, stated kinds, duplicates, the table.
#include <doctest/doctest.h>

#include <fstream>
#include <map>

#include "data/index.h"
#include "engine/core/error.h"
#include "support/temp_dir.h"

using namespace ser;
using namespace ser::data;
namespace fs = std::filesystem;

namespace {

// Writes `content` (default: the relative path itself, so every file differs) to root/rel.
void touch(const fs::path& root, const std::string& rel, std::string content = "") {
  fs::create_directories((root / rel).parent_path());
  std::ofstream(root / rel, std::ios::binary) << (content.empty() ? rel : content);
}

// A tree with all corpora. Used / excluded / rejected / unmatched files are listed below.
void make_tree(const fs::path& root) {
  touch(root, "RAVDESS/Actor_01/03-01-01-01-01-01-01.wav");  // neutral
  touch(root, "RAVDESS/Actor_01/03-01-02-01-01-01-01.wav");  // calm: excluded from 6 classes
  touch(root, "RAVDESS/Actor_02/03-01-05-02-01-02-02.wav");  // angry
  touch(root, "RAVDESS/Actor_02/03-02-03-01-01-01-02.wav");  // song: rejected
  touch(root, "SAVEE/DC_a01.wav");                           // angry
  touch(root, "SAVEE/JE_sa01.wav");                          // sad
  touch(root, "SAVEE/JE_su01.wav");                          // surprised: excluded from 6
  touch(root, "SAVEE2/AudioData/KL/h02.wav");                // happy
  touch(root, "TESS/OAF_Fear/OAF_back_fear.wav");            // fearful
  touch(root, "TESS/YAF_pleasant_surprised/YAF_bath_ps.wav");  // surprised: excluded from 6
  touch(root, "TESS/OAF_Sad/OAF_back_happy.wav");            // file and folder disagree: rejected
  touch(root, "CREMA/1001_DFA_ANG_XX.wav", "same-bytes-12345");
  touch(root, "CREMA/1002_IEO_DIS_HI.wav", "diff-bytes-12345");  // same size, other bytes
  touch(root, "CREMA_copy/1001_DFA_ANG_XX.wav", "same-bytes-12345");  // duplicate
  touch(root, "junk/notes.wav");                              // matches no scheme
  touch(root, "junk/readme.txt");                             // not audio: ignored
}

const CorpusCounts& row(const IndexSummary& s, const std::string& corpus) {
  for (const auto& c : s.corpora)
    if (c.corpus == corpus) return c;
  FAIL("no summary row for " << corpus);
  return s.corpora.front();
}

std::string reason_for(const IndexResult& r, const std::string& file_name) {
  for (const auto& [path, reason] : r.skipped)
    if (path.filename() == file_name) return reason;
  return "";
}

}  // namespace

TEST_SUITE("data") {

TEST_CASE("index: one auto folder holding every corpus, six classes") {
  test::TempDir dir;
  make_tree(dir.path());
  const IndexResult r = index_corpora({{dir.path(), CorpusKind::Auto}}, ClassSet::six());
  std::map<std::string, std::string> label_of;
  for (const auto& e : r.entries) {
    label_of[fs::relative(e.path, dir.path()).generic_string()] = e.label_name;
    CHECK(e.label == ClassSet::six().index_of(e.label_name));
  }
  CHECK(label_of == std::map<std::string, std::string>{
                        {"RAVDESS/Actor_01/03-01-01-01-01-01-01.wav", "neutral"},
                        {"RAVDESS/Actor_02/03-01-05-02-01-02-02.wav", "angry"},
                        {"SAVEE/DC_a01.wav", "angry"},
                        {"SAVEE/JE_sa01.wav", "sad"},
                        {"SAVEE2/AudioData/KL/h02.wav", "happy"},
                        {"TESS/OAF_Fear/OAF_back_fear.wav", "fearful"},
                        {"CREMA/1001_DFA_ANG_XX.wav", "angry"},
                        {"CREMA/1002_IEO_DIS_HI.wav", "disgust"}});
  CHECK(r.summary.used_per_class == std::vector<int64_t>{1, 1, 1, 3, 1, 1});

  const auto& ravdess = row(r.summary, "ravdess");
  CHECK(ravdess.files_seen == 4);
  CHECK(ravdess.used == 2);
  CHECK(ravdess.excluded_by_label == std::map<std::string, int64_t>{{"calm", 1}});
  CHECK(ravdess.rejected == 1);
  const auto& savee = row(r.summary, "savee");
  CHECK(savee.used == 3);
  CHECK(savee.excluded_by_label == std::map<std::string, int64_t>{{"surprised", 1}});
  const auto& tess = row(r.summary, "tess");
  CHECK(tess.used == 1);
  CHECK(tess.excluded == 1);
  CHECK(tess.rejected == 1);
  const auto& cremad = row(r.summary, "cremad");
  CHECK(cremad.files_seen == 3);
  CHECK(cremad.used == 2);
  CHECK(cremad.duplicates == 1);
  CHECK(row(r.summary, "unknown").unmatched == 1);
  const CorpusCounts total = r.summary.total();
  CHECK(total.files_seen == 15);  // readme.txt is not audio
  CHECK(total.used == static_cast<int64_t>(r.entries.size()));
  CHECK(total.used + total.excluded + total.rejected + total.unmatched + total.duplicates == total.files_seen);

  CHECK(reason_for(r, "03-02-03-01-01-01-02.wav").find("song") != std::string::npos);
  CHECK(reason_for(r, "OAF_back_happy.wav").find("folder") != std::string::npos);
  CHECK(reason_for(r, "notes.wav").find("no corpus") != std::string::npos);
  // The copy (later in path order) is the one dropped, and its reason names the original.
  bool copy_dropped = false;
  for (const auto& [path, reason] : r.skipped)
    if (path.parent_path().filename() == "CREMA_copy")
      copy_dropped = reason.find("CREMA/1001_DFA_ANG_XX.wav") != std::string::npos;
  CHECK(copy_dropped);

  const std::string table = r.summary.table();
  for (const char* word : {"corpus", "ravdess", "savee", "tess", "cremad", "total", "duplicates", "calm 1", "per class:"})
    CHECK_MESSAGE(table.find(word) != std::string::npos, word);
}

TEST_CASE("index: eight classes keep calm and surprised; duplicates can be kept on request") {
  test::TempDir dir;
  make_tree(dir.path());
  const IndexResult eight = index_corpora({{dir.path(), CorpusKind::Auto}}, ClassSet::eight());
  CHECK(eight.summary.total().excluded == 0);
  CHECK(eight.summary.used_per_class[7] == 2);  // SAVEE su + TESS ps
  CHECK(eight.summary.used_per_class[6] == 1);  // RAVDESS calm
  const IndexResult all = index_corpora({{dir.path(), CorpusKind::Auto}}, ClassSet::six(), false);
  CHECK(all.summary.total().duplicates == 0);
  CHECK(all.entries.size() == 9);
}

TEST_CASE("index: several folders with stated kinds, in the order given") {
  test::TempDir dir;
  make_tree(dir.path());
  const IndexResult r = index_corpora({{dir / "CREMA", CorpusKind::CremaD},
                                       {dir / "SAVEE", CorpusKind::Tess},  // wrong kind stated
                                       {dir / "RAVDESS", CorpusKind::Ravdess},
                                       {dir / "CREMA_copy", CorpusKind::Auto}},
                                      ClassSet::six());
  REQUIRE(r.entries.size() == 4);
  CHECK(r.entries[0].corpus == "cremad");
  CHECK(r.entries[0].speaker == "cremad:1001");
  CHECK(r.entries[2].corpus == "ravdess");
  CHECK(row(r.summary, "tess").unmatched == 3);  // SAVEE names are not TESS names
  CHECK(reason_for(r, "DC_a01.wav") == "not a tess file name");
  CHECK(row(r.summary, "cremad").duplicates == 1);
}

TEST_CASE("index: overlapping folders count each file once") {
  test::TempDir dir;
  make_tree(dir.path());
  const IndexResult r = index_corpora({{dir / "SAVEE", CorpusKind::Savee}, {dir.path(), CorpusKind::Auto}}, ClassSet::six());
  CHECK(r.entries.size() == 8);
  CHECK(row(r.summary, "savee").duplicates == 2);  // DC_a01 and JE_sa01 seen twice
  CHECK(reason_for(r, "DC_a01.wav").find("listed twice") != std::string::npos);
}

TEST_CASE("index: missing folder, no folder") {
  CHECK_THROWS_WITH_AS(index_corpora({{"/nonexistent/ser-data", CorpusKind::Auto}}, ClassSet::six()),
                       doctest::Contains("/nonexistent/ser-data"), Error);
  CHECK_THROWS_AS(index_corpora({}, ClassSet::six()), Error);
}

}  // TEST_SUITE
