// NpyRowWriter: rows appended in pieces read back as one (N, ...) array; nothing appears
// under the target name before commit(), and an abandoned writer leaves no file at all.
#include <doctest/doctest.h>

#include <fstream>

#include "engine/core/error.h"
#include "engine/io/npy.h"
#include "engine/io/npy_writer.h"
#include "support/temp_dir.h"

using namespace ser;
namespace fs = std::filesystem;

namespace {
std::size_t files_in(const fs::path& dir) {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++n;
  return n;
}
}  // namespace

TEST_SUITE("io") {

TEST_CASE("NpyRowWriter: rows in pieces, one array; the header names the final row count") {
  test::TempDir dir;
  std::vector<float> all(7 * 3 * 2);
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = 0.5f * static_cast<float>(i) - 3.0f;
  {
    NpyRowWriter w(dir / "x.npy", {3, 2});
    w.append(all.data(), 2);
    w.append(all.data() + 12, 0);
    w.append(all.data() + 12, 5);
    CHECK(w.rows() == 7);
    CHECK_FALSE(fs::exists(dir / "x.npy"));
    w.commit();
  }
  const Array a = read_npy(dir / "x.npy");
  CHECK(a.dtype == DType::F32);
  CHECK(a.shape == std::vector<int64_t>{7, 3, 2});
  CHECK(a.as_float() == all);
  CHECK(files_in(dir.path()) == 1);  // no temporary file left
  // The header is NumPy's format 1.0: a multiple of 64 bytes, ending in a newline.
  const auto size = fs::file_size(dir / "x.npy");
  CHECK((size - all.size() * sizeof(float)) % 64 == 0);
}

TEST_CASE("NpyRowWriter: an existing file is kept until commit, and an abandoned writer removes its temp file") {
  test::TempDir dir;
  std::ofstream(dir / "x.npy") << "previous";
  {
    NpyRowWriter w(dir / "x.npy", {4});
    const std::vector<float> row{1, 2, 3, 4};
    w.append(row.data(), 1);
    CHECK(files_in(dir.path()) == 2);  // the previous file and the temp file
  }  // destroyed without commit
  CHECK(files_in(dir.path()) == 1);
  std::ifstream in(dir / "x.npy");
  std::string kept;
  in >> kept;
  CHECK(kept == "previous");
  CHECK_THROWS_WITH_AS(NpyRowWriter(dir / "missing" / "x.npy", {4}), doctest::Contains("x.npy: cannot create"), Error);
}

}  // TEST_SUITE
