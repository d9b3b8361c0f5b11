// A corpus of one's own: a folder per class (--corpus folders, with or without a speaker
// level, or speakers from file names with --speaker-pattern), a label list (--labels, with
// an optional split column), any class names, and the error that lists the layouts when
// nothing matches; then `ser train` end to end on a folders corpus of two made-up classes,
// on a list whose split column chooses the parts, and the refusals of a class with no
// training files and of a split column beside another split option.
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

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

std::string text_of(const fs::path& file) {
  std::ifstream in(file);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The path column of predictions.tsv (after its header), as a set.
std::set<std::string> predicted_paths(const fs::path& predictions) {
  std::istringstream in(text_of(predictions));
  std::string line;
  std::getline(in, line);
  std::set<std::string> out;
  while (std::getline(in, line)) out.insert(line.substr(0, line.find('\t')));
  return out;
}

// A folders corpus of two made-up classes, 4 clips each for speakers spk0..spk2.
void buzzy_and_squeaky(const fs::path& root) {
  for (int s = 0; s < 3; ++s)
    for (int k = 0; k < 4; ++k) {
      tone(root / fmt::format("spk{}", s) / "buzzy" / fmt::format("{}.wav", k), 150 + 10 * s + k);
      tone(root / fmt::format("spk{}", s) / "squeaky" / fmt::format("{}.wav", k), 900 + 10 * s + k);
    }
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
                       doctest::Contains("bad.tsv:2: expected path<tab>label[<tab>speaker[<tab>split]]"), Error);
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
  buzzy_and_squeaky(dir / "my");
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

TEST_CASE("a label list's split column: by position or by header name; bad values and columns named by line") {
  test::TempDir dir;
  std::ofstream(dir / "four.csv") << "a.wav,angry,s1,train\nb.wav,calm,s1,VAL\nc.wav,calm,s2,validation\n"
                                     "d.wav,angry,s2,test\ne.wav,angry,s2,\nf.wav,calm\n";
  const auto four = read_label_list(dir / "four.csv");
  REQUIRE(four.size() == 6);
  std::vector<std::string> splits;
  for (const auto& r : four) splits.push_back(r.split);
  CHECK(splits == std::vector<std::string>{"train", "validation", "validation", "test", "", ""});
  CHECK(four[4].speaker == "labels:s2");
  CHECK(four[5].speaker == "labels:four");

  // A header naming its columns: any order, other columns ignored, no speaker column.
  std::ofstream(dir / "named.tsv") << "file\tsplit\tduration\tlabel\na.wav\ttest\t1.5\tangry\nb.wav\t\t2.0\tcalm\n";
  const auto named = read_label_list(dir / "named.tsv");
  REQUIRE(named.size() == 2);
  CHECK(named[0].path == dir / "a.wav");
  CHECK(named[0].label == "angry");
  CHECK(named[0].split == "test");
  CHECK(named[0].speaker == "labels:named");
  CHECK(named[1].label == "calm");
  CHECK(named[1].split == "");

  std::ofstream(dir / "dev.csv") << "path,label,speaker,split\na.wav,angry,s1,train\nb.wav,calm,s1,dev\n";
  CHECK_THROWS_WITH_AS(read_label_list(dir / "dev.csv"),
                       doctest::Contains("dev.csv:3: split 'dev' is none of train, val, validation, test"), Error);
  std::ofstream(dir / "five.csv") << "a.wav,angry,s1,train,extra\n";
  CHECK_THROWS_WITH_AS(read_label_list(dir / "five.csv"), doctest::Contains("five.csv:1: 5 columns"), Error);
  std::ofstream(dir / "nolabel.csv") << "path,speaker,split\na.wav,s1,train\n";
  CHECK_THROWS_WITH_AS(read_label_list(dir / "nolabel.csv"),
                       doctest::Contains("nolabel.csv:1: the header names no 'label' column"), Error);
  // The index keeps each row's split.
  tone(dir / "a.wav", 200);
  tone(dir / "b.wav", 300);
  app::CorpusOptions o;
  o.labels = {(dir / "named.tsv").string()};
  const IndexResult index = app::index_from_options(o, app::resolve_classes(o));
  REQUIRE(index.entries.size() == 2);
  CHECK(index.entries[0].split == "test");
  CHECK(index.entries[1].split == "");
  CHECK(app::lists_with_splits(o) == std::vector<std::string>{(dir / "named.tsv").string()});
}

TEST_CASE("--speaker-pattern: a folders corpus's speakers from file names; a name it misses is an error") {
  test::TempDir dir;
  tone(dir / "my" / "angry" / "alice_01.wav", 200);
  tone(dir / "my" / "angry" / "bob_01.wav", 210);
  tone(dir / "my" / "calm" / "alice_02.wav", 300);
  app::CorpusOptions o;
  o.data_dirs = {(dir / "my").string()};
  o.corpus = "folders";
  o.speaker_pattern = "^([a-z]+)_";
  const IndexResult index = app::index_from_options(o, app::resolve_classes(o));
  REQUIRE(index.entries.size() == 3);
  CHECK(index.entries[0].speaker == "folders:alice");
  CHECK(index.entries[1].speaker == "folders:bob");
  CHECK(index.entries[2].speaker == "folders:alice");
  CHECK(index.entries[2].label_name == "calm");

  tone(dir / "my" / "calm" / "03-carol.wav", 310);
  CHECK_THROWS_WITH_AS(app::index_from_options(o, app::resolve_classes(o)),
                       doctest::Contains("03-carol.wav: --speaker-pattern '^([a-z]+)_' does not match the file name "
                                         "'03-carol'"),
                       Error);
  o.speaker_pattern = "[a-z]+_";
  CHECK_THROWS_WITH_AS(app::index_from_options(o, app::resolve_classes(o)),
                       doctest::Contains("--speaker-pattern '[a-z]+_': no capture group"), Error);
  o.speaker_pattern = "([a-z]+";
  CHECK_THROWS_WITH_AS(app::index_from_options(o, app::resolve_classes(o)),
                       doctest::Contains("--speaker-pattern '([a-z]+': not a regular expression"), Error);
  o.speaker_pattern = "^([a-z]+)";
  o.corpus = "auto";
  CHECK_THROWS_WITH_AS(app::index_from_options(o, ClassSet::parse("angry,calm")),
                       doctest::Contains("applies to --corpus folders only"), Error);
}

TEST_CASE("ser train --speaker-pattern: speakers from file names make the speaker split") {
  test::TempDir dir;
  for (const char* who : {"ann", "ben", "cat"})
    for (int k = 0; k < 4; ++k) {
      tone(dir / "my" / "buzzy" / fmt::format("{}_{}.wav", who, k), 150 + k + 10 * (who[0] - 'a'));
      tone(dir / "my" / "squeaky" / fmt::format("{}_{}.wav", who, k), 900 + k + 10 * (who[0] - 'a'));
    }
  const test::ProcessResult r = test::run_ser_process(
      "train --quiet --device cpu --cache none --recipe seed --epochs 1 --corpus folders --data " +
          (dir / "my").string() + " --speaker-pattern '^([a-z]+)_' --val-speakers cat --out " + (dir / "run").string(),
      dir.path());
  CAPTURE(r.err);
  REQUIRE(r.status == 0);
  const std::set<std::string> tested = predicted_paths(dir / "run" / "predictions.tsv");  // the validation speaker
  CHECK(tested.size() == 8);
  for (const std::string& path : tested) CHECK(fs::path(path).filename().string().rfind("cat_", 0) == 0);
  const auto run = nlohmann::json::parse(text_of(dir / "run" / "run.json"));
  CHECK(run.at("speaker_pattern") == "^([a-z]+)_");
}

TEST_CASE("ser train on a label list with a split column: its val and test rows are those parts") {
  test::TempDir dir;
  std::string list = "path,label,speaker,split\n";
  std::set<std::string> val_rows, test_rows;
  for (int k = 0; k < 6; ++k)
    for (const char* label : {"buzzy", "squeaky"}) {
      const std::string name = fmt::format("audio/{}{}.wav", label, k);
      tone(dir / name, (label[0] == 'b' ? 150 : 900) + 10 * k);
      const char* split = k == 4 ? "val" : k == 5 ? "test" : k % 2 == 0 ? "train" : "";
      list += fmt::format("{},{},s{},{}\n", name, label, k % 3, split);
      if (k == 4) val_rows.insert((dir / name).string());
      if (k == 5) test_rows.insert((dir / name).string());
    }
  std::ofstream(dir / "list.csv") << list;
  const std::string common = "train --quiet --device cpu --cache none --recipe seed --epochs 1 --labels " +
                             (dir / "list.csv").string() + " --out ";
  const test::ProcessResult r = test::run_ser_process(common + (dir / "run").string(), dir.path());
  CAPTURE(r.err);
  REQUIRE(r.status == 0);
  CHECK(predicted_paths(dir / "run" / "predictions.tsv") == test_rows);
  const auto metrics = nlohmann::json::parse(text_of(dir / "run" / "metrics.json"));
  CHECK(metrics.at("run").at("split") == nlohmann::json{{"train", 8}, {"validation", 2}, {"test", 2}});
  CHECK(metrics.at("run").at("protocol") == "list");

  // Without test rows the final report is on the validation rows, and says so.
  std::ofstream(dir / "no_test.csv") << [&] {
    std::string t = list;
    for (std::size_t at; (at = t.find(",test\n")) != std::string::npos;) t.replace(at, 6, ",\n");
    return t;
  }();
  const test::ProcessResult v = test::run_ser_process(
      "train --quiet --device cpu --cache none --recipe seed --epochs 1 --labels " + (dir / "no_test.csv").string() +
          " --out " + (dir / "run2").string(),
      dir.path());
  CAPTURE(v.err);
  REQUIRE(v.status == 0);
  CHECK(predicted_paths(dir / "run2" / "predictions.tsv") == val_rows);
  CHECK(text_of(dir / "run2" / "report.txt").find("validation rows (the split column names no test rows)") !=
        std::string::npos);

  // A split column beside another choice of the split: one line naming both, nothing written.
  for (const auto& refused : std::vector<std::pair<std::string, std::string>>{
           {"--val-speakers s1", "its split column and --val-speakers both choose the split"},
           {"--val-speakers s1 --test-speakers s2", "its split column and --val-speakers both choose the split"},
           {"--val-corpus labels", "its split column and --val-corpus both choose the split"},
           {"--protocol holdout", "its split column and --protocol holdout both choose the split"}}) {
    const std::string& extra = refused.first;  // not a structured binding: CAPTURE's lambda takes it (C++17)
    const std::string& named = refused.second;
    CAPTURE(extra);
    const test::ProcessResult e = test::run_ser_process(common + (dir / "refused").string() + " " + extra, dir.path());
    CHECK(e.status != 0);
    CHECK(e.err.find("--labels " + (dir / "list.csv").string() + ": " + named) != std::string::npos);
    CHECK_FALSE(fs::exists(dir / "refused"));
  }
  std::ofstream(dir / "plain.csv") << "audio/buzzy0.wav,buzzy\naudio/squeaky0.wav,squeaky\n";
  const test::ProcessResult p = test::run_ser_process(
      "train --quiet --device cpu --cache none --protocol list --labels " + (dir / "plain.csv").string() + " --out " +
          (dir / "refused").string(),
      dir.path());
  CHECK(p.status != 0);
  CHECK(p.err.find("--protocol list: no --labels list has a split column") != std::string::npos);
  std::ofstream(dir / "bad.csv") << "audio/buzzy0.wav,buzzy,s0,train\naudio/squeaky0.wav,squeaky,s0,holdout\n";
  const test::ProcessResult b = test::run_ser_process(
      "train --quiet --device cpu --cache none --labels " + (dir / "bad.csv").string() + " --out " +
          (dir / "refused").string(),
      dir.path());
  CHECK(b.status != 0);
  CHECK(b.err.find((dir / "bad.csv").string() + ":2: split 'holdout' is none of train, val, validation, test") !=
        std::string::npos);
}

TEST_CASE("ser train refuses a class whose files all went to validation by the split, naming --classes") {
  test::TempDir dir;
  buzzy_and_squeaky(dir / "my");
  tone(dir / "my" / "spk2" / "whistly" / "0.wav", 2000);  // a third class, of the validation speaker only
  tone(dir / "my" / "spk2" / "whistly" / "1.wav", 2100);
  const test::ProcessResult r = test::run_ser_process(
      "train --quiet --device cpu --cache none --recipe seed --epochs 1 --corpus folders --data " +
          (dir / "my").string() + " --val-speakers spk2 --out " + (dir / "run").string(),
      dir.path());
  CHECK(r.status != 0);
  CHECK(r.err.find("--classes auto: no training files of class whistly in the training part of the split (all of "
                   "them went to validation or test)") != std::string::npos);
  CHECK(r.err.find("pass --classes buzzy,squeaky") != std::string::npos);
  CHECK_FALSE(fs::exists(dir / "run"));
}

}  // TEST_SUITE
