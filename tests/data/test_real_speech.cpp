// Real speech: the corpus indexer (`ser train --data`), the named speaker split
// (--val-speakers) and the audio front-end on RAVDESS actors 01-20 as FLAC
// ($SER_SHARED_DATA/ravdess-dev, default ../shared/data/ravdess-dev beside the source tree;
// its README gives the counts asserted here). Without that folder every case prints a
// "[ SKIP ]" line naming it, and the run ends with a "[ser] N real-speech test case(s)
// SKIPPED" line, so a machine without the data never passes these cases silently.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "data/index.h"
#include "data/split.h"
#include "features/audio.h"
#include "features/logmel.h"
#include "support/gpu.h"

namespace fs = std::filesystem;
using namespace ser;

namespace {

// $SER_SHARED_DATA/ravdess-dev, else <source>/../shared/data/ravdess-dev.
fs::path ravdess_dev() {
  const char* env = std::getenv("SER_SHARED_DATA");
  const fs::path shared = env && *env ? fs::path(env) : fs::path(SER_SOURCE_DIR) / ".." / "shared" / "data";
  return (shared / "ravdess-dev").lexically_normal();
}

// Counts the skipped cases and names them in one line after doctest's summary (printed at
// exit, after main()'s own GPU skip lines).
struct RealSpeechSkips {
  int count = 0;
  ~RealSpeechSkips() {
    if (count > 0)
      std::printf("[ser] %d real-speech test case(s) SKIPPED: %s is absent (set SER_SHARED_DATA)\n", count,
                  ravdess_dev().string().c_str());
  }
};
RealSpeechSkips g_skips;

// True when the corpus is there; otherwise prints and records the skip of the current case.
bool ravdess_dev_or_skip() {
  const fs::path dir = ravdess_dev();
  if (fs::is_directory(dir)) return true;
  ++g_skips.count;
  const std::string why = "no real speech: " + dir.string() + " is absent";
  std::printf("[ SKIP ] %s: %s\n", test::current_test_name().c_str(), why.c_str());
  MESSAGE("SKIPPED: " << why);
  return false;
}

#define SER_REQUIRE_RAVDESS_DEV()         \
  do {                                    \
    if (!ravdess_dev_or_skip()) return;   \
  } while (0)

data::IndexResult index_ravdess_dev(const data::ClassSet& classes) {
  return data::index_corpora({{ravdess_dev(), data::CorpusKind::Auto}}, classes);
}

// The published duplicate: the same bytes as Actor_07/03-01-03-01-02-01-07 (sorted first,
// so the one kept).
const char* const kDuplicate = "03-01-03-01-02-02-07.flac";

}  // namespace

TEST_SUITE("data") {

TEST_CASE("real speech ravdess-dev: six-class index sees 1200 files, uses 879, drops the one duplicate") {
  SER_REQUIRE_RAVDESS_DEV();
  const data::IndexResult r = index_ravdess_dev(data::ClassSet::six());
  INFO(r.summary.table());
  REQUIRE(r.summary.corpora.size() == 1);
  CHECK(r.summary.corpora[0].corpus == "ravdess");
  const data::CorpusCounts total = r.summary.total();
  CHECK(total.files_seen == 1200);
  CHECK(total.used == 879);  // 20 actors x (4 neutral + 5 x 8) = 880, less the duplicate
  CHECK(total.duplicates == 1);
  CHECK(total.excluded == 320);
  CHECK(total.excluded_by_label == std::map<std::string, int64_t>{{"calm", 160}, {"surprised", 160}});
  CHECK(total.rejected == 0);
  CHECK(total.unmatched == 0);
  CHECK(r.entries.size() == 879);
  // happy (label 1) lost the duplicate.
  CHECK(r.summary.used_per_class == std::vector<int64_t>{80, 159, 160, 160, 160, 160});

  REQUIRE(r.skipped.size() == 1);
  CHECK(r.skipped[0].first.filename() == kDuplicate);
  CHECK(r.skipped[0].first.parent_path().filename() == "Actor_07");
  CHECK(r.skipped[0].second.find("duplicate of") != std::string::npos);
  CHECK(r.skipped[0].second.find("03-01-03-01-02-01-07.flac") != std::string::npos);

  std::set<std::string> speakers;
  int64_t flac = 0;
  for (const auto& e : r.entries) {
    speakers.insert(e.speaker);
    flac += e.path.extension() == ".flac";
  }
  CHECK(flac == 879);
  CHECK(speakers.size() == 20);
  CHECK(*speakers.begin() == "ravdess:Actor_01");
  CHECK(*speakers.rbegin() == "ravdess:Actor_20");
}

TEST_CASE("real speech ravdess-dev: eight-class index uses 1199 files") {
  SER_REQUIRE_RAVDESS_DEV();
  const data::IndexResult r = index_ravdess_dev(data::ClassSet::eight());
  INFO(r.summary.table());
  const data::CorpusCounts total = r.summary.total();
  CHECK(total.files_seen == 1200);
  CHECK(total.used == 1199);
  CHECK(total.duplicates == 1);
  CHECK(total.excluded == 0);
  CHECK(r.entries.size() == 1199);
  std::map<std::string, int64_t> per_class;
  for (std::size_t i = 0; i < r.summary.class_names.size(); ++i)
    per_class[r.summary.class_names[i]] = r.summary.used_per_class[i];
  CHECK(per_class == std::map<std::string, int64_t>{{"neutral", 80}, {"calm", 160}, {"happy", 159}, {"sad", 160},
                                                      {"angry", 160}, {"fearful", 160}, {"disgust", 160},
                                                      {"surprised", 160}});
}

TEST_CASE("real speech ravdess-dev: --val-speakers Actor_17..Actor_20 gives 176 validation, 703 training files") {
  SER_REQUIRE_RAVDESS_DEV();
  const data::IndexResult r = index_ravdess_dev(data::ClassSet::six());
  const data::Split split = data::named_speaker_split(r.entries, data::parse_speaker_list("Actor_17..Actor_20"), {});
  CHECK(split.validation.size() == 176);  // 4 actors x 44
  CHECK(split.train.size() == 703);       // 16 actors x 44, less the duplicate (Actor_07)
  CHECK(split.test.empty());

  std::set<std::string> train_speakers, val_speakers;
  std::vector<int64_t> val_per_class(6, 0);
  for (int64_t i : split.train) train_speakers.insert(r.entries[static_cast<std::size_t>(i)].speaker);
  for (int64_t i : split.validation) {
    const auto& e = r.entries[static_cast<std::size_t>(i)];
    val_speakers.insert(e.speaker);
    ++val_per_class[static_cast<std::size_t>(e.label)];
  }
  CHECK(val_speakers == std::set<std::string>{"ravdess:Actor_17", "ravdess:Actor_18", "ravdess:Actor_19",
                                               "ravdess:Actor_20"});
  CHECK(train_speakers.size() == 16);
  std::vector<std::string> overlap;
  std::set_intersection(train_speakers.begin(), train_speakers.end(), val_speakers.begin(), val_speakers.end(),
                        std::back_inserter(overlap));
  CHECK(overlap.empty());
  CHECK(val_per_class == std::vector<int64_t>{16, 32, 32, 32, 32, 32});
}

TEST_CASE("real speech ravdess-dev: one FLAC decodes to 16 kHz mono and a finite 128x128 log-mel image") {
  SER_REQUIRE_RAVDESS_DEV();
  const fs::path file = ravdess_dev() / "Actor_01" / "03-01-05-02-01-01-01.flac";  // angry, strong
  const features::DecodedAudio decoded = features::decode_mono(file);
  CHECK(decoded.sample_rate == 16000);
  CHECK(decoded.channels == 1);
  const std::vector<float> y = features::load_audio(file, 16000);
  CHECK(y.size() == decoded.samples.size());  // already 16 kHz: no resampling
  const double seconds = static_cast<double>(y.size()) / 16000.0;
  INFO("seconds = " << seconds);
  CHECK(seconds >= 3.0);  // RAVDESS clips are about 3-5 s
  CHECK(seconds <= 5.0);
  float peak = 0;
  for (float v : y) peak = std::max(peak, std::abs(v));
  CHECK(peak > 0.01f);  // speech, not silence
  CHECK(peak <= 1.0f);

  features::LogMelExtractor extractor;  // the seed config: 128 mels, ref=max, top_db 80, 128x128
  const features::LogMelStages stages = extractor.stages(y);
  const Tensor& image = stages.image;
  REQUIRE(image.shape().rank() == 2);
  CHECK(image.size(0) == 128);
  CHECK(image.size(1) == 128);
  const std::vector<float> mel_db = stages.mel_db.to_vector();
  const std::vector<float> pixels = image.to_vector();
  CHECK(std::all_of(pixels.begin(), pixels.end(), [](float v) { return std::isfinite(v); }));
  // power_to_db(ref=max, top_db=80): the loudest mel bin is 0 dB and nothing is below -80 dB.
  CHECK(*std::max_element(mel_db.begin(), mel_db.end()) == 0.0f);
  CHECK(*std::min_element(mel_db.begin(), mel_db.end()) >= -80.0f);
  const float image_max = *std::max_element(pixels.begin(), pixels.end());
  const float image_min = *std::min_element(pixels.begin(), pixels.end());
  INFO("image max " << image_max << " dB, min " << image_min << " dB");
  CHECK(image_max <= 0.0f);
  CHECK(image_max > -3.0f);  // the resize interpolates across time, so the peak may soften a little
  CHECK(image_min >= -80.0f);
  CHECK(image_min < -40.0f);  // real speech spans a wide range (silences before and after)
}

}  // TEST_SUITE
