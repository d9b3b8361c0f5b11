// Corpus vocabulary shared by the indexers, manifests and splits: which corpus a folder
// holds (CorpusKind), which emotions a run classifies (ClassSet, in label-index order) and
// one labelled file (ManifestEntry). Emotion words from every corpus are normalised to
// nine canonical names: neutral calm happy sad angry fearful disgust surprised, and
// boredom (EMO-DB only; in no preset class set, so excluded like calm unless listed).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace ser::data {

enum class CorpusKind { Auto, Ravdess, Savee, Tess, CremaD, EmoDb, Renamed };

// "auto|ravdess|savee|tess|cremad|emodb|renamed" (case-insensitive; "crema-d" and
// "emo-db" also accepted).
CorpusKind parse_corpus_kind(const std::string& text);
const char* corpus_name(CorpusKind kind);

// The canonical emotion name for a corpus word ("Fear", "fearful", "ps",
// "pleasant_surprised", "ANG", "happiness", ...), or "" when the word names no emotion.
std::string canonical_emotion(const std::string& word);

// The emotions a model classifies; names[i] is the name of label index i.
struct ClassSet {
  std::vector<std::string> names;

  // The seed's six classes: neutral, happy, sad, angry, fearful, disgust.
  static ClassSet six();
  // The six plus calm and surprised (8 classes).
  static ClassSet eight();
  // "6", "8", or a comma-separated list of emotion words ("neutral,happy,sad").
  static ClassSet parse(const std::string& spec);

  int size() const { return static_cast<int>(names.size()); }
  // Label index of a canonical (or any recognised) emotion word; -1 if excluded.
  int index_of(const std::string& emotion) const;
};

// One labelled audio file of the manifest.
struct ManifestEntry {
  std::filesystem::path path;
  std::string corpus;   // corpus_name() of the scheme that matched the file name
  std::string speaker;  // unique across corpora, e.g. "ravdess:Actor_01", "savee:DC"
  int label = -1;       // index into ClassSet::names
  std::string label_name;
};

}  // namespace ser::data
