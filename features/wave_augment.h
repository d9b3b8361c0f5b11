// Waveform robustness augmentation, CPU reference: speed perturbation, additive noise
// (white/pink/brown/babble at a given SNR), gain, telephone band + mu-law, spectral tilt,
// synthetic reverb, cut to a duration, and a lossy codec round trip; then a training
// sampler (WaveAugmentConfig -> augment_waveform) and the fixed evaluation perturbations
// (perturbation_names / apply_perturbation).
//
// Layouts: every signal is a mono float32 vector of N samples, (N,), at `sample_rate` Hz
// (16000 in practice). Ops return a new vector and keep N unless stated (speed_perturb,
// cut_to_seconds; codec_roundtrip keeps N). Inner sums run in float64.
//
// Randomness: every op is a deterministic function of its arguments; random ops take
// (seed, offset) and draw element i from philox_uniform_at(seed, offset, i)
// (engine/core/philox.h), so the same arguments give the same bits on any machine.
// augment_waveform draws every choice from philox(seed, stream, i), the stream coming from
// the run's ser::Generator (next_stream()), so training stays reproducible.
//
// FFTs use FFTW (double, power-of-two sizes; buffers reused per thread). Plans are made
// once per size for the process (FFTW_ESTIMATE: the same plan, so the same bits, every run)
// under the project's one FFTW planner lock (features/fftw_planner.h, shared with
// LogMelExtractor); execution is thread-safe, so the ops may run on many threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "engine/core/random.h"

namespace ser::features {

// ------------------------------------------------------------------------ ops

// Speed change, pitch and tempo together (sox `speed`): x is read as if sampled at
// r' = round(sample_rate * factor) Hz and resampled to sample_rate with libsoxr HQ (the
// soxr_oneshot call of features/audio.h resample), so a tone at g Hz comes out at g * r' / sample_rate ~ g * factor
// Hz; the result is then cut or zero-padded to round(N / factor) samples. factor in
// [0.5, 2]; factor == 1 returns x.
std::vector<float> speed_perturb(const std::vector<float>& x, double factor, int sample_rate = 16000);

// y = x + s * n, with n = `noise` tiled (repeated from its start) or cropped to N samples and
//   s = sqrt(P_x / (P_n * 10^(snr_db / 10))),  P = mean square (float64),
// so that 10 log10(P_x / P_{s n}) == snr_db. Returns x unchanged when x is silent (P_x == 0)
// or the noise is (P_n == 0: an infinite SNR). Throws for an empty noise or a non-finite SNR.
std::vector<float> add_noise(const std::vector<float>& x, const std::vector<float>& noise, double snr_db);

// Noise with power spectral density ~ f^-exponent (white 0, pink 1, brown 2), n samples at
// unit RMS: for M = the next power of two >= n, bin k = 1..M/2 of the spectrum gets real and
// imaginary parts 2u - 1 (u: uniforms 2k, 2k + 1 of philox(seed, offset, .)) times
// k^(-exponent / 2), DC = 0 (the Nyquist bin keeps only its real part); an inverse real FFT
// gives M samples (each a sum of M/2 independent terms: Gaussian), the first n are scaled
// to RMS 1. exponent in [0, 3].
std::vector<float> coloured_noise(std::size_t n, double exponent, uint64_t seed, uint64_t offset);

// Babble: sum over j < count of clips[j] tiled or cropped to n samples and scaled to RMS 1
// (silent clips are skipped; all silent: zeros), so each talker is equally loud. The caller
// picks the clips (others than the one being augmented). Throws if count is not in
// [1, clips.size()] or a chosen clip is null or empty.
std::vector<float> babble(const std::vector<const std::vector<float>*>& clips, std::size_t n, int count);

// y = x * 10^(db / 20), in float32 (g rounded once to float); no clipping, so |y| may exceed 1.
std::vector<float> apply_gain_db(const std::vector<float>& x, double db);

// One second-order section, normalised a0 = 1:
//   y[n] = b0 x[n] + b1 x[n-1] + b2 x[n-2] - a1 y[n-1] - a2 y[n-2]   (transposed direct form II, float64 state)
struct Biquad {
  double b0 = 1, b1 = 0, b2 = 0, a1 = 0, a2 = 0;
};
// RBJ Audio-EQ-Cookbook low-pass / high-pass / peaking sections (bilinear transform with the
// frequency prewarped at f0). 0 < f0 < sample_rate / 2, q > 0.
Biquad biquad_lowpass(double f0, double q, int sample_rate);
Biquad biquad_highpass(double f0, double q, int sample_rate);
Biquad biquad_peaking(double f0, double q, double gain_db, int sample_rate);
// Butterworth of even order (2, 4, 6, 8) as order / 2 cookbook sections with
// Q_k = 1 / (2 cos((2k - 1) pi / (2 order))): the bilinear transform (prewarped at fc) of the
// analog Butterworth, so |H(f)|^2 = 1 / (1 + (tan(pi f / fs) / tan(pi fc / fs))^(+-2 order)).
std::vector<Biquad> butterworth_lowpass(double fc, int order, int sample_rate);
std::vector<Biquad> butterworth_highpass(double fc, int order, int sample_rate);
// Runs the sections in cascade from zero state; output (N,).
std::vector<float> filter_biquads(const std::vector<float>& x, const std::vector<Biquad>& sections);

// Telephone band 300-3400 Hz: 4th-order Butterworth high-pass at 300 Hz then 4th-order
// Butterworth low-pass at 3400 Hz (four cookbook biquads; 24 dB/octave skirts, -3 dB at both
// edges). Needs sample_rate > 6800.
std::vector<float> telephone_band(const std::vector<float>& x, int sample_rate);

// G.711-style 8-bit mu-law (mu = 255) encode + decode, the continuous law of
// torchaudio.functional.mu_law_encoding/decoding (not G.711's 8-segment approximation):
//   c = clamp(x, -1, 1);  y = sign(c) ln(1 + mu |c|) / ln(1 + mu);  q = floor((y + 1) / 2 * mu + 0.5) in 0..255
//   y' = 2 q / mu - 1;    x' = sign(y') ((1 + mu)^|y'| - 1) / mu
// so |y' - y| <= 1 / mu (y is rounded to the nearest of the 256 levels 2q/mu - 1). Computed
// without a logarithm per sample: q = the number of the 255 decision levels
// x_t = expand((2t + 1) / mu - 1) that are <= c (the same q; a sample exactly on a decision
// level may round the other way), x' from a table of the 256 levels.
std::vector<float> mu_law_roundtrip(const std::vector<float>& x);

// Spectral tilt: zero-phase gain G(f) = 10^(db_per_octave / 20 * log2(max(f, 100 Hz) / 1000 Hz))
// (0 dB at 1 kHz; frequencies below 100 Hz get the 100 Hz gain) applied in one FFT of the
// zero-padded signal (padding >= 4096 samples keeps the circular wrap negligible).
// db_per_octave in [-24, 24]; 0 returns x.
std::vector<float> spectral_tilt(const std::vector<float>& x, int sample_rate, double db_per_octave);

// Reverb impulse response of L = max(1, round(rt60_s * sample_rate)) samples:
//   h[0] = 1 (direct path);  h[n] = wet * t[n] / ||t||_2 for n >= 1,
//   t[n] = g[n] exp(-3 ln(10) n / (rt60_s sample_rate)),  g[n] = 2 u_n - 1 uniform noise
//   (u_n: uniform n of philox(seed, offset, .)),
// so the tail's energy falls 60 dB in rt60_s and its energy relative to the direct path is
// wet^2 (direct-to-reverberant ratio -20 log10(wet) dB). rt60_s in (0, 5], wet in [0, 4].
std::vector<float> reverb_impulse_response(int sample_rate, double rt60_s, uint64_t seed, uint64_t offset, double wet);

// x convolved with reverb_impulse_response(...) (FFT, one power-of-two transform of
// N + L - 1 or more samples), cut to the first N samples and scaled so that RMS(y) == RMS(x).
// A silent x is returned unchanged.
std::vector<float> synthetic_reverb(const std::vector<float>& x, int sample_rate, double rt60_s, uint64_t seed,
                                    uint64_t offset, double wet = 1.0);

// The first round(seconds * sample_rate) samples of x, zero-padded if x is shorter
// (evaluation condition "cut-2s"). seconds > 0.
std::vector<float> cut_to_seconds(const std::vector<float>& x, int sample_rate, double seconds);

// Lossy codecs that codec_roundtrip can use (through libsndfile).
enum class AudioCodec { kVorbis, kMp3 };
// "vorbis" / "mp3".
std::string codec_name(AudioCodec codec);
// Whether this libsndfile can write the codec at sample_rate (sf_format_check).
bool codec_supported(AudioCodec codec, int sample_rate = 16000);
// Encodes x to OGG Vorbis or MP3 in memory (libsndfile virtual I/O, SFC_SET_COMPRESSION_LEVEL
// = compression in [0, 1], 1 = smallest file and most loss), decodes it back, and returns
// exactly N samples (cut or zero-padded; libsndfile 1.2.0 decodes exactly N frames of both,
// other versions may be off by up to a codec frame). Samples are
// clipped to [-1, 1] before encoding. Throws ser::Error naming the codec if this
// libsndfile cannot write it, or on any libsndfile error.
std::vector<float> codec_roundtrip(const std::vector<float>& x, int sample_rate, AudioCodec codec = AudioCodec::kVorbis,
                                   double compression = 0.5);

// ------------------------------------------------------------------------ training sampler

// Random waveform augmentation for training. Text form (--wave-augment): "none", or
// comma-separated items KEY=VALUE, each optional and off when absent; P is a probability in
// [0, 1] and "P@" may be left out (P = 1); a RANGE is LO-HI (uniform draw; either end may be
// negative, e.g. -12-6 or -6--3) or one number V (always V):
//   speed=[P@]RANGE                 speed_perturb factor, in [0.5, 2]; the draw is rounded to a
//                                   multiple of 0.01 where that stays in RANGE (libsoxr is ~2x
//                                   faster at such ratios)
//   reverb=[P@]RANGE[:WETRANGE]     synthetic_reverb rt60 seconds in (0, 5]; wet in [0, 4] (default 1)
//   noise=[P@]RANGE[:KINDS]         add_noise SNR dB in [-20, 80]; KINDS '+'-separated from white,
//                                   pink, brown, babble (default white+pink+brown), one chosen uniformly;
//                                   babble sums babble_talkers clips of the pool ("babbleN": N talkers)
//   tilt=[P@]RANGE                  spectral_tilt dB/octave in [-24, 24]
//   telephone=P                     telephone_band then mu_law_roundtrip
//   codec=P                         codec_roundtrip (OGG Vorbis, compression 0.5)
//   gain=[P@]RANGE                  apply_gain_db dB in [-60, 40]
// e.g. "speed=0.9-1.1,noise=0.5@5-20,gain=-12-6,telephone=0.2,tilt=0.3@-6-6,reverb=0.3@0.2-0.8".
// Ops apply in the order source -> room -> channel: speed, reverb, noise, tilt, telephone, codec, gain.
enum class NoiseKind { kWhite, kPink, kBrown, kBabble };

struct WaveAugmentConfig {
  double speed_prob = 0, speed_min = 1, speed_max = 1;
  double reverb_prob = 0, rt60_min = 0.3, rt60_max = 0.3, wet_min = 1, wet_max = 1;
  double noise_prob = 0, snr_min = 20, snr_max = 20;
  std::vector<NoiseKind> noise_kinds = {NoiseKind::kWhite, NoiseKind::kPink, NoiseKind::kBrown};
  int babble_talkers = 3;  // clips summed for a babble noise, in [1, 12]
  double tilt_prob = 0, tilt_min = 0, tilt_max = 0;
  double telephone_prob = 0;
  double codec_prob = 0;
  double gain_prob = 0, gain_min = 0, gain_max = 0;

  // Some op has a non-zero probability.
  bool enabled() const;
  // Whether noise can choose babble (augment_waveform then needs a non-empty pool).
  bool uses_babble() const;
  // The text form above ("none" when nothing is on); parse(text()) == *this for a valid config.
  // It names every field that matters (none of an op that is off), so operator== compares it.
  std::string text() const;
  // Throws ser::Error naming the item ("--wave-augment item 'gain=x': ...") for anything
  // malformed, unknown, repeated or out of range.
  static WaveAugmentConfig parse(const std::string& text);
  // Throws ser::Error naming the item of the first value out of range.
  void validate() const;
  bool operator==(const WaveAugmentConfig& o) const;
};

// JSON form: the text form as a string (as train::AugmentConfig).
void to_json(nlohmann::json& j, const WaveAugmentConfig& c);
void from_json(const nlohmann::json& j, WaveAugmentConfig& c);

// Every choice of one augment_waveform call (plain data; `apply_wave_augment` is deterministic).
struct WaveAugmentDraw {
  bool speed = false;     double speed_factor = 1;
  bool reverb = false;    double rt60_s = 0, wet = 1; uint64_t reverb_seed = 0;
  bool noise = false;     double snr_db = 0; NoiseKind noise_kind = NoiseKind::kWhite; uint64_t noise_seed = 0;
  std::vector<int> babble_clips;  // indices into the babble pool (babble_talkers of them)
  bool tilt = false;      double tilt_db_per_octave = 0;
  bool telephone = false;
  bool codec = false;
  bool gain = false;      double gain_db = 0;
};

// Draws every choice from philox_uniform_at(seed, stream, i): op k (in the order above) owns
// indices [16 k, 16 k + 16) (0: on/off, 1..: values), so turning one op on or off never moves
// another's draws. Noise and impulse-response samples use offset 0 of derived keys
// splitmix64(splitmix64(seed ^ splitmix64(stream)) + tag) (tag 1 noise, 2 reverb), away from
// the caller's (seed, stream) streams. Babble clips are drawn independently in
// [0, pool_size) (a clip may repeat). Throws if babble is drawn and pool_size is 0.
WaveAugmentDraw draw_wave_augment(const WaveAugmentConfig& cfg, uint64_t seed, uint64_t stream, std::size_t pool_size);
// Applies a draw; babble_pool must hold every index the draw names.
std::vector<float> apply_wave_augment(const std::vector<float>& x, int sample_rate, const WaveAugmentDraw& draw,
                                      const std::vector<const std::vector<float>*>& babble_pool);

// apply_wave_augment(x, draw_wave_augment(cfg, seed, stream, pool.size())): a deterministic
// function of (x, cfg, seed, stream, pool). Config "none" returns x bit for bit. Throws if
// cfg is invalid, or can choose babble with an empty pool.
std::vector<float> augment_waveform(const std::vector<float>& x, int sample_rate, const WaveAugmentConfig& cfg,
                                    uint64_t seed, uint64_t stream,
                                    const std::vector<const std::vector<float>*>& babble_pool = {});
// The same with the stream taken from generator.next_stream().
std::vector<float> augment_waveform(const std::vector<float>& x, int sample_rate, const WaveAugmentConfig& cfg,
                                    Generator& generator, const std::vector<const std::vector<float>*>& babble_pool = {});

// ------------------------------------------------------------------------ evaluation perturbations

// {"clean", "telephone", "noise-snr10", "reverb", "gain-20db", "cut-2s", "speed-0.9",
//  "speed-1.1", "codec"}; "codec" only where codec_supported(kVorbis).
std::vector<std::string> perturbation_names();
// Fixed settings, the same for every clip:
//   clean: x;  telephone: telephone_band + mu_law_roundtrip;  noise-snr10: pink noise
//   (coloured_noise exponent 1, seed kPerturbationSeed, offset 0) at SNR 10 dB;
//   reverb: rt60 0.5 s, wet 1, seed kPerturbationSeed, offset 1;  gain-20db: -20 dB;
//   cut-2s: the leading silence cut (trim_silence at 30 dB, its start only), then
//   cut_to_seconds 2.0 (a user's clip: speech from the first frame, about 2 s);  speed-0.9 / speed-1.1: speed_perturb;
//   codec: codec_roundtrip OGG Vorbis, compression 0.5.
// Throws ser::Error listing the valid names for an unknown one.
constexpr uint64_t kPerturbationSeed = 20240611;
std::vector<float> apply_perturbation(const std::string& name, const std::vector<float>& x, int sample_rate);

}  // namespace ser::features
