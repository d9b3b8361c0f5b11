// The audio extension list and the sorted, recursive folder walk (see audio_files.h).
#include "data/audio_files.h"

#include <algorithm>
#include <cctype>

#include "engine/core/error.h"

namespace ser::data {
namespace fs = std::filesystem;

const std::vector<std::string>& audio_extensions() {
  static const std::vector<std::string> kExtensions = {".wav", ".flac", ".ogg", ".oga", ".opus", ".aif",  ".aiff",
                                                       ".aifc", ".mp3", ".au",  ".snd", ".caf",  ".w64", ".rf64"};
  return kExtensions;
}

bool has_audio_extension(const fs::path& file) {
  std::string ext = file.extension().string();
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const auto& known = audio_extensions();
  return std::find(known.begin(), known.end(), ext) != known.end();
}

std::vector<fs::path> list_audio_files(const fs::path& folder) {
  std::error_code ec;
  SER_CHECK(fs::exists(folder, ec), "{}: no such folder", folder.string());
  SER_CHECK(fs::is_directory(folder, ec), "{}: is not a folder", folder.string());
  std::vector<fs::path> files;
  const auto options = fs::directory_options::follow_directory_symlink | fs::directory_options::skip_permission_denied;
  for (fs::recursive_directory_iterator it(folder, options, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code status_ec;  // an unreadable entry is skipped, not fatal
    if (it->is_regular_file(status_ec) && has_audio_extension(it->path())) files.push_back(it->path());
  }
  SER_CHECK(!ec, "{}: cannot list the folder: {}", folder.string(), ec.message());
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace ser::data
