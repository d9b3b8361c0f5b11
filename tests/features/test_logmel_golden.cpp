// Golden references: every case folder under $SER_REFERENCE_DIR/features (librosa 0.11
// outputs, see its README) is run through the CPU path: decode + resample, then every stage
// of the log-mel image, compared with the README's float64-FFT tolerances. Also the mel
// filterbank and the periodic Hann window against their stored arrays.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "engine/io/npy.h"
#include "features/audio.h"
#include "features/logmel.h"
#include "support/reference.h"

using namespace ser;
using namespace ser::features;
namespace fs = std::filesystem;

namespace {

struct Diff {
  double max_abs = 0;   // max |a - b|
  double ref_max = 0;   // max ref value
};

Diff compare(const std::vector<float>& got, const std::vector<float>& ref) {
  Diff d;
  for (std::size_t i = 0; i < ref.size(); ++i) {
    d.max_abs = std::max(d.max_abs, std::fabs(static_cast<double>(got[i]) - ref[i]));
    d.ref_max = std::max(d.ref_max, static_cast<double>(ref[i]));
  }
  return d;
}

// Checks shape and the max abs difference against `tol` (absolute) for one stage.
void check_stage(const std::string& name, const Tensor& got, const fs::path& ref_file, bool relative_to_max,
                 double tol) {
  const Array ref = read_npy(ref_file);
  INFO("stage ", name, " vs ", ref_file.string());
  REQUIRE(got.shape().dims() == ref.shape);
  const Diff d = compare(got.to_vector(), ref.as_float());
  const double bound = relative_to_max ? tol * d.ref_max : tol;
  INFO("max abs diff ", d.max_abs, ", bound ", bound);
  CHECK(d.max_abs <= bound);
}

}  // namespace

TEST_SUITE("features") {

TEST_CASE("mel_filterbank matches librosa.filters.mel(16000, 2048, 128)") {
  const Array ref = read_npy(test::reference_root() / "features" / "mel_filterbank_16000_2048_128.npy");
  REQUIRE(ref.shape == std::vector<int64_t>{128, 1025});
  const std::vector<float> fb = mel_filterbank(LogMelConfig{});
  const std::vector<float> r = ref.as_float();
  REQUIRE(fb.size() == r.size());
  double max_abs = 0, max_ref = 0;
  for (std::size_t i = 0; i < r.size(); ++i) {
    max_abs = std::max(max_abs, std::fabs(double(fb[i]) - r[i]));
    max_ref = std::max(max_ref, double(r[i]));
  }
  INFO("max abs diff ", max_abs, " of max weight ", max_ref);
  CHECK(max_abs <= 1e-7 * max_ref);  // float32 rounding of float64 maths: a few ulps at most
}

TEST_CASE("periodic_hann matches scipy get_window('hann', 2048, fftbins=True)") {
  const std::vector<double> ref = read_npy(test::reference_root() / "features" / "hann_2048.npy").as_double();
  const std::vector<double> w = periodic_hann(2048);
  REQUIRE(w.size() == ref.size());
  double max_abs = 0;
  for (std::size_t i = 0; i < w.size(); ++i) max_abs = std::max(max_abs, std::fabs(w[i] - ref[i]));
  CHECK(max_abs <= 1e-15);
}

TEST_CASE("golden cases: decode + resample + log-mel stages match librosa (float64-FFT tolerances)") {
  const auto cases = test::reference_cases("features", "case.json");
  REQUIRE(!cases.empty());
  LogMelExtractor extractor;
  for (const fs::path& dir : cases) {
    INFO("case ", dir.filename().string());
    // Resampled signal: exact length, max abs diff <= 1e-6.
    const std::vector<float> y = load_audio(dir / "input.wav", 16000);
    const std::vector<float> y_ref = read_npy(dir / "resampled.npy").as_float();
    REQUIRE(y.size() == y_ref.size());
    const Diff dy = compare(y, y_ref);
    INFO("resampled max abs diff ", dy.max_abs);
    CHECK(dy.max_abs <= 1e-6);

    const LogMelStages s = extractor.stages(y);
    CHECK(s.stft_power.size(1) == 1 + static_cast<int64_t>(y_ref.size()) / 512);
    check_stage("stft_power", s.stft_power, dir / "stft_power.npy", true, 1e-6);
    check_stage("mel_power", s.mel_power, dir / "mel_power.npy", true, 1e-6);
    check_stage("mel_db", s.mel_db, dir / "mel_db.npy", false, 1e-4);
    check_stage("image", s.image, dir / "image.npy", false, 1e-4);
    // The image of the stored resampled signal must match as well (isolates the log-mel path).
    check_stage("image(resampled.npy)", extractor.image(y_ref), dir / "image.npy", false, 1e-4);
  }
}

}  // TEST_SUITE
