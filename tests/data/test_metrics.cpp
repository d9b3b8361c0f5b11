// ser::compute_metrics against values worked out by hand from the confusion matrix.
#include <doctest/doctest.h>

#include "engine/core/error.h"
#include "engine/metrics.h"

using namespace ser;

TEST_SUITE("data") {

TEST_CASE("metrics: confusion matrix, per-class and averaged scores by hand") {
  // true:      0 0 0 1 1 2 2 2 2     confusion (rows true, cols predicted):
  // predicted: 0 1 0 1 2 2 2 0 1       [2 1 0] [0 1 1] [1 1 2]
  const Metrics m = compute_metrics({0, 0, 0, 1, 1, 2, 2, 2, 2}, {0, 1, 0, 1, 2, 2, 2, 0, 1}, 3);
  CHECK(m.confusion == std::vector<std::vector<int64_t>>{{2, 1, 0}, {0, 1, 1}, {1, 1, 2}});
  CHECK(m.accuracy == doctest::Approx(5.0 / 9));
  CHECK(m.per_class[0].precision == doctest::Approx(2.0 / 3));
  CHECK(m.per_class[1].precision == doctest::Approx(1.0 / 3));
  CHECK(m.per_class[2].precision == doctest::Approx(2.0 / 3));
  CHECK(m.per_class[0].recall == doctest::Approx(2.0 / 3));
  CHECK(m.per_class[1].recall == doctest::Approx(0.5));
  CHECK(m.per_class[2].recall == doctest::Approx(0.5));
  CHECK(m.per_class[0].f1 == doctest::Approx(2.0 / 3));
  CHECK(m.per_class[1].f1 == doctest::Approx(0.4));       // 2 * (1/3 * 1/2) / (1/3 + 1/2)
  CHECK(m.per_class[2].f1 == doctest::Approx(4.0 / 7));   // 2 * (2/3 * 1/2) / (2/3 + 1/2)
  CHECK(m.per_class[0].support == 3);
  CHECK(m.per_class[1].support == 2);
  CHECK(m.per_class[2].support == 4);
  CHECK(m.macro_f1 == doctest::Approx((2.0 / 3 + 0.4 + 4.0 / 7) / 3));
  CHECK(m.weighted_f1 == doctest::Approx((3 * (2.0 / 3) + 2 * 0.4 + 4 * (4.0 / 7)) / 9));
  CHECK(m.macro_precision == doctest::Approx((2.0 / 3 + 1.0 / 3 + 2.0 / 3) / 3));
  CHECK(m.weighted_recall == doctest::Approx(m.accuracy));  // always true for weighted recall
  CHECK(m.total() == 9);
}

TEST_CASE("metrics: undefined ratios are 0; a class absent from truth and predictions is left out of the macro average") {
  // Class 1 is never predicted (precision undefined); class 2 never occurs at all.
  const Metrics m = compute_metrics({0, 1, 1, 0}, {0, 0, 0, 0}, 3);
  CHECK(m.per_class[0].precision == doctest::Approx(0.5));
  CHECK(m.per_class[0].recall == doctest::Approx(1.0));
  CHECK(m.per_class[0].f1 == doctest::Approx(2.0 / 3));
  CHECK(m.per_class[1].precision == 0.0);
  CHECK(m.per_class[1].recall == 0.0);
  CHECK(m.per_class[1].f1 == 0.0);
  CHECK(m.per_class[2].support == 0);
  CHECK(m.per_class[2].f1 == 0.0);
  // sklearn's classification_report(y_true, y_pred): labels = {0, 1}, macro F1 = (2/3 + 0) / 2.
  CHECK(m.macro_f1 == doctest::Approx((2.0 / 3 + 0.0) / 2));
  CHECK(m.macro_recall == doctest::Approx((1.0 + 0.0) / 2));
  CHECK(m.macro_precision == doctest::Approx((0.5 + 0.0) / 2));
  CHECK(m.weighted_f1 == doctest::Approx((2 * (2.0 / 3)) / 4));
  CHECK(m.accuracy == doctest::Approx(0.5));
  const Metrics empty = compute_metrics({}, {}, 2);
  CHECK(empty.accuracy == 0.0);
  CHECK(empty.weighted_f1 == 0.0);
}

TEST_CASE("metrics: report text and JSON carry the same numbers in class order") {
  const Metrics m = compute_metrics({0, 0, 1, 1}, {0, 1, 1, 1}, 2);
  const std::string text = m.report({"neutral", "happy"});
  CHECK(text.find("precision") != std::string::npos);
  CHECK(text.find("neutral") < text.find("happy"));
  CHECK(text.find("1.0000     0.5000     0.6667          2") != std::string::npos);  // neutral row
  CHECK(text.find("accuracy") != std::string::npos);
  CHECK(text.find("0.7500          4") != std::string::npos);  // accuracy 3/4 over 4 files
  CHECK(text.find("weighted avg") != std::string::npos);
  const nlohmann::json j = m.to_json({"neutral", "happy"});
  CHECK(j["accuracy"].get<double>() == doctest::Approx(0.75));
  REQUIRE(j["classes"].size() == 2);
  CHECK(j["classes"][1]["name"] == "happy");
  CHECK(j["classes"][1]["precision"].get<double>() == doctest::Approx(2.0 / 3));
  CHECK(j["classes"][1]["support"].get<int64_t>() == 2);
  CHECK(j["confusion"][0][1].get<int64_t>() == 1);
  CHECK_THROWS_AS(m.report({"only one"}), Error);
}

TEST_CASE("metrics: bad inputs are reported, not crashed on") {
  CHECK_THROWS_AS(compute_metrics({0, 1}, {0}, 2), Error);
  CHECK_THROWS_WITH_AS(compute_metrics({0, 2}, {0, 1}, 2), doctest::Contains("position 1"), Error);
  CHECK_THROWS_AS(compute_metrics({0}, {-1}, 2), Error);
  CHECK_THROWS_AS(compute_metrics({}, {}, 0), Error);
}

}  // TEST_SUITE
