// Batch extraction and the feature cache: images equal the single-file CPU path and keep
// input order; bad files are reported and skipped; a second run is all cache hits; a
// changed parameter misses; a corrupted entry is detected and recomputed; the progress bar
// prints sparse lines when not on a terminal.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <sys/wait.h>
#include <unistd.h>

#include "engine/core/error.h"
#include "engine/core/progress.h"
#include "features/audio.h"
#include "features/cache.h"
#include "features/extract.h"
#include "features/logmel.h"
#include "support/reference.h"
#include "support/gpu.h"
#include "support/temp_dir.h"

using namespace ser;
using namespace ser::features;
namespace fs = std::filesystem;

namespace {

// Up to 4 golden inputs (real WAVs of several formats) copied into `dir`, plus one bad file
// placed second. Returns the list in the order given to extract_images.
std::vector<fs::path> make_file_list(const test::TempDir& dir) {
  std::vector<fs::path> files;
  const auto cases = test::reference_cases("features", "case.json");
  for (std::size_t i = 0; i < cases.size() && files.size() < 4; ++i) {
    const fs::path dst = dir / (cases[i].filename().string() + ".wav");
    fs::copy_file(cases[i] / "input.wav", dst);
    files.push_back(dst);
    if (files.size() == 1) {
      const fs::path bad = dir / "not_audio.wav";
      std::ofstream(bad) << "hello, I am text\n";
      files.push_back(bad);
    }
  }
  return files;
}

ExtractOptions quiet_options(const fs::path& cache_dir = {}) {
  ExtractOptions o;
  o.threads = 2;
  o.progress = false;
  o.cache_dir = cache_dir;
  return o;
}

}  // namespace

TEST_SUITE("features") {

TEST_CASE("extract_images: input order, equals the single-file path, bad file reported and skipped") {
  test::TempDir dir;
  const auto files = make_file_list(dir);
  REQUIRE(files.size() >= 3);
  const LogMelConfig cfg;
  const ExtractResult r = extract_images(files, cfg, quiet_options());
  REQUIRE(r.failures.size() == 1);
  CHECK(r.failures[0].first == files[1]);
  // The reason is for printing beside the file name: no repeated path, no source location.
  const std::string& why = r.failures[0].second;
  CHECK_FALSE(why.empty());
  CHECK(why.find(files[1].string()) == std::string::npos);
  CHECK(why.find(".cpp:") == std::string::npos);
  REQUIRE(r.images.shape() == Shape{static_cast<int64_t>(files.size()) - 1, 1, 128, 128});
  REQUIRE(r.source_index.size() == files.size() - 1);
  LogMelExtractor ex(cfg);
  for (std::size_t m = 0; m < r.source_index.size(); ++m) {
    const int64_t src = r.source_index[m];
    CHECK(src != 1);
    if (m > 0) CHECK(src > r.source_index[m - 1]);
    const std::vector<float> expect = ex.image(load_audio(files[static_cast<std::size_t>(src)])).to_vector();
    const float* got = r.images.data() + m * 128 * 128;
    CHECK(std::equal(expect.begin(), expect.end(), got));
  }
}

TEST_CASE("feature cache: second run is a load, changed parameter misses, corrupt entry recomputed") {
  test::TempDir dir;
  const auto files = make_file_list(dir);
  const fs::path cache_dir = dir / "cache";
  const LogMelConfig cfg;
  const ExtractResult first = extract_images(files, cfg, quiet_options(cache_dir));
  const int64_t ok = static_cast<int64_t>(files.size()) - 1;
  CHECK(first.cache_hits == 0);
  CHECK(fs::exists(cache_dir / "index.json"));

  const ExtractResult second = extract_images(files, cfg, quiet_options(cache_dir));
  CHECK(second.cache_hits == ok);
  CHECK(second.failures.size() == 1);  // the bad file is never cached
  const auto a = first.images.to_vector(), b = second.images.to_vector();
  CHECK(a == b);

  LogMelConfig other = cfg;
  other.top_db = 60;
  const ExtractResult changed = extract_images(files, other, quiet_options(cache_dir));
  CHECK(changed.cache_hits == 0);

  // Corrupt the entry of files[0] two ways: truncate it, and flip a byte inside the data.
  FeatureCache cache(cache_dir, cfg);
  const fs::path entry = cache.entry_path(cache.key_for(files[0]));
  REQUIRE(fs::exists(entry));
  const auto size = fs::file_size(entry);
  SUBCASE("truncated entry") { fs::resize_file(entry, size / 2); }
  SUBCASE("one data byte changed") {
    std::fstream f(entry, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(size - 100));
    f.put('\x11');
  }
  const ExtractResult third = extract_images(files, cfg, quiet_options(cache_dir));
  CHECK(third.cache_corrupt == 1);
  CHECK(third.cache_hits == ok - 1);
  CHECK(third.images.to_vector() == a);
  // The recomputed entry is valid again.
  const ExtractResult fourth = extract_images(files, cfg, quiet_options(cache_dir));
  CHECK(fourth.cache_hits == ok);
  CHECK(fourth.cache_corrupt == 0);
}

TEST_CASE("feature cache: two processes filling one cache at once leave only valid entries") {
  test::TempDir dir;
  const auto files = make_file_list(dir);
  const fs::path cache_dir = dir / "cache";
  const LogMelConfig cfg;
  std::fflush(nullptr);
  int start_gate[2];  // both children wait here until both exist, so their work overlaps
  REQUIRE(::pipe(start_gate) == 0);
  pid_t children[2];
  for (pid_t& child : children) {
    child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {  // child: fill the cache, exit 0 if every good file got an image
      ::close(start_gate[1]);
      char go = 0;
      if (::read(start_gate[0], &go, 1) != 1) ::_exit(4);
      int code = 1;
      try {
        const ExtractResult r = extract_images(files, cfg, quiet_options(cache_dir));
        code = r.failures.size() == 1 ? 0 : 2;
      } catch (...) {
        code = 3;
      }
      ::_exit(code);
    }
  }
  ::close(start_gate[0]);
  REQUIRE(::write(start_gate[1], "gg", 2) == 2);  // open the gate for both at once
  ::close(start_gate[1]);
  for (pid_t child : children) {
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }
  const ExtractResult after = extract_images(files, cfg, quiet_options(cache_dir));
  CHECK(after.cache_hits == static_cast<int64_t>(files.size()) - 1);
  CHECK(after.cache_corrupt == 0);
  for (const auto& entry : fs::directory_iterator(cache_dir))  // no temp files left behind
    CHECK(entry.path().string().find(".tmp.") == std::string::npos);
}

TEST_CASE("feature cache: a failed cache write costs the entry, not the image") {
  test::TempDir dir;
  const auto files = make_file_list(dir);
  const fs::path cache_dir = dir / "cache";
  const LogMelConfig cfg;
  // A folder squatting on files[0]'s entry name: reading it fails (counted corrupt) and the
  // atomic rename onto it fails too, even for root.
  FeatureCache cache(cache_dir, cfg);
  fs::create_directories(cache.entry_path(cache.key_for(files[0])) / "squatter");
  const ExtractResult r = extract_images(files, cfg, quiet_options(cache_dir));
  CHECK(r.images.size(0) == static_cast<int64_t>(files.size()) - 1);
  CHECK(r.failures.size() == 1);
  CHECK(r.cache_corrupt == 1);
  REQUIRE(r.cache_errors.size() == 1);
  CHECK(r.cache_errors[0].find(cache.entry_path(cache.key_for(files[0])).string()) != std::string::npos);
  const ExtractResult plain = extract_images(files, cfg, quiet_options());
  CHECK(r.images.to_vector() == plain.images.to_vector());
}

TEST_CASE("feature cache: a touched file gets a new key") {
  test::TempDir dir;
  const auto files = make_file_list(dir);
  FeatureCache cache(dir / "cache", LogMelConfig{});
  const std::string k0 = cache.key_for(files[0]);
  CHECK(k0.size() == 32);
  CHECK(cache.key_for(files[0]) == k0);
  fs::last_write_time(files[0], fs::last_write_time(files[0]) + std::chrono::seconds(5));
  CHECK(cache.key_for(files[0]) != k0);
  CHECK_THROWS_AS(cache.key_for(dir / "absent.wav"), Error);
}

TEST_CASE("extract_images on the GPU in a CPU-only build is an error, not a fallback") {
  SER_SKIP_IF(built_with_cuda(), "this is the CUDA build (the gpu suite covers it)");
  ExtractOptions o = quiet_options();
  o.device = Device::CUDA;
  CHECK_THROWS_AS(extract_images({}, LogMelConfig{}, o), Error);
}

TEST_CASE("ProgressBar: sparse lines off a terminal, final line once") {
  test::TempDir dir;
  const fs::path log = dir / "progress.txt";
  {
    std::FILE* f = std::fopen(log.c_str(), "w");
    REQUIRE(f != nullptr);
    {
      ProgressBar bar(100, "work", f, /*tty=*/false);
      for (int i = 0; i < 100; ++i) bar.tick(1, "ok");
      CHECK(bar.done() == 100);
      bar.finish();
      bar.finish();
    }
    std::fclose(f);
  }
  std::ifstream in(log);
  int lines = 0;
  std::string line, last;
  while (std::getline(in, line)) {
    ++lines;
    last = line;
  }
  CHECK(lines >= 2);
  CHECK(lines <= 12);  // about every 10 %, not one per tick
  CHECK(last.find("work 100/100") == 0);
}

// Everything a terminal-mode ProgressBar(total, label) writes for one tick(done, suffix),
// the destructor's final line included (captured through a file).
std::string terminal_output(int64_t total, const std::string& label, int64_t done, const std::string& suffix) {
  test::TempDir dir;
  const fs::path log = dir / "tty.txt";
  std::FILE* f = std::fopen(log.c_str(), "w");
  REQUIRE(f != nullptr);
  {
    ProgressBar bar(total, label, f, /*tty=*/true);
    bar.tick(done, suffix);
  }
  std::fclose(f);
  std::ifstream in(log);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

TEST_CASE("ProgressBar: on a terminal it redraws one line in place") {
  const std::string text = terminal_output(3, "files", 3, "done");
  CHECK(text.find('\r') != std::string::npos);
  CHECK(text.find("files 3/3") != std::string::npos);
  CHECK(std::count(text.begin(), text.end(), '\n') == 1);  // only the final line ends a line
}

TEST_CASE("ProgressBar: on a terminal a long line is cut to one row (80 columns when the width is unknown)") {
  const std::string text = terminal_output(
      1000, "epoch 12/100", 500, "loss 1.234567 acc 0.876543 val_loss 1.345678 val_acc 0.812345 1234.5 samples/s");
  // Each redraw is "\r" + visible text + "\033[K" (+ "\n" at the end).
  std::size_t start = 0;
  int redraws = 0;
  while ((start = text.find('\r', start)) != std::string::npos) {
    const std::size_t end = text.find("\033[K", start);
    REQUIRE(end != std::string::npos);
    CHECK(end - start - 1 <= 79);
    start = end;
    ++redraws;
  }
  CHECK(redraws >= 1);
  CHECK(text.find("epoch 12/100 500/1000") != std::string::npos);  // what is kept is the line's start
}

}  // TEST_SUITE
