// Manifest files: one labelled audio file per line, tab-separated, after a header line
//   path<TAB>corpus<TAB>speaker<TAB>label<TAB>label_name
// so that an index can be saved, inspected or edited by hand, and reused by train/eval.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "data/corpus.h"

namespace ser::data {

// Writes atomically. Throws ser::Error if a field holds a tab or a newline.
void write_manifest(const std::filesystem::path& file, const std::vector<ManifestEntry>& entries);

// Reads a manifest written by write_manifest (or by hand). Paths are returned as written.
// Throws ser::Error naming the file and line of a missing header, a wrong field count, a
// label that is not a non-negative integer, or one label index given two names.
std::vector<ManifestEntry> read_manifest(const std::filesystem::path& file);
// Parses the text of a manifest; `name` is used in error messages (fuzz entry point).
std::vector<ManifestEntry> parse_manifest(const std::string& text, const std::string& name);

}  // namespace ser::data
