// The pieces of `ser predict`'s timeline on their own: window placement and own stretches,
// the level meter and silence gate, segment merging, clip-length statistics, the input
// list, and the SVG picture (well-formed XML, one series per class).
#include <doctest/doctest.h>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include "app/xml_check.h"
#include "apps/clip_lengths.h"
#include "apps/predict_inputs.h"
#include "apps/timeline.h"
#include "apps/timeline_svg.h"
#include "engine/core/error.h"
#include "support/temp_dir.h"

using namespace ser;
using namespace ser::app;
namespace fs = std::filesystem;

namespace {

// Own stretches tile [0, n) in order, each window's centre inside its own stretch.
void check_tiling(const std::vector<TimelineWindow>& w, int64_t n) {
  REQUIRE(!w.empty());
  CHECK(w.front().own_begin == 0);
  CHECK(w.back().own_end == n);
  for (std::size_t k = 0; k < w.size(); ++k) {
    CAPTURE(k);
    CHECK(w[k].own_begin < w[k].own_end);
    CHECK(w[k].start >= 0);
    CHECK(w[k].end <= n);
    const int64_t centre = (w[k].start + w[k].end) / 2;
    CHECK(centre >= w[k].own_begin);
    CHECK(centre <= w[k].own_end);
    if (k > 0) CHECK(w[k].own_begin == w[k - 1].own_end);
  }
}

}  // namespace

TEST_SUITE("app") {

TEST_CASE("windows every hop while they fit, one more ending at the end, own stretches tiling the recording") {
  const auto exact = plan_windows(10, 4, 3);  // 0-4, 3-7, 6-10
  REQUIRE(exact.size() == 3);
  CHECK(exact[2].start == 6);
  CHECK(exact[2].end == 10);
  CHECK(exact[0].own_end == 3);  // midpoint of centres 2 and 5 -> 3.5, floor
  check_tiling(exact, 10);

  const auto tail = plan_windows(11, 4, 3);  // 0-4, 3-7, 6-10, then 7-11 to reach the end
  REQUIRE(tail.size() == 4);
  CHECK(tail[3].start == 7);
  CHECK(tail[3].end == 11);
  check_tiling(tail, 11);

  const auto one = plan_windows(4, 4, 1);
  REQUIRE(one.size() == 1);
  CHECK(one[0].own_begin == 0);
  CHECK(one[0].own_end == 4);

  // An hour at 16 kHz, 3 s windows, 1 s hop: 3598 windows, each own stretch one hop long
  // except the first and last (1.5 hop).
  const int64_t n = 3600LL * 16000;
  const auto hour = plan_windows(n, 48000, 16000);
  CHECK(hour.size() == 3598);
  check_tiling(hour, n);
  for (std::size_t k = 1; k + 1 < hour.size(); ++k) CHECK(hour[k].own_end - hour[k].own_begin == 16000);

  CHECK(regular_window_count(3, 4, 1) == 0);
  CHECK_THROWS_WITH_AS(plan_windows(3, 4, 1), doctest::Contains("fewer than one window"), Error);
  CHECK_THROWS_AS(regular_window_count(10, 4, 0), Error);
}

TEST_CASE("the level meter measures RMS in dB over any stretch, and zeros as minus infinity") {
  LevelMeter meter(10);
  std::vector<float> loud(100, 0.5f), quiet(55, 0.005f), zeros(45, 0.0f);
  meter.add(loud.data(), 100);  // [0, 100)
  meter.add(quiet.data(), 55);  // [100, 155)
  meter.add(zeros.data(), 45);  // [155, 200)
  CHECK(meter.samples() == 200);
  CHECK(meter.level_db(0, 100) == doctest::Approx(20 * std::log10(0.5)));
  CHECK(meter.level_db(100, 150) == doctest::Approx(20 * std::log10(0.005)));
  CHECK(std::isinf(meter.level_db(160, 200)));
  CHECK(meter.level_db(160, 200) < 0);
  // Half loud, half quiet: the mean power, not the mean of dB.
  CHECK(meter.level_db(50, 150) == doctest::Approx(10 * std::log10((50 * 0.25 + 50 * 0.000025) / 100)));
}

TEST_CASE("a window is silent when its own stretch is min_level dB below the file's loudest stretch") {
  // 5 windows of 100 samples, hop 100: levels 0.5, 0.5 * 10^(-30/20), 0.5 * 10^(-45/20), 0, 0.5.
  const std::vector<double> amplitude{0.5, 0.5 * std::pow(10, -1.5), 0.5 * std::pow(10, -2.25), 0.0, 0.5};
  LevelMeter meter(10);
  for (double a : amplitude) {
    const std::vector<float> x(100, static_cast<float>(a));
    meter.add(x.data(), 100);
  }
  const auto windows = plan_windows(500, 100, 100);
  REQUIRE(windows.size() == 5);
  CHECK(silent_windows(windows, meter, 35) == std::vector<bool>{false, false, true, true, false});
  CHECK(silent_windows(windows, meter, 25) == std::vector<bool>{false, true, true, true, false});
  // A recording of zeros is silent throughout.
  LevelMeter zeros(10);
  const std::vector<float> z(500, 0.0f);
  zeros.add(z.data(), 500);
  CHECK(silent_windows(windows, zeros, 35) == std::vector<bool>(5, true));
}

TEST_CASE("consecutive windows of one label merge into a segment with their mean probabilities") {
  // 6 windows of 100 samples at 100 Hz (1 s each), 2 classes: a a (silent) b b a.
  const auto windows = plan_windows(600, 100, 100);
  const std::vector<bool> silent{false, false, true, false, false, false};
  const std::vector<float> p{0.9f, 0.1f, 0.7f, 0.3f, 0.5f, 0.5f, 0.2f, 0.8f, 0.4f, 0.6f, 0.6f, 0.4f};
  const auto segments = merge_segments(windows, silent, p, 2, 100);
  REQUIRE(segments.size() == 4);
  CHECK(segments[0].label == 0);
  CHECK(segments[0].start == 0.0);
  CHECK(segments[0].end == 2.0);
  CHECK(segments[0].windows == 2);
  CHECK(segments[0].mean_probabilities[0] == doctest::Approx(0.8));
  CHECK(segments[1].label == -1);
  CHECK(segments[1].mean_probabilities.empty());
  CHECK(segments[1].start == 2.0);
  CHECK(segments[1].end == 3.0);
  CHECK(segments[2].label == 1);
  CHECK(segments[2].mean_probabilities[1] == doctest::Approx(0.7));
  CHECK(segments[3].label == 0);
  CHECK(segments[3].end == 6.0);
  CHECK_THROWS_AS(merge_segments(windows, silent, std::vector<float>(11), 2, 100), Error);
}

TEST_CASE("a stretch is labelled with the mean of the voiced windows overlapping it") {
  // 100 samples, windows of 40 every 20: 0-40, 20-60, 40-80, 60-100; own stretches
  // [0, 30) [30, 50) [50, 70) [70, 100). Window 3 is silent.
  const auto windows = plan_windows(100, 40, 20);
  REQUIRE(windows.size() == 4);
  const std::vector<bool> silent{false, false, false, true};
  const std::vector<float> p{1.0f, 0.0f, 0.0f, 1.0f, 0.5f, 0.5f, 0.9f, 0.1f};
  const std::vector<float> s = stretch_probabilities(windows, silent, p, 2);
  // [0, 30): windows 0 and 1 (window 2 starts at 40).
  CHECK(s[0] == doctest::Approx(0.5));
  // [30, 50): windows 0, 1, 2.
  CHECK(s[2] == doctest::Approx(0.5));
  CHECK(s[3] == doctest::Approx(0.5));
  // [50, 70): windows 1 and 2 (window 3 overlaps but is silent).
  CHECK(s[4] == doctest::Approx(0.25));
  CHECK(s[5] == doctest::Approx(0.75));
  // Silent rows stay zero.
  CHECK(s[6] == 0.0f);
  CHECK(s[7] == 0.0f);
  // A hop as long as the window: each stretch is its own window's alone.
  const auto apart = plan_windows(100, 25, 25);
  const std::vector<float> q{0.1f, 0.9f, 0.8f, 0.2f, 0.3f, 0.7f, 0.6f, 0.4f};
  CHECK(stretch_probabilities(apart, std::vector<bool>(4, false), q, 2) == q);
}

TEST_CASE("clip-length statistics: median and 95th percentile as numpy computes them") {
  const train::ClipLengths c = summarize_clip_lengths({4.0, 1.0, 3.0, 2.0});
  CHECK(c.files == 4);
  CHECK(c.min == 1.0);
  CHECK(c.max == 4.0);
  CHECK(c.median == doctest::Approx(2.5));
  CHECK(c.p95 == doctest::Approx(3.85));  // numpy.percentile([1, 2, 3, 4], 95)
  CHECK(summarize_clip_lengths({}).files == 0);
  CHECK(summarize_clip_lengths({0.0, -1.0}).files == 0);  // nothing measurable: not recorded
}

TEST_CASE("predict inputs: folders walked in sorted order, lists read, and inputs that name nothing refused") {
  test::TempDir dir;
  fs::create_directories(dir / "calls" / "b");
  for (const char* f : {"calls/z.wav", "calls/b/a.FLAC", "calls/a.mp3", "calls/notes.txt"}) std::ofstream(dir / f) << "x";
  std::istringstream no_stdin;
  const auto walked = collect_inputs({(dir / "calls").string()}, "", no_stdin);
  REQUIRE(walked.size() == 3);
  CHECK(walked[0] == dir / "calls" / "a.mp3");
  CHECK(walked[1] == dir / "calls" / "b" / "a.FLAC");
  CHECK(walked[2] == dir / "calls" / "z.wav");
  // A named file is taken as it is (it fails on its own if it does not decode).
  CHECK(collect_inputs({(dir / "calls/notes.txt").string()}, "", no_stdin).size() == 1);

  std::ofstream(dir / "list.txt") << (dir / "calls/z.wav").string() << "\r\n\n   \n" << (dir / "calls/b").string() << "\n";
  const auto listed = collect_inputs({}, (dir / "list.txt").string(), no_stdin);
  REQUIRE(listed.size() == 2);
  CHECK(listed[0] == dir / "calls" / "z.wav");
  CHECK(listed[1] == dir / "calls" / "b" / "a.FLAC");
  std::istringstream piped((dir / "calls/a.mp3").string() + "\n");
  CHECK(collect_inputs({}, "-", piped) == std::vector<fs::path>{dir / "calls" / "a.mp3"});

  fs::create_directories(dir / "empty");
  fs::create_directories(dir / "texts");
  std::ofstream(dir / "texts/readme.txt") << "x";
  std::ofstream(dir / "blank.txt") << "\n\n";
  CHECK_THROWS_WITH_AS(collect_inputs({(dir / "empty").string()}, "", no_stdin),
                       doctest::Contains("empty: no audio files in this folder (it is empty;"), Error);
  CHECK_THROWS_WITH_AS(collect_inputs({(dir / "texts").string()}, "", no_stdin),
                       doctest::Contains("texts: no audio files in this folder (1 other file; audio files end in .wav"),
                       Error);
  CHECK_THROWS_WITH_AS(collect_inputs({}, (dir / "blank.txt").string(), no_stdin),
                       doctest::Contains("the list names no file"), Error);
  CHECK_THROWS_WITH_AS(collect_inputs({}, (dir / "nope.txt").string(), no_stdin), doctest::Contains("no such file"),
                       Error);
  CHECK_THROWS_WITH_AS(collect_inputs({}, "", no_stdin), doctest::Contains("nothing to predict"), Error);
}

TEST_CASE("a long recording's timeline wraps into rows of a minute; the title rounds the window and hop") {
  FilePrediction r;
  r.file = "nine minutes.wav";
  r.sample_rate = 10;
  r.whole = false;
  r.seconds = 540;
  r.windows = plan_windows(5400, 30, 20);  // 3 s windows every 2 s
  const std::size_t n = r.windows.size();
  r.silent.assign(n, false);
  for (std::size_t k = 0; k < n; ++k) r.probabilities.insert(r.probabilities.end(), {k % 60 < 30 ? 0.8f : 0.2f, k % 60 < 30 ? 0.2f : 0.8f});
  const std::vector<std::string> names{"calm", "tense"};
  r.segments = merge_segments(r.windows, r.silent, stretch_probabilities(r.windows, r.silent, r.probabilities, 2), 2, 10);
  r.mean_probabilities = {0.5f, 0.5f};
  r.label = 0;
  const std::string svg = timeline_svg(r, names);
  const test::XmlSummary xml = test::check_xml(svg);
  CHECK_MESSAGE(xml.error.empty(), xml.error);
  CHECK(test::count_elements(svg, "g", "class=\"row\"") == 9);
  CHECK(svg.find("height=\"2820\"") != std::string::npos);  // 9 rows of 310 px and the caption
  CHECK(test::count_elements(svg, "path", "class=\"series\"") == 2 * 9);
  CHECK(svg.find("(9 rows of 1:00)") != std::string::npos);
  CHECK(svg.find(">8:00<") != std::string::npos);  // the last row's first tick
  CHECK(svg.find("windows of 3.00 s every 2.00 s") != std::string::npos);
  test::check_xml_with_python(svg);
}

TEST_CASE("the timeline title rounds a hop of 0.666687 s to 0.67 s") {
  FilePrediction r;
  r.file = "ten seconds.wav";
  r.sample_rate = 16000;
  r.whole = false;
  r.seconds = 10;
  r.windows = plan_windows(160000, 32000, 10667);  // 2 s windows every 10667 samples = 0.6666875 s
  const std::size_t n = r.windows.size();
  r.silent.assign(n, false);
  for (std::size_t k = 0; k < n; ++k) r.probabilities.insert(r.probabilities.end(), {0.7f, 0.3f});
  r.segments = merge_segments(r.windows, r.silent, r.probabilities, 2, 16000);
  r.mean_probabilities = {0.7f, 0.3f};
  r.label = 0;
  const std::string svg = timeline_svg(r, {"calm", "tense"});
  CHECK(svg.find(fmt::format("{} windows of 2.00 s every 0.67 s", n)) != std::string::npos);
  CHECK(svg.find("0.666") == std::string::npos);
  CHECK(test::check_xml(svg).error.empty());
}

TEST_CASE("the timeline picture is well-formed SVG with one series per class and one band rectangle per segment") {
  FilePrediction r;
  r.file = "talk <1> & more.wav";  // names are escaped
  r.sample_rate = 100;
  r.whole = false;
  r.seconds = 6;
  r.windows = plan_windows(600, 100, 100);
  r.silent = {false, false, true, false, false, false};
  r.probabilities = {0.9f, 0.05f, 0.05f, 0.7f, 0.2f, 0.1f, 0.3f, 0.3f, 0.4f,
                     0.1f, 0.8f, 0.1f, 0.2f, 0.7f, 0.1f, 0.6f, 0.3f, 0.1f};
  const std::vector<std::string> names{"neutral", "happy", "a&b"};
  r.segments = merge_segments(r.windows, r.silent, r.probabilities, 3, 100);
  r.mean_probabilities = {0.5f, 0.4f, 0.1f};
  r.label = 0;
  const std::string svg = timeline_svg(r, names);
  const test::XmlSummary xml = test::check_xml(svg);
  CHECK_MESSAGE(xml.error.empty(), xml.error);
  CHECK(xml.root == "svg");
  CHECK(test::count_elements(svg, "path", "class=\"series\"") == 3);
  for (const char* name : {"data-class=\"neutral\"", "data-class=\"happy\"", "data-class=\"a&amp;b\""})
    CHECK_MESSAGE(svg.find(name) != std::string::npos, name);
  CHECK(test::count_elements(svg, "rect", "class=\"segment\"") == static_cast<int>(r.segments.size()));
  CHECK(svg.find("data-label=\"silent\"") != std::string::npos);
  // The silent window breaks every series: two strokes each.
  const std::size_t first = svg.find("class=\"series\"");
  const std::string path = svg.substr(first, svg.find("/>", first) - first);
  CHECK(std::count(path.begin(), path.end(), 'M') == 2);
  test::check_xml_with_python(svg);
}

}  // TEST_SUITE
