// Error reporting for the whole engine: ser::Error (a std::runtime_error) and SER_CHECK,
// which throws with file:line and a formatted message. CUDA-library checks live in
// engine/cuda/check.h and produce the same exception type.
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace ser {

// what() is "source.cpp:123: message" (for developers); message() is the text alone.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message, const std::string& location = "")
      : std::runtime_error(location.empty() ? message : location + ": " + message), message_(message) {}
  const std::string& message() const { return message_; }

 private:
  std::string message_;
};

[[noreturn]] void throw_error(const char* file, int line, const std::string& message);

// What a user is shown for an exception: a ser::Error's message without its source
// location (unless $SER_DEBUG is set), any other exception's what().
std::string user_message(const std::exception& e);

}  // namespace ser

// SER_CHECK(cond, "format {}", args...): throws ser::Error("file:line: message") if !cond.
#define SER_CHECK(cond, ...)                                              \
  do {                                                                    \
    if (!(cond)) ::ser::throw_error(__FILE__, __LINE__, fmt::format(__VA_ARGS__)); \
  } while (0)

// SER_FAIL("format {}", args...): throws unconditionally.
#define SER_FAIL(...) ::ser::throw_error(__FILE__, __LINE__, fmt::format(__VA_ARGS__))
