// Corpus vocabulary shared by the indexers, manifests and splits: which corpus a folder
// holds (CorpusKind), which emotions a run classifies (ClassSet, in label-index order) and
// one labelled file (ManifestEntry). Emotion words from every corpus are normalised to
// nine canonical names: neutral calm happy sad angry fearful disgust surprised, and
// boredom (EMO-DB only; in no preset class set, so excluded like calm unless listed).
// A user's own corpus (--corpus folders, --labels) may name any class: a word that is no
// emotion is kept as it is written, lower-cased (class_name).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace ser::data {

enum class CorpusKind { Auto, Ravdess, Savee, Tess, CremaD, EmoDb, Renamed, Folders };

// "auto|ravdess|savee|tess|cremad|emodb|renamed|folders" (case-insensitive; "crema-d" and
// "emo-db" also accepted). folders: a folder per class (data/user_corpus.h).
CorpusKind parse_corpus_kind(const std::string& text);
const char* corpus_name(CorpusKind kind);

// The canonical emotion name for a corpus word ("Fear", "fearful", "ps",
// "pleasant_surprised", "ANG", "happiness", ...), or "" when the word names no emotion.
std::string canonical_emotion(const std::string& word);

// The class name of a label word: its canonical emotion when it names one, else the word
// lower-cased. Throws ser::Error for an empty word, one over 40 characters, or one with
// characters other than letters, digits, '-' and '_' (names go into TSV, JSON and file names).
std::string class_name(const std::string& word);

// The emotions a model classifies; names[i] is the name of label index i.
struct ClassSet {
  std::vector<std::string> names;

  // The seed's six classes: neutral, happy, sad, angry, fearful, disgust.
  static ClassSet six();
  // The six plus calm and surprised (8 classes).
  static ClassSet eight();
  // "6", "8", or a comma-separated list of class names ("neutral,happy,sad",
  // "angry,frustrated": any word class_name accepts).
  static ClassSet parse(const std::string& spec);

  int size() const { return static_cast<int>(names.size()); }
  // Label index of a class word (an emotion in any recognised spelling, or a user's class
  // name, any case); -1 if excluded.
  int index_of(const std::string& emotion) const;
};

// One labelled audio file of the manifest.
struct ManifestEntry {
  std::filesystem::path path;
  std::string corpus;   // corpus_name() of the scheme that matched the file name
  std::string speaker;  // unique across corpora, e.g. "ravdess:Actor_01", "savee:DC"
  int label = -1;       // index into ClassSet::names
  std::string label_name;
  // The part a --labels row's split column assigns: "" (none), "train", "validation" or
  // "test" (data/user_corpus.h). Not written to manifest files.
  std::string split = "";
};

}  // namespace ser::data
