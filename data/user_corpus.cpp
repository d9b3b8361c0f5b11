// A user's own corpus: a folder per class, or a label list (see user_corpus.h).
#include "data/user_corpus.h"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <set>

#include "data/audio_files.h"
#include "data/corpus.h"
#include "engine/core/error.h"
#include "engine/core/path_not_found.h"

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

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// Where each field of a label list's rows is (-1: the list has no such column).
struct Columns {
  int path = 0, label = 1, speaker = 2, split = 3;
  bool named = false;  // found by a header's names: other columns are ignored
};

// The columns of a header row (its first cell path, file or filename), or nothing for a row
// of data. A header that names label, speaker or split is read by its names; one that names
// none of them ("file,emotion") keeps the order path, label, speaker, split.
std::optional<Columns> header_columns(const std::vector<std::string>& cells, const fs::path& list, int number) {
  const std::string first = lower(cells[0]);
  if (first != "path" && first != "file" && first != "filename") return std::nullopt;
  Columns named{0, -1, -1, -1, true};
  for (std::size_t i = 1; i < cells.size(); ++i) {
    const std::string name = lower(cells[i]);
    int* column = name == "label" ? &named.label : name == "speaker" ? &named.speaker : name == "split" ? &named.split : nullptr;
    if (!column) continue;
    SER_CHECK(*column < 0, "--labels {}:{}: the header names column '{}' twice", list.string(), number, name);
    *column = static_cast<int>(i);
  }
  if (named.label < 0 && named.speaker < 0 && named.split < 0) return Columns{};
  SER_CHECK(named.label >= 0, "--labels {}:{}: the header names no 'label' column (got '{}')", list.string(), number,
            fmt::join(cells, ","));
  return named;
}

// A split column's value: "" (unassigned), "train", "validation" or "test".
std::string split_name(const std::string& cell, const fs::path& list, int number) {
  const std::string value = lower(cell);
  if (value.empty() || value == "train" || value == "test") return value;
  if (value == "val" || value == "validation") return "validation";
  SER_FAIL("--labels {}:{}: split '{}' is none of train, val, validation, test (leave it empty for unassigned)",
           list.string(), number, cell);
}

}  // namespace

SpeakerPattern::SpeakerPattern(const std::string& text) : text_(text) {
  SER_CHECK(!text.empty(), "--speaker-pattern: empty pattern");
  try {
    regex_ = std::regex(text, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    SER_FAIL("--speaker-pattern '{}': not a regular expression ({})", text, e.what());
  }
  SER_CHECK(regex_.mark_count() >= 1,
            "--speaker-pattern '{}': no capture group; put the speaker's part of the file name in parentheses, e.g. "
            "'^([A-Za-z]+)_'", text);
}

std::string SpeakerPattern::speaker_of(const fs::path& file) const {
  const std::string stem = file.stem().string();
  std::smatch match;
  SER_CHECK(std::regex_search(stem, match, regex_), "{}: --speaker-pattern '{}' does not match the file name '{}'",
            file.string(), text_, stem);
  SER_CHECK(match[1].matched && match.length(1) > 0,
            "{}: --speaker-pattern '{}' matches the file name '{}' but its first group is empty", file.string(), text_,
            stem);
  return "folders:" + match.str(1);
}

std::optional<FolderLabel> folders_label(const fs::path& root, const fs::path& file, std::string& why,
                                         const SpeakerPattern* speakers) {
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
  if (speakers) {
    out.speaker = speakers->speaker_of(file);
    return out;
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
  std::error_code ec;
  SER_CHECK_FOUND(fs::exists(list, ec), list.string(), "--labels {}: cannot open the file", list.string());
  std::ifstream in(list);
  SER_CHECK(in.good(), "--labels {}: cannot open the file", list.string());
  const bool tsv = list.extension() == ".tsv" || list.extension() == ".TSV";
  const std::string sep = tsv ? "<tab>" : ",";
  const fs::path base = list.has_parent_path() ? list.parent_path() : fs::path(".");
  std::vector<ListedFile> rows;
  Columns columns;
  bool first_row = true;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (trim(line).empty() || trim(line)[0] == '#') continue;
    const std::vector<std::string> cells = split_row(line, tsv ? '\t' : line.find('\t') != std::string::npos ? '\t' : ',');
    if (first_row) {
      first_row = false;
      if (const auto header = header_columns(cells, list, number)) {
        columns = *header;
        continue;
      }
    }
    auto cell = [&](int column) {
      return column >= 0 && static_cast<std::size_t>(column) < cells.size() ? cells[static_cast<std::size_t>(column)]
                                                                              : std::string();
    };
    SER_CHECK(!cell(columns.path).empty() && !cell(columns.label).empty(),
              "--labels {}:{}: expected path{}label[{}speaker[{}split]], got '{}'", list.string(), number, sep, sep, sep,
              trim(line));
    SER_CHECK(columns.named || cells.size() <= 4,
              "--labels {}:{}: {} columns; the list has path, label and optionally speaker and split", list.string(),
              number, cells.size());
    ListedFile row;
    const fs::path path = cell(columns.path);
    row.path = path.is_absolute() ? path : base / path;
    try {
      row.label = class_name(cell(columns.label));
    } catch (const Error& e) {
      SER_FAIL("--labels {}:{}: {}", list.string(), number, e.message());
    }
    const std::string speaker = cell(columns.speaker);
    row.speaker = "labels:" + (speaker.empty() ? list.stem().string() : speaker);
    row.split = split_name(cell(columns.split), list, number);
    rows.push_back(std::move(row));
  }
  SER_CHECK(!rows.empty(), "--labels {}: no rows (expected path,label[,speaker[,split]] lines)", list.string());
  return rows;
}

std::vector<std::string> listed_class_names(const std::vector<ListedFile>& rows) {
  std::set<std::string> names;
  for (const auto& r : rows) names.insert(r.label);
  return {names.begin(), names.end()};
}

}  // namespace ser::data
