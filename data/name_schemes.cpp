// Matchers for the native file-name schemes of RAVDESS, SAVEE, TESS and CREMA-D and for
// the RAVDESS-renamed scheme. Matching is case-insensitive throughout, since copies of
// these corpora differ in case (TESS "YAF_neutral" vs "yaf_Neutral").
#include "data/name_schemes.h"

#include <cctype>
#include <regex>
#include <vector>

#include "data/audio_files.h"

namespace ser::data {
namespace {

namespace fs = std::filesystem;

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string parent_name(const fs::path& file) { return file.parent_path().filename().string(); }

std::string savee_emotion(const std::string& code) {
  const std::string c = upper(code);
  if (c == "A") return "angry";
  if (c == "D") return "disgust";
  if (c == "F") return "fearful";
  if (c == "H") return "happy";
  if (c == "N") return "neutral";
  if (c == "SA") return "sad";
  if (c == "SU") return "surprised";
  return "";
}

bool is_savee_speaker(const std::string& s) {
  const std::string u = upper(s);
  return u == "DC" || u == "JE" || u == "JK" || u == "KL";
}

bool is_tess_speaker(const std::string& s) {
  const std::string u = upper(s);
  return u == "OAF" || u == "YAF";
}

std::vector<std::string> split_on(const std::string& s, char sep) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (;;) {
    const std::size_t at = s.find(sep, start);
    parts.push_back(s.substr(start, at == std::string::npos ? std::string::npos : at - start));
    if (at == std::string::npos) return parts;
    start = at + 1;
  }
}

std::string join_from(const std::vector<std::string>& parts, std::size_t first) {
  std::string out;
  for (std::size_t i = first; i < parts.size(); ++i) out += (i > first ? "_" : "") + parts[i];
  return out;
}

// Emotion named by a TESS folder such as "OAF_Fear" or "YAF_pleasant_surprised"; "" if none.
std::string tess_folder_emotion(const std::string& folder) {
  const auto parts = split_on(folder, '_');
  if (parts.size() < 2 || !is_tess_speaker(parts[0])) return "";
  return canonical_emotion(join_from(parts, 1));
}

}  // namespace

std::optional<NameMatch> match_ravdess(const fs::path& file, bool require_actor_folder) {
  static const std::regex kName(R"(^(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})$)");
  static const std::regex kActorFolder(R"(^actor_(\d+)$)", std::regex::icase);
  std::smatch m;
  const std::string stem = file.stem().string();
  if (!has_audio_extension(file) || !std::regex_match(stem, m, kName)) return std::nullopt;
  const int vocal_channel = std::stoi(m[2]), actor = std::stoi(m[7]);
  const std::string emotion = ravdess_emotion(std::stoi(m[3]));
  if (emotion.empty() || (vocal_channel != 1 && vocal_channel != 2)) return std::nullopt;
  if (require_actor_folder) {
    std::smatch f;
    const std::string folder = parent_name(file);
    if (!std::regex_match(folder, f, kActorFolder) || std::stoi(f[1]) != actor) return std::nullopt;
  }
  NameMatch match{CorpusKind::Ravdess, "ravdess:Actor_" + std::string(m[7]), emotion, ""};
  if (vocal_channel == 2) match.reject = "RAVDESS song (vocal channel 02), not speech";
  return match;
}

std::optional<NameMatch> match_savee(const fs::path& file) {
  static const std::regex kFlat(R"(^([a-z]{2})_(sa|su|a|d|f|h|n)(\d+)$)", std::regex::icase);
  static const std::regex kNested(R"(^(sa|su|a|d|f|h|n)(\d+)$)", std::regex::icase);
  if (!has_audio_extension(file)) return std::nullopt;
  const std::string stem = file.stem().string();
  std::smatch m;
  if (std::regex_match(stem, m, kFlat) && is_savee_speaker(m[1]))
    return NameMatch{CorpusKind::Savee, "savee:" + upper(m[1]), savee_emotion(m[2]), ""};
  const std::string folder = parent_name(file);
  if (std::regex_match(stem, m, kNested) && is_savee_speaker(folder))
    return NameMatch{CorpusKind::Savee, "savee:" + upper(folder), savee_emotion(m[1]), ""};
  return std::nullopt;
}

std::optional<NameMatch> match_tess(const fs::path& file) {
  if (!has_audio_extension(file)) return std::nullopt;
  const auto parts = split_on(file.stem().string(), '_');
  if (parts.size() < 2 || !is_tess_speaker(parts[0])) return std::nullopt;
  // OAF_<word>_<emotion>: the emotion may itself hold underscores ("pleasant_surprised").
  const std::string from_name = parts.size() >= 3 ? canonical_emotion(join_from(parts, 2)) : "";
  const std::string from_folder = tess_folder_emotion(parent_name(file));
  if (from_name.empty() && from_folder.empty()) return std::nullopt;
  NameMatch match{CorpusKind::Tess, "tess:" + upper(parts[0]), from_name.empty() ? from_folder : from_name, ""};
  if (!from_name.empty() && !from_folder.empty() && from_name != from_folder)
    match.reject = "TESS file name says '" + from_name + "' but its folder says '" + from_folder + "'";
  return match;
}

std::optional<NameMatch> match_cremad(const fs::path& file) {
  static const std::regex kName(R"(^(\d{4})_([a-z]{3})_(ang|dis|fea|hap|neu|sad)_(lo|md|hi|xx|x)$)",
                                std::regex::icase);
  std::smatch m;
  const std::string stem = file.stem().string();
  if (!has_audio_extension(file) || !std::regex_match(stem, m, kName)) return std::nullopt;
  const int actor = std::stoi(m[1]);
  if (actor < 1001 || actor > 1091) return std::nullopt;
  return NameMatch{CorpusKind::CremaD, "cremad:" + std::string(m[1]), canonical_emotion(m[3]), ""};
}

std::optional<NameMatch> match_emodb(const fs::path& file) {
  static const std::regex kName(R"(^(\d{2})([ab]\d{2})([WLEAFTN])([a-z])$)");
  std::smatch m;
  const std::string stem = file.stem().string();
  if (!has_audio_extension(file) || !std::regex_match(stem, m, kName)) return std::nullopt;
  std::string emotion;
  switch (std::string(m[3])[0]) {
    case 'W': emotion = "angry"; break;     // Wut / Aerger
    case 'L': emotion = "boredom"; break;   // Langeweile
    case 'E': emotion = "disgust"; break;   // Ekel
    case 'A': emotion = "fearful"; break;   // Angst
    case 'F': emotion = "happy"; break;     // Freude
    case 'T': emotion = "sad"; break;       // Trauer
    default: emotion = "neutral"; break;    // N
  }
  return NameMatch{CorpusKind::EmoDb, "emodb:" + std::string(m[1]), emotion, ""};
}

std::optional<NameMatch> match_renamed(const fs::path& file) {
  static const std::regex kName(R"(^(\d{1,6})-(\d{1,6})-(\d{1,6})-(\d{1,6})-(\d{1,6})-(\d{1,6})-(\d{1,6})$)");
  std::smatch m;
  const std::string stem = file.stem().string();
  if (!has_audio_extension(file) || !std::regex_match(stem, m, kName)) return std::nullopt;
  const std::string emotion = ravdess_emotion(std::stoi(m[3]));
  if (emotion.empty()) return std::nullopt;
  return NameMatch{CorpusKind::Renamed, "renamed:" + parent_name(file) + ":" + std::string(m[7]), emotion, ""};
}

std::optional<NameMatch> match_file_name(const fs::path& file, CorpusKind kind) {
  switch (kind) {
    case CorpusKind::Ravdess: return match_ravdess(file, false);
    case CorpusKind::Savee: return match_savee(file);
    case CorpusKind::Tess: return match_tess(file);
    case CorpusKind::CremaD: return match_cremad(file);
    case CorpusKind::EmoDb: return match_emodb(file);
    case CorpusKind::Renamed: return match_renamed(file);
    case CorpusKind::Auto: break;
  }
  if (auto m = match_ravdess(file, true)) return m;
  if (auto m = match_savee(file)) return m;
  if (auto m = match_tess(file)) return m;
  if (auto m = match_cremad(file)) return m;
  if (auto m = match_emodb(file)) return m;
  return match_renamed(file);
}

// RAVDESS emotion field 01..08, in code order.
constexpr const char* kRavdessEmotions[] = {"neutral", "calm", "happy", "sad", "angry", "fearful", "disgust",
                                            "surprised"};

std::string ravdess_emotion(int code) { return code >= 1 && code <= 8 ? kRavdessEmotions[code - 1] : ""; }

int ravdess_emotion_code(const std::string& emotion) {
  for (int i = 0; i < 8; ++i)
    if (emotion == kRavdessEmotions[i]) return i + 1;
  return 0;
}

}  // namespace ser::data
