// Hostile numbers in the JSON a model file carries (its "architecture" and "features"
// metadata, read by ser predict / eval / resume): every one must end in a ser::Error that
// names the field, never in undefined behaviour (nlohmann's get<int>() of 1e10 is a UB
// double->int cast, 4294967297 wraps to 1) or in a network whose sizes overflow int.
// The ASan+UBSan build (scripts/check-sanitizers) runs these cases too.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "engine/core/error.h"
#include "engine/io/json_number.h"
#include "engine/nn/architecture.h"
#include "features/logmel.h"

using namespace ser;
using nlohmann::json;

namespace {

// The values no integer count may take: too large for int (as a double and as an integer),
// wrapping to a small int, negative, fractional, a string, null, and past uint64 range.
std::vector<json> hostile_integers() {
  return {json(1e10),
          json(4294967297LL),
          json(-1),
          json(2.5),
          json("x"),
          json(nullptr),
          json(-2147483649LL),
          json::parse("18446744073709551615")};
}

// Expects parse(...) to throw a ser::Error whose message names `field`.
template <typename Parse>
void check_refused(Parse parse, const std::string& field, const json& value) {
  CAPTURE(field);
  const std::string shown = value.dump();
  CAPTURE(shown);
  CHECK_THROWS_WITH_AS(parse(), doctest::Contains(field.c_str()), Error);
}

}  // namespace

TEST_SUITE("io") {

TEST_CASE("json_to_int takes only JSON integers within int range, naming the field and the value") {
  CHECK(json_to_int(json(128), "owner", "f") == 128);
  CHECK(json_to_int(json(-7), "owner", "f") == -7);
  CHECK(json_to_int(json(2147483647), "owner", "f") == 2147483647);
  CHECK(json_to_int(json(-2147483648LL), "owner", "f") == -2147483648LL);
  CHECK(json_to_int(json::parse("2147483647"), "owner", "f") == 2147483647);  // parsed as unsigned
  for (const json& v : hostile_integers()) {
    if (v == json(-1)) continue;  // a valid int: refused later by validate()
    CAPTURE(v.dump());
    CHECK_THROWS_WITH_AS(json_to_int(v, "owner", "height"), doctest::Contains("owner: field \"height\""), Error);
  }
  CHECK_THROWS_WITH_AS(json_to_int(json(4294967297LL), "o", "f"), doctest::Contains("4294967297"), Error);
  CHECK(json_to_double(json(3), "o", "f") == 3.0);
  CHECK_THROWS_AS(json_to_double(json("3"), "o", "f"), Error);
}

TEST_CASE("Architecture::from_json refuses hostile integer fields with a ser::Error naming the field") {
  const json seed = json::parse(nn::Architecture::seed().to_json());
  for (const char* field : {"in_channels", "height", "width", "classes"}) {
    for (const json& v : hostile_integers()) {
      json bad = seed;
      bad[field] = v;
      check_refused([&] { return nn::Architecture::from_json(bad.dump()); }, field, v);
    }
  }
  for (const char* field : {"conv_channels", "dense_units"}) {
    for (const json& v : hostile_integers()) {
      json bad = seed;
      bad[field][1] = v;
      check_refused([&] { return nn::Architecture::from_json(bad.dump()); }, field, v);
    }
    json not_a_list = seed;
    not_a_list[field] = 5;
    check_refused([&] { return nn::Architecture::from_json(not_a_list.dump()); }, field, not_a_list[field]);
  }
  for (const json& v : {json(1.0), json(-0.1), json("half"), json(1e300)}) {
    json bad = seed;
    bad["dropout"] = v;
    check_refused([&] { return nn::Architecture::from_json(bad.dump()); }, "dropout", v);
  }
}

TEST_CASE("Architecture::validate caps sides, counts and the sizes they imply (no int overflow)") {
  // The review's example: 46342^2 * 4 channels overflows int in the flattened feature count.
  json big = json::parse(nn::Architecture::seed().to_json());
  big["height"] = big["width"] = 46342;
  big["conv_channels"] = {4};
  CHECK_THROWS_WITH_AS(nn::Architecture::from_json(big.dump()), doctest::Contains("4096"), Error);

  nn::Architecture a = nn::Architecture::seed();
  CHECK(a.flattened_features() == 256 * 6 * 6);
  a.height = a.width = nn::kMaxImageSide;  // allowed side, 4 blocks: 256 x 254 x 254 features
  a.conv_channels = {4, 8, 16, 256};       // small early blocks: within the activation cap
  CHECK(a.flattened_features() == 256LL * 254 * 254);
  CHECK_THROWS_WITH_AS(a.validate(), doctest::Contains("weights"), Error);  // fc1 alone: 8.5e9 weights
  a = nn::Architecture::seed();
  a.conv_channels = {nn::kMaxChannels};  // within the channel cap, but 65536 x 126 x 126 per image
  CHECK_THROWS_WITH_AS(a.validate(), doctest::Contains("values per image"), Error);
  a = nn::Architecture::seed();
  a.classes = nn::kMaxClasses + 1;
  CHECK_THROWS_AS(a.validate(), Error);
  a.classes = nn::kMaxClasses;
  CHECK_NOTHROW(a.validate());
  a = nn::Architecture::seed();
  a.dense_units = {nn::kMaxChannels + 1};
  CHECK_THROWS_AS(a.validate(), Error);
  a.dense_units.assign(nn::kMaxLayers + 1, 8);
  CHECK_THROWS_AS(a.validate(), Error);
}

TEST_CASE("LogMelConfig::from_json refuses hostile values with a ser::Error naming the field") {
  for (const char* field : {"sample_rate", "n_fft", "hop_length", "n_mels", "image_height", "image_width"}) {
    for (const json& v : hostile_integers())
      check_refused([&] { return features::LogMelConfig::from_json({{field, v}}); }, field, v);
  }
  for (const char* field : {"fmin", "fmax", "amin", "top_db"})
    for (const json& v : {json("x"), json(nullptr), json::array()})
      CHECK_THROWS_AS(features::LogMelConfig::from_json({{field, v}}), Error);
  // Within int range but past the caps: a 2e9-point FFT would allocate a 16 GB window.
  CHECK_THROWS_WITH_AS(features::LogMelConfig::from_json({{"n_fft", 2000000000}}), doctest::Contains("n_fft"), Error);
  CHECK_THROWS_AS(features::LogMelConfig::from_json({{"n_mels", features::kMaxMels + 1}}), Error);
  CHECK_THROWS_AS(features::LogMelConfig::from_json({{"image_width", features::kMaxImageSide + 1}}), Error);
  CHECK_THROWS_AS(features::LogMelConfig::from_json({{"hop_length", 0}}), Error);
  CHECK_NOTHROW(features::LogMelConfig::from_json(
      {{"n_fft", features::kMaxFft}, {"n_mels", features::kMaxMels}, {"image_height", features::kMaxImageSide}}));
}

TEST_CASE("json_to_uint64: seeds and counters are non-negative JSON integers") {
  CHECK(json_to_uint64(json(0), "t", "seed") == 0u);
  CHECK(json_to_uint64(json::parse("18446744073709551615"), "t", "seed") == 18446744073709551615ull);
  for (const json& bad : {json(-1), json(2.5), json(1e10), json("7"), json(nullptr)})
    CHECK_THROWS_WITH_AS(json_to_uint64(bad, "t", "seed"), doctest::Contains("\"seed\""), Error);
}

}  // TEST_SUITE
