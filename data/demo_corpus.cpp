// Synthetic emotional speech for the demo corpus (see demo_corpus.h). Signal chain per
// clip, all at opts.sample_rate, mono:
//   pitch track f0(t) -> Rosenberg glottal flow, differentiated (with jitter, shimmer)
//   + breath noise -> one-pole tilt low-pass -> formants F1, F2, F3 (cascade)
//   x syllable envelope -> scaled to the clip's peak level -> + background noise floor.
#include "data/demo_corpus.h"

#include <fmt/format.h>
#include <sndfile.h>

#include <algorithm>
#include <cmath>

#include "data/name_schemes.h"
#include "engine/core/error.h"
#include "engine/core/philox.h"
#include "engine/io/file.h"

namespace ser::data {
namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kNoiseFloor = 0.0015;            // background noise std (about -56 dBFS)
constexpr double kFadeSeconds = 0.025;            // utterance fade-in / fade-out
constexpr uint64_t kSpeakerStreams = 1ull << 40;  // speaker streams start here; clips below

// Draws of one Philox stream: uniform [0, 1) and standard normal (Box-Muller).
class Stream {
 public:
  Stream(uint64_t seed, uint64_t stream) : seed_(seed), stream_(stream) {}
  double uniform() { return philox_uniform_at(seed_, stream_, counter_++); }
  double uniform(double low, double high) { return low + (high - low) * uniform(); }
  double normal() {
    const double u1 = uniform() + 0x1p-25, u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * kPi * u2);
  }

 private:
  uint64_t seed_, stream_, counter_ = 0;
};

// RAVDESS emotion code of a canonical emotion name.
int ravdess_code(const std::string& emotion) {
  const int code = ravdess_emotion_code(emotion);
  SER_CHECK(code != 0, "the demo corpus has no emotion '{}'", emotion);
  return code;
}

// Two-pole resonator with unit gain near its centre frequency.
class Resonator {
 public:
  void set(double frequency, double bandwidth, double sample_rate) {
    const double r = std::exp(-kPi * bandwidth / sample_rate);
    a1_ = 2.0 * r * std::cos(2.0 * kPi * frequency / sample_rate);
    a2_ = -r * r;
    gain_ = (1.0 - r) * std::sqrt(1.0 - 2.0 * r * std::cos(4.0 * kPi * frequency / sample_rate) + r * r);
  }
  double step(double x) {
    const double y = gain_ * x + a1_ * y1_ + a2_ * y2_;
    y2_ = y1_;
    y1_ = y;
    return y;
  }

 private:
  double a1_ = 0, a2_ = 0, gain_ = 0, y1_ = 0, y2_ = 0;
};

// Rosenberg glottal flow at phase in [0, 1): opening 40 %, closing 16 %, closed after.
double glottal_flow(double phase) {
  constexpr double kOpen = 0.40, kClose = 0.16;
  if (phase < kOpen) return 0.5 * (1.0 - std::cos(kPi * phase / kOpen));
  if (phase < kOpen + kClose) return std::cos(0.5 * kPi * (phase - kOpen) / kClose);
  return 0.0;
}

// Vowel formants (F1, F2) in Hz for an average adult voice: a e i o u.
constexpr double kVowels[5][2] = {{730, 1090}, {530, 1840}, {300, 2240}, {570, 840}, {320, 920}};

struct Speaker {
  double pitch_factor;    // about 0.85 .. 1.18
  double formant_factor;  // about 0.92 .. 1.08
};

Speaker demo_speaker(uint64_t seed, int speaker) {
  Stream rng(seed, kSpeakerStreams + static_cast<uint64_t>(speaker));
  return {std::pow(2.0, rng.uniform(-0.23, 0.23)), rng.uniform(0.92, 1.08)};
}

}  // namespace

void check_demo_options(const DemoCorpusOptions& o) {
  SER_CHECK(o.speakers >= 1 && o.speakers <= kMaxDemoSpeakers, "demo corpus: speakers must be in 1..{}, got {}",
            kMaxDemoSpeakers, o.speakers);
  SER_CHECK(o.first_speaker >= 0 && o.first_speaker + o.speakers <= kMaxDemoSpeakers,
            "demo corpus: actors {}..{} do not fit the RAVDESS actor field 01..{}", o.first_speaker + 1,
            o.first_speaker + o.speakers, kMaxDemoSpeakers);
  SER_CHECK(o.clips_per_class >= 1 && o.clips_per_class <= kMaxDemoClipsPerClass,
            "demo corpus: clips per class must be in 1..{}, got {}", kMaxDemoClipsPerClass, o.clips_per_class);
  SER_CHECK(o.seconds >= 0.25 && o.seconds <= 30.0, "demo corpus: duration must be in 0.25..30 s, got {}", o.seconds);
  SER_CHECK(o.sample_rate >= 8000 && o.sample_rate <= 96000, "demo corpus: sample rate must be in 8000..96000 Hz, got {}",
            o.sample_rate);
  SER_CHECK(o.classes.size() >= 1, "demo corpus: no classes given");
  for (const auto& name : o.classes.names) ravdess_code(name);
}

namespace {
// Says what the folder is, so that `ser demo` replaces only corpora it wrote itself.
void write_marker(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  SER_CHECK(!ec, "cannot create demo corpus folder '{}': {}", dir.string(), ec.message());
  const std::string text =
      "Synthetic demo corpus written by `ser demo`. `ser demo` deletes and regenerates this folder.\n";
  write_file_atomically(dir / kDemoCorpusMarker, text.data(), text.size());
}
}  // namespace

void write_wav_pcm16(const std::filesystem::path& file, const std::vector<float>& samples, int sample_rate) {
  std::vector<short> pcm(samples.size());
  for (std::size_t i = 0; i < samples.size(); ++i)
    pcm[i] = static_cast<short>(std::lrint(std::clamp(samples[i], -1.0f, 1.0f) * 32767.0f));
  SF_INFO info{};
  info.samplerate = sample_rate;
  info.channels = 1;
  info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
  SNDFILE* handle = sf_open(file.string().c_str(), SFM_WRITE, &info);
  SER_CHECK(handle != nullptr, "cannot write WAV file '{}': {}", file.string(), sf_strerror(nullptr));
  const sf_count_t written = sf_write_short(handle, pcm.data(), static_cast<sf_count_t>(pcm.size()));
  const int closed = sf_close(handle);
  SER_CHECK(written == static_cast<sf_count_t>(pcm.size()) && closed == 0, "short write to WAV file '{}'", file.string());
}

DemoProsody demo_prosody(const std::string& emotion) {
  //                      f0   contour bend  vib_hz depth  syl/s level  tilt  jitter breath
  switch (ravdess_code(emotion)) {
    case 1: return {125, -2.0, 0.0, 0.0, 0.00, 4.0, -12.0, 0.55, 0.010, 0.02};  // neutral
    case 2: return {110, -3.0, 0.0, 0.0, 0.00, 2.8, -18.0, 0.75, 0.005, 0.05};  // calm
    case 3: return {200, +5.0, -3.0, 0.0, 0.00, 5.5, -6.0, 0.25, 0.015, 0.02};  // happy
    case 4: return {100, -6.0, 0.0, 0.0, 0.00, 2.5, -18.0, 0.80, 0.010, 0.06};  // sad
    case 5: return {165, 0.0, 0.0, 0.0, 0.00, 6.5, -3.0, 0.05, 0.030, 0.03};    // angry
    case 6: return {240, +2.0, 0.0, 7.0, 0.06, 5.0, -9.0, 0.40, 0.040, 0.12};   // fearful
    case 7: return {115, 0.0, +6.0, 0.0, 0.00, 3.0, -12.0, 0.60, 0.020, 0.08};  // disgust
    default: return {270, +9.0, 0.0, 0.0, 0.00, 4.0, -6.0, 0.30, 0.015, 0.03};  // surprised
  }
}

std::filesystem::path demo_clip_path(const std::string& emotion, int speaker, int clip) {
  const int actor = speaker + 1;
  return std::filesystem::path(fmt::format("Actor_{:02d}", actor)) /
         fmt::format("03-01-{:02d}-{:02d}-{:02d}-{:02d}-{:02d}.wav", ravdess_code(emotion), 1 + clip % 2,
                     1 + (clip / 2) % 2, 1 + clip / 4, actor);
}

std::vector<float> synthesize_demo_clip(const std::string& emotion, int speaker, int clip, const DemoCorpusOptions& opts) {
  const DemoProsody p = demo_prosody(emotion);
  const Speaker voice = demo_speaker(opts.seed, speaker);
  const double sr = opts.sample_rate;
  const auto n = static_cast<std::size_t>(std::lround(opts.seconds * sr));
  Stream rng(opts.seed, (static_cast<uint64_t>(speaker) * 8 + static_cast<uint64_t>(ravdess_code(emotion))) * 4096 +
                            static_cast<uint64_t>(clip));

  // Per-clip variation: pitch (about +-0.85 semitone), tempo, level, onset, length.
  const double f0 = p.f0_hz * voice.pitch_factor * std::exp(0.05 * rng.normal());
  const double syllable_rate = p.syllables_per_second * rng.uniform(0.88, 1.12);
  const double level = std::pow(10.0, (p.level_db + rng.uniform(-2.0, 2.0)) / 20.0);
  const double onset = rng.uniform(0.04, 0.12) * opts.seconds;
  const double length = rng.uniform(0.78, 0.88) * opts.seconds;

  std::vector<double> y(n, 0.0);
  Resonator f1, f2, f3;
  double phase = 0.0, previous_flow = 0.0, tilted = 0.0, period_jitter = 0.0, shimmer = 1.0;
  int current_syllable = -1;
  double stress = 1.0;
  for (std::size_t i = 0; i < n; ++i) {
    const double t = static_cast<double>(i) / sr;
    const double x = (t - onset) / length;  // position in the utterance, [0, 1) while speaking
    if (x < 0.0 || x >= 1.0) continue;
    // Syllables: a new vowel and stress at each, voiced for the first 70 % of it.
    const double syllable_pos = (t - onset) * syllable_rate;
    const int syllable = static_cast<int>(syllable_pos);
    if (syllable != current_syllable) {
      current_syllable = syllable;
      const auto& vowel = kVowels[static_cast<int>(rng.uniform() * 5.0) % 5];
      f1.set(vowel[0] * voice.formant_factor, 90.0, sr);
      f2.set(vowel[1] * voice.formant_factor, 130.0, sr);
      f3.set(2600.0 * voice.formant_factor, 220.0, sr);
      stress = rng.uniform(0.6, 1.0);
    }
    const double within = syllable_pos - syllable;
    // Voiced 70 % of each syllable; a 25 ms fade at both ends of the utterance avoids clicks.
    const double edge = std::min(t - onset, onset + length - t) / kFadeSeconds;
    const double fade = edge < 1.0 ? std::pow(std::sin(0.5 * kPi * edge), 2.0) : 1.0;
    const double envelope = within < 0.7 ? fade * stress * std::pow(std::sin(kPi * within / 0.7), 2.0) : 0.0;
    // Pitch track: contour slope, bend, vibrato.
    const double semitones = p.contour_semitones * (x - 0.5) + p.bend_semitones * ((2 * x - 1) * (2 * x - 1) - 1.0 / 3.0);
    const double pitch = f0 * std::pow(2.0, semitones / 12.0) *
                         (1.0 + p.vibrato_depth * std::sin(2.0 * kPi * p.vibrato_hz * t)) * (1.0 + period_jitter);
    phase += pitch / sr;
    if (phase >= 1.0) {  // a new glottal period: fresh jitter and shimmer
      phase -= 1.0;
      period_jitter = p.jitter * rng.normal();
      shimmer = 1.0 + 2.0 * p.jitter * rng.normal();
    }
    const double flow = glottal_flow(phase);
    const double source = (flow - previous_flow) * sr / pitch * shimmer + p.breathiness * rng.normal();
    previous_flow = flow;
    tilted = (1.0 - p.tilt) * source + p.tilt * tilted;
    y[i] = envelope * f3.step(f2.step(f1.step(tilted)));
  }
  double peak = 1e-12;
  for (double v : y) peak = std::max(peak, std::abs(v));
  std::vector<float> out(n);
  for (std::size_t i = 0; i < n; ++i)
    out[i] = static_cast<float>(std::clamp(level * y[i] / peak + kNoiseFloor * rng.normal(), -1.0, 1.0));
  return out;
}

void generate_demo_corpus(const std::filesystem::path& dir, const DemoCorpusOptions& opts) {
  check_demo_options(opts);
  write_marker(dir);
  for (int speaker = opts.first_speaker; speaker < opts.first_speaker + opts.speakers; ++speaker) {
    const auto actor_dir = dir / demo_clip_path(opts.classes.names.front(), speaker, 0).parent_path();
    std::error_code ec;
    std::filesystem::create_directories(actor_dir, ec);
    SER_CHECK(!ec, "cannot create demo corpus folder '{}': {}", actor_dir.string(), ec.message());
    for (const auto& emotion : opts.classes.names)
      for (int clip = 0; clip < opts.clips_per_class; ++clip)
        write_wav_pcm16(dir / demo_clip_path(emotion, speaker, clip),
                        synthesize_demo_clip(emotion, speaker, clip, opts), opts.sample_rate);
  }
}

bool is_replaceable_demo_corpus(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) return true;
  return std::filesystem::is_regular_file(dir / kDemoCorpusMarker, ec);
}

}  // namespace ser::data
