// File-name schemes of the corpora, read in their native layouts with no renaming:
//   RAVDESS  Actor_XX/03-01-EE-II-SS-RR-AA.wav    (EE emotion 01..08, VV 02 = song: skipped)
//   SAVEE    DC_a01.wav  or  AudioData/DC/a01.wav  (speaker DC/JE/JK/KL; a d f h n sa su)
//   TESS     OAF_angry/OAF_back_angry.wav          (OAF/YAF; spelling and case vary)
//   CREMA-D  1001_DFA_ANG_XX.wav                   (actor 1001..1091; ANG DIS FEA HAP NEU SAD)
//   EMO-DB   03a01Fa.wav                           (speaker 03..16; text a01..b10; emotion W L E A F T N)
//   renamed  MM-VV-EE-II-SS-RR-AA.wav              (any corpus hand-renamed to RAVDESS fields)
// Any audio container libsndfile reads is accepted under these names (.wav, .flac, .ogg,
// ...: data/audio_files.h), so a corpus converted to FLAC indexes as it is. Each matcher looks at the file name and its parent folder only, and returns the
// canonical emotion and a speaker id unique across corpora, or nothing if the name does
// not follow its scheme.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "data/corpus.h"

namespace ser::data {

struct NameMatch {
  CorpusKind corpus = CorpusKind::Auto;
  std::string speaker;  // e.g. "ravdess:Actor_01", "savee:DC", "tess:OAF", "cremad:1001"
  std::string emotion;  // canonical emotion name (see canonical_emotion)
  std::string reject;   // non-empty: the name is this corpus's but the file is not used
                        // (RAVDESS song; TESS file and folder naming different emotions)
};

// RAVDESS native names. With require_actor_folder the parent folder must be Actor_NN with
// NN equal to the name's actor field (how auto-detection tells RAVDESS from renamed files).
std::optional<NameMatch> match_ravdess(const std::filesystem::path& file, bool require_actor_folder);
std::optional<NameMatch> match_savee(const std::filesystem::path& file);
std::optional<NameMatch> match_tess(const std::filesystem::path& file);
std::optional<NameMatch> match_cremad(const std::filesystem::path& file);
// Berlin EMO-DB: SS (speaker, 2 digits) + text code ([ab]NN) + emotion letter + version
// letter. W anger, L boredom, E disgust (Ekel), A fear (Angst), F happiness (Freude),
// T sadness (Trauer), N neutral. Speaker id "emodb:SS".
std::optional<NameMatch> match_emodb(const std::filesystem::path& file);
// Renamed files: label = third field; speaker = "renamed:<parent folder>:<last field>".
std::optional<NameMatch> match_renamed(const std::filesystem::path& file);

// The matcher for `kind`; for CorpusKind::Auto the first scheme that matches, tried in the
// order RAVDESS (in Actor_NN folders), SAVEE, TESS, CREMA-D, EMO-DB, renamed.
std::optional<NameMatch> match_file_name(const std::filesystem::path& file, CorpusKind kind);

// RAVDESS's emotion field: code 1..8 <-> canonical name ("neutral" .. "surprised").
// ravdess_emotion gives "" and ravdess_emotion_code 0 for anything else.
std::string ravdess_emotion(int code);
int ravdess_emotion_code(const std::string& emotion);

}  // namespace ser::data
