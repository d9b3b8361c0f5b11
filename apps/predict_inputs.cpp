// Expansion of `ser predict`'s inputs into a file list (see predict_inputs.h).
#include "apps/predict_inputs.h"

#include <fmt/format.h>

#include <fstream>

#include "data/audio_files.h"
#include "engine/core/error.h"

namespace ser::app {
namespace fs = std::filesystem;

namespace {

// Regular files under `folder` (recursive), for the message about a folder without audio.
std::size_t count_files(const fs::path& folder) {
  std::size_t n = 0;
  std::error_code ec;
  const auto options = fs::directory_options::follow_directory_symlink | fs::directory_options::skip_permission_denied;
  for (fs::recursive_directory_iterator it(folder, options, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code status_ec;
    n += it->is_regular_file(status_ec) ? 1 : 0;
  }
  return n;
}

void add_input(const std::string& given, std::vector<fs::path>& out) {
  const fs::path path = given;
  std::error_code ec;
  if (!fs::is_directory(path, ec)) {
    out.push_back(path);  // a file, or a missing path: reported with the file's own result
    return;
  }
  const std::vector<fs::path> found = data::list_audio_files(path);
  if (found.empty()) {
    const std::size_t others = count_files(path);
    SER_FAIL("{}: no audio files in this folder ({}; audio files end in {})", path.string(),
             others == 0 ? std::string("it is empty") : fmt::format("{} other file{}", others, others == 1 ? "" : "s"),
             fmt::join(data::audio_extensions(), " "));
  }
  out.insert(out.end(), found.begin(), found.end());
}

}  // namespace

std::vector<std::string> read_path_list(std::istream& in) {
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    const std::size_t b = line.find_first_not_of(" \t\r");
    if (b == std::string::npos) continue;
    const std::size_t e = line.find_last_not_of(" \t\r");
    lines.push_back(line.substr(b, e - b + 1));
  }
  return lines;
}

std::vector<fs::path> collect_inputs(const std::vector<std::string>& paths, const std::string& files_from,
                                     std::istream& standard_input) {
  SER_CHECK(!paths.empty() || !files_from.empty(),
            "nothing to predict: pass audio files or folders, or --files-from LIST");
  std::vector<fs::path> out;
  for (const std::string& p : paths) add_input(p, out);
  if (!files_from.empty()) {
    std::vector<std::string> listed;
    if (files_from == "-") {
      listed = read_path_list(standard_input);
    } else {
      std::error_code ec;
      SER_CHECK(!fs::is_directory(files_from, ec), "--files-from {}: is a folder (it takes a text file of paths, one a line)",
                files_from);
      std::ifstream in(files_from);
      SER_CHECK(in.good(), "--files-from {}: cannot read the list ({})", files_from,
                fs::exists(files_from, ec) ? "permission denied" : "no such file");
      listed = read_path_list(in);
    }
    SER_CHECK(!listed.empty(), "--files-from {}: the list names no file", files_from == "-" ? "standard input" : files_from);
    for (const std::string& p : listed) add_input(p, out);
  }
  return out;
}

}  // namespace ser::app
