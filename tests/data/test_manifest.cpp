// Manifest TSV: round trip, hand-edited files, and errors naming file and line.
#include <doctest/doctest.h>

#include <fstream>

#include "data/manifest.h"
#include "engine/core/error.h"
#include "support/temp_dir.h"

using namespace ser;
using namespace ser::data;
namespace fs = std::filesystem;

namespace {
void write_text(const fs::path& p, const std::string& text) { std::ofstream(p, std::ios::binary) << text; }
const std::string kHeader = "path\tcorpus\tspeaker\tlabel\tlabel_name\n";
}  // namespace

TEST_SUITE("data") {

TEST_CASE("manifest: round trip keeps every field and the order") {
  test::TempDir dir;
  const std::vector<ManifestEntry> entries = {
      {"/data/RAVDESS/Actor_01/03-01-01-01-01-01-01.wav", "ravdess", "ravdess:Actor_01", 0, "neutral"},
      {"/data/with space/OAF_back_fear.wav", "tess", "tess:OAF", 4, "fearful"},
      {"relative/1001_DFA_ANG_XX.wav", "cremad", "cremad:1001", 3, "angry"}};
  write_manifest(dir / "m.tsv", entries);
  const auto back = read_manifest(dir / "m.tsv");
  REQUIRE(back.size() == entries.size());
  for (std::size_t i = 0; i < entries.size(); ++i) {
    CHECK(back[i].path == entries[i].path);
    CHECK(back[i].corpus == entries[i].corpus);
    CHECK(back[i].speaker == entries[i].speaker);
    CHECK(back[i].label == entries[i].label);
    CHECK(back[i].label_name == entries[i].label_name);
  }
}

TEST_CASE("manifest: hand-edited files with CRLF and blank lines are read") {
  test::TempDir dir;
  write_text(dir / "m.tsv", "path\tcorpus\tspeaker\tlabel\tlabel_name\r\na.wav\tx\ts1\t1\thappy\r\n\r\nb.wav\tx\ts2\t0\tneutral\n");
  const auto m = read_manifest(dir / "m.tsv");
  REQUIRE(m.size() == 2);
  CHECK(m[0].label_name == "happy");
  CHECK(m[1].speaker == "s2");
}

TEST_CASE("manifest: malformed files are refused with file and line") {
  test::TempDir dir;
  const fs::path p = dir / "bad.tsv";
  write_text(p, "");
  CHECK_THROWS_WITH_AS(read_manifest(p), doctest::Contains("empty"), Error);
  write_text(p, "file\tlabel\n");
  CHECK_THROWS_WITH_AS(read_manifest(p), doctest::Contains("line 1"), Error);
  write_text(p, kHeader + "a.wav\tx\ts\t0\tneutral\nb.wav\tx\ts\t1\n");
  CHECK_THROWS_WITH_AS(read_manifest(p), doctest::Contains("bad.tsv' line 3: expected 5"), Error);
  write_text(p, kHeader + "a.wav\tx\ts\tone\tneutral\n");
  CHECK_THROWS_WITH_AS(read_manifest(p), doctest::Contains("line 2: label 'one'"), Error);
  write_text(p, kHeader + "a.wav\tx\ts\t-1\tneutral\n");
  CHECK_THROWS_AS(read_manifest(p), Error);
  write_text(p, kHeader + "a.wav\tx\ts\t0\tneutral\nb.wav\tx\ts\t0\thappy\n");
  CHECK_THROWS_WITH_AS(read_manifest(p), doctest::Contains("line 3: label 0 is named 'happy'"), Error);
  CHECK_THROWS_AS(read_manifest(dir / "missing.tsv"), Error);
  CHECK_THROWS_AS(write_manifest(p, {{"tab\there.wav", "x", "s", 0, "neutral"}}), Error);
}

}  // TEST_SUITE
