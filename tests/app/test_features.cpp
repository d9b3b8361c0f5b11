// `ser features` on the real binary: the files a Python user loads (images.npy, labels.npy,
// manifest.tsv, classes.txt) read back with the project's own .npy reader and, where
// python3 has NumPy, with NumPy itself; the images are exactly those of the extractor;
// files that do not decode are left out of all of them; nothing is written when nothing
// decodes.
#include <doctest/doctest.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <sys/wait.h>

#include <cstdlib>
#include <fstream>

#include "data/data.h"
#include "data/demo_corpus.h"
#include "engine/io/npy.h"
#include "features/extract.h"
#include "support/gpu.h"
#include "support/ser_process.h"
#include "support/temp_dir.h"

using namespace ser;
namespace fs = std::filesystem;

namespace {

int run_ser(const std::string& args) {
  const char* build = std::getenv("SER_BUILD_DIR");
  const fs::path ser = fs::path(build && *build ? build : SER_BINARY_DIR) / "apps" / "ser";
  const int raw = std::system((ser.string() + " " + args).c_str());
  return WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
}

}  // namespace

TEST_SUITE("app") {

TEST_CASE("ser features --help states the front ends' parameters and the features.json sidecar") {
  test::TempDir dir;
  const test::ProcessResult r = test::run_ser_process("features --help", dir.path());
  REQUIRE(r.status == 0);
  const features::LogMelConfig fixed = features::LogMelConfig::named("fixed");
  const features::LogMelConfig resize = features::LogMelConfig::named("resize");
  for (const std::string& part :
       {fmt::format("{} Hz mono", fixed.sample_rate), fmt::format("n_fft {}, hop {} ({:.0f} ms)", fixed.n_fft,
                                                                  fixed.hop_length, 1000.0 * fixed.hop_length / fixed.sample_rate),
        fmt::format("{} Slaney mel bands 0-{:.0f} Hz", fixed.n_mels, fixed.fmax),
        fmt::format("ends trimmed at {:.0f} dB", fixed.trim_top_db),
        fmt::format("images {} x {} columns", fixed.image_height, fixed.image_width),
        fmt::format("n_fft {}, hop {}, {} mels", resize.n_fft, resize.hop_length, resize.n_mels),
        fmt::format("resized to {} x {}", resize.image_height, resize.image_width),
        std::string("features.json, every parameter of the front end"), std::string("images.npy (N, mel bands, time columns)")}) {
    CAPTURE(part);
    CHECK(r.out.find(part) != std::string::npos);
  }
}

TEST_CASE("ser features writes images, labels and manifest in one row order, as NumPy reads them") {
  test::TempDir dir;
  data::DemoCorpusOptions corpus;
  corpus.speakers = 2;
  corpus.clips_per_class = 2;
  data::generate_demo_corpus(dir / "corpus", corpus);
  std::ofstream(dir / "corpus" / "Actor_01" / "03-01-05-02-02-02-01.wav") << "a RAVDESS name, but not audio";
  const int status = run_ser("features --quiet --cache none --data " + (dir / "corpus").string() + " --out " +
                             (dir / "out").string() + " > " + (dir / "log.txt").string() + " 2>&1");
  std::ifstream log_file(dir / "log.txt");
  const std::string log((std::istreambuf_iterator<char>(log_file)), std::istreambuf_iterator<char>());
  CAPTURE(log);
  REQUIRE(status == 0);
  CHECK(log.find("skipped " + (dir / "corpus" / "Actor_01" / "03-01-05-02-02-02-01.wav").string()) !=
        std::string::npos);

  const Array images = read_npy(dir / "out" / "images.npy");
  const Array labels = read_npy(dir / "out" / "labels.npy");
  const auto manifest = data::read_manifest(dir / "out" / "manifest.tsv");
  const int64_t n = 2 * 6 * 2;  // the broken file left out
  CHECK(images.dtype == DType::F32);
  CHECK(images.shape == std::vector<int64_t>{n, 128, 256});  // the default recipe's fixed time axis
  CHECK(labels.dtype == DType::I64);
  CHECK(labels.shape == std::vector<int64_t>{n});
  REQUIRE(manifest.size() == static_cast<std::size_t>(n));
  const std::vector<int64_t> label_values = labels.as_int64();
  std::vector<fs::path> files;
  for (std::size_t i = 0; i < manifest.size(); ++i) {
    CHECK(label_values[i] == manifest[i].label);
    CHECK(manifest[i].label_name == corpus.classes.names[static_cast<std::size_t>(manifest[i].label)]);
    files.push_back(manifest[i].path);
  }
  features::ExtractOptions opts;
  opts.progress = false;
  const features::ExtractResult want = features::extract_images(files, features::LogMelConfig::named("fixed"), opts);
  REQUIRE(want.images.numel() == images.numel());
  CHECK(images.as_float() == want.images.to_vector());  // dB before normalisation: the extractor's values
  std::ifstream classes(dir / "out" / "classes.txt");
  std::string first;
  classes >> first;
  CHECK(first == corpus.classes.names[0]);
  std::ifstream sidecar_file(dir / "out" / "features.json");
  const auto sidecar = nlohmann::json::parse(sidecar_file);
  CHECK(sidecar.at("frontend") == "fixed");
  CHECK(sidecar.at("sample_rate") == 16000);
  CHECK(sidecar.at("hop_length") == 256);
  CHECK(sidecar.at("n_mels") == 128);
  CHECK(sidecar.at("images.npy").at("shape") == nlohmann::json::array({n, 128, 256}));

  if (std::system("python3 -c 'import numpy' > /dev/null 2>&1") != 0) {
    test::note_skip("python3 with NumPy is not installed: the files were read back by ser's own .npy reader only");
    return;
  }
  // The loudest cell is 0 dB up to float32 rounding (a few 1e-6 either way): its own dB and
  // the reference term are rounded separately, as librosa's power_to_db does (features/logmel.cpp).
  const std::string check =
      "python3 -c \"import numpy as np, sys; d = sys.argv[1]; x = np.load(d + '/images.npy'); "
      "y = np.load(d + '/labels.npy'); rows = open(d + '/manifest.tsv').read().splitlines()[1:]; "
      "assert x.shape == (" + std::to_string(n) + ", 128, 256) and x.dtype == np.float32, (x.shape, x.dtype); "
      "assert y.dtype == np.int64 and y.shape == (x.shape[0],); "
      "assert [int(r.split('\\t')[3]) for r in rows] == y.tolist(); "
      "assert -80.001 <= x.min() and x.max() <= 1e-5, (x.min(), x.max())\" " + (dir / "out").string();
  CHECK(std::system(check.c_str()) == 0);
}

TEST_CASE("ser features writes nothing when no file decodes, and refuses a missing corpus") {
  test::TempDir dir;
  fs::create_directories(dir / "corpus" / "Actor_01");
  std::ofstream(dir / "corpus" / "Actor_01" / "03-01-05-02-02-02-01.wav") << "not audio";
  CHECK(run_ser("features --quiet --cache none --data " + (dir / "corpus").string() + " --out " +
                (dir / "out").string() + " > /dev/null 2>&1") == 1);
  CHECK(fs::is_empty(dir / "out"));
  CHECK(run_ser("features --data " + (dir / "nowhere").string() + " --out " + (dir / "out2").string() +
                " > /dev/null 2>&1") == 1);
  CHECK_FALSE(fs::exists(dir / "out2"));
}

}  // TEST_SUITE
