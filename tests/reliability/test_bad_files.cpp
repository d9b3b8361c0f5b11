// Every model file `ser predict` and `ser eval` read, and the checkpoint `ser train --resume`
// reads, attacked: zero length, truncated, wrong magic, absurd header length and shapes,
// wrong dtype, NaN / Inf weights, another architecture or class set, broken metadata. Each
// must end the real binary with exit status 1 and exactly one line "ser: error: <file>: ..."
// naming the problem — no crash, hang or unbounded allocation (the sanitizer build runs this
// too).
#include <doctest/doctest.h>

#include <cstring>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/demo_corpus.h"
#include "engine/core/random.h"
#include "engine/io/file.h"
#include "engine/io/safetensors.h"
#include "engine/nn/model.h"
#include "engine/train/checkpoint.h"
#include "features/logmel.h"
#include "reliability/process.h"
#include "support/temp_dir.h"

namespace fs = std::filesystem;
using namespace ser;

namespace {

std::vector<std::string> six_classes() { return {"neutral", "happy", "sad", "angry", "fearful", "disgust"}; }

// A valid, freshly initialised 6-class model file (what `ser train` writes).
SafeTensors valid_model(const fs::path& path) {
  nn::Model model(nn::Architecture::seed(6));
  Generator gen(1);
  model.initialize(gen);
  train::save_model(path, model, {six_classes(), features::LogMelConfig{}.to_json().dump(), {-40.0, 12.0}, {}});
  return read_safetensors(path);
}

void write_bytes(const fs::path& path, const std::string& bytes) {
  write_file_atomically(path, bytes.data(), bytes.size());
}

// Expects `ser args` to fail with one line naming `file` and containing `problem`.
void expect_one_line_error(const std::vector<std::string>& args, const fs::path& log, const fs::path& file,
                           const std::string& problem) {
  const test::RunResult r = test::run_ser(args, log);
  CAPTURE(file.filename().string());
  CAPTURE(r.output);
  CHECK(r.status == 1);
  CHECK(r.output.rfind("ser: error: ", 0) == 0);
  CHECK(r.output.find('\n') == r.output.size() - 1);  // exactly one line
  CHECK(r.output.find(file.string()) != std::string::npos);
  CHECK(r.output.find(problem) != std::string::npos);
}

}  // namespace

TEST_SUITE("reliability") {

TEST_CASE("attacked model files: predict and eval fail with one line naming the file and the problem") {
  test::TempDir dir;
  data::DemoCorpusOptions copts;
  copts.speakers = 1;
  copts.clips_per_class = 1;
  copts.seconds = 0.5;
  data::generate_demo_corpus(dir / "corpus", copts);
  fs::path wav;
  for (const auto& e : fs::recursive_directory_iterator(dir / "corpus"))
    if (e.path().extension() == ".wav") wav = e.path();
  REQUIRE(!wav.empty());

  const SafeTensors good = valid_model(dir / "good.safetensors");
  const std::string good_bytes = serialize_safetensors(good);
  // Sanity: the untouched model predicts.
  const test::RunResult ok = test::run_ser({"predict", "--model", (dir / "good.safetensors").string(), wav.string()},
                                           dir / "ok.log");
  CAPTURE(ok.output);
  REQUIRE(ok.status == 0);

  struct Case {
    std::string name, bytes, problem;
  };
  std::vector<Case> cases;
  cases.push_back({"empty", "", "too short"});
  cases.push_back({"truncated", good_bytes.substr(0, good_bytes.size() / 2), "outside the data"});
  cases.push_back({"header_cut", good_bytes.substr(0, 100), "runs past the end"});
  cases.push_back({"npy_magic", std::string("\x93NUMPY\x01\x00", 8) + std::string(200, ' '), "absurd"});
  cases.push_back({"absurd_length", std::string(8, '\xff') + "{}", "absurd"});
  cases.push_back({"not_json", std::string("\x08\0\0\0\0\0\0\0", 8) + "{not js}", "not valid JSON"});
  {
    // Written by hand: serialize_safetensors refuses a shape that does not match the bytes.
    std::string header = R"({"out.bias":{"dtype":"F32","shape":[1099511627776,1099511627776],"data_offsets":[0,4]}})";
    header.append((8 - header.size() % 8) % 8, ' ');
    std::string bytes(8, '\0');
    for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((header.size() >> (8 * i)) & 0xff);
    cases.push_back({"absurd_shape", bytes + header + std::string(4, '\0'), "out.bias"});
  }
  {
    SafeTensors f = good;
    Array& w = f.tensors.at("out.weight");
    w = Array::from_int64(w.shape, std::vector<int64_t>(static_cast<std::size_t>(w.numel()), 1));
    cases.push_back({"int64_weights", serialize_safetensors(f), "int64"});
  }
  for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
    SafeTensors f = good;
    Array& w = f.tensors.at("fc1.weight");
    std::memcpy(w.bytes.data() + 4 * 17, &bad, 4);
    cases.push_back({std::isnan(bad) ? "nan_weight" : "inf_weight", serialize_safetensors(f), "non-finite"});
  }
  {
    SafeTensors f = good;  // weights of an 8-class network under a 6-class architecture
    f.tensors.at("out.bias").shape = {8};
    f.tensors.at("out.bias").bytes.resize(8 * 4);
    cases.push_back({"other_architecture", serialize_safetensors(f), "out.bias"});
  }
  {
    SafeTensors f = good;
    f.metadata["classes"] = nlohmann::json({"neutral", "happy", "sad"}).dump();
    cases.push_back({"other_class_set", serialize_safetensors(f), "3 class names"});
  }
  {
    SafeTensors f = good;
    f.metadata["features"] = "{\"sample_rate\": ";
    cases.push_back({"broken_features", serialize_safetensors(f), "malformed model metadata"});
  }
  {
    SafeTensors f = good;
    f.metadata["format"] = "something-else";
    cases.push_back({"wrong_format", serialize_safetensors(f), "not a ser model"});
  }
  {
    SafeTensors f = good;
    f.metadata["normalization"] = R"({"mean": 0, "std": 0})";
    cases.push_back({"zero_std", serialize_safetensors(f), "std must be positive"});
  }

  for (const auto& c : cases) {
    const fs::path model = dir / (c.name + ".safetensors");
    write_bytes(model, c.bytes);
    expect_one_line_error({"predict", "--model", model.string(), wav.string()}, dir / (c.name + ".log"), model,
                          c.problem);
  }
  // eval reads models through the same loader: one representative case.
  const fs::path nan_model = dir / "nan_weight.safetensors";
  expect_one_line_error({"eval", "--model", nan_model.string(), "--data", (dir / "corpus").string(), "--cache", "none"},
                        dir / "eval.log", nan_model, "non-finite");
}

TEST_CASE("attacked checkpoints: --resume fails with one line naming the checkpoint") {
  test::TempDir dir;
  data::DemoCorpusOptions copts;
  copts.speakers = 3;
  copts.clips_per_class = 2;
  copts.seconds = 0.5;
  data::generate_demo_corpus(dir / "corpus", copts);
  const fs::path run = dir / "run";
  const test::RunResult first =
      test::run_ser({"train", "--quiet", "--device", "cpu", "--data", (dir / "corpus").string(), "--cache", "none",
                     "--epochs", "1", "--out", run.string()},
                    dir / "first.log");
  CAPTURE(first.output);
  REQUIRE(first.status == 0);
  const fs::path checkpoint = run / "checkpoint.safetensors";
  const SafeTensors good = read_safetensors(checkpoint);
  const std::string good_bytes = serialize_safetensors(good);

  struct Case {
    std::string name, bytes, problem;
  };
  std::vector<Case> cases;
  cases.push_back({"empty", "", "too short"});
  cases.push_back({"truncated", good_bytes.substr(0, good_bytes.size() - 1000), "outside the data"});
  {
    SafeTensors f = good;
    f.metadata["format"] = "ser-model-1";  // a model file is not a checkpoint
    cases.push_back({"model_not_checkpoint", serialize_safetensors(f), "not a ser training checkpoint"});
  }
  {
    SafeTensors f = good;
    f.metadata["architecture"] = nn::Architecture::seed(8).to_json();
    cases.push_back({"other_architecture", serialize_safetensors(f), "architecture"});
  }
  {
    SafeTensors f = good;
    f.metadata["train_state"] = "{\"epochs_done\": \"many\"}";
    cases.push_back({"bad_train_state", serialize_safetensors(f), "malformed training state"});
  }
  {
    SafeTensors f = good;
    f.tensors.erase("adam.v");
    cases.push_back({"no_adam_v", serialize_safetensors(f), "adam.v"});
  }
  for (const auto& c : cases) {
    write_bytes(checkpoint, c.bytes);
    expect_one_line_error({"train", "--quiet", "--resume", run.string()}, dir / (c.name + ".log"), checkpoint,
                          c.problem);
  }
}

}  // TEST_SUITE
