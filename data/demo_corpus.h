// The synthetic demo corpus: emotional "speech" made by this project's own code, written
// in the RAVDESS native layout Actor_XX/03-01-EE-II-SS-RR-AA.wav (16-bit PCM WAV) so that
// the real indexer reads it. Each clip is a glottal-pulse source (Rosenberg pulse,
// differentiated) with per-period jitter, through a spectral-tilt low-pass and three
// formant resonators (one vowel per syllable), plus breath noise and a fixed background
// noise floor. Each emotion has its own prosody (pitch level, contour slope and bend,
// vibrato, syllable rate, loudness, tilt, jitter, breathiness); speakers shift pitch and
// formants, and every clip draws its own pitch, tempo, level, onset and vowels, so classes
// differ clearly in a log-mel image but are not trivially separable.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "data/corpus.h"

namespace ser::data {

// The RAVDESS name has two digits for the actor and enumerates a speaker's clips of one
// emotion with intensity x statement x repetition fields: these bound the demo's sizes.
inline constexpr int kMaxDemoSpeakers = 99;
inline constexpr int kMaxDemoClipsPerClass = 396;

struct DemoCorpusOptions {
  int speakers = 4;         // actors first_speaker+1 .. first_speaker+speakers (at most kMaxDemoSpeakers)
  int first_speaker = 0;    // 0-based index of the first actor (a held-out speaker: speakers of the corpus)
  int clips_per_class = 12; // per speaker and class (at most kMaxDemoClipsPerClass)
  double seconds = 1.5;     // clip duration
  int sample_rate = 16000;
  uint64_t seed = 42;
  ClassSet classes = ClassSet::six();
};

// The prosody that defines one emotion of the demo corpus.
struct DemoProsody {
  double f0_hz;               // median pitch before speaker and clip variation
  double contour_semitones;   // linear pitch change from start to end of the utterance
  double bend_semitones;      // + U-shaped, - arched contour (added at the ends)
  double vibrato_hz, vibrato_depth;  // pitch tremor (depth as a fraction of f0)
  double syllables_per_second;
  double level_db;            // peak level, dB full scale
  double tilt;                // one-pole low-pass coefficient in [0, 1): higher = darker
  double jitter;              // per-period pitch perturbation (std, fraction of the period)
  double breathiness;         // aspiration noise relative to the voiced source
};

// Throws ser::Error for a name that is not one of the eight canonical emotions.
DemoProsody demo_prosody(const std::string& emotion);

// One clip's samples in [-1, 1], (seconds * sample_rate,). Deterministic in
// (opts.seed, speaker, emotion, clip); speaker and clip are 0-based.
std::vector<float> synthesize_demo_clip(const std::string& emotion, int speaker, int clip,
                                        const DemoCorpusOptions& opts);

// The RAVDESS file name of clip `clip` of an emotion and 0-based speaker, e.g.
// "Actor_02/03-01-05-02-01-01-02.wav" (intensity, statement and repetition enumerate clips).
std::filesystem::path demo_clip_path(const std::string& emotion, int speaker, int clip);

// Throws ser::Error naming the first option out of range (or an unknown class name).
void check_demo_options(const DemoCorpusOptions& opts);

// Writes speakers x classes x clips_per_class WAV files under `dir` (created if needed),
// and the marker file kDemoCorpusMarker, which says the folder is the demo's to replace.
// Throws ser::Error for invalid options or a file that cannot be written.
void generate_demo_corpus(const std::filesystem::path& dir, const DemoCorpusOptions& opts);

// The marker's name, and whether `dir` is absent or a corpus generate_demo_corpus wrote
// (so that `ser demo` may delete and regenerate it without losing anyone's data).
inline constexpr const char* kDemoCorpusMarker = "SER_DEMO_CORPUS.txt";
bool is_replaceable_demo_corpus(const std::filesystem::path& dir);

// Writes samples (n,) in [-1, 1] (clamped) as a mono 16-bit PCM WAV at sample_rate Hz
// (libsndfile). Throws a ser::Error naming the file if it cannot be written.
void write_wav_pcm16(const std::filesystem::path& file, const std::vector<float>& samples, int sample_rate);

}  // namespace ser::data
