// Architecture: validation and JSON round trip (nlohmann::json).
#include "engine/nn/architecture.h"

#include <nlohmann/json.hpp>

#include "engine/core/error.h"

namespace ser::nn {

Architecture Architecture::seed(int classes) {
  Architecture a;
  a.classes = classes;
  a.validate();
  return a;
}

void Architecture::validate() const {
  SER_CHECK(in_channels > 0 && height > 0 && width > 0,
            "architecture: input must be positive, got channels={} height={} width={}", in_channels, height, width);
  SER_CHECK(!conv_channels.empty(), "architecture: conv_channels must list at least one block");
  for (int c : conv_channels) SER_CHECK(c > 0, "architecture: conv channel count {} must be positive", c);
  for (int u : dense_units) SER_CHECK(u > 0, "architecture: dense unit count {} must be positive", u);
  SER_CHECK(classes >= 2, "architecture: classes must be >= 2, got {}", classes);
  SER_CHECK(dropout >= 0.0f && dropout < 1.0f, "architecture: dropout {} must lie in [0, 1)", dropout);
  int h = height, w = width;
  for (std::size_t i = 0; i < conv_channels.size(); ++i) {
    h = (h - 2) / 2;  // 3x3 valid conv, then 2x2 pool (floor)
    w = (w - 2) / 2;
    SER_CHECK(h >= 1 && w >= 1, "architecture: input {}x{} is too small for {} conv blocks (nothing left after block {})",
              height, width, conv_channels.size(), i + 1);
  }
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
  Architecture a;
  auto field = [&](const char* key, auto& out) {
    SER_CHECK(j.contains(key), "architecture: missing field \"{}\" in {}", key, text.substr(0, 200));
    try {
      j.at(key).get_to(out);
    } catch (const nlohmann::json::exception& e) {
      SER_FAIL("architecture: field \"{}\" has the wrong type ({})", key, e.what());
    }
  };
  field("in_channels", a.in_channels);
  field("height", a.height);
  field("width", a.width);
  field("conv_channels", a.conv_channels);
  field("dense_units", a.dense_units);
  field("classes", a.classes);
  field("dropout", a.dropout);
  a.validate();
  return a;
}

bool Architecture::operator==(const Architecture& o) const {
  return in_channels == o.in_channels && height == o.height && width == o.width &&
         conv_channels == o.conv_channels && dense_units == o.dense_units && classes == o.classes &&
         dropout == o.dropout;
}

}  // namespace ser::nn
