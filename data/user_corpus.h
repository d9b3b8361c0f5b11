// Corpora of one's own, beside the published ones (name_schemes.h):
//   folders     a folder per class: DATA/CLASS/clip.wav, or with speakers one level above,
//               DATA/SPEAKER/CLASS/clip.wav (deeper files: the class is the file's folder,
//               the speaker the folder above it). Without a speaker level every file is
//               speaker "folders:DATA" (the folder's name), so a speaker split is not
//               possible; a file directly in DATA is not used (it has no class folder).
//               With --speaker-pattern REGEX the speaker comes from the file name instead
//               (SpeakerPattern): "folders:" + the first capture group.
//   label list  --labels FILE.csv or .tsv: one file a row, columns path, label and
//               optionally speaker and split (train | val | validation | test; empty =
//               unassigned). A first row starting with path (or file, filename) is a
//               header; when it names label, speaker or split, the columns are found by
//               those names (in any order, other columns ignored), else they are taken in
//               that order. Paths are relative to the list's folder (or absolute).
// Class names are any word class_name accepts (an emotion in any spelling is normalised).
#pragma once

#include <filesystem>
#include <optional>
#include <regex>
#include <string>
#include <vector>

namespace ser::data {

// --speaker-pattern: an ECMAScript regular expression searched in a file name without its
// extension (the stem); the first capture group is the speaker.
class SpeakerPattern {
 public:
  // Throws ser::Error naming the option and the pattern for a malformed expression or one
  // without a capture group.
  explicit SpeakerPattern(const std::string& text);
  // The speaker id of `file`: "folders:" + the first group. Throws ser::Error naming the file
  // and the pattern when the stem does not match or the group is empty.
  std::string speaker_of(const std::filesystem::path& file) const;
  const std::string& text() const { return text_; }

 private:
  std::string text_;
  std::regex regex_;
};

// The class (class_name of its folder) and speaker id of `file` under a folders corpus at
// `root`, or nothing (with the reason in `why`) for a file that has no class folder or whose
// folder name is no valid class name. With `speakers`, the speaker comes from the file name.
struct FolderLabel {
  std::string label, speaker;
};
std::optional<FolderLabel> folders_label(const std::filesystem::path& root, const std::filesystem::path& file,
                                         std::string& why, const SpeakerPattern* speakers = nullptr);

struct ListedFile {
  std::filesystem::path path;  // as resolved (relative to the list's folder)
  std::string label;           // class_name of the label column
  std::string speaker;         // "labels:SPEAKER", or "labels:" + the list's file name
  std::string split;           // "" (unassigned), "train", "validation" or "test"
};
// The rows of a label list. Throws ser::Error naming the file and line for a row without
// path and label, a bad class name or split value, too many columns, a header without a
// label column, or a list without rows; an unreadable file too.
std::vector<ListedFile> read_label_list(const std::filesystem::path& list);

// The sorted class names a folders corpus (the audio files' class folders) or a label list
// holds, for --classes auto.
std::vector<std::string> folders_class_names(const std::filesystem::path& root);
std::vector<std::string> listed_class_names(const std::vector<ListedFile>& rows);

}  // namespace ser::data
