// Architecture: validation (with the caps of architecture.h) and JSON round trip
// (nlohmann::json, every count read through the checked json_to_int).
#include "engine/nn/architecture.h"

#include <nlohmann/json.hpp>

#include <algorithm>

#include "engine/core/error.h"
#include "engine/io/json_number.h"

namespace ser::nn {

Architecture Architecture::seed(int classes) {
  Architecture a;
  a.classes = classes;
  a.validate();
  return a;
}

void Architecture::validate() const {
  SER_CHECK(in_channels > 0 && height > 0 && width > 0,
            "architecture: in_channels, height and width must be positive, got in_channels={} height={} width={}", in_channels, height, width);
  SER_CHECK(height <= kMaxImageSide && width <= kMaxImageSide, "architecture: input height x width {}x{} exceeds the {}x{} limit",
            height, width, kMaxImageSide, kMaxImageSide);
  SER_CHECK(in_channels <= kMaxChannels, "architecture: in_channels {} exceeds the limit {}", in_channels,
            kMaxChannels);
  SER_CHECK(!conv_channels.empty(), "architecture: conv_channels must list at least one block");
  SER_CHECK(conv_channels.size() <= static_cast<std::size_t>(kMaxLayers) && dense_units.size() <= static_cast<std::size_t>(kMaxLayers),
            "architecture: {} conv_channels and {} dense_units entries; at most {} of each", conv_channels.size(),
            dense_units.size(), kMaxLayers);
  for (int c : conv_channels)
    SER_CHECK(c > 0 && c <= kMaxChannels, "architecture: conv_channels entry {} must lie in [1, {}]", c, kMaxChannels);
  for (int u : dense_units)
    SER_CHECK(u > 0 && u <= kMaxChannels, "architecture: dense_units entry {} must lie in [1, {}]", u, kMaxChannels);
  SER_CHECK(classes >= 2 && classes <= kMaxClasses, "architecture: classes must lie in [2, {}], got {}", kMaxClasses,
            classes);
  SER_CHECK(dropout >= 0.0f && dropout < 1.0f, "architecture: dropout {} must lie in [0, 1)", dropout);
  SER_CHECK(block == "conv-relu-bn" || block == "conv-bn-relu",
            "architecture: block \"{}\" must be conv-relu-bn or conv-bn-relu", block);
  SER_CHECK(head == "flatten" || head == "gap", "architecture: head \"{}\" must be flatten or gap", head);
  SER_CHECK(bn_momentum >= 0.0 && bn_momentum < 1.0, "architecture: bn_momentum {} must lie in [0, 1)", bn_momentum);
  // Walk the blocks in int64: every product below is at most 2^16 * 2^16 * 2^12 * 9 < 2^63.
  int64_t h = height, w = width, channels = in_channels, weights = 0;
  for (std::size_t i = 0; i < conv_channels.size(); ++i) {
    const int64_t out = conv_channels[i];
    const int64_t activations = out * (h - 2) * (w - 2);  // conv output of one image
    SER_CHECK(h - 2 < 1 || w - 2 < 1 || activations <= kMaxActivationsPerSample,
              "architecture: block {} outputs {} values per image, more than the limit {}", i + 1, activations,
              kMaxActivationsPerSample);
    weights += channels * out * 9;
    h = side_after_block(h);
    w = side_after_block(w);
    channels = out;
    SER_CHECK(h >= 1 && w >= 1, "architecture: input {}x{} is too small for {} conv blocks (nothing left after block {})",
              height, width, conv_channels.size(), i + 1);
  }
  int64_t features = flattened_features();
  SER_CHECK(features <= kMaxFlattenedFeatures,
            "architecture: {} features after the conv blocks ({} channels x {} x {}), more than the limit {}", features,
            channels, h, w, kMaxFlattenedFeatures);
  for (int u : dense_units) {
    weights += features * u;
    features = u;
  }
  weights += features * classes;
  SER_CHECK(weights <= kMaxWeights, "architecture: {} weights, more than the limit {}", weights, kMaxWeights);
}

int64_t Architecture::flattened_features() const {
  int64_t h = height, w = width;
  for (std::size_t i = 0; i < conv_channels.size(); ++i) h = side_after_block(h), w = side_after_block(w);
  const int64_t channels = conv_channels.empty() ? in_channels : conv_channels.back();
  if (head == "gap") return channels;
  return channels * std::max<int64_t>(h, 0) * std::max<int64_t>(w, 0);
}

std::string Architecture::to_json() const {
  nlohmann::json j;
  j["in_channels"] = in_channels;
  j["height"] = height;
  j["width"] = width;
  j["conv_channels"] = conv_channels;
  j["dense_units"] = dense_units;
  j["classes"] = classes;
  j["dropout"] = dropout;
  j["block"] = block;
  j["head"] = head;
  j["bn_momentum"] = bn_momentum;
  return j.dump();
}

Architecture Architecture::from_json(const std::string& text) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    SER_FAIL("architecture: invalid JSON ({}): {}", e.what(), text.substr(0, 200));
  }
  SER_CHECK(j.is_object(), "architecture: expected a JSON object, got {}", text.substr(0, 200));
  auto field = [&](const char* key) -> const nlohmann::json& {
    SER_CHECK(j.contains(key), "architecture: missing field \"{}\" in {}", key, text.substr(0, 200));
    return j.at(key);
  };
  auto integer = [&](const char* key) { return json_to_int(field(key), "architecture", key); };
  auto integer_list = [&](const char* key) {
    const nlohmann::json& list = field(key);
    SER_CHECK(list.is_array() && list.size() <= static_cast<std::size_t>(kMaxLayers),
              "architecture: field \"{}\" must be a list of at most {} integers, got {}", key, kMaxLayers,
              list.dump().substr(0, 200));
    std::vector<int> out;
    for (std::size_t i = 0; i < list.size(); ++i)
      out.push_back(json_to_int(list[i], "architecture", fmt::format("{}[{}]", key, i)));
    return out;
  };
  Architecture a;
  a.in_channels = integer("in_channels");
  a.height = integer("height");
  a.width = integer("width");
  a.conv_channels = integer_list("conv_channels");
  a.dense_units = integer_list("dense_units");
  a.classes = integer("classes");
  const double dropout = json_to_double(field("dropout"), "architecture", "dropout");
  SER_CHECK(dropout >= 0.0 && dropout < 1.0, "architecture: dropout {} must lie in [0, 1)", dropout);
  a.dropout = static_cast<float>(dropout);
  auto text_field = [&](const char* key, const std::string& fallback) {
    if (!j.contains(key)) return fallback;  // files of versions before this field
    SER_CHECK(j.at(key).is_string(), "architecture: field \"{}\" must be a string, got {}", key,
              j.at(key).dump().substr(0, 100));
    return j.at(key).get<std::string>();
  };
  a.block = text_field("block", a.block);
  a.head = text_field("head", a.head);
  if (j.contains("bn_momentum")) a.bn_momentum = json_to_double(j.at("bn_momentum"), "architecture", "bn_momentum");
  a.validate();
  return a;
}

bool Architecture::operator==(const Architecture& o) const {
  return in_channels == o.in_channels && height == o.height && width == o.width &&
         conv_channels == o.conv_channels && dense_units == o.dense_units && classes == o.classes &&
         dropout == o.dropout && block == o.block && head == o.head && bn_momentum == o.bn_momentum;
}

}  // namespace ser::nn
