// The log-mel image of the seed notebook (PROTOCOL.md steps 2-4), CPU reference:
//   centred STFT (periodic Hann, zero padding n_fft/2, float64 FFT via FFTW rounded to
//   complex64) -> power (float32 |X|^2) -> Slaney mel projection -> power_to_db(ref=max,
//   amin, top_db) -> TF bilinear resize (half-pixel centres) to image_height x image_width.
// Every float32/float64 detail follows tests/data/reference/features/README.md so that the
// golden librosa outputs match within the float64-FFT tolerances.
//
// Layouts (row-major): stft_power (F, T) with F = n_fft/2 + 1, T = 1 + N / hop_length;
// mel filterbank (M, F); mel_power and mel_db (M, T); image (H, W).
//
// Two time axes (LogMelConfig::time_axis, stored in every model file):
//   resize  the notebook: the whole clip's (M, T) squeezed to W columns, so a column's
//           duration depends on the clip's length (the seed recipe; the default config)
//   fixed   a column is one hop (16 ms at hop 256): the clip's ends are trimmed of silence
//           (trim_silence, librosa.effects.trim), and its (M, T) frames laid into W =
//           image_width columns: the middle W frames of a longer clip, a shorter one tiled
//           (repeated from its start) to fill W. The network sees windows of window_frames
//           columns of that image: random crops in training, every window averaged in
//           evaluation (engine/train/trainer.h forward_windowed).
// Before either, the signal may be high-passed (LogMelConfig::highpass_hz) and, on the fixed
// axis, trimmed of silent ends.
#pragma once

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/core/tensor.h"

namespace ser::features {

// Upper bounds LogMelConfig::validate() enforces: the config travels in model files
// (untrusted input), and these keep its buffers bounded (an n_fft of 2e9 would ask for a
// 16 GB window). The seed config is 16 kHz, n_fft 2048, hop 512, 128 mels, 128x128.
constexpr int kMaxSampleRate = 1'000'000;  // Hz
constexpr int kMaxFft = 65536;             // n_fft and hop_length
constexpr int kMaxMels = 1024;
constexpr int kMaxImageSide = 4096;        // image_height, image_width

struct LogMelConfig {
  int sample_rate = 16000;
  int n_fft = 2048;
  int hop_length = 512;
  int n_mels = 128;
  double fmin = 0;
  double fmax = 8000;
  double amin = 1e-10;
  double top_db = 80;
  int image_height = 128;
  int image_width = 128;
  // The time axis (see above). "resize" ignores window_frames and fill.
  std::string time_axis = "resize";  // resize | fixed
  double trim_top_db = 0;   // > 0: trim the ends quieter than the loudest frame by this many dB; 0: no trim
  int window_frames = 0;    // fixed: the network's input width (columns per window), <= image_width
  std::string fill = "tile";  // fixed: how a clip shorter than image_width is filled (tile)
  // Per-clip normalisation of the dB image: "none", or "band-mean": each mel band minus its
  // mean over the clip's frames (cepstral mean normalisation's analogue: a fixed microphone
  // or room colouring, a constant spectral tilt, is a per-band offset and goes away).
  std::string clip_norm = "none";
  // > 0: a 4th-order Butterworth high-pass at this many Hz on the signal before anything else
  // (DC offsets and sub-audio rumble: a recording's DC offset lands in the lowest mel bands,
  // where one corpus's microphone then looks unlike another's); 0: none.
  double highpass_hz = 0;

  // The named front ends: "resize" (the notebook, = LogMelConfig{}) and "fixed" (16 kHz,
  // n_fft 1024, 16 ms hop, 128 mels, ends trimmed at 30 dB, 256-column images of which the
  // network sees 128-column (2.05 s) windows), "fixed-hp" (fixed after a 50 Hz high-pass),
  // "fixed-cmn" (fixed with clip_norm band-mean).
  // Throws listing the names for another.
  static LogMelConfig named(const std::string& name);
  bool fixed_time() const { return time_axis == "fixed"; }
  // The width of the network's input: window_frames on the fixed axis, else image_width.
  int network_width() const { return fixed_time() ? window_frames : image_width; }
  // The range image values lie in: [-top_db, 0] dB, or [-top_db, top_db] with band-mean.
  float lowest_value() const { return static_cast<float>(-top_db); }
  float highest_value() const { return clip_norm == "band-mean" ? static_cast<float>(top_db) : 0.0f; }

  // Throws ser::Error naming the first invalid field.
  void validate() const;
  // Stable text naming every parameter (used in cache keys); changes with any field.
  std::string key() const;
  std::string extra_key() const;  // the part of key() of the fields added after logmel-v1
  nlohmann::json to_json() const;
  // Missing fields keep their defaults; unknown fields are an error, and so is a
  // non-integer (2.5, 1e10, "x") or out-of-int-range value of an integer field.
  static LogMelConfig from_json(const nlohmann::json& j);
  int n_freqs() const { return n_fft / 2 + 1; }
  // Frames of a signal of n samples (centred STFT).
  int64_t n_frames(int64_t n_samples) const { return 1 + n_samples / hop_length; }
};

// librosa.filters.mel(sr, n_fft, n_mels, fmin, fmax, htk=False, norm='slaney'):
// computed in float64, stored in float32 exactly as librosa does. Returns (M, F) row-major.
std::vector<float> mel_filterbank(const LogMelConfig& cfg);
// scipy.signal.get_window('hann', n, fftbins=True): periodic Hann, float64, (n,).
std::vector<double> periodic_hann(int n);
// power_to_db(S, ref=max, amin, top_db) in place on a float32 array (any shape, flat).
void power_to_db(std::vector<float>& s, double amin, double top_db);
// tf.image.resize(bilinear, half_pixel_centers) of in (in_h, in_w) to (out_h, out_w).
std::vector<float> resize_bilinear(const std::vector<float>& in, int in_h, int in_w, int out_h, int out_w);

struct LogMelStages {
  Tensor stft_power;  // (F, T)
  Tensor mel_power;   // (M, T)
  Tensor mel_db;      // (M, T)
  Tensor image;       // (H, W)
};

// librosa.effects.trim(y, top_db, ref=np.max, frame_length, hop_length): the frames whose
// mean square (centred frames, zero padded) lies within top_db of the loudest frame's; returns
// [begin, end) in samples, begin = first such frame * hop, end = min(N, (last + 1) * hop).
// A signal without any such frame (all zeros) gives [0, 0). Float64 throughout.
std::pair<int64_t, int64_t> trim_silence(const std::vector<float>& samples, double top_db, int frame_length = 2048,
                                         int hop_length = 512);

// Each row of an (M, T) array minus its mean over the T columns (float64 sums), in place.
void subtract_band_means(std::vector<float>& db, int m, int64_t t);

// The fixed axis' layout of an (M, T) dB array into (M, width) columns (see above).
std::vector<float> lay_out_frames(const std::vector<float>& db, int m, int64_t t, int width);

// CPU reference extractor. Owns one FFTW plan and its buffers: use one per thread.
class LogMelExtractor {
 public:
  explicit LogMelExtractor(const LogMelConfig& cfg = {});
  ~LogMelExtractor();
  LogMelExtractor(const LogMelExtractor&) = delete;
  LogMelExtractor& operator=(const LogMelExtractor&) = delete;

  const LogMelConfig& config() const { return cfg_; }
  // samples: (N,) mono at cfg.sample_rate, N >= 1, all finite. Returns (H, W) float32 CPU
  // (the fixed axis: trimmed first; a signal trimmed to nothing is kept whole).
  Tensor image(const std::vector<float>& samples);
  // Every intermediate array, for tests and inspection.
  LogMelStages stages(const std::vector<float>& samples);

 private:
  struct Fft;
  // power: (F, T) float32; returns T.
  int64_t stft_power(const std::vector<float>& samples, std::vector<float>& power);
  // mel: (M, T) = filterbank (M, F) x power (F, T), summed in float64 over each band's support.
  std::vector<float> mel_project(const std::vector<float>& power, int64_t frames) const;
  const std::vector<float>& front_end_signal(const std::vector<float>& samples);
  std::vector<float> to_image(const std::vector<float>& db, int64_t frames) const;

  LogMelConfig cfg_;
  std::vector<double> window_;       // (n_fft,)
  std::vector<float> filterbank_;    // (M, F)
  std::vector<int> band_begin_, band_end_;  // (M,) non-zero support [begin, end) of each band
  std::unique_ptr<Fft> fft_;
  std::vector<float> power_;  // (F, T) of the last image(), reused
  std::vector<float> filtered_;  // (N,) the last high-passed signal (highpass_hz > 0)
  std::vector<float> trimmed_;  // (N',) the last trimmed signal (trim_top_db > 0), reused
};

}  // namespace ser::features
