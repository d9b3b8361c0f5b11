// Shared rule of every fuzz target: a parser given arbitrary bytes either returns a value
// that satisfies its invariants or throws ser::Error (the one-line message the CLI prints).
// Any other exception, a crash, a sanitizer report or a hang is a finding; this header
// turns "other exception" into an abort so libFuzzer records the input.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <exception>

#include "engine/core/error.h"

namespace ser::fuzz {

// Runs `parse`; ser::Error is an accepted outcome, anything else aborts with its message.
template <typename F>
void expect_value_or_ser_error(F&& parse) {
  try {
    parse();
  } catch (const ser::Error&) {
    // A clean refusal: what the program reports to the user.
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz: parser threw a non-ser exception: %s\n", e.what());
    std::abort();
  }
}

// Aborts with `what` when an invariant of a successfully parsed value does not hold.
inline void require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz: invariant violated: %s\n", what);
    std::abort();
  }
}

}  // namespace ser::fuzz
