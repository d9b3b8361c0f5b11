// The files `ser predict` works on, from its arguments and --files-from: a file is taken as
// given (whatever its extension: one that does not decode fails on its own, and the rest go
// on), a folder is walked for the audio formats the corpus indexers read, sorted
// (data/audio_files.h), and a list holds one path per line (files or folders; blank lines
// skipped; "-" is standard input).
#pragma once

#include <filesystem>
#include <istream>
#include <string>
#include <vector>

namespace ser::app {

// Throws one line (ser::Error) when the input names nothing to predict: no paths and no
// list, a list that cannot be read or names no path, or a folder without audio files (the
// message says what it holds and which extensions count).
std::vector<std::filesystem::path> collect_inputs(const std::vector<std::string>& paths, const std::string& files_from,
                                                  std::istream& standard_input);

// The lines of a --files-from list: trailing '\r' and surrounding spaces removed, blank lines dropped.
std::vector<std::string> read_path_list(std::istream& in);

}  // namespace ser::app
