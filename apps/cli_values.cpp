// Strict parsing of numeric command-line values (see cli_values.h).
#include "apps/cli_values.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <string>

namespace ser::app {
namespace {

// True when `text` is a whole decimal integer that fits T; writes it to `value`.
template <typename T>
bool parse_integer(const std::string& text, T& value) {
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);  // no '+', spaces or hex
  return !text.empty() && ec == std::errc() && ptr == end;
}

// True when `text` is a finite decimal number ("0.001", "1e-3", "-2.5"); writes it to `value`.
bool parse_decimal(const std::string& text, double& value) {
  if (text.empty() || text.find_first_not_of("0123456789.eE+-") != std::string::npos) return false;  // no nan/inf/hex
  char* end = nullptr;
  value = std::strtod(text.c_str(), &end);
  return end == text.c_str() + text.size() && std::isfinite(value);
}

}  // namespace

CLI::Validator integer_in(std::int64_t lo, std::int64_t hi) {
  const std::string range = fmt::format("[{}, {}]", lo, hi);
  return CLI::Validator(
      [lo, hi, range](std::string& text) {
        std::int64_t v = 0;
        if (parse_integer(text, v) && v >= lo && v <= hi) {
          text = std::to_string(v);  // canonical: CLI11 would read "010" as octal
          return std::string();
        }
        return fmt::format("must be an integer in {}, got '{}'", range, text);
      },
      "in " + range);
}

CLI::Validator unsigned_64bit() {
  return CLI::Validator(
      [](std::string& text) {
        std::uint64_t v = 0;
        if (parse_integer(text, v)) {
          text = std::to_string(v);  // canonical: CLI11 would read "010" as octal
          return std::string();
        }
        return fmt::format("must be an integer in [0, 2^64-1], got '{}'", text);
      },
      "in [0, 2^64-1]");
}

CLI::Validator number_between_exclusive(double lo, double hi) {
  const std::string range = fmt::format("({}, {})", lo, hi);
  return CLI::Validator(
      [lo, hi, range](std::string& text) {
        double v = 0;
        if (parse_decimal(text, v) && v > lo && v < hi) return std::string();
        return fmt::format("must be a number in {}, got '{}'", range, text);
      },
      "in " + range);
}

CLI::Validator number_from_below(double lo, double hi) {
  const std::string range = fmt::format("[{}, {})", lo, hi);
  return CLI::Validator(
      [lo, hi, range](std::string& text) {
        double v = 0;
        if (parse_decimal(text, v) && v >= lo && v < hi) return std::string();
        return fmt::format("must be a number in {}, got '{}'", range, text);
      },
      "in " + range);
}

void add_device_option(CLI::App& cmd, std::string& device) {
  cmd.add_option("--device", device, "auto (the CPU until the GPU backend is validated on a GPU)|cpu|cuda")
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}))
      ->capture_default_str();
}

}  // namespace ser::app
