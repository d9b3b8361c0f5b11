// Whole-file reads with a size cap, and atomic writes (temp file + fsync + rename), so a
// crash or a full disk mid-write never leaves a half-written model, checkpoint or cache
// entry under the real name.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

namespace ser {

// Throws ser::Error naming the file if it cannot be opened, is not a regular file, or is
// larger than max_bytes.
std::vector<unsigned char> read_file_bytes(const std::filesystem::path& path,
                                           std::size_t max_bytes = std::size_t(1) << 34);

// Writes `bytes` to `path` atomically: the previous file (if any) stays intact unless the
// whole new content was written and flushed. Throws ser::Error naming the file on failure.
// The temp file "<path>.tmp.<pid>.<counter>" is unique per call: threads may write at once
// (to the same path too: the last rename wins, each file whole).
void write_file_atomically(const std::filesystem::path& path, const void* data, std::size_t size);

// A fresh temporary name beside `path`, "<path>.tmp.<pid>.<counter>" (unique per call),
// for writers that fill a file in several steps and rename it into place themselves.
std::filesystem::path unique_temp_name(const std::filesystem::path& path);

// Removes the temporary files "<name>.tmp.<pid>.<counter>" (and "<name>.tmp.<pid>", as
// written before) that write_file_atomically leaves in `dir` when its process is killed
// mid-write, for pids that no longer run on this machine.
// Returns how many it removed; never throws (what it cannot remove stays).
int remove_stale_temp_files(const std::filesystem::path& dir);

}  // namespace ser
