// prediction_json: a FilePrediction as the ordered JSON object of prediction_json.h.
#include "apps/prediction_json.h"

#include <cmath>

namespace ser::app {
namespace {

// v rounded to `decimals` places (decimals < 0: v as it is).
double rounded(double v, int decimals) {
  if (decimals < 0) return v;
  const double scale = std::pow(10.0, decimals);
  return std::round(v * scale) / scale;
}

nlohmann::ordered_json class_object(const std::vector<float>& p, const std::vector<std::string>& names, int decimals) {
  nlohmann::ordered_json o = nlohmann::ordered_json::object();
  for (std::size_t k = 0; k < names.size() && k < p.size(); ++k) o[names[k]] = rounded(p[k], decimals);
  return o;
}

std::string emotion_of(int label, const std::vector<std::string>& names) {
  return label < 0 ? "silent" : names[static_cast<std::size_t>(label)];
}

}  // namespace

nlohmann::ordered_json prediction_json(const FilePrediction& r, const std::vector<std::string>& names,
                                       const WindowSettings& ws, int decimals) {
  auto round = [decimals](double v) { return rounded(v, decimals); };
  nlohmann::ordered_json j{{"file", r.file.string()}};
  if (!r.ok()) {
    j["error"] = r.error;
    return j;
  }
  j["seconds"] = round(r.seconds);
  j["emotion"] = emotion_of(r.label, names);
  if (r.label >= 0) j["probabilities"] = class_object(r.mean_probabilities, names, decimals);
  if (!r.warning.empty()) j["warning"] = r.warning;
  j["whole"] = r.whole;
  if (!r.whole) {
    j["window"] = round(static_cast<double>(ws.window) / ws.sample_rate);
    j["hop"] = round(static_cast<double>(ws.hop) / ws.sample_rate);
  }
  const std::size_t classes = names.size();
  nlohmann::ordered_json windows = nlohmann::ordered_json::array();
  for (std::size_t k = 0; k < r.windows.size(); ++k) {
    nlohmann::ordered_json w{{"start", round(double(r.windows[k].start) / r.sample_rate)},
                             {"end", round(double(r.windows[k].end) / r.sample_rate)},
                             {"silent", bool(r.silent[k])}};
    if (!r.silent[k])
      w["probabilities"] = class_object(
          std::vector<float>(r.probabilities.begin() + k * classes, r.probabilities.begin() + (k + 1) * classes), names,
          decimals);
    windows.push_back(std::move(w));
  }
  j["windows"] = std::move(windows);
  nlohmann::ordered_json segments = nlohmann::ordered_json::array();
  for (const Segment& s : r.segments) {
    nlohmann::ordered_json o{{"start", round(s.start)}, {"end", round(s.end)}, {"emotion", emotion_of(s.label, names)},
                             {"windows", s.windows}};
    if (s.label >= 0) o["probabilities"] = class_object(s.mean_probabilities, names, decimals);
    segments.push_back(std::move(o));
  }
  j["segments"] = std::move(segments);
  return j;
}

}  // namespace ser::app
