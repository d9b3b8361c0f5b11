// A corpus of one's own: a folder per class (--corpus folders, with or without a speaker
// level), a label list (--labels), any class names, and the error that lists the layouts
// when nothing matches; then `ser train` end to end on a folders corpus of two made-up classes.
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>

#include "apps/pipeline.h"
#include "data/demo_corpus.h"
#include "data/index.h"
#include "data/user_corpus.h"
#include "engine/core/error.h"
#include "support/ser_process.h"
#include "support/temp_dir.h"

using namespace ser;
using namespace ser::data;
namespace fs = std::filesystem;

namespace {

void tone(const fs::path& file, double hz, double seconds = 1.0) {
  fs::create_directories(file.parent_path());
  std::vector<float> x(static_cast<std::size_t>(16000 * seconds));
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = 0.3f * static_cast<float>(std::sin(2 * M_PI * hz * double(i) / 16000));
  write_wav_pcm16(file, x, 16000);
}

}  // namespace

TEST_SUITE("data") {

TEST_CASE("class names: emotions normalised, any other word kept lower-cased, bad words refused") {
  CHECK(class_name("Anger") == "angry");
  CHECK(class_name("Frustrated") == "frustrated");
  CHECK(class_name("low-arousal_2") == "low-arousal_2");
  CHECK_THROWS_WITH_AS(class_name("a b"), doctest::Contains("only letters, digits, '-' and '_'"), Error);
  CHECK_THROWS_AS(class_name(""), Error);
  const ClassSet set = ClassSet::parse("angry,frustrated");
  CHECK(set.names == std::vector<std::string>{"angry", "frustrated"});
  CHECK(set.index_of("FRUSTRATED") == 1);
  CHECK(set.index_of("anger") == 0);
  CHECK(set.index_of("calm") == -1);
  CHECK_THROWS_WITH_AS(ClassSet::parse("angry,angry"), doctest::Contains("appears twice"), Error);
}

TEST_CASE("a folders corpus: class from the folder, speaker from the level above, loose files named") {
  test::TempDir dir;
  tone(dir / "mine" / "angry" / "a.wav", 200);
  tone(dir / "mine" / "Frustrated" / "b.wav", 300);
  tone(dir / "mine" / "loose.wav", 400);
  tone(dir / "spk" / "alice" / "calm" / "c.wav", 250);
  tone(dir / "spk" / "bob" / "calm" / "d.wav", 260);
  tone(dir / "spk" / "bob" / "happy" / "e.wav", 270);

  app::CorpusOptions mine;
  mine.data_dirs = {(dir / "mine").string()};
  mine.corpus = "folders";
  const ClassSet classes = app::resolve_classes(mine);
  CHECK(classes.names == std::vector<std::string>{"angry", "frustrated"});
  const IndexResult index = app::index_from_options(mine, classes);
  REQUIRE(index.entries.size() == 2);  // in path order: "Frustrated/" sorts before "angry/"
  CHECK(index.entries[0].label_name == "frustrated");
  CHECK(index.entries[1].label_name == "angry");
  CHECK(index.entries[1].label == 0);
  CHECK(index.entries[0].speaker == "folders:mine");
  CHECK(index.entries[0].corpus == "folders");
  REQUIRE(index.skipped.size() == 1);
  CHECK(index.skipped[0].first.filename() == "loose.wav");
  CHECK(index.skipped[0].second.find("a folder named after the class") != std::string::npos);

  app::CorpusOptions speakers;
  speakers.data_dirs = {(dir / "spk").string()};
  speakers.corpus = "folders";
  const ClassSet calm_happy = app::resolve_classes(speakers);
  CHECK(calm_happy.names == std::vector<std::string>{"calm", "happy"});
  const IndexResult two = app::index_from_options(speakers, calm_happy);
  REQUIRE(two.entries.size() == 3);
  CHECK(two.entries[0].speaker == "folders:alice");
  CHECK(two.entries[2].speaker == "folders:bob");

  speakers.classes = "6";  // asked for: the seed classes, of which these folders have one
  CHECK(app::index_from_options(speakers, app::resolve_classes(speakers)).entries.size() == 1);
}

TEST_CASE("a label list: header, relative paths, speakers; missing files skipped; bad rows named by line") {
  test::TempDir dir;
  tone(dir / "audio" / "x1.wav", 200);
  tone(dir / "audio" / "x2.wav", 300);
  std::ofstream(dir / "labels.csv") << "path,label,speaker\naudio/x1.wav,bored,s1\n" << (dir / "audio" / "x2.wav").string()
                                    << ",Happiness,s2\naudio/gone.wav,bored,s1\n";
  app::CorpusOptions o;
  o.labels = {(dir / "labels.csv").string()};
  const ClassSet classes = app::resolve_classes(o);
  CHECK(classes.names == std::vector<std::string>{"bored", "happy"});
  const IndexResult index = app::index_from_options(o, classes);
  REQUIRE(index.entries.size() == 2);
  CHECK(index.entries[0].speaker == "labels:s1");
  CHECK(index.entries[1].label_name == "happy");
  REQUIRE(index.skipped.size() == 1);
  CHECK(index.skipped[0].second == "listed in --labels, but no such file");

  std::ofstream(dir / "bad.tsv") << "audio/x1.wav\tangry\naudio/x2.wav\n";
  CHECK_THROWS_WITH_AS(read_label_list(dir / "bad.tsv"),
                       doctest::Contains("bad.tsv:2: expected path<tab>label[<tab>speaker]"), Error);
  std::ofstream(dir / "empty.csv") << "path,label\n";
  CHECK_THROWS_WITH_AS(read_label_list(dir / "empty.csv"), doctest::Contains("no rows"), Error);
}

TEST_CASE("a folder in no known layout: the error lists the layouts ser reads") {
  test::TempDir dir;
  tone(dir / "my" / "angry" / "clip0.wav", 200);
  app::CorpusOptions o;
  o.data_dirs = {(dir / "my").string()};
  CHECK_THROWS_WITH_AS(app::index_from_options(o, app::resolve_classes(o)),
                       doctest::Contains("a folder per class (DATA/angry/clip.wav or DATA/SPEAKER/angry/clip.wav: "
                                         "--corpus folders), or a label list (--labels FILE.csv"),
                       Error);
}

TEST_CASE("ser train on a folders corpus of made-up classes; the model keeps their names") {
  test::TempDir dir;
  for (int s = 0; s < 3; ++s)
    for (int k = 0; k < 4; ++k) {
      tone(dir / "my" / fmt::format("spk{}", s) / "buzzy" / fmt::format("{}.wav", k), 150 + 10 * s + k);
      tone(dir / "my" / fmt::format("spk{}", s) / "squeaky" / fmt::format("{}.wav", k), 900 + 10 * s + k);
    }
  const test::ProcessResult r = test::run_ser_process(
      "train --quiet --device cpu --cache none --recipe seed --epochs 1 --corpus folders --data " +
          (dir / "my").string() + " --val-speakers spk2 --out " + (dir / "run").string(),
      dir.path());
  CAPTURE(r.err);
  REQUIRE(r.status == 0);
  const test::ProcessResult info = test::run_ser_process("info " + (dir / "run").string(), dir.path());
  CHECK(info.out.find("2: buzzy, squeaky") != std::string::npos);
  const test::ProcessResult p =
      test::run_ser_process("predict --model " + (dir / "run").string() + " " + (dir / "my" / "spk2" / "buzzy" / "0.wav").string(),
                            dir.path());
  CHECK(p.status == 0);
  CHECK((p.out.find("\tbuzzy\t") != std::string::npos || p.out.find("\tsqueaky\t") != std::string::npos));
}

}  // TEST_SUITE
