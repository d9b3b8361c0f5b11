// Corpus kinds, emotion-word normalisation and class sets.
#include "data/corpus.h"

#include <algorithm>
#include <cctype>
#include <map>

#include "engine/core/error.h"

namespace ser::data {
namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Lower-cases and drops separators, so "Pleasant_Surprised", "pleasant surprise" and
// "pleasant-surprise" compare equal.
std::string squash(const std::string& word) {
  std::string out;
  for (char c : word)
    if (std::isalnum(static_cast<unsigned char>(c))) out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

CorpusKind parse_corpus_kind(const std::string& text) {
  const std::string s = squash(text);
  if (s == "auto") return CorpusKind::Auto;
  if (s == "ravdess") return CorpusKind::Ravdess;
  if (s == "savee") return CorpusKind::Savee;
  if (s == "tess") return CorpusKind::Tess;
  if (s == "cremad" || s == "crema") return CorpusKind::CremaD;
  if (s == "emodb" || s == "emo") return CorpusKind::EmoDb;
  if (s == "renamed") return CorpusKind::Renamed;
  if (s == "folders" || s == "folder") return CorpusKind::Folders;
  SER_FAIL("unknown corpus kind '{}': expected auto, ravdess, savee, tess, cremad, emodb, renamed or folders (a folder "
           "per class)", text);
}

const char* corpus_name(CorpusKind kind) {
  switch (kind) {
    case CorpusKind::Auto: return "auto";
    case CorpusKind::Ravdess: return "ravdess";
    case CorpusKind::Savee: return "savee";
    case CorpusKind::Tess: return "tess";
    case CorpusKind::CremaD: return "cremad";
    case CorpusKind::EmoDb: return "emodb";
    case CorpusKind::Renamed: return "renamed";
    case CorpusKind::Folders: return "folders";
  }
  return "?";
}

std::string canonical_emotion(const std::string& word) {
  static const std::map<std::string, std::string> kWords = {
      {"neutral", "neutral"},   {"neu", "neutral"},
      {"calm", "calm"},
      {"happy", "happy"},       {"happiness", "happy"},   {"hap", "happy"},
      {"sad", "sad"},           {"sadness", "sad"},
      {"angry", "angry"},       {"anger", "angry"},       {"ang", "angry"},
      {"fearful", "fearful"},   {"fear", "fearful"},      {"fea", "fearful"},
      {"fearfull", "fearful"},  {"afraid", "fearful"},
      {"disgust", "disgust"},   {"disgusted", "disgust"}, {"dis", "disgust"},
      {"surprised", "surprised"}, {"surprise", "surprised"},  {"sur", "surprised"},
      {"ps", "surprised"},      {"pleasantsurprise", "surprised"}, {"pleasantsurprised", "surprised"},
      {"pleasantsuprise", "surprised"}, {"pleasantsuprised", "surprised"},
      {"boredom", "boredom"},
  };
  const auto it = kWords.find(squash(word));
  return it == kWords.end() ? std::string() : it->second;
}

std::string class_name(const std::string& word) {
  SER_CHECK(!word.empty(), "an empty class name");
  SER_CHECK(word.size() <= 40, "class name '{}' is longer than 40 characters", word);
  for (char c : word)
    SER_CHECK(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_',
              "class name '{}': only letters, digits, '-' and '_' may be used", word);
  const std::string emotion = canonical_emotion(word);
  return emotion.empty() ? lower(word) : emotion;
}

ClassSet ClassSet::six() { return {{"neutral", "happy", "sad", "angry", "fearful", "disgust"}}; }

ClassSet ClassSet::eight() {
  return {{"neutral", "happy", "sad", "angry", "fearful", "disgust", "calm", "surprised"}};
}

ClassSet ClassSet::parse(const std::string& spec) {
  const std::string s = lower(spec);
  if (s == "6" || s == "six") return six();
  if (s == "8" || s == "eight") return eight();
  ClassSet set;
  std::size_t start = 0;
  while (start <= spec.size()) {
    const std::size_t comma = std::min(spec.find(',', start), spec.size());
    const std::string word = spec.substr(start, comma - start);
    std::string name;
    try {
      name = class_name(word);
    } catch (const Error& e) {
      SER_FAIL("class list '{}': {}", spec, e.message());
    }
    SER_CHECK(std::find(set.names.begin(), set.names.end(), name) == set.names.end(),
              "class list '{}': '{}' appears twice", spec, name);
    set.names.push_back(name);
    start = comma + 1;
  }
  SER_CHECK(set.names.size() >= 2, "class list '{}' needs at least two classes", spec);
  return set;
}

int ClassSet::index_of(const std::string& emotion) const {
  std::string name = canonical_emotion(emotion);
  if (name.empty()) name = lower(emotion);
  const auto it = std::find(names.begin(), names.end(), name);
  return it == names.end() ? -1 : static_cast<int>(it - names.begin());
}

}  // namespace ser::data
