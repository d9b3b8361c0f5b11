// The fixed time axis in training and evaluation: evaluation window offsets, column crops,
// forward_windowed (logits averaged over windows), random crops in train_epoch, and
// corpus x class balanced sampling.
#include <doctest/doctest.h>

#include <map>

#include "engine/core/error.h"
#include "engine/nn/model.h"
#include "engine/train/sampling.h"
#include "engine/train/trainer.h"
#include "train/toy_data.h"

namespace ser::train {
namespace {

// Toy images widened to `width` columns by tiling them along time.
Dataset widened(const Dataset& d, int width) {
  Dataset out;
  const int64_t n = d.size(), h = d.images.size(2), w = d.images.size(3);
  out.images = Tensor(Shape{n, 1, h, width});
  for (int64_t i = 0; i < n; ++i)
    for (int64_t r = 0; r < h; ++r)
      for (int c = 0; c < width; ++c) out.images.at(i, 0, r, c) = d.images.at(i, 0, r, c % w);
  out.labels = d.labels;
  return out;
}

}  // namespace

TEST_SUITE("train") {
TEST_CASE("window_offsets: hop of half a window, the last window flush with the end, one window at the network width") {
  CHECK(window_offsets(256, 128) == std::vector<int64_t>{0, 64, 128});
  CHECK(window_offsets(200, 128) == std::vector<int64_t>{0, 64, 72});
  CHECK(window_offsets(128, 128) == std::vector<int64_t>{0});
  CHECK(window_offsets(5, 1) == std::vector<int64_t>{0, 1, 2, 3, 4});
  CHECK_THROWS_AS(window_offsets(100, 128), Error);
}

TEST_CASE("crop_columns copies columns [offset, offset + window) of every row of each image") {
  Tensor x(Shape{2, 1, 3, 6});
  for (int64_t i = 0; i < x.numel(); ++i) x.data()[i] = static_cast<float>(i);
  Tensor out;
  crop_columns(x, {1, 4}, 2, out);
  REQUIRE(out.shape() == Shape{2, 1, 3, 2});
  for (int n = 0; n < 2; ++n)
    for (int r = 0; r < 3; ++r)
      for (int c = 0; c < 2; ++c) CHECK(out.at(n, 0, r, c) == x.at(n, 0, r, c + (n == 0 ? 1 : 4)));
  CHECK_THROWS_AS(crop_columns(x, std::vector<int64_t>{5, 0}, 2, out), Error);  // 5 + 2 > 6
  CHECK_THROWS_AS(crop_columns(x, std::vector<int64_t>{0}, 2, out), Error);  // one offset for two images
}

TEST_CASE("forward_windowed: the mean of the windows' eval logits; the plain forward pass at the network width") {
  nn::Model model(test::tiny(), Device::CPU);
  Generator g(3);
  model.initialize(g);
  const Dataset wide = widened(test::toy_data(4, 1), 40);  // 16-column network, 40-column images
  const std::vector<float> got = forward_windowed(model, wide.images);
  const std::vector<int64_t> offsets = window_offsets(40, 16);  // 0, 8, 16, 24
  REQUIRE(offsets.size() == 4);
  std::vector<double> want(got.size(), 0.0);
  Tensor crop;
  for (int64_t o : offsets) {
    crop_columns(wide.images, std::vector<int64_t>(4, o), 16, crop);
    const std::vector<float> z = model.forward(crop, nn::Mode::Eval).to_vector();
    for (std::size_t i = 0; i < z.size(); ++i) want[i] += z[i] / 4.0;
  }
  for (std::size_t i = 0; i < got.size(); ++i) CHECK(got[i] == doctest::Approx(want[i]).epsilon(1e-6));
  const Dataset plain = test::toy_data(4, 1);
  CHECK(forward_windowed(model, plain.images) == model.forward(plain.images, nn::Mode::Eval).to_vector());
  // evaluate() decides on the averaged logits.
  Dataset labelled = wide;
  const Evaluation ev = evaluate(model, labelled, 3);
  for (int i = 0; i < 4; ++i) {
    const float* row = got.data() + i * 3;
    CHECK(ev.predicted[static_cast<std::size_t>(i)] == std::max_element(row, row + 3) - row);
  }
}

TEST_CASE("train_epoch on images wider than the network: random crops, reproducible from the seed, and it learns") {
  const Dataset train = widened(test::toy_data(48, 2), 24);
  auto run = [&](uint64_t seed) {
    nn::Model model(test::tiny(), Device::CPU);
    Generator g(seed);
    model.initialize(g);
    nn::AdamConfig ac;
    ac.lr = 3e-3;
    nn::Adam adam(ac, model.parameter_count(), Device::CPU);
    TrainConfig cfg;
    cfg.epochs = 8;
    cfg.batch = 8;
    cfg.progress = false;
    cfg.augment = AugmentConfig::parse("time-masks=1x4");
    Trainer trainer(model, adam, g, cfg);
    double loss = 0;
    for (int e = 1; e <= cfg.epochs; ++e) loss = trainer.train_epoch(train, e).train_loss;
    return std::make_pair(loss, evaluate(model, train).accuracy);
  };
  const auto a = run(5), b = run(5);
  CHECK(a.first == b.first);
  CHECK(a.second == b.second);
  CHECK(a.second > 0.8);  // three easy classes: chance is 1/3
}

TEST_CASE("corpus-balanced sampling: every (corpus, class) pair about equally often; one corpus = balanced") {
  // Corpus 0: 300 files (100 per class), corpus 1: 30 files (10 per class).
  std::vector<int32_t> labels, groups;
  for (int i = 0; i < 300; ++i) labels.push_back(i % 3), groups.push_back(0);
  for (int i = 0; i < 30; ++i) labels.push_back(i % 3), groups.push_back(1);
  Generator g(11);
  const std::vector<int64_t> order = epoch_order(g, Sampling::CorpusBalanced, labels, 3, groups);
  REQUIRE(order.size() == labels.size());
  std::map<int, int> per_stratum;
  for (int64_t r : order) ++per_stratum[groups[static_cast<std::size_t>(r)] * 3 + labels[static_cast<std::size_t>(r)]];
  REQUIRE(per_stratum.size() == 6);
  for (const auto& [stratum, count] : per_stratum) CHECK(std::abs(count - 55) < 25);  // 330 / 6 draws each
  Generator a(4), b(4);
  CHECK(epoch_order(a, Sampling::CorpusBalanced, labels, 3, {}) == epoch_order(b, Sampling::Balanced, labels, 3));
  Generator c(4);
  CHECK_THROWS_AS(epoch_order(c, Sampling::CorpusBalanced, labels, 3, std::vector<int32_t>(5, 0)), Error);
  CHECK(parse_sampling("corpus-balanced") == Sampling::CorpusBalanced);
  CHECK(std::string(sampling_name(Sampling::CorpusBalanced)) == "corpus-balanced");
}
}

}  // namespace ser::train
