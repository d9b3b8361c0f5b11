// The synthetic demo corpus: files land in the RAVDESS layout, the real indexer reads
// them back with the right labels and speakers, the same seed gives the same bytes, and
// the classes differ in statistics measured from the audio (pitch, loudness) by more
// than they vary within a class.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <map>
#include <set>

#include "data/demo_corpus.h"
#include "data/index.h"
#include "engine/core/error.h"
#include "engine/io/file.h"
#include "support/temp_dir.h"

using namespace ser;
using namespace ser::data;
namespace fs = std::filesystem;

namespace {

// Median f0 (Hz) of the voiced frames of x: normalised autocorrelation over 64 ms frames,
// lags for 60..450 Hz; a frame is voiced when its peak correlation exceeds 0.6 and its
// energy is within 20 dB of the loudest frame. The smallest lag within 10 % of the best
// peak is taken, to avoid octave-down errors. Returns 0 if no frame is voiced.
double median_f0(const std::vector<float>& x, int sample_rate) {
  const int frame = sample_rate / 16, hop = frame / 2;
  const int min_lag = sample_rate / 450, max_lag = sample_rate / 60;
  std::vector<double> energy;
  for (int start = 0; start + frame + max_lag <= static_cast<int>(x.size()); start += hop) {
    double e = 0;
    for (int i = 0; i < frame; ++i) e += double(x[start + i]) * x[start + i];
    energy.push_back(e);
  }
  const double loudest = energy.empty() ? 0.0 : *std::max_element(energy.begin(), energy.end());
  std::vector<double> f0s;
  for (std::size_t f = 0; f < energy.size(); ++f) {
    if (energy[f] < 0.01 * loudest) continue;
    const int start = static_cast<int>(f) * hop;
    std::vector<double> r(static_cast<std::size_t>(max_lag + 1), 0.0);
    double best = 0;
    for (int lag = min_lag; lag <= max_lag; ++lag) {
      double xy = 0, yy = 0;
      for (int i = 0; i < frame; ++i) {
        xy += double(x[start + i]) * x[start + i + lag];
        yy += double(x[start + i + lag]) * x[start + i + lag];
      }
      r[lag] = xy / std::sqrt(energy[f] * yy + 1e-20);
      best = std::max(best, r[lag]);
    }
    if (best < 0.6) continue;
    for (int lag = min_lag + 1; lag < max_lag; ++lag)
      if (r[lag] >= 0.9 * best && r[lag] >= r[lag - 1] && r[lag] >= r[lag + 1]) {
        f0s.push_back(double(sample_rate) / lag);
        break;
      }
  }
  if (f0s.empty()) return 0.0;
  std::nth_element(f0s.begin(), f0s.begin() + f0s.size() / 2, f0s.end());
  return f0s[f0s.size() / 2];
}

double rms_db(const std::vector<float>& x) {
  double e = 0;
  for (float v : x) e += double(v) * v;
  return 10.0 * std::log10(e / x.size() + 1e-20);
}

// Ratio of the variance of the class means to the mean within-class variance
// (the one-way ANOVA F statistic without degree-of-freedom factors).
double between_over_within(const std::map<std::string, std::vector<double>>& by_class) {
  std::vector<double> means;
  double within = 0;
  for (const auto& [name, v] : by_class) {
    double mean = 0, var = 0;
    for (double s : v) mean += s / v.size();
    for (double s : v) var += (s - mean) * (s - mean) / v.size();
    means.push_back(mean);
    within += var / by_class.size();
  }
  double grand = 0, between = 0;
  for (double m : means) grand += m / means.size();
  for (double m : means) between += (m - grand) * (m - grand) / means.size();
  return between / within;
}

}  // namespace

TEST_SUITE("data") {

TEST_CASE("demo corpus: RAVDESS layout read back by the indexer with labels and speakers") {
  test::TempDir dir;
  DemoCorpusOptions opts;
  opts.speakers = 2;
  opts.clips_per_class = 9;  // more than RAVDESS's 8 per emotion: repetition field 03
  opts.seconds = 0.5;
  const auto t0 = std::chrono::steady_clock::now();
  generate_demo_corpus(dir.path(), opts);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  MESSAGE("demo corpus: 108 clips of 0.5 s in " << seconds << " s");
  CHECK(fs::exists(dir / "Actor_01/03-01-05-01-01-01-01.wav"));  // angry, speaker 1, clip 0
  CHECK(fs::exists(dir / "Actor_02/03-01-07-01-01-03-02.wav"));  // disgust, speaker 2, clip 8

  const IndexResult index = index_corpora({{dir.path(), CorpusKind::Auto}}, ClassSet::six());
  CHECK(index.skipped.empty());
  REQUIRE(index.entries.size() == 2 * 6 * 9);
  std::map<std::string, int> per_label;
  std::set<std::string> speakers;
  for (const auto& e : index.entries) {
    CHECK(e.corpus == "ravdess");
    ++per_label[e.label_name];
    speakers.insert(e.speaker);
    // The actor folder and the generator's own path agree on label and speaker.
    const int speaker = std::stoi(e.path.parent_path().filename().string().substr(6)) - 1;
    bool found = false;
    for (int clip = 0; clip < opts.clips_per_class && !found; ++clip)
      found = dir.path() / demo_clip_path(e.label_name, speaker, clip) == e.path;
    CHECK(found);
  }
  for (const auto& name : ClassSet::six().names) CHECK(per_label[name] == 18);
  CHECK(speakers == std::set<std::string>{"ravdess:Actor_01", "ravdess:Actor_02"});
  CHECK(index.summary.total().duplicates == 0);  // every clip is distinct audio
}

TEST_CASE("demo corpus: same seed, same bytes; another seed, other audio") {
  test::TempDir a, b, c;
  DemoCorpusOptions opts;
  opts.speakers = 2;
  opts.clips_per_class = 2;
  opts.seconds = 0.4;
  opts.classes = ClassSet::parse("happy,sad");
  generate_demo_corpus(a.path(), opts);
  generate_demo_corpus(b.path(), opts);
  opts.seed = 7;
  generate_demo_corpus(c.path(), opts);
  const fs::path file = demo_clip_path("sad", 1, 1);
  CHECK(read_file_bytes(a / file.string()) == read_file_bytes(b / file.string()));
  CHECK(read_file_bytes(a / file.string()) != read_file_bytes(c / file.string()));
  const auto bytes = read_file_bytes(a / file.string());
  CHECK(bytes.size() == 44 + 2 * 6400);  // canonical 44-byte WAV header + 0.4 s of 16-bit mono at 16 kHz
}

TEST_CASE("demo corpus: classes differ in measured pitch and loudness more than within a class") {
  DemoCorpusOptions opts;
  opts.seconds = 1.0;
  const ClassSet classes = ClassSet::eight();
  std::map<std::string, std::vector<double>> log_f0, level;
  for (const auto& emotion : classes.names)
    for (int speaker = 0; speaker < 4; ++speaker)
      for (int clip = 0; clip < 3; ++clip) {
        const auto x = synthesize_demo_clip(emotion, speaker, clip, opts);
        REQUIRE(x.size() == 16000);
        const double f0 = median_f0(x, opts.sample_rate);
        REQUIRE(f0 > 0);
        log_f0[emotion].push_back(std::log(f0));
        level[emotion].push_back(rms_db(x));
      }
  const double pitch_ratio = between_over_within(log_f0), level_ratio = between_over_within(level);
  MESSAGE("between/within variance: log f0 " << pitch_ratio << ", RMS dB " << level_ratio);
  CHECK(pitch_ratio > 4.0);
  CHECK(level_ratio > 4.0);
  // The measured pitch follows the design: fearful and surprised clips sit above sad and calm ones.
  auto mean = [](const std::vector<double>& v) { double s = 0; for (double x : v) s += x; return s / v.size(); };
  CHECK(mean(log_f0["fearful"]) > mean(log_f0["sad"]) + std::log(1.8));
  CHECK(mean(log_f0["surprised"]) > mean(log_f0["calm"]) + std::log(1.8));
}

TEST_CASE("demo corpus: invalid options are refused") {
  test::TempDir dir;
  DemoCorpusOptions opts;
  opts.speakers = 0;
  CHECK_THROWS_AS(generate_demo_corpus(dir.path(), opts), Error);
  opts = DemoCorpusOptions{};
  opts.seconds = 0.0;
  CHECK_THROWS_AS(generate_demo_corpus(dir.path(), opts), Error);
  opts = DemoCorpusOptions{};
  opts.clips_per_class = kMaxDemoClipsPerClass + 1;
  CHECK_THROWS_AS(generate_demo_corpus(dir.path(), opts), Error);
  CHECK_THROWS_AS(check_demo_options(opts), Error);
  opts.clips_per_class = kMaxDemoClipsPerClass;  // the largest the RAVDESS name can enumerate
  CHECK_NOTHROW(check_demo_options(opts));
  CHECK_THROWS_AS(demo_prosody("bored"), Error);
}

TEST_CASE("demo corpus: only a folder the demo wrote counts as replaceable") {
  test::TempDir dir;
  CHECK(is_replaceable_demo_corpus(dir / "absent"));
  DemoCorpusOptions opts;
  opts.speakers = 1;
  opts.clips_per_class = 1;
  opts.seconds = 0.25;
  generate_demo_corpus(dir / "demo", opts);
  CHECK(fs::is_regular_file(dir / "demo" / kDemoCorpusMarker));
  CHECK(is_replaceable_demo_corpus(dir / "demo"));
  fs::create_directories(dir / "mine");
  std::ofstream(dir / "mine" / "recording.wav") << "not the demo's";
  CHECK_FALSE(is_replaceable_demo_corpus(dir / "mine"));
}

TEST_CASE("demo corpus: a held-out speaker gets the next actor number") {
  test::TempDir dir;
  DemoCorpusOptions opts;
  opts.first_speaker = 4;
  opts.speakers = 1;
  opts.clips_per_class = 1;
  opts.seconds = 0.25;
  generate_demo_corpus(dir.path(), opts);
  CHECK(fs::is_directory(dir / "Actor_05"));
  CHECK_FALSE(fs::exists(dir / "Actor_01"));
  opts.first_speaker = kMaxDemoSpeakers;  // actor 100 does not fit two digits
  CHECK_THROWS_AS(check_demo_options(opts), Error);
}

}  // TEST_SUITE
