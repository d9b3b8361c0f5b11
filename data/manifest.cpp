// Manifest TSV reading and writing.
#include "data/manifest.h"

#include <fmt/format.h>

#include <charconv>
#include <map>
#include <sstream>

#include "engine/core/error.h"
#include "engine/io/file.h"

namespace ser::data {
namespace {

constexpr const char* kHeader = "path\tcorpus\tspeaker\tlabel\tlabel_name";

void check_field(const std::string& field, const char* what, const std::filesystem::path& file) {
  SER_CHECK(field.find_first_of("\t\n\r") == std::string::npos,
            "manifest '{}': {} '{}' holds a tab or newline and cannot be written", file.string(), what, field);
}

std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> fields;
  std::size_t start = 0;
  for (;;) {
    const std::size_t tab = line.find('\t', start);
    fields.push_back(line.substr(start, tab == std::string::npos ? std::string::npos : tab - start));
    if (tab == std::string::npos) return fields;
    start = tab + 1;
  }
}

}  // namespace

void write_manifest(const std::filesystem::path& file, const std::vector<ManifestEntry>& entries) {
  std::string text = std::string(kHeader) + "\n";
  for (const auto& e : entries) {
    const std::string path = e.path.string();
    check_field(path, "path", file);
    check_field(e.corpus, "corpus", file);
    check_field(e.speaker, "speaker", file);
    check_field(e.label_name, "label name", file);
    SER_CHECK(e.label >= 0, "manifest '{}': entry '{}' has a negative label {}", file.string(), path, e.label);
    text += fmt::format("{}\t{}\t{}\t{}\t{}\n", path, e.corpus, e.speaker, e.label, e.label_name);
  }
  write_file_atomically(file, text.data(), text.size());
}

std::vector<ManifestEntry> read_manifest(const std::filesystem::path& file) {
  std::vector<unsigned char> bytes;
  try {
    bytes = read_file_bytes(file, std::size_t(1) << 30);
  } catch (const Error& e) {
    SER_FAIL("cannot open manifest '{}': {}", file.string(), e.what());
  }
  return parse_manifest(std::string(bytes.begin(), bytes.end()), file.string());
}

std::vector<ManifestEntry> parse_manifest(const std::string& text, const std::string& name) {
  std::istringstream in(text);
  std::string line;
  SER_CHECK(std::getline(in, line), "manifest '{}' is empty: expected the header '{}'", name, kHeader);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  SER_CHECK(line == kHeader, "manifest '{}' line 1: expected the header '{}', found '{}'", name, kHeader,
            line.substr(0, 200));
  std::vector<ManifestEntry> entries;
  std::map<int, std::string> name_of_label;
  for (int line_no = 2; std::getline(in, line); ++line_no) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    const auto f = split_tabs(line);
    SER_CHECK(f.size() == 5, "manifest '{}' line {}: expected 5 tab-separated fields, found {}", name, line_no,
              f.size());
    SER_CHECK(!f[0].empty(), "manifest '{}' line {}: empty path", name, line_no);
    int label = -1;
    const auto [end, ec] = std::from_chars(f[3].data(), f[3].data() + f[3].size(), label);
    SER_CHECK(ec == std::errc() && end == f[3].data() + f[3].size() && label >= 0,
              "manifest '{}' line {}: label '{}' is not a non-negative integer", name, line_no, f[3].substr(0, 40));
    const auto [it, inserted] = name_of_label.emplace(label, f[4]);
    SER_CHECK(inserted || it->second == f[4], "manifest '{}' line {}: label {} is named '{}' here but '{}' before",
              name, line_no, label, f[4].substr(0, 80), it->second.substr(0, 80));
    entries.push_back({f[0], f[1], f[2], label, f[4], ""});
  }
  return entries;
}

}  // namespace ser::data
