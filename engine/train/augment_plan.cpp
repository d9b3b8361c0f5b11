// AugmentConfig's text and JSON forms, and the per-epoch plan (see augment_plan.h).
#include "engine/train/augment_plan.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>

#include "engine/core/error.h"
#include "engine/io/json_number.h"

namespace ser::train {

namespace {

constexpr double kTwoPi = 6.283185307179586;

// Uniform [0, 1) numbers of one Philox stream, in order (24-bit resolution; 1 - u > 0).
class StreamUniforms {
 public:
  StreamUniforms(uint64_t seed, uint64_t stream) : seed_(seed), stream_(stream) {}
  double operator()() { return philox_uniform_at(seed_, stream_, next_++); }

 private:
  uint64_t seed_, stream_, next_ = 0;
};

// The image side parse() validates against: any size (widths are checked again at training).
constexpr int kAnyImageSide = 1 << 20;

// Integer in [0, n] from one uniform.
int uniform_int(double u, int n) { return std::min(n, static_cast<int>(u * (n + 1))); }

// Gamma(alpha, 1) (Marsaglia & Tsang 2000; alpha < 1 through Gamma(alpha + 1) * U^(1/alpha)).
double gamma_sample(double alpha, const std::function<double()>& u) {
  if (alpha < 1.0) {
    const double boost = std::pow(1.0 - u(), 1.0 / alpha);
    return gamma_sample(alpha + 1.0, u) * boost;
  }
  const double d = alpha - 1.0 / 3.0, c = 1.0 / std::sqrt(9.0 * d);
  for (;;) {
    // Box-Muller normal from two uniforms.
    const double normal = std::sqrt(-2.0 * std::log(1.0 - u())) * std::cos(kTwoPi * u());
    const double v = std::pow(1.0 + c * normal, 3.0);
    if (v <= 0.0) continue;
    const double x = 1.0 - u();
    if (std::log(x) < 0.5 * normal * normal + d - d * v + d * std::log(v)) return d * v;
  }
}

// "2x16" -> (2, 16).
std::pair<int, int> count_by_width(const std::string& item, const std::string& value) {
  const std::size_t x = value.find('x');
  SER_CHECK(x != std::string::npos, "--augment item '{}': expected COUNTxMAXWIDTH, like 2x16", item);
  try {
    std::size_t used_count = 0, used_width = 0;
    const int count = std::stoi(value.substr(0, x), &used_count), width = std::stoi(value.substr(x + 1), &used_width);
    SER_CHECK(used_count == x && used_width == value.size() - x - 1, "--augment item '{}': expected COUNTxMAXWIDTH",
              item);
    return {count, width};
  } catch (const std::logic_error&) {
    SER_FAIL("--augment item '{}': expected COUNTxMAXWIDTH with whole numbers, like 2x16", item);
  }
}

double number(const std::string& item, const std::string& value) {
  try {
    std::size_t used = 0;
    const double v = std::stod(value, &used);
    SER_CHECK(used == value.size() && std::isfinite(v), "--augment item '{}': '{}' is not a number", item, value);
    return v;
  } catch (const std::logic_error&) {
    SER_FAIL("--augment item '{}': '{}' is not a number", item, value);
  }
}

}  // namespace

double beta_symmetric(double alpha, const std::function<double()>& uniform) {
  const double a = gamma_sample(alpha, uniform), b = gamma_sample(alpha, uniform);
  return a + b > 0.0 ? a / (a + b) : 0.5;
}

std::string AugmentConfig::text() const {
  std::vector<std::string> items;
  if (time_masks > 0) items.push_back(fmt::format("time-masks={}x{}", time_masks, time_mask_max));
  if (freq_masks > 0) items.push_back(fmt::format("freq-masks={}x{}", freq_masks, freq_mask_max));
  if (time_shift_max > 0) items.push_back(fmt::format("shift={}", time_shift_max));
  if (band_warp > 0) items.push_back(fmt::format("warp={}", band_warp));
  if (mixup_alpha > 0) items.push_back(fmt::format("mixup={}", mixup_alpha));
  if (chunks > 1) items.push_back(fmt::format("chunks={}", chunks));
  return items.empty() ? "none" : fmt::format("{}", fmt::join(items, ","));
}

AugmentConfig AugmentConfig::parse(const std::string& text) {
  AugmentConfig a;
  if (text == "none" || text.empty()) return a;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    const std::string item = text.substr(start, comma - start);
    const std::size_t eq = item.find('=');
    SER_CHECK(eq != std::string::npos,
              "--augment item '{}': expected KEY=VALUE (time-masks=2x16, freq-masks=2x16, shift=16, warp=0.1, "
              "mixup=0.2, chunks=4) or none",
              item);
    const std::string key = item.substr(0, eq), value = item.substr(eq + 1);
    if (key == "time-masks") std::tie(a.time_masks, a.time_mask_max) = count_by_width(item, value);
    else if (key == "freq-masks") std::tie(a.freq_masks, a.freq_mask_max) = count_by_width(item, value);
    else if (key == "shift") a.time_shift_max = static_cast<int>(number(item, value));
    else if (key == "warp") a.band_warp = number(item, value);
    else if (key == "mixup") a.mixup_alpha = number(item, value);
    else if (key == "chunks") {
      const double k = number(item, value);
      SER_CHECK(k == std::floor(k), "--augment item '{}': chunks must be a whole number", item);
      a.chunks = static_cast<int>(k);
    }
    else SER_FAIL("--augment item '{}': unknown key '{}' (time-masks, freq-masks, shift, warp, mixup, chunks)", item, key);
    start = comma + 1;
  }
  a.validate(kAnyImageSide, kAnyImageSide);  // counts and signs now; widths against the images at training time
  if (a.time_masks == 0) a.time_mask_max = 0;  // no masks: no width (so text() and parse() round-trip)
  if (a.freq_masks == 0) a.freq_mask_max = 0;
  return a;
}

void AugmentConfig::validate(int H, int W) const {
  SER_CHECK(time_masks >= 0 && time_masks <= cpu::kMaxAugmentMasks && freq_masks >= 0 &&
                freq_masks <= cpu::kMaxAugmentMasks,
            "--augment: at most {} time and {} frequency masks, got {} and {}", cpu::kMaxAugmentMasks,
            cpu::kMaxAugmentMasks, time_masks, freq_masks);
  SER_CHECK(time_mask_max >= 0 && time_mask_max <= W / 2 && freq_mask_max >= 0 && freq_mask_max <= H / 2,
            "--augment: mask widths must lie in [0, half the image]: time {} of {} frames, frequency {} of {} bands",
            time_mask_max, W, freq_mask_max, H);
  SER_CHECK(time_shift_max >= 0 && time_shift_max < W, "--augment: shift {} must lie in [0, {})", time_shift_max, W);
  SER_CHECK(mixup_alpha >= 0 && mixup_alpha <= 100, "--augment: mixup alpha {} must lie in [0, 100]", mixup_alpha);
  SER_CHECK(band_warp >= 0 && band_warp <= 0.5, "--augment: warp {} must lie in [0, 0.5]", band_warp);
  SER_CHECK(chunks == 0 || (chunks >= 2 && chunks <= cpu::kMaxAugmentChunks),
            "--augment: chunks {} must be 0 (off) or lie in [2, {}]", chunks, cpu::kMaxAugmentChunks);
  SER_CHECK(chunks == 0 || W == kAnyImageSide || W % chunks == 0, "--augment: chunks {} must divide the {} frames of an image", chunks, W);
}

bool AugmentConfig::operator==(const AugmentConfig& o) const {
  return time_masks == o.time_masks && time_mask_max == o.time_mask_max && freq_masks == o.freq_masks &&
         freq_mask_max == o.freq_mask_max && time_shift_max == o.time_shift_max && band_warp == o.band_warp &&
         mixup_alpha == o.mixup_alpha && chunks == o.chunks;
}

void to_json(nlohmann::json& j, const AugmentConfig& a) { j = a.text(); }
void from_json(const nlohmann::json& j, AugmentConfig& a) {
  SER_CHECK(j.is_string(), "augment: expected a text like \"time-masks=2x16,shift=16\", got {}", j.dump());
  a = AugmentConfig::parse(j.get<std::string>());
}

std::vector<cpu::SampleAugment> draw_augment_plan(Generator& generator, int64_t count, int batch, int H, int W,
                                                  const AugmentConfig& config) {
  config.validate(H, W);
  SER_CHECK(batch > 0 && count >= 0, "draw_augment_plan: batch {} and count {}", batch, count);
  StreamUniforms u(generator.seed(), generator.next_stream());
  std::vector<cpu::SampleAugment> plan(static_cast<std::size_t>(count));
  for (int64_t begin = 0; begin < count; begin += batch) {
    const int size = static_cast<int>(std::min<int64_t>(batch, count - begin));
    std::vector<int32_t> partner(static_cast<std::size_t>(size));
    for (int j = 0; j < size; ++j) partner[static_cast<std::size_t>(j)] = j;
    if (config.mixes())
      for (int j = size - 1; j > 0; --j) std::swap(partner[static_cast<std::size_t>(j)], partner[static_cast<std::size_t>(uniform_int(u(), j))]);
    for (int j = 0; j < size; ++j) {
      cpu::SampleAugment& a = plan[static_cast<std::size_t>(begin + j)];
      if (config.time_shift_max > 0) {
        const int shift = uniform_int(u(), 2 * config.time_shift_max) - config.time_shift_max;
        a.shift = (shift + W) % W;
      }
      for (int m = 0; m < config.time_masks; ++m) {
        a.time_width[m] = uniform_int(u(), config.time_mask_max);
        a.time_start[m] = uniform_int(u(), W - a.time_width[m]);
      }
      for (int m = 0; m < config.freq_masks; ++m) {
        a.freq_width[m] = uniform_int(u(), config.freq_mask_max);
        a.freq_start[m] = uniform_int(u(), H - a.freq_width[m]);
      }
      if (config.band_warp > 0) {  // output band h reads source band h / factor
        const double factor = 1.0 - config.band_warp + 2.0 * config.band_warp * u();
        a.band_scale = static_cast<float>(1.0 / factor);
      }
      if (config.chunks > 1) {  // Fisher-Yates over the chunks
        a.chunks = config.chunks;
        for (int c = config.chunks - 1; c > 0; --c) std::swap(a.chunk_order[c], a.chunk_order[uniform_int(u(), c)]);
      }
      a.partner = partner[static_cast<std::size_t>(j)];
      if (config.mixes() && a.partner != j) {
        const double l = beta_symmetric(config.mixup_alpha, [&u] { return u(); });
        a.lambda = static_cast<float>(std::max(l, 1.0 - l));
      } else {
        a.partner = j;
        a.lambda = 1.0f;
      }
    }
  }
  return plan;
}

}  // namespace ser::train
