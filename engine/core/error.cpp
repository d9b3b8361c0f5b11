// Builds the "file:line: message" text of every ser::Error, and the user's view of it.
#include "engine/core/error.h"

#include <cstdlib>
#include <cstring>

namespace ser {

[[noreturn]] void throw_error(const char* file, int line, const std::string& message) {
  // Keep only the path below the repository root so messages stay short.
  const char* short_file = file;
  for (const char* root : {"/engine/", "/kernels/", "/features/", "/data/", "/apps/", "/tests/", "/bench/"}) {
    if (const char* p = std::strstr(file, root)) {
      short_file = p + 1;
      break;
    }
  }
  throw Error(message, fmt::format("{}:{}", short_file, line));
}

std::string user_message(const std::exception& e) {
  const auto* error = dynamic_cast<const Error*>(&e);
  if (error == nullptr) return e.what();
  if (const char* debug = std::getenv("SER_DEBUG"); debug && *debug) return e.what();
  return error->message();
}

}  // namespace ser
