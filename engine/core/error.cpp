// Builds the "file:line: message" text of every ser::Error.
#include "engine/core/error.h"

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
  throw Error(fmt::format("{}:{}: {}", short_file, line, message));
}

}  // namespace ser
