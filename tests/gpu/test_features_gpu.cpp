// GPU log-mel path parity (suite "gpu"; skips visibly without a device): the batched GPU
// extractor against the CPU reference on random signals of awkward lengths (1 sample,
// shorter than a window, exactly one hop, ...), and against every golden case, with the
// README's float32-FFT tolerances. Compiled in both builds (host header only).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "engine/core/random.h"
#include "engine/io/npy.h"
#include "features/audio.h"
#include "features/extract.h"
#include "features/logmel.h"
#include "features/logmel_gpu.h"
#include "support/gpu.h"
#include "support/reference.h"

using namespace ser;
using namespace ser::features;
namespace fs = std::filesystem;

namespace {

// README float32-FFT tolerances for a power-like stage: abs <= 1e-5 max(ref); relative
// <= 1e-3 where ref >= 1e-6 max(ref).
void check_power_stage(const std::string& name, const std::vector<float>& got, const std::vector<float>& ref) {
  INFO("stage ", name);
  REQUIRE(got.size() == ref.size());
  const double ref_max = *std::max_element(ref.begin(), ref.end());
  double max_abs = 0, max_rel = 0;
  for (std::size_t i = 0; i < ref.size(); ++i) {
    const double d = std::fabs(double(got[i]) - ref[i]);
    max_abs = std::max(max_abs, d);
    if (ref[i] >= 1e-6 * ref_max && ref[i] > 0) max_rel = std::max(max_rel, d / ref[i]);
  }
  INFO("max abs ", max_abs, " (max ref ", ref_max, "), max rel ", max_rel);
  CHECK(max_abs <= 1e-5 * ref_max);
  CHECK(max_rel <= 1e-3);
}

void check_db_stage(const std::string& name, const std::vector<float>& got, const std::vector<float>& ref) {
  INFO("stage ", name);
  REQUIRE(got.size() == ref.size());
  double max_abs = 0;
  for (std::size_t i = 0; i < ref.size(); ++i) max_abs = std::max(max_abs, std::fabs(double(got[i]) - ref[i]));
  INFO("max abs dB diff ", max_abs);
  CHECK(max_abs <= 1e-2);
}

}  // namespace

TEST_SUITE("gpu") {

TEST_CASE("GPU log-mel matches the CPU reference on random signals of awkward lengths") {
  SER_REQUIRE_GPU();
  Generator gen(7);
  const std::vector<int> lengths = {1, 100, 511, 512, 513, 1600, 2047, 2048, 4800, 48000, 65536 + 17};
  std::vector<std::vector<float>> signals;
  for (int n : lengths) {
    std::vector<float> y(n);
    gen.fill_uniform(y.data(), y.size(), -0.5f, 0.5f);
    signals.push_back(std::move(y));
  }
  GpuLogMelExtractor gpu;
  LogMelExtractor cpu;
  const std::vector<LogMelStages> g = gpu.stages(signals);
  REQUIRE(g.size() == signals.size());
  for (std::size_t b = 0; b < signals.size(); ++b) {
    INFO("signal length ", signals[b].size());
    const LogMelStages c = cpu.stages(signals[b]);
    REQUIRE(g[b].stft_power.shape() == c.stft_power.shape());
    check_power_stage("stft_power", g[b].stft_power.to_vector(), c.stft_power.to_vector());
    check_power_stage("mel_power", g[b].mel_power.to_vector(), c.mel_power.to_vector());
    check_db_stage("mel_db", g[b].mel_db.to_vector(), c.mel_db.to_vector());
    check_db_stage("image", g[b].image.to_vector(), c.image.to_vector());
  }
  // images() gives the same pixels as stages(), on either output device.
  const Tensor host = gpu.images(signals, Device::CPU);
  const Tensor dev = gpu.images(signals, Device::CUDA);
  CHECK(dev.device() == Device::CUDA);
  CHECK(host.shape() == Shape{static_cast<int64_t>(signals.size()), 1, 128, 128});
  CHECK(host.to_vector() == dev.to_vector());
  const auto first = g[0].image.to_vector();
  CHECK(std::equal(first.begin(), first.end(), host.data()));
}

TEST_CASE("GPU log-mel matches every golden case (float32-FFT tolerances)") {
  SER_REQUIRE_GPU();
  const auto cases = test::reference_cases("features", "case.json");
  REQUIRE(!cases.empty());
  std::vector<std::vector<float>> signals;
  for (const fs::path& dir : cases) signals.push_back(load_audio(dir / "input.wav"));
  GpuLogMelExtractor gpu;
  const std::vector<LogMelStages> g = gpu.stages(signals);
  for (std::size_t i = 0; i < cases.size(); ++i) {
    INFO("case ", cases[i].filename().string());
    const fs::path& dir = cases[i];
    REQUIRE(g[i].stft_power.shape().dims() == read_npy(dir / "stft_power.npy").shape);
    check_power_stage("stft_power", g[i].stft_power.to_vector(), read_npy(dir / "stft_power.npy").as_float());
    check_power_stage("mel_power", g[i].mel_power.to_vector(), read_npy(dir / "mel_power.npy").as_float());
    check_db_stage("mel_db", g[i].mel_db.to_vector(), read_npy(dir / "mel_db.npy").as_float());
    check_db_stage("image", g[i].image.to_vector(), read_npy(dir / "image.npy").as_float());
  }
}

TEST_CASE("extract_images on the GPU equals the CPU path within 1e-2 dB") {
  SER_REQUIRE_GPU();
  std::vector<fs::path> files;
  for (const fs::path& dir : test::reference_cases("features", "case.json")) files.push_back(dir / "input.wav");
  ExtractOptions opts;
  opts.progress = false;
  opts.gpu_batch = 4;  // several batches
  const ExtractResult cpu = extract_images(files, LogMelConfig{}, opts);
  opts.device = Device::CUDA;
  const ExtractResult gpu = extract_images(files, LogMelConfig{}, opts);
  REQUIRE(gpu.source_index == cpu.source_index);
  check_db_stage("images", gpu.images.to_vector(), cpu.images.to_vector());
}

}  // TEST_SUITE
