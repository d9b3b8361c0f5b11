// A user's own corpus: a folder per class, or a label list (see user_corpus.h).
#include "data/user_corpus.h"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <set>

#include "data/audio_files.h"
#include "data/corpus.h"
#include "engine/core/error.h"

namespace ser::data {
namespace fs = std::filesystem;
namespace {

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\"");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r\"");
  return s.substr(b, e - b + 1);
}

std::vector<std::string> split_row(const std::string& line, char sep) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    const std::size_t at = line.find(sep, start);
    out.push_back(trim(line.substr(start, at == std::string::npos ? std::string::npos : at - start)));
    if (at == std::string::npos) break;
    start = at + 1;
  }
  return out;
}

}  // namespace

std::optional<FolderLabel> folders_label(const fs::path& root, const fs::path& file, std::string& why) {
  const fs::path rel = file.lexically_normal().lexically_relative(root.lexically_normal());
  std::vector<std::string> parts;
  for (const auto& p : rel) parts.push_back(p.string());
  if (parts.size() < 2) {
    why = "directly in the corpus folder: a folders corpus keeps each class's files in a folder named after the "
          "class (DATA/angry/clip.wav)";
    return std::nullopt;
  }
  const std::string& folder = parts[parts.size() - 2];
  FolderLabel out;
  try {
    out.label = class_name(folder);
  } catch (const Error& e) {
    why = fmt::format("folder '{}' is no class name: {}", folder, e.message());
    return std::nullopt;
  }
  const std::string root_name = root.lexically_normal().filename().string();
  out.speaker = "folders:" + (parts.size() >= 3 ? parts[parts.size() - 3] : root_name.empty() ? "." : root_name);
  return out;
}

std::vector<std::string> folders_class_names(const fs::path& root) {
  std::set<std::string> names;
  std::string why;
  for (const fs::path& file : list_audio_files(root))
    if (const auto l = folders_label(root, file, why)) names.insert(l->label);
  return {names.begin(), names.end()};
}

std::vector<ListedFile> read_label_list(const fs::path& list) {
  std::ifstream in(list);
  SER_CHECK(in.good(), "--labels {}: cannot open the file", list.string());
  const bool tsv = list.extension() == ".tsv" || list.extension() == ".TSV";
  const fs::path base = list.has_parent_path() ? list.parent_path() : fs::path(".");
  std::vector<ListedFile> rows;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (trim(line).empty() || trim(line)[0] == '#') continue;
    const std::vector<std::string> cells = split_row(line, tsv ? '\t' : line.find('\t') != std::string::npos ? '\t' : ',');
    std::string first = cells[0];
    std::transform(first.begin(), first.end(), first.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (rows.empty() && (first == "path" || first == "file" || first == "filename")) continue;  // a header row
    SER_CHECK(cells.size() >= 2 && !cells[0].empty() && !cells[1].empty(),
              "--labels {}:{}: expected path{}label[{}speaker], got '{}'", list.string(), number, tsv ? "<tab>" : ",",
              tsv ? "<tab>" : ",", trim(line));
    SER_CHECK(cells.size() <= 3, "--labels {}:{}: {} columns; the list has path, label and optionally speaker",
              list.string(), number, cells.size());
    ListedFile row;
    row.path = fs::path(cells[0]).is_absolute() ? fs::path(cells[0]) : base / cells[0];
    try {
      row.label = class_name(cells[1]);
    } catch (const Error& e) {
      SER_FAIL("--labels {}:{}: {}", list.string(), number, e.message());
    }
    row.speaker = "labels:" + (cells.size() == 3 && !cells[2].empty() ? cells[2] : list.stem().string());
    rows.push_back(std::move(row));
  }
  SER_CHECK(!rows.empty(), "--labels {}: no rows (expected path,label[,speaker] lines)", list.string());
  return rows;
}

std::vector<std::string> listed_class_names(const std::vector<ListedFile>& rows) {
  std::set<std::string> names;
  for (const auto& r : rows) names.insert(r.label);
  return {names.begin(), names.end()};
}

}  // namespace ser::data
