// Error reporting for the whole engine: ser::Error (a std::runtime_error) and SER_CHECK,
// which throws with file:line and a formatted message. CUDA-library checks live in
// engine/cuda/check.h and produce the same exception type.
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace ser {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

[[noreturn]] void throw_error(const char* file, int line, const std::string& message);

}  // namespace ser

// SER_CHECK(cond, "format {}", args...): throws ser::Error("file:line: message") if !cond.
#define SER_CHECK(cond, ...)                                              \
  do {                                                                    \
    if (!(cond)) ::ser::throw_error(__FILE__, __LINE__, fmt::format(__VA_ARGS__)); \
  } while (0)

// SER_FAIL("format {}", args...): throws unconditionally.
#define SER_FAIL(...) ::ser::throw_error(__FILE__, __LINE__, fmt::format(__VA_ARGS__))
