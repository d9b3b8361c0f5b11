// Batch-norm adaptation (engine/train/adapt_bn.h): the pooled statistics of the batches are
// those of all images at once (the first BN layer's input does not depend on the batch), the
// adapted model normalises the new images to the layer's beta / gamma, wider images are cut
// into the evaluation's windows, and bad use is refused. (`ser eval --adapt-bn` end to end:
// tests/app/test_model_info.cpp.)
#include <doctest/doctest.h>

#include <cmath>
#include <map>

#include "engine/core/error.h"
#include "engine/nn/layers.h"
#include "engine/nn/model.h"
#include "engine/train/adapt_bn.h"
#include "tests/support/architectures.h"
#include "tests/support/values.h"

using namespace ser;

namespace {
// (n, 1, 32, W) images of a domain shifted from the initialisation's: values in [1, 4].
Tensor shifted_images(int64_t n, int64_t w, uint32_t seed) {
  return Tensor::from_vector(Shape{n, 1, 32, w}, test::uniform_values(n * 32 * w, 1.0f, 4.0f, seed));
}

nn::BatchNorm2d<float>& first_bn(nn::Model& model) {
  auto& net = model.network();
  for (std::size_t i = 0; i < net.layer_count(); ++i)
    if (auto* bn = dynamic_cast<nn::BatchNorm2d<float>*>(&net.layer(i))) return *bn;
  FAIL("no BatchNorm2d layer");
  throw 0;
}

std::map<std::string, std::vector<float>> moving_stats(nn::Model& model) {
  std::map<std::string, std::vector<float>> out;
  for (auto& [name, t] : model.named_state())
    if (name.find("moving_") != std::string::npos) out[name] = t.to_vector();
  return out;
}
}  // namespace

TEST_SUITE("train") {

TEST_CASE("BatchNormAdapter: pooled batch statistics equal those of all images at once") {
  nn::Architecture arch = test::small_architecture();
  Generator init(7);
  nn::Model model(arch), reference(arch);
  model.initialize(init);
  Generator init2(7);
  reference.initialize(init2);
  const auto before = moving_stats(model);
  const Tensor images = shifted_images(24, 32, 3);

  train::BatchNormAdapter adapter(model, 8);
  adapter.add(images);
  CHECK(moving_stats(model) == before);  // untouched until finish()
  adapter.finish();
  CHECK(adapter.windows() == 24);

  // All 24 at once through the reference model: its first BN layer's batch statistics.
  Generator drop(1);
  reference.forward(images, nn::Mode::Train, &drop);
  const std::vector<float> mean = first_bn(reference).batch_mean(), var = first_bn(reference).batch_var();
  const auto after = moving_stats(model);
  const std::string layer = first_bn(model).name();
  const std::vector<float>& m = after.at(layer + ".moving_mean");
  const std::vector<float>& v = after.at(layer + ".moving_var");
  REQUIRE(m.size() == mean.size());
  for (std::size_t c = 0; c < m.size(); ++c) {
    CHECK(m[c] == doctest::Approx(mean[c]).epsilon(1e-5));
    CHECK(v[c] == doctest::Approx(var[c]).epsilon(1e-4));
  }
  // Every BN layer's statistics changed (the images are unlike the initial zeros / ones).
  for (const auto& [name, values] : after) CHECK(values != before.at(name));
}

TEST_CASE("BatchNormAdapter: wider images are cut into the evaluation's windows; bad use is refused") {
  nn::Architecture arch = test::small_architecture();
  Generator init(2);
  nn::Model model(arch);
  model.initialize(init);
  train::BatchNormAdapter adapter(model, 4);
  adapter.add(shifted_images(8, 64, 5));  // 64 columns, windows of 32: offsets 0, 16, 32
  CHECK(adapter.windows() == 8 * 3);
  CHECK_THROWS_AS(adapter.add(shifted_images(4, 16, 5)), Error);  // narrower than the network
  train::BatchNormAdapter empty(model, 4);
  CHECK_THROWS_AS(empty.finish(), Error);  // nothing added
  CHECK_THROWS_AS(train::BatchNormAdapter(model, 1), Error);  // a batch of 1 has no variance
}
}  // TEST_SUITE
