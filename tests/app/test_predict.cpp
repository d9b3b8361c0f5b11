// `ser predict` over recordings, folders and lists, with a small model trained on the demo
// corpus (app/demo_model.h): the timeline of ten clips in a row separated by silence, windows
// that are exactly the training images, batching that changes nothing, results in input
// order with failures reported; then the real binary's output formats and its refusals of
// bad input (one line, non-zero status, nothing written).
#include <doctest/doctest.h>

#include <sndfile.h>
#include <sys/wait.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "app/demo_model.h"
#include "app/xml_check.h"
#include "apps/predict.h"
#include "data/demo_corpus.h"
#include "features/audio.h"
#include "support/ser_process.h"
#include "support/temp_dir.h"

using namespace ser;
using namespace ser::app;
namespace fs = std::filesystem;

namespace {

constexpr int kRate = 16000;

// A quiet background (about -70 dBFS) of n samples, deterministic.
void append_background(std::vector<float>& out, int64_t n, uint32_t seed) {
  std::mt19937 engine(seed);
  std::normal_distribution<float> noise(0.0f, 0.0003f);
  for (int64_t i = 0; i < n; ++i) out.push_back(noise(engine));
}

// Float WAV: the clips' decoded samples go in and come out bit for bit (16-bit PCM would
// round them again).
void write_float_wav(const fs::path& path, const std::vector<float>& x) {
  SF_INFO info{};
  info.samplerate = kRate;
  info.channels = 1;
  info.format = SF_FORMAT_WAV | SF_FORMAT_FLOAT;
  SNDFILE* f = sf_open(path.c_str(), SFM_WRITE, &info);
  REQUIRE_MESSAGE(f != nullptr, sf_strerror(nullptr));
  CHECK(sf_writef_float(f, x.data(), static_cast<sf_count_t>(x.size())) == static_cast<sf_count_t>(x.size()));
  sf_close(f);
}

struct Recording {
  fs::path file;
  std::vector<std::pair<double, double>> clips;  // seconds [start, end) of each clip
  std::vector<std::pair<double, double>> gaps;   // the background between and around them
  std::vector<int> labels;                       // true class of each clip
};

// 1 s of background, then each clip followed by `gap` seconds of background.
Recording clips_in_a_row(const fs::path& file, const std::vector<data::ManifestEntry>& clips, double gap) {
  Recording r;
  r.file = file;
  std::vector<float> x;
  append_background(x, kRate, 1);
  r.gaps.emplace_back(0.0, 1.0);
  for (std::size_t i = 0; i < clips.size(); ++i) {
    const std::vector<float> clip = features::load_audio(clips[i].path, kRate);
    const double start = double(x.size()) / kRate;
    x.insert(x.end(), clip.begin(), clip.end());
    r.clips.emplace_back(start, double(x.size()) / kRate);
    r.labels.push_back(clips[i].label);
    append_background(x, std::llround(gap * kRate), static_cast<uint32_t>(i + 2));
    r.gaps.emplace_back(r.clips.back().second, double(x.size()) / kRate);
  }
  write_float_wav(file, x);
  return r;
}

std::vector<FilePrediction> predict_all(const std::vector<fs::path>& files, PredictOptions options = {}) {
  train::LoadedModel loaded = train::load_model(test::demo_model().model_file);
  std::vector<FilePrediction> out;
  Predictor(loaded, options).run(files, [&](FilePrediction& r) { out.push_back(r); });
  return out;
}

// Ten unseen-speaker clips, in class order and then again from the first.
std::vector<data::ManifestEntry> ten_clips() {
  const auto& unseen = test::demo_model().unseen;
  REQUIRE(unseen.size() >= 10);
  return {unseen.begin(), unseen.begin() + 10};
}

using Result = test::ProcessResult;
Result run(const std::string& args, const fs::path& scratch, const std::string& environment = "") {
  return test::run_ser_process(args, scratch, environment);
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

}  // namespace

TEST_SUITE("app") {

TEST_CASE("ten clips in a row: ten voiced stretches within one hop of the clips, the gaps silent") {
  const test::DemoModel& model = test::demo_model();
  CHECK(model.training_accuracy > 0.9);
  test::TempDir dir;
  const Recording rec = clips_in_a_row(dir / "ten.wav", ten_clips(), 1.5);
  const std::vector<FilePrediction> out = predict_all({rec.file});
  REQUIRE(out.size() == 1);
  const FilePrediction& r = out[0];
  REQUIRE_MESSAGE(r.ok(), r.error);
  CHECK_FALSE(r.whole);
  const double hop = 0.5;  // default: a third of the model's 1.5 s clips
  CHECK(r.windows.size() == 1 + static_cast<std::size_t>((r.seconds - 1.5) / hop + 1e-9));

  // Voiced stretches: maximal runs of non-silent segments.
  std::vector<std::pair<double, double>> voiced;
  int labelled_segments = 0;
  for (const Segment& s : r.segments) {
    if (s.label < 0) continue;
    ++labelled_segments;
    if (!voiced.empty() && std::abs(voiced.back().second - s.start) < 1e-9)
      voiced.back().second = s.end;
    else
      voiced.emplace_back(s.start, s.end);
  }
  std::string timeline;
  for (const Segment& s : r.segments)
    timeline += fmt::format("{:.2f}-{:.2f} {}\n", s.start, s.end, s.label < 0 ? "silent" : model.class_names[s.label]);
  CAPTURE(timeline);
  REQUIRE(voiced.size() == rec.clips.size());
  for (std::size_t i = 0; i < voiced.size(); ++i) {
    CAPTURE(i);
    CHECK(std::abs(voiced[i].first - rec.clips[i].first) <= hop + 1e-9);
    CHECK(std::abs(voiced[i].second - rec.clips[i].second) <= hop + 1e-9);
  }
  // "Ten or so" segments: the stretches at a clip's edges are labelled with the windows
  // that see the clip whole too, so a clip is one segment, rarely two.
  CHECK(labelled_segments >= 10);
  CHECK(labelled_segments <= 13);
  for (const auto& gap : rec.gaps) {
    const double middle = (gap.first + gap.second) / 2;
    bool silent = false;
    for (const Segment& s : r.segments) silent |= s.start <= middle && middle < s.end && s.label < 0;
    CHECK_MESSAGE(silent, "gap " << gap.first << "-" << gap.second << " s is not marked silent");
  }
}

TEST_CASE("a window that covers a clip exactly gives that clip's one-image prediction, in any batch size") {
  test::TempDir dir;
  const Recording rec = clips_in_a_row(dir / "three.wav", {ten_clips()[0], ten_clips()[3], ten_clips()[5]}, 1.5);
  std::vector<fs::path> clip_files;
  for (const auto& e : {ten_clips()[0], ten_clips()[3], ten_clips()[5]}) clip_files.push_back(e.path);
  const std::vector<FilePrediction> clips = predict_all(clip_files);
  for (int batch : {1, 5, 32}) {
    CAPTURE(batch);
    PredictOptions options;
    options.batch = batch;
    const FilePrediction r = predict_all({rec.file}, options)[0];
    REQUIRE(r.ok());
    const int classes = static_cast<int>(test::demo_model().class_names.size());
    for (std::size_t i = 0; i < rec.clips.size(); ++i) {
      // Clips start on multiples of the hop: one window starts there and spans the clip.
      const auto start = static_cast<int64_t>(std::llround(rec.clips[i].first * kRate));
      std::size_t k = 0;
      while (k < r.windows.size() && r.windows[k].start != start) ++k;
      REQUIRE(k < r.windows.size());
      REQUIRE(clips[i].ok());
      CHECK(clips[i].whole);
      for (int c = 0; c < classes; ++c)
        CHECK(r.probabilities[k * classes + c] == doctest::Approx(clips[i].probabilities[c]).epsilon(1e-5));
    }
  }
}

TEST_CASE("files come back in input order; one that fails says why and the rest go on") {
  test::TempDir dir;
  const auto clips = ten_clips();
  const Recording rec = clips_in_a_row(dir / "long.wav", {clips[1], clips[2]}, 1.0);
  std::ofstream(dir / "text.wav") << "this is not audio";
  data::write_wav_pcm16(dir / "short.wav", std::vector<float>(4000, 0.2f), kRate);
  data::write_wav_pcm16(dir / "zeros.wav", std::vector<float>(10 * kRate, 0.0f), kRate);
  const std::vector<fs::path> files{clips[0].path, dir / "text.wav", rec.file, dir / "missing.wav", dir / "short.wav",
                                    clips[4].path, dir / "zeros.wav"};
  const std::vector<FilePrediction> out = predict_all(files, PredictOptions{0, 0, Framing::Auto, 35, 3, 0, false});
  REQUIRE(out.size() == files.size());
  for (std::size_t i = 0; i < files.size(); ++i) CHECK(out[i].file == files[i]);
  CHECK(out[0].ok());
  CHECK(out[0].whole);
  CHECK(out[1].error.find("cannot decode audio") != std::string::npos);
  CHECK(out[2].ok());
  CHECK_FALSE(out[2].whole);
  CHECK(out[3].error == "no such file");
  CHECK(out[4].ok());
  CHECK(out[4].warning.find("only 0.250 s long") != std::string::npos);
  CHECK(out[5].ok());
  CHECK(out[5].label >= 0);
  CHECK(out[6].ok());  // ten seconds of zeros: a timeline of silent windows, no label
  CHECK_FALSE(out[6].whole);
  CHECK(out[6].label == -1);
  CHECK(out[6].segments.size() == 1);
  CHECK(out[6].segments[0].label == -1);
  CHECK(out[6].warning.find("no signal") == 0);

  // Phone audio: a narrow band is said once per file, for one image and for a timeline alike.
  std::vector<float> tone(static_cast<std::size_t>(8000 * 1.5));
  for (std::size_t i = 0; i < tone.size(); ++i) tone[i] = 0.3f * static_cast<float>(std::sin(0.05 * double(i)));
  data::write_wav_pcm16(dir / "phone.wav", tone, 8000);
  std::vector<float> long_tone(static_cast<std::size_t>(3000 * 12));
  for (std::size_t i = 0; i < long_tone.size(); ++i)
    long_tone[i] = 0.3f * static_cast<float>(std::sin(0.05 * double(i)));
  data::write_wav_pcm16(dir / "narrow.wav", long_tone, 3000);
  const std::vector<FilePrediction> band = predict_all({dir / "phone.wav", dir / "narrow.wav"});
  REQUIRE(band.size() == 2);
  CHECK(band[0].whole);
  CHECK(band[0].warning.find("recorded at 8000 Hz: nothing above 4000 Hz, where the model's features reach 8000 Hz") == 0);
  CHECK_FALSE(band[1].whole);
  CHECK(band[1].warning.find("recorded at 3000 Hz: too little bandwidth for speech") == 0);
  for (const auto& r : band) CHECK(r.warning.find("recorded at", 1) == std::string::npos);  // once

  // One rule for silence: one second of zeros (one image, no timeline) is silent too, unlabelled.
  write_float_wav(dir / "second.wav", std::vector<float>(kRate, 0.0f));
  const std::vector<FilePrediction> one = predict_all({dir / "second.wav"});
  REQUIRE(one.size() == 1);
  CHECK(one[0].ok());
  CHECK(one[0].whole);
  CHECK(one[0].label == -1);
  CHECK(one[0].mean_probabilities.empty());
  REQUIRE(one[0].segments.size() == 1);
  CHECK(one[0].segments[0].label == -1);
  CHECK(one[0].warning == out[6].warning);

  // --window: every file in windows; one shorter than a window fails, saying so.
  PredictOptions windows;
  windows.window_seconds = 2.0;
  windows.framing = Framing::Windows;
  const std::vector<FilePrediction> w = predict_all({clips[0].path, rec.file}, windows);
  CHECK(w[0].error.find("1.50 s long, shorter than one --window of 2.00 s") != std::string::npos);
  CHECK(w[1].ok());
  CHECK(w[1].windows.front().end - w[1].windows.front().start == 2 * kRate);
}

TEST_CASE("signals in memory give the results of files holding the same samples; bad signals say why") {
  test::TempDir dir;
  const auto clips = ten_clips();
  const Recording rec = clips_in_a_row(dir / "long.wav", {clips[1], clips[2]}, 1.0);
  const std::vector<fs::path> files{clips[0].path, rec.file};
  std::vector<AudioSignal> signals;
  for (const fs::path& f : files) {
    features::DecodedAudio d = features::decode_mono(f);
    signals.push_back({f.string(), std::move(d.samples), d.sample_rate});
  }
  signals.push_back({"empty", {}, kRate});
  signals.push_back({"nan", {0.1f, std::nanf(""), 0.2f}, kRate});
  signals.push_back({"no rate", {0.1f, 0.2f}, 0});
  PredictOptions options;
  options.batch = 3;
  const std::vector<FilePrediction> from_files = predict_all(files, options);
  train::LoadedModel loaded = train::load_model(test::demo_model().model_file);
  std::vector<FilePrediction> out;
  Predictor(loaded, options).run(signals, [&](FilePrediction& r) { out.push_back(r); });
  REQUIRE(out.size() == signals.size());
  for (std::size_t i = 0; i < files.size(); ++i) {
    CAPTURE(i);
    const FilePrediction &a = out[i], &b = from_files[i];
    REQUIRE_MESSAGE(a.ok(), a.error);
    CHECK(a.file == b.file);
    CHECK(a.whole == b.whole);
    CHECK(a.seconds == b.seconds);
    CHECK(a.windows.size() == b.windows.size());
    CHECK(a.silent == b.silent);
    CHECK(a.probabilities == b.probabilities);  // bit for bit
    CHECK(a.mean_probabilities == b.mean_probabilities);
    CHECK(a.segments.size() == b.segments.size());
    CHECK(a.label == b.label);
  }
  CHECK_FALSE(out[1].whole);
  CHECK(out[2].error == "holds no audio samples");
  CHECK(out[3].error == "sample 1 is nan (NaN/Inf samples are not audio)");
  CHECK(out[4].error == "sample rate must be positive, got 0 Hz");
}

TEST_CASE("ser predict: a folder, a list on standard input, JSON lines that stand alone, and a picture") {
  const test::DemoModel& model = test::demo_model();
  test::TempDir dir;
  fs::create_directories(dir / "calls" / "more");
  const auto clips = ten_clips();
  clips_in_a_row(dir / "calls" / "b_long.wav", {clips[0], clips[1], clips[2]}, 1.5);
  fs::copy_file(clips[3].path, dir / "calls" / "a_clip.wav");
  fs::copy_file(clips[4].path, dir / "calls" / "more" / "c_clip.wav");
  std::ofstream(dir / "calls" / "broken.wav") << "not audio";
  std::ofstream(dir / "calls" / "notes.txt") << "ignored: not an audio extension";
  const std::string m = "--model " + model.model_file.string() + " ";

  const Result table = run("predict " + m + (dir / "calls").string(), dir.path());
  CAPTURE(table.out);
  CAPTURE(table.err);
  CHECK(table.status == 1);  // broken.wav failed
  CHECK(table.err.find("ser: error: " + (dir / "calls" / "broken.wav").string() + ": cannot decode audio") !=
        std::string::npos);
  const auto rows = lines_of(table.out);
  REQUIRE(rows.size() >= 6);  // the header, a_clip, >= 3 rows of b_long, c_clip
  CHECK(rows[0] == "file\tstart\tend\temotion\tprobability");
  CHECK(rows[1].rfind((dir / "calls" / "a_clip.wav").string() + "\t0.00\t1.50\t", 0) == 0);
  CHECK(rows.back().rfind((dir / "calls" / "more" / "c_clip.wav").string() + "\t0.00\t1.50\t", 0) == 0);
  CHECK(table.out.find("\tsilent\t\n") != std::string::npos);  // no probability: an empty field
  // Every numeric column is a number or empty (pandas reads "-" as text and the whole column with it).
  for (std::size_t i = 1; i < rows.size(); ++i) {
    CAPTURE(rows[i]);
    std::vector<std::string> fields;
    std::istringstream in(rows[i] + "\t");
    for (std::string f; std::getline(in, f, '\t');) fields.push_back(f);
    REQUIRE(fields.size() == 5);
    for (std::size_t k : {1, 2, 4}) {
      if (k == 4 && fields[3] == "silent") {
        CHECK(fields[k].empty());
        continue;
      }
      std::size_t used = 0;
      CHECK_NOTHROW(std::stod(fields[k], &used));
      CHECK(used == fields[k].size());
    }
  }

  std::ofstream(dir / "list.txt") << (dir / "calls" / "a_clip.wav").string() << "\n"
                                  << (dir / "calls" / "b_long.wav").string() << "\n";
  const Result json = run("predict --json " + m + "--files-from - < " + (dir / "list.txt").string(), dir.path());
  CAPTURE(json.err);
  CHECK(json.status == 0);
  const auto objects = lines_of(json.out);
  REQUIRE(objects.size() == 2);
  const auto clip = nlohmann::json::parse(objects[0]);
  const auto timeline = nlohmann::json::parse(objects[1]);
  CHECK(clip["whole"] == true);
  CHECK(clip["windows"].size() == 1);
  CHECK(clip["probabilities"].size() == model.class_names.size());
  CHECK(timeline["whole"] == false);
  CHECK(timeline["window"] == 1.5);
  CHECK(timeline["hop"] == 0.5);
  CHECK(timeline["windows"].size() > 10);
  bool silent_segment = false;
  for (const auto& s : timeline["segments"]) silent_segment |= s["emotion"] == "silent";
  CHECK(silent_segment);
  const Result failed = run("predict --json " + m + (dir / "calls" / "broken.wav").string(), dir.path());
  CHECK(failed.status == 1);
  const auto error = nlohmann::json::parse(failed.out);
  CHECK(error["file"] == (dir / "calls" / "broken.wav").string());
  CHECK(error["error"].get<std::string>().find("cannot decode audio") != std::string::npos);

  const Result plot = run("predict " + m + "--plot " + (dir / "t.svg").string() + " " +
                              (dir / "calls" / "b_long.wav").string(), dir.path());
  CHECK(plot.status == 0);
  std::ifstream in(dir / "t.svg");
  std::stringstream svg;
  svg << in.rdbuf();
  const test::XmlSummary xml = test::check_xml(svg.str());
  CHECK_MESSAGE(xml.error.empty(), xml.error);
  CHECK(test::count_elements(svg.str(), "path", "class=\"series\"") == static_cast<int>(model.class_names.size()));
  test::check_xml_with_python(svg.str());
}

TEST_CASE("a stop request (Ctrl-C) ends the run with the timeline read so far; files not started are left out") {
  const test::DemoModel& model = test::demo_model();
  test::TempDir dir;
  std::vector<data::ManifestEntry> twenty = ten_clips();
  const auto ten = ten_clips();
  twenty.insert(twenty.end(), ten.begin(), ten.end());
  const Recording rec = clips_in_a_row(dir / "long.wav", twenty, 1.5);
  const std::vector<FilePrediction> full = predict_all({rec.file});
  REQUIRE(full.size() == 1);
  int polls = 0;
  PredictOptions options;
  options.stop = [&polls] { return ++polls > 4; };  // a few blocks into the first file
  const std::vector<FilePrediction> out = predict_all({rec.file, ten[0].path}, options);
  REQUIRE(out.size() == 1);  // the second file never started
  const FilePrediction& r = out[0];
  REQUIRE_MESSAGE(r.ok(), r.error);
  CHECK(r.warning.find("interrupted: the timeline covers the first ") != std::string::npos);
  REQUIRE(!r.windows.empty());
  CHECK(r.windows.size() < full[0].windows.size());
  CHECK(r.seconds < full[0].seconds);
  // The windows it has are the full run's: the same windows, the same probabilities (to 1e-6:
  // the last batch holds fewer images, and the GEMM's blocking rounds a batch of another
  // size differently in the last bits).
  const std::size_t c_count = model.class_names.size();
  for (std::size_t k = 0; k < r.windows.size(); ++k) {
    CAPTURE(k);
    CHECK(r.windows[k].start == full[0].windows[k].start);
    for (std::size_t c = 0; c < c_count; ++c)
      CHECK(r.probabilities[k * c_count + c] == doctest::Approx(full[0].probabilities[k * c_count + c]).epsilon(1e-6));
  }
  CHECK(r.segments.back().end <= r.seconds + 1e-9);
}

TEST_CASE("the progress count is the inputs' seconds of audio, reached by the end of the run") {
  test::TempDir dir;
  std::vector<float> second, long_one;
  append_background(second, kRate, 7);  // 1 s: one image
  append_background(long_one, 12 * kRate, 8);  // 12 s: a timeline, read in blocks
  write_float_wav(dir / "one.wav", second);
  write_float_wav(dir / "long.wav", long_one);
  std::ofstream(dir / "broken.wav") << "not audio";  // counts nothing
  std::vector<std::pair<int64_t, int64_t>> calls;
  PredictOptions options;
  options.on_progress = [&calls](int64_t done, int64_t total) { calls.emplace_back(done, total); };
  const auto out = predict_all({dir / "one.wav", dir / "broken.wav", dir / "long.wav"}, options);
  REQUIRE(out.size() == 3);
  CHECK(out[0].whole);
  CHECK_FALSE(out[1].ok());
  CHECK_FALSE(out[2].whole);
  REQUIRE(calls.size() >= 3);  // the timeline moves the count more than once
  for (std::size_t k = 0; k < calls.size(); ++k) {
    CAPTURE(k);
    CHECK(calls[k].second == 13);  // 1 s + 12 s; the broken file counts nothing
    if (k > 0) CHECK(calls[k].first > calls[k - 1].first);
  }
  CHECK(calls.front().first == 1);  // the one-image file, read whole
  CHECK(calls.back().first == 13);
}

TEST_CASE("ser eval streams the corpus in chunks and reports the accuracy the model has on it") {
  const test::DemoModel& model = test::demo_model();
  test::TempDir dir;
  const Result r = run("eval --model " + model.model_file.string() + " --data " + model.corpus.string() +
                           " --cache none --out " + (dir / "eval").string(),
                       dir.path());
  CAPTURE(r.err);
  REQUIRE(r.status == 0);
  CHECK(r.out.find("(144 files)") != std::string::npos);
  std::ifstream in(dir / "eval" / "metrics.json");
  const auto metrics = nlohmann::json::parse(in);
  CHECK(metrics["accuracy"].get<double>() == doctest::Approx(model.training_accuracy).epsilon(1e-9));
}

TEST_CASE("ser eval --perturb: one row per condition, clean equal to the unperturbed figures") {
  const test::DemoModel& model = test::demo_model();
  test::TempDir dir;
  const std::string base = "eval --model " + model.model_file.string() + " --data " + model.corpus.string() +
                           " --cache none --out " + (dir / "eval").string();
  const Result r = run(base + " --perturb gain-20db,clean,noise-snr10", dir.path());
  CAPTURE(r.err);
  REQUIRE(r.status == 0);
  std::ifstream in(dir / "eval" / "metrics.json");
  const auto metrics = nlohmann::json::parse(in);
  const auto& rows = metrics.at("perturbations");
  REQUIRE(rows.size() == 3);
  CHECK(rows[0]["name"] == "gain-20db");  // in the order given
  CHECK(rows[1]["name"] == "clean");
  CHECK(rows[2]["name"] == "noise-snr10");
  CHECK(rows[1]["accuracy"].get<double>() == metrics["accuracy"].get<double>());
  for (const auto& row : rows) CHECK(row["files"] == 144);
  // Pink noise at 10 dB SNR changes the images, so the figures move (the synthetic corpus's
  // tones are not robust to it); a level change alone must not break the model.
  CHECK(rows[2]["accuracy"].get<double>() < metrics["accuracy"].get<double>());
  CHECK(rows[0]["accuracy"].get<double>() > 0.8 * metrics["accuracy"].get<double>());
  CHECK(r.out.find("noise-snr10") != std::string::npos);
  std::ifstream html(dir / "eval" / "report.html");
  std::stringstream page;
  page << html.rdbuf();
  CHECK(page.str().find("<h2>Perturbation</h2>") != std::string::npos);

  for (const auto& [value, says] : std::vector<std::pair<std::string, std::string>>{
           {"tele", "--perturb: unknown condition 'tele' (conditions: clean, telephone,"},
           {"clean,clean", "--perturb: 'clean' is given twice"},
           {"clean,", "--perturb: unknown condition ''"}}) {
    const Result bad = run(base + "-bad --perturb " + value, dir.path());
    CHECK(bad.status == 1);
    CHECK(bad.err.find(says) != std::string::npos);
    CHECK(!fs::exists(dir / "eval-bad"));
  }
}

TEST_CASE("without --model, predict and eval use $SER_MODEL, else the shipped models/default.safetensors") {
  const test::DemoModel& model = test::demo_model();
  test::TempDir dir;
  const std::string clip = ten_clips()[0].path.string();
  const Result with_env = run("predict " + clip, dir.path(), "SER_MODEL=" + model.model_file.parent_path().string() + " ");
  CAPTURE(with_env.err);
  REQUIRE(with_env.status == 0);
  CHECK(with_env.err.find("model: " + model.model_file.string() + " ($SER_MODEL; --model to choose another)") !=
        std::string::npos);
  const Result given = run("predict --model " + model.model_file.string() + " " + clip, dir.path());
  CHECK(given.out == with_env.out);
  const Result eval = run("eval --cache none --out " + (dir / "ev").string() + " --data " + model.corpus.string(),
                          dir.path(), "SER_MODEL=" + model.model_file.string() + " ");
  CHECK(eval.status == 0);
  CHECK(fs::exists(dir / "ev" / "metrics.json"));
  const Result missing = run("predict " + clip, dir.path(), "SER_MODEL=" + (dir / "nothing").string() + " ");
  CHECK(missing.status == 1);
  CHECK(missing.err.find("$SER_MODEL " + (dir / "nothing").string() + ": no such file or folder") != std::string::npos);

  const fs::path shipped = fs::path(SER_SOURCE_DIR) / "models" / "default.safetensors";
  const Result plain = run("predict " + clip, dir.path(), "env -u SER_MODEL ");
  if (fs::exists(shipped)) {
    CAPTURE(plain.err);
    CHECK(plain.status == 0);
    CHECK(plain.err.find("model: " + shipped.string() + " (the shipped default") != std::string::npos);
    CHECK(plain.out.find(clip) != std::string::npos);
  } else {
    MESSAGE("models/default.safetensors is absent: checking the error that says so");
    CHECK(plain.status == 1);
    CHECK(plain.err.find("no --model given and no shipped default model found") != std::string::npos);
    CHECK(plain.err.find("scripts/train-default-model") != std::string::npos);
  }
}

TEST_CASE("ser predict refuses bad input with one line, a non-zero status, and nothing written") {
  const test::DemoModel& model = test::demo_model();
  test::TempDir dir;
  const std::string m = "--model " + model.model_file.string() + " ";
  const std::string clip = ten_clips()[0].path.string();
  fs::create_directories(dir / "empty");
  fs::create_directories(dir / "texts");
  std::ofstream(dir / "texts" / "a.txt") << "x";
  struct Case {
    std::string args, says;
    int status;
  };
  const std::vector<Case> cases{
      {(dir / "empty").string(), "empty: no audio files in this folder (it is empty;", 1},
      {(dir / "texts").string(), "texts: no audio files in this folder (1 other file;", 1},
      {"--window 2 " + clip, "1.50 s long, shorter than one --window of 2.00 s", 1},
      {"--window 60 " + clip, "shorter than one --window of 60.00 s", 1},
      {"--hop 0 " + clip, "--hop: must be a number in (0, 3600), got '0'", 105},
      {"--hop -1 " + clip, "--hop", 105},
      {"--window 1 --hop 2 " + clip, "--hop 2 s is longer than the window of 1 s", 1},
      {"--whole --window 2 " + clip, "--whole scores each file as one image", 1},
      {"--plot " + (dir / "no" / "such" / "x.svg").string() + " " + clip, "x.svg: no folder", 1},
      {"--plot " + (dir / "empty").string() + " " + clip, "is a folder", 1},
      {"--plot " + (dir / "x.png").string() + " " + clip,
       "x.png: the timeline is written as SVG, so the name must end in .svg (e.g. x.svg)", 1},
      {"--plot " + (dir / "x.svg").string() + " " + clip + " " + clip, "draws one recording, and 2 files", 1},
      {"", "nothing to predict", 1},
  };
  for (const Case& c : cases) {
    CAPTURE(c.args);
    const Result r = run("predict " + m + c.args, dir.path());
    CAPTURE(r.err);
    CHECK(r.status == c.status);
    CHECK(r.err.find(c.says) != std::string::npos);
    CHECK(r.out.empty());
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  }
  CHECK_FALSE(fs::exists(dir / "x.svg"));
  CHECK_FALSE(fs::exists(dir / "no"));
}

}  // TEST_SUITE
