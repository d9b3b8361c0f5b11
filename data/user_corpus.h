// Corpora of one's own, beside the published ones (name_schemes.h):
//   folders     a folder per class: DATA/CLASS/clip.wav, or with speakers one level above,
//               DATA/SPEAKER/CLASS/clip.wav (deeper files: the class is the file's folder,
//               the speaker the folder above it). Without a speaker level every file is
//               speaker "folders:DATA" (the folder's name), so a speaker split is not
//               possible; a file directly in DATA is not used (it has no class folder).
//   label list  --labels FILE.csv or .tsv: one file a row, columns path, label and
//               optionally speaker; a first row naming the columns ("path,label,speaker")
//               is a header. Paths are relative to the list's folder (or absolute).
// Class names are any word class_name accepts (an emotion in any spelling is normalised).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace ser::data {

// The class (class_name of its folder) and speaker id of `file` under a folders corpus at
// `root`, or nothing (with the reason in `why`) for a file that has no class folder or whose
// folder name is no valid class name.
struct FolderLabel {
  std::string label, speaker;
};
std::optional<FolderLabel> folders_label(const std::filesystem::path& root, const std::filesystem::path& file,
                                         std::string& why);

struct ListedFile {
  std::filesystem::path path;  // as resolved (relative to the list's folder)
  std::string label;           // class_name of the label column
  std::string speaker;         // "labels:SPEAKER", or "labels:" + the list's file name
};
// The rows of a label list. Throws ser::Error naming the file and line for a row without
// path and label, a bad class name, or a list without rows; an unreadable file too.
std::vector<ListedFile> read_label_list(const std::filesystem::path& list);

// The sorted class names a folders corpus (the audio files' class folders) or a label list
// holds, for --classes auto.
std::vector<std::string> folders_class_names(const std::filesystem::path& root);
std::vector<std::string> listed_class_names(const std::vector<ListedFile>& rows);

}  // namespace ser::data
