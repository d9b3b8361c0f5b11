// The clip lengths a model file records for `ser predict` (train::ClipLengths, metadata
// "clip_seconds"): written and read back, absent in older files (which still load, with
// files == 0), and refused with the file's name when malformed.
#include <doctest/doctest.h>

#include "engine/core/error.h"
#include "engine/io/safetensors.h"
#include "engine/train/checkpoint.h"
#include "support/temp_dir.h"

using namespace ser;
using namespace ser::train;

namespace {
nn::Architecture tiny() {
  nn::Architecture a;
  a.height = 16;
  a.width = 16;
  a.conv_channels = {2};
  a.dense_units = {4};
  a.classes = 2;
  return a;
}
}  // namespace

TEST_SUITE("train") {

TEST_CASE("model files record the training clip lengths; older files without them still load") {
  test::TempDir dir;
  nn::Model model(tiny());
  Generator gen(3);
  model.initialize(gen);
  const ModelInfo info{{"a", "b"}, "{}", {0.0, 1.0}, ClipLengths{3.2, 4.9, 1.4, 7.5, 1440}};
  save_model(dir / "m.safetensors", model, info);
  const ClipLengths c = load_model(dir / "m.safetensors").info.clip_seconds;
  CHECK(c.median == 3.2);
  CHECK(c.p95 == 4.9);
  CHECK(c.min == 1.4);
  CHECK(c.max == 7.5);
  CHECK(c.files == 1440);

  SafeTensors file = read_safetensors(dir / "m.safetensors");
  file.metadata.erase("clip_seconds");  // as written before the field existed
  write_safetensors(dir / "old.safetensors", file);
  CHECK(load_model(dir / "old.safetensors").info.clip_seconds.files == 0);

  for (const char* bad : {R"({"median": 3, "p95": 2, "min": 1, "max": 4, "files": 10})",
                          R"({"median": 3, "p95": 4, "min": 0, "max": 5, "files": 10})",
                          R"({"median": "3", "p95": 4, "min": 1, "max": 5, "files": 10})",
                          R"({"median": 3, "p95": 4, "min": 1, "max": 5})", "[1, 2]", "not json"}) {
    CAPTURE(bad);
    file.metadata["clip_seconds"] = bad;
    write_safetensors(dir / "bad.safetensors", file);
    CHECK_THROWS_WITH_AS(load_model(dir / "bad.safetensors"), doctest::Contains("bad.safetensors"), Error);
  }
}

}  // TEST_SUITE
