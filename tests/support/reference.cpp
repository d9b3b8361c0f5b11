// Walks the golden-reference folders.
#include "support/reference.h"

#include <algorithm>
#include <cstdlib>

#include "engine/core/error.h"

namespace ser::test {

std::filesystem::path reference_root() {
  if (const char* env = std::getenv("SER_REFERENCE_DIR"); env && *env) return env;
  return SER_DEFAULT_REFERENCE_DIR;
}

std::vector<std::filesystem::path> reference_cases(const std::filesystem::path& area, const std::string& marker) {
  const auto dir = reference_root() / area;
  SER_CHECK(std::filesystem::is_directory(dir), "reference folder {} does not exist", dir.string());
  std::vector<std::filesystem::path> cases;
  for (const auto& entry : std::filesystem::directory_iterator(dir))
    if (entry.is_directory() && std::filesystem::exists(entry.path() / marker)) cases.push_back(entry.path());
  std::sort(cases.begin(), cases.end());
  return cases;
}

}  // namespace ser::test
