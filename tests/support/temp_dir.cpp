// mkdtemp-backed temporary folder.
#include "support/temp_dir.h"

#include <stdlib.h>

#include "engine/core/error.h"

namespace ser::test {

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "ser-test-XXXXXX").string();
  SER_CHECK(::mkdtemp(pattern.data()) != nullptr, "cannot create a temporary folder");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace ser::test
