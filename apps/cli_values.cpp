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

void add_labels_option(CLI::App& cmd, std::vector<std::string>& lists, const std::string& split_use) {
  cmd.add_option("--labels", lists,
                 "A label list (repeatable), for a corpus in no known layout: CSV or TSV rows "
                 "path,label[,speaker[,split]], paths relative to the list's folder; split is train, val, validation, "
                 "test or empty (unassigned). A first row starting with path (or file, filename) is a header; one "
                 "naming label, speaker or split finds the columns by name, in any order (other columns ignored), "
                 "else they are read in that order. " +
                     split_use);
}

void add_speaker_pattern_option(CLI::App& cmd, std::string& pattern) {
  cmd.add_option("--speaker-pattern", pattern,
                 "--corpus folders: take each file's speaker from its name instead of the folder above the class "
                 "folder: an ECMAScript regular expression searched in the file name without extension, whose first "
                 "capture group is the speaker, e.g. '^([A-Za-z]+)_' makes alice_03.wav speaker alice. A file it "
                 "does not match is an error naming the file and the pattern (no fallback to the folders)");
}

}  // namespace ser::app
