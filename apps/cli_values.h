// CLI11 validators for the numeric options of `ser` subcommands. Each one checks the raw
// text before CLI11 converts it, so a bad value never reaches CLI11's own conversion
// messages ("Could not convert", a range printed to 300 digits): anything but a plain
// decimal number inside the allowed range is refused with one line naming the option, the
// value and the range, e.g.
//   --epochs: must be an integer in [1, 100000], got '99999999999'
// CLI11 prefixes the option name and ends with its ValidationError status (105), as for
// every other bad command line. Accepted integers are rewritten in canonical form ("010"
// -> "10"; CLI11 alone would read it as octal), so attach them with ->transform(): ->check()
// runs a validator on a copy and would drop the rewrite. The descriptions ("in [1, 100000]") appear in --help.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace ser::app {

// Upper limits of `ser train` / `ser demo` options: far above any sensible run, low enough
// that a typo (an extra digit or five) is caught before work starts.
inline constexpr std::int64_t kMaxEpochs = 100000;
inline constexpr std::int64_t kMaxBatch = 65536;
inline constexpr std::int64_t kMaxThreads = 1024;
inline constexpr double kMaxLearningRate = 10;  // --lr in (0, kMaxLearningRate)

// Decimal integers (optional leading '-', no spaces, no exponent) in [lo, hi].
CLI::Validator integer_in(std::int64_t lo, std::int64_t hi);

// Decimal integers in [0, 2^64 - 1] (seeds).
CLI::Validator unsigned_64bit();

// Finite decimal numbers (digits, '.', exponent; no nan/inf/hex) strictly inside (lo, hi).
CLI::Validator number_between_exclusive(double lo, double hi);

// Finite decimal numbers in [lo, hi) (weight decay, label smoothing: 0 allowed).
CLI::Validator number_from_below(double lo, double hi);

// The --device option (auto|cpu|cuda) of `ser train` and `ser demo`, one help text for both.
void add_device_option(CLI::App& cmd, std::string& device);

// The --labels option (label lists, data/user_corpus.h) of `ser train`, `ser eval` and `ser
// features`; `split_use` says what the command does with the split column.
void add_labels_option(CLI::App& cmd, std::vector<std::string>& lists, const std::string& split_use);

// The --speaker-pattern option (a folders corpus's speakers from file names), one help text for all.
void add_speaker_pattern_option(CLI::App& cmd, std::string& pattern);

}  // namespace ser::app
