// .npy: files written by NumPy (the golden references), round trips, malformed files.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "engine/core/error.h"
#include "engine/io/file.h"
#include "engine/io/npy.h"
#include "support/reference.h"
#include "support/temp_dir.h"

using namespace ser;
namespace fs = std::filesystem;

namespace {
void write_bytes(const fs::path& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}
}  // namespace

TEST_SUITE("io") {

TEST_CASE("reads NumPy-written float32, float64 and int64 files") {
  const fs::path root = test::reference_root();
  Array fb = read_npy(root / "features" / "mel_filterbank_16000_2048_128.npy");
  CHECK(fb.dtype == DType::F32);
  CHECK(fb.shape == std::vector<int64_t>{128, 1025});
  Array hann = read_npy(root / "features" / "hann_2048.npy");
  CHECK(hann.dtype == DType::F64);
  REQUIRE(hann.shape == std::vector<int64_t>{2048});
  auto w = hann.as_double();
  CHECK(w[0] == 0.0);
  CHECK(w[1024] == doctest::Approx(1.0).epsilon(1e-15));
  CHECK(w[512] == doctest::Approx(0.5).epsilon(1e-12));
  Array labels = read_npy(root / "network" / "net_small_64" / "labels.npy");
  CHECK(labels.dtype == DType::I64);
  for (int64_t v : labels.as_int64()) CHECK((v >= 0 && v < 6));
  Array loss = read_npy(root / "network" / "net_small_64" / "loss.npy");
  CHECK(loss.shape.empty());
  CHECK(loss.numel() == 1);
  CHECK(std::isfinite(loss.as_double()[0]));
}

TEST_CASE("round trip keeps dtype, shape and bits, and writes what NumPy writes") {
  test::TempDir dir;
  Array a = Array::from_float({2, 3}, {1.5f, -2, 3, 4, 5, 1e-30f});
  write_npy(dir / "a.npy", a);
  Array b = read_npy(dir / "a.npy");
  CHECK(b.dtype == DType::F32);
  CHECK(b.shape == a.shape);
  CHECK(b.bytes == a.bytes);
  // Header: format 1.0, total header length a multiple of 64, descr first.
  const auto raw = read_file_bytes(dir / "a.npy");
  CHECK((raw[8] | (raw[9] << 8)) % 64 == 54);  // 10 + len is a multiple of 64
  const std::string text(raw.begin() + 10, raw.begin() + 10 + 60);
  CHECK(text.rfind("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 0) == 0);

  for (auto arr : {Array::from_double({5}, {1, 2, 3, 4, 5}), Array::from_int64({}, {42}),
                   Array::from_int64({1, 1, 1}, {7}), Array::from_float({0, 4}, {})}) {
    write_npy(dir / "x.npy", arr);
    Array r = read_npy(dir / "x.npy");
    CHECK(r.dtype == arr.dtype);
    CHECK(r.shape == arr.shape);
    CHECK(r.bytes == arr.bytes);
  }
}

TEST_CASE("tensor conversion") {
  test::TempDir dir;
  Tensor t = Tensor::from_vector(Shape{1, 2, 2}, {1, 2, 3, 4});
  write_npy(dir / "t.npy", t);
  Tensor r = read_npy_tensor(dir / "t.npy");
  CHECK(r.shape() == t.shape());
  CHECK(r.to_vector() == t.to_vector());
  CHECK_THROWS_AS(Array::from_int64({2}, {1, 2}).to_tensor(), Error);
  CHECK_THROWS_AS(Array::from_float({1, 1, 1, 1, 1}, {1}).to_tensor(), Error);
}

TEST_CASE("malformed files give a clear error naming the file") {
  test::TempDir dir;
  const std::string good = serialize_npy(Array::from_float({4}, {1, 2, 3, 4}));
  struct Bad {
    const char* name;
    std::string bytes;
    const char* message;
  };
  std::string wrong_magic = good;
  wrong_magic[1] = 'X';
  std::string huge_header = good;
  huge_header[8] = '\xff';
  huge_header[9] = '\xff';
  std::string bad_dtype = good;
  bad_dtype.replace(bad_dtype.find("<f4"), 3, "<i2");
  std::string big_endian = good;
  big_endian.replace(big_endian.find("<f4"), 3, ">f4");
  std::string fortran = good;
  fortran.replace(fortran.find("False"), 5, "True ");
  std::string absurd = good;
  absurd.replace(absurd.find("(4,)"), 4, "(99999999999999,99999999999)");
  std::string garbage_header = good;
  garbage_header.replace(garbage_header.find("'shape'"), 7, "'shapf'");
  std::string version9 = good;
  version9[6] = 9;
  const Bad cases[] = {
      {"empty.npy", "", "too short"},
      {"magic.npy", wrong_magic, "wrong magic"},
      {"truncated.npy", good.substr(0, good.size() - 3), "truncated"},
      {"trailing.npy", good + "xx", "trailing bytes"},
      {"header.npy", huge_header, "runs past the end"},
      {"dtype.npy", bad_dtype, "unsupported .npy dtype '<i2'"},
      {"endian.npy", big_endian, "unsupported .npy dtype '>f4'"},
      {"fortran.npy", fortran, "Fortran"},
      {"absurd.npy", absurd, "absurd"},
      {"key.npy", garbage_header, "unknown header key"},
      {"version.npy", version9, "format version 9"},
      {"text.npy", "this is not a numpy file at all", "wrong magic"},
  };
  for (const Bad& bad : cases) {
    CAPTURE(bad.name);
    write_bytes(dir / bad.name, bad.bytes);
    CHECK_THROWS_WITH_AS(read_npy(dir / bad.name), doctest::Contains(bad.name), Error);
    CHECK_THROWS_WITH_AS(read_npy(dir / bad.name), doctest::Contains(bad.message), Error);
  }
  CHECK_THROWS_WITH_AS(read_npy(dir / "missing.npy"), doctest::Contains("no such file"), Error);
  CHECK_THROWS_WITH_AS(read_npy(dir.path()), doctest::Contains("not a regular file"), Error);
}

TEST_CASE("an atomic write that cannot happen leaves the old file intact") {
  test::TempDir dir;
  write_npy(dir / "keep.npy", Array::from_float({1}, {3}));
  CHECK_THROWS_AS(write_npy(dir / "no_such_folder" / "x.npy", Array::from_float({1}, {3})), Error);
  CHECK(read_npy(dir / "keep.npy").as_float()[0] == 3);
  // No temp files are left behind.
  int files = 0;
  for (auto& e : fs::directory_iterator(dir.path())) files += e.is_regular_file();
  CHECK(files == 1);
}

}  // TEST_SUITE
