// safetensors: round trip with metadata, the exact byte layout, malformed files.
#include <doctest/doctest.h>

#include <fstream>

#include "engine/core/error.h"
#include "engine/io/file.h"
#include "engine/io/safetensors.h"
#include "support/temp_dir.h"

using namespace ser;

namespace {
SafeTensors sample() {
  SafeTensors f;
  f.metadata["architecture"] = "{\"conv\":[32,64]}";
  f.metadata["classes"] = "neutral,happy";
  f.tensors["conv1.weight"] = Array::from_float({2, 1, 3, 3}, std::vector<float>(18, 0.25f));
  f.tensors["norm.mean"] = Array::from_double({1}, {-3.5});
  f.tensors["step"] = Array::from_int64({}, {1234});
  return f;
}
std::string header_of(const std::string& bytes) {
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[i]);
  return bytes.substr(8, n);
}
}  // namespace

TEST_SUITE("io") {

TEST_CASE("round trip keeps metadata, dtypes, shapes and bytes") {
  test::TempDir dir;
  const SafeTensors f = sample();
  write_safetensors(dir / "m.safetensors", f);
  const SafeTensors g = read_safetensors(dir / "m.safetensors");
  CHECK(g.metadata == f.metadata);
  REQUIRE(g.tensors.size() == 3);
  for (const auto& [name, a] : f.tensors) {
    const Array& b = g.at(name, "m");
    CHECK(b.dtype == a.dtype);
    CHECK(b.shape == a.shape);
    CHECK(b.bytes == a.bytes);
  }
  CHECK_THROWS_WITH_AS(g.at("nope", "m.safetensors"), doctest::Contains("no tensor named 'nope'"), Error);
}

TEST_CASE("layout follows the format: u64 header length, JSON, 8-byte aligned data") {
  const std::string bytes = serialize_safetensors(sample());
  const std::string header = header_of(bytes);
  CHECK(header.size() % 8 == 0);
  CHECK(header.find("\"__metadata__\"") != std::string::npos);
  CHECK(header.find("\"dtype\":\"F32\"") != std::string::npos);
  CHECK(header.find("\"shape\":[2,1,3,3]") != std::string::npos);
  CHECK(bytes.size() == 8 + header.size() + 18 * 4 + 8 + 8);
}

TEST_CASE("malformed files give a clear error naming the file") {
  const std::string good = serialize_safetensors(sample());
  const std::string header = header_of(good);
  auto with_header = [&](std::string h) {
    h.append((8 - h.size() % 8) % 8, ' ');
    std::string out(8, '\0');
    for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((uint64_t(h.size()) >> (8 * i)) & 0xff);
    return out + h + good.substr(8 + header.size());
  };
  std::string absurd_len = good;
  absurd_len[7] = '\x7f';
  std::string past_end = good;
  past_end[0] = '\xff';
  past_end[1] = '\x0f';
  struct Bad {
    const char* name;
    std::string bytes;
    const char* message;
  };
  const Bad cases[] = {
      {"empty.safetensors", "", "too short"},
      {"absurd.safetensors", absurd_len, "absurd"},
      {"past.safetensors", past_end, "runs past the end"},
      {"json.safetensors", with_header("{\"a\": [1, 2"), "not valid JSON"},
      {"array.safetensors", with_header("[1, 2, 3]"), "must be a JSON object"},
      {"dtype.safetensors", with_header(R"({"x":{"dtype":"BF16","shape":[1],"data_offsets":[0,2]}})"),
       "unsupported dtype 'BF16'"},
      {"range.safetensors", with_header(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,999999]}})"),
       "outside the data"},
      {"size.safetensors", with_header(R"({"x":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})"), "needs 12"},
      {"shape.safetensors",
       with_header(R"({"x":{"dtype":"F32","shape":[4294967296,4294967296,64],"data_offsets":[0,8]}})"), "absurd"},
      {"negative.safetensors", with_header(R"({"x":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})"),
       "non-integer or negative"},
      {"fields.safetensors", with_header(R"({"x":{"dtype":"F32"}})"), "lacks"},
      {"meta.safetensors", with_header(R"({"__metadata__":{"a":1}})"), "not a string"},
  };
  test::TempDir dir;
  for (const Bad& bad : cases) {
    CAPTURE(bad.name);
    std::ofstream(dir / bad.name, std::ios::binary).write(bad.bytes.data(), std::streamsize(bad.bytes.size()));
    CHECK_THROWS_WITH_AS(read_safetensors(dir / bad.name), doctest::Contains(bad.name), Error);
    CHECK_THROWS_WITH_AS(read_safetensors(dir / bad.name), doctest::Contains(bad.message), Error);
  }
}

TEST_CASE("rewriting a model replaces it whole") {
  test::TempDir dir;
  write_safetensors(dir / "m.safetensors", sample());
  SafeTensors small;
  small.tensors["w"] = Array::from_float({1}, {9});
  write_safetensors(dir / "m.safetensors", small);
  CHECK(read_safetensors(dir / "m.safetensors").tensors.size() == 1);
}

}  // TEST_SUITE
