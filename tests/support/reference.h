// Golden-reference discovery. Cases are folders under $SER_REFERENCE_DIR/<area>
// (default: tests/data/reference/<area>); tests walk them, so a new case folder of the
// same layout is tested without code changes.
#pragma once

#include <filesystem>
#include <vector>

namespace ser::test {

// $SER_REFERENCE_DIR if set, else the copy inside the repository.
std::filesystem::path reference_root();
// Sorted sub-folders of reference_root()/area that contain `marker` (e.g. "case.json").
// Throws if the area folder does not exist, so a broken setup never passes as "no cases".
std::vector<std::filesystem::path> reference_cases(const std::filesystem::path& area, const std::string& marker);

}  // namespace ser::test
