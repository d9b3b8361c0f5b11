// GPU log-mel path parity (suite "gpu"; skips visibly without a device): the batched GPU
// extractor against the CPU reference on random signals of awkward lengths (1 sample,
// shorter than a window, exactly one hop, ...), and against every golden case, with the
// README's float32-FFT tolerances; the asynchronous submit/collect API (two batches in
// flight, ticket misuse) and the pipelined extract_images (CUDA == CPU path, overlap on ==
// off, cache hits never recomputed). Compiled in both builds (host header only).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "engine/core/error.h"
#include "engine/core/random.h"
#include "engine/io/npy.h"
#include "features/audio.h"
#include "features/extract.h"
#include "features/logmel.h"
#include "features/logmel_gpu.h"
#include "support/gpu.h"
#include "support/reference.h"
#include "support/temp_dir.h"

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

// `count` uniform random signals in [-0.5, 0.5) of lengths cycling through awkward values.
std::vector<std::vector<float>> random_signals(uint64_t seed, int count) {
  const std::vector<int> lengths = {1, 511, 512, 4800, 48000, 2048, 100};
  Generator gen(seed);
  std::vector<std::vector<float>> signals;
  for (int i = 0; i < count; ++i) {
    std::vector<float> y(lengths[static_cast<std::size_t>(i) % lengths.size()]);
    gen.fill_uniform(y.data(), y.size(), -0.5f, 0.5f);
    signals.push_back(std::move(y));
  }
  return signals;
}

// Images (B, 1, H, W) against the CPU reference image of each signal, within 1e-2 dB.
void check_against_cpu(const Tensor& images, const std::vector<std::vector<float>>& signals) {
  REQUIRE(images.shape() == Shape{static_cast<int64_t>(signals.size()), 1, 128, 128});
  const std::vector<float> all = images.to_vector();
  LogMelExtractor cpu;
  for (std::size_t b = 0; b < signals.size(); ++b) {
    INFO("signal ", b, " of length ", signals[b].size());
    const std::vector<float> want = cpu.image(signals[b]).to_vector();
    check_db_stage("image", std::vector<float>(all.begin() + b * want.size(), all.begin() + (b + 1) * want.size()),
                   want);
  }
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

TEST_CASE("GPU submit/collect: two batches in flight at once both equal the CPU images") {
  SER_REQUIRE_GPU();
  const auto first = random_signals(11, 5);
  const auto second = random_signals(12, 9);  // larger: device scratch grows while batch 1 is queued
  GpuLogMelExtractor gpu;
  const GpuLogMelExtractor::Ticket t1 = gpu.submit(first);
  const GpuLogMelExtractor::Ticket t2 = gpu.submit(second, Device::CUDA);
  CHECK(gpu.in_flight() == 2);
  CHECK_THROWS_AS(gpu.submit(first), ser::Error);  // no third slot
  CHECK(gpu.in_flight() == 2);
  // Collected out of submit order on purpose.
  const Tensor b2 = gpu.collect(t2);
  const Tensor b1 = gpu.collect(t1);
  CHECK(gpu.in_flight() == 0);
  CHECK(b1.device() == Device::CPU);
  CHECK(b2.device() == Device::CUDA);
  check_against_cpu(b1, first);
  check_against_cpu(b2.to(Device::CPU), second);
  // The same batch through the synchronous path gives the same pixels.
  CHECK(gpu.images(first).to_vector() == b1.to_vector());
  // A ticket is good for one collect; a default ticket never.
  CHECK_THROWS_AS(gpu.collect(t1), ser::Error);
  CHECK_THROWS_AS(gpu.collect(GpuLogMelExtractor::Ticket{}), ser::Error);
  // Slots are reused: old tickets of the reused slots are refused, the new one works.
  const GpuLogMelExtractor::Ticket t3 = gpu.submit(second);
  CHECK_THROWS_AS(gpu.collect(t1), ser::Error);
  CHECK_THROWS_AS(gpu.collect(t2), ser::Error);
  CHECK(gpu.collect(t3).to_vector() == b2.to(Device::CPU).to_vector());
}

TEST_CASE("extract_images on the GPU: overlapped == sequential, cache hits are not recomputed") {
  SER_REQUIRE_GPU();
  test::TempDir dir;
  std::vector<fs::path> files;
  for (const fs::path& case_dir : test::reference_cases("features", "case.json")) {
    files.push_back(dir / (case_dir.filename().string() + ".wav"));
    fs::copy_file(case_dir / "input.wav", files.back());
  }
  REQUIRE(files.size() >= 3);
  const fs::path bad = dir / "not_audio.wav";
  std::ofstream(bad) << "text, not audio\n";
  files.insert(files.begin() + 1, bad);
  ExtractOptions opts;
  opts.progress = false;
  opts.threads = 2;
  opts.device = Device::CUDA;
  opts.gpu_batch = 2;  // several batches, one with the bad file (a batch of one signal)
  const ExtractResult overlapped = extract_images(files, LogMelConfig{}, opts);
  opts.gpu_overlap = false;
  const ExtractResult sequential = extract_images(files, LogMelConfig{}, opts);
  REQUIRE(overlapped.failures.size() == 1);
  CHECK(overlapped.failures[0].first == bad);
  CHECK(overlapped.source_index == sequential.source_index);
  CHECK(overlapped.images.to_vector() == sequential.images.to_vector());

  // A cache filled by the CPU path: the GPU run loads every image (bit-identical to the CPU
  // images, which the GPU's float32 FFT would not reproduce) and sends nothing to the GPU.
  opts.gpu_overlap = true;
  opts.cache_dir = dir / "cache";
  ExtractOptions cpu_opts = opts;
  cpu_opts.device = Device::CPU;
  const ExtractResult cpu = extract_images(files, LogMelConfig{}, cpu_opts);
  const ExtractResult cached = extract_images(files, LogMelConfig{}, opts);
  CHECK(cached.cache_hits == static_cast<int64_t>(files.size()) - 1);
  CHECK(cached.source_index == cpu.source_index);
  CHECK(cached.images.to_vector() == cpu.images.to_vector());
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
