// CPU reference of the log-mel image; see logmel.h for the stages and layouts. Each
// numeric step reproduces the precision librosa/numpy use (README "Pipeline, step by step"):
// float64 window x frame and FFT, complex64 rounding, float32 |X|^2 (numpy's AVX-512 abs), float32 dB with
// a float64 reference term, float32 bilinear resize.
#include "features/logmel.h"

#include <fftw3.h>

#include <algorithm>
#include <cmath>
#include <mutex>

#include "engine/core/error.h"
#include "engine/io/json_number.h"
#include "features/fftw_planner.h"
#include "features/wave_augment.h"

namespace ser::features {
namespace {

// librosa.core.convert.hz_to_mel / mel_to_hz, Slaney scale (htk=False), float64.
constexpr double kFSp = 200.0 / 3;
constexpr double kMinLogHz = 1000.0;
const double kMinLogMel = (kMinLogHz - 0.0) / kFSp;
const double kLogStep = std::log(6.4) / 27.0;

double hz_to_mel(double hz) {
  if (hz >= kMinLogHz) return kMinLogMel + std::log(hz / kMinLogHz) / kLogStep;
  return (hz - 0.0) / kFSp;
}

double mel_to_hz(double mel) {
  if (mel >= kMinLogMel) return kMinLogHz * std::exp(kLogStep * (mel - kMinLogMel));
  return 0.0 + kFSp * mel;
}

// |re + i im| as numpy 1.2x computes np.abs(complex64) on AVX-512 machines (where the golden
// data was made): larger * sqrt(fma(r, r, 1)), r = smaller / larger, all float32. glibc's
// correctly rounded hypotf differs from it by up to 2 float32 steps at the largest bins;
// this form reproduces the stored stft_power bit for bit (see docs/FEATURES.md).
float complex64_abs(float re, float im) {
  const float a = std::fabs(re), b = std::fabs(im);
  const float larger = std::max(a, b), smaller = std::min(a, b);
  if (larger == 0.0f || std::isinf(larger)) return larger;
  const float ratio = smaller / larger;
  return std::sqrt(std::fma(ratio, ratio, 1.0f)) * larger;
}

// numpy.linspace(start, stop, num) with endpoint: i * step + start, last = stop.
std::vector<double> linspace(double start, double stop, int num) {
  std::vector<double> y(num);
  const double step = num > 1 ? (stop - start) / (num - 1) : 0.0;
  for (int i = 0; i < num; ++i) y[i] = i * step + start;
  if (num > 1) y[num - 1] = stop;
  return y;
}

}  // namespace

// ---------------------------------------------------------------------------- config

void LogMelConfig::validate() const {
  SER_CHECK(sample_rate > 0 && sample_rate <= kMaxSampleRate, "LogMelConfig: sample_rate must lie in [1, {}], got {}",
            kMaxSampleRate, sample_rate);
  SER_CHECK(n_fft >= 2 && n_fft <= kMaxFft, "LogMelConfig: n_fft must lie in [2, {}], got {}", kMaxFft, n_fft);
  SER_CHECK(hop_length >= 1 && hop_length <= kMaxFft, "LogMelConfig: hop_length must lie in [1, {}], got {}", kMaxFft,
            hop_length);
  SER_CHECK(n_mels >= 1 && n_mels <= kMaxMels, "LogMelConfig: n_mels must lie in [1, {}], got {}", kMaxMels, n_mels);
  SER_CHECK(std::isfinite(fmin) && std::isfinite(fmax) && fmin >= 0 && fmax > fmin,
            "LogMelConfig: need 0 <= fmin < fmax (finite), got fmin {} fmax {}", fmin, fmax);
  SER_CHECK(std::isfinite(amin) && amin > 0, "LogMelConfig: amin must be finite and > 0, got {}", amin);
  SER_CHECK(std::isfinite(top_db) && top_db >= 0, "LogMelConfig: top_db must be finite and >= 0, got {}", top_db);
  SER_CHECK(image_height > 0 && image_width > 0 && image_height <= kMaxImageSide && image_width <= kMaxImageSide,
            "LogMelConfig: image_height and image_width must lie in [1, {}], got {}x{}", kMaxImageSide, image_height,
            image_width);
  SER_CHECK(time_axis == "resize" || time_axis == "fixed", "LogMelConfig: time_axis must be resize or fixed, got '{}'",
            time_axis);
  SER_CHECK(std::isfinite(trim_top_db) && trim_top_db >= 0, "LogMelConfig: trim_top_db must be finite and >= 0, got {}",
            trim_top_db);
  if (fixed_time()) {
    SER_CHECK(image_height == n_mels, "LogMelConfig: the fixed time axis keeps the mel bands: image_height {} must equal "
              "n_mels {}", image_height, n_mels);
    SER_CHECK(window_frames >= 1 && window_frames <= image_width,
              "LogMelConfig: window_frames must lie in [1, image_width = {}], got {}", image_width, window_frames);
    SER_CHECK(fill == "tile", "LogMelConfig: fill must be tile, got '{}'", fill);
  }
  SER_CHECK(std::isfinite(highpass_hz) && highpass_hz >= 0 && highpass_hz < sample_rate / 2.0,
            "LogMelConfig: highpass_hz must be finite and in [0, sample_rate / 2 = {}), got {}", sample_rate / 2.0,
            highpass_hz);
  SER_CHECK(clip_norm == "none" || clip_norm == "band-mean", "LogMelConfig: clip_norm must be none or band-mean, got '{}'",
            clip_norm);
}

LogMelConfig LogMelConfig::named(const std::string& name) {
  if (name == "resize") return LogMelConfig{};
  if (name == "fixed") {
    LogMelConfig c;
    c.n_fft = 1024;
    c.hop_length = 256;  // 16 ms at 16 kHz
    c.time_axis = "fixed";
    c.trim_top_db = 30;
    c.image_width = 256;   // 4.1 s of frames held per clip
    c.window_frames = 128;  // 2.05 s seen by the network at a time
    return c;
  }
  if (name == "fixed-hp") {
    LogMelConfig c = named("fixed");
    c.highpass_hz = 50;
    return c;
  }
  if (name == "fixed-cmn") {
    LogMelConfig c = named("fixed");
    c.clip_norm = "band-mean";
    return c;
  }
  SER_FAIL("unknown front end '{}': expected resize (the notebook's whole-clip image), fixed (16 ms frames, "
           "trimmed ends, 2 s windows), fixed-hp (fixed after a 50 Hz high-pass) or fixed-cmn (fixed, each mel band "
           "minus its mean over the clip)", name);
}

std::string LogMelConfig::key() const {
  return fmt::format(
      "logmel-v1 sr={} n_fft={} hop={} n_mels={} fmin={:.17g} fmax={:.17g} amin={:.17g} top_db={:.17g} "
      "image={}x{} window=hann-periodic center=constant mel=slaney/slaney resize=tf-bilinear-half-pixel",
      sample_rate, n_fft, hop_length, n_mels, fmin, fmax, amin, top_db, image_height, image_width) +
         extra_key();
}

// What the fields added after logmel-v1 contribute to key() and to_json(): nothing at their
// defaults, so the notebook's cache keys and model metadata stay as they were.
std::string LogMelConfig::extra_key() const {
  std::string k;
  if (trim_top_db > 0) k += fmt::format(" trim={:.17g}/2048/512", trim_top_db);
  if (fixed_time()) k += fmt::format(" time=fixed window={} fill={}", window_frames, fill);
  if (clip_norm != "none") k += " clip_norm=" + clip_norm;
  if (highpass_hz > 0) k += fmt::format(" highpass={:.17g}/butterworth4", highpass_hz);
  return k;
}

nlohmann::json LogMelConfig::to_json() const {
  nlohmann::json j = {{"sample_rate", sample_rate}, {"n_fft", n_fft}, {"hop_length", hop_length}, {"n_mels", n_mels},
          {"fmin", fmin},       {"fmax", fmax},   {"amin", amin},             {"top_db", top_db},
          {"image_height", image_height},       {"image_width", image_width}};
  if (trim_top_db > 0) j["trim_top_db"] = trim_top_db;
  if (clip_norm != "none") j["clip_norm"] = clip_norm;
  if (highpass_hz > 0) j["highpass_hz"] = highpass_hz;
  if (fixed_time()) {
    j["time_axis"] = time_axis;
    j["window_frames"] = window_frames;
    j["fill"] = fill;
  }
  return j;
}

LogMelConfig LogMelConfig::from_json(const nlohmann::json& j) {
  SER_CHECK(j.is_object(), "LogMelConfig: expected a JSON object, got {}", j.dump());
  LogMelConfig c;
  for (const auto& [name, value] : j.items()) {
    if (name == "sample_rate") c.sample_rate = json_to_int(value, "LogMelConfig", name);
    else if (name == "n_fft") c.n_fft = json_to_int(value, "LogMelConfig", name);
    else if (name == "hop_length") c.hop_length = json_to_int(value, "LogMelConfig", name);
    else if (name == "n_mels") c.n_mels = json_to_int(value, "LogMelConfig", name);
    else if (name == "fmin") c.fmin = json_to_double(value, "LogMelConfig", name);
    else if (name == "fmax") c.fmax = json_to_double(value, "LogMelConfig", name);
    else if (name == "amin") c.amin = json_to_double(value, "LogMelConfig", name);
    else if (name == "top_db") c.top_db = json_to_double(value, "LogMelConfig", name);
    else if (name == "image_height") c.image_height = json_to_int(value, "LogMelConfig", name);
    else if (name == "image_width") c.image_width = json_to_int(value, "LogMelConfig", name);
    else if (name == "trim_top_db") c.trim_top_db = json_to_double(value, "LogMelConfig", name);
    else if (name == "highpass_hz") c.highpass_hz = json_to_double(value, "LogMelConfig", name);
    else if (name == "window_frames") c.window_frames = json_to_int(value, "LogMelConfig", name);
    else if (name == "time_axis" || name == "fill" || name == "clip_norm") {
      SER_CHECK(value.is_string(), "LogMelConfig: field '{}' must be a string, got {}", name, value.dump());
      (name == "fill" ? c.fill : name == "clip_norm" ? c.clip_norm : c.time_axis) = value.get<std::string>();
    }
    else SER_FAIL("LogMelConfig: unknown field '{}'", name);
  }
  c.validate();
  return c;
}

// ---------------------------------------------------------------------------- stages

std::vector<float> mel_filterbank(const LogMelConfig& cfg) {
  cfg.validate();
  const int n_freqs = cfg.n_freqs(), n_mels = cfg.n_mels;
  // numpy.fft.rfftfreq(n_fft, d=1/sr): k * (1 / (n_fft * d)).
  const double d = 1.0 / cfg.sample_rate;
  const double val = 1.0 / (cfg.n_fft * d);
  std::vector<double> fftfreqs(n_freqs);  // (F,)
  for (int k = 0; k < n_freqs; ++k) fftfreqs[k] = k * val;
  // Band edges: n_mels + 2 points equally spaced in mel, (M + 2,).
  std::vector<double> mel_f = linspace(hz_to_mel(cfg.fmin), hz_to_mel(cfg.fmax), n_mels + 2);
  for (double& m : mel_f) m = mel_to_hz(m);
  std::vector<float> weights(static_cast<std::size_t>(n_mels) * n_freqs);  // (M, F)
  for (int i = 0; i < n_mels; ++i) {
    const double fdiff_lo = mel_f[i + 1] - mel_f[i];
    const double fdiff_hi = mel_f[i + 2] - mel_f[i + 1];
    const double enorm = 2.0 / (mel_f[i + 2] - mel_f[i]);  // Slaney area normalisation
    for (int k = 0; k < n_freqs; ++k) {
      const double lower = -(mel_f[i] - fftfreqs[k]) / fdiff_lo;
      const double upper = (mel_f[i + 2] - fftfreqs[k]) / fdiff_hi;
      // librosa stores the triangle in a float32 array, then scales it in float64.
      const float w32 = static_cast<float>(std::max(0.0, std::min(lower, upper)));
      weights[static_cast<std::size_t>(i) * n_freqs + k] = static_cast<float>(static_cast<double>(w32) * enorm);
    }
  }
  return weights;
}

std::vector<double> periodic_hann(int n) {
  SER_CHECK(n > 0, "periodic_hann: length must be > 0, got {}", n);
  std::vector<double> w(n);
  const double pi = 3.14159265358979323846;
  for (int i = 0; i < n; ++i) w[i] = 0.5 - 0.5 * std::cos(2.0 * pi * i / n);
  return w;
}

void power_to_db(std::vector<float>& s, double amin, double top_db) {
  if (s.empty()) return;
  const float amin_f = static_cast<float>(amin);
  float s_max = s[0];
  for (float v : s) s_max = std::max(s_max, v);
  // The reference term is a float64 scalar rounded to float32 before the subtraction.
  const float ref_db = static_cast<float>(10.0 * std::log10(std::max(amin, static_cast<double>(s_max))));
  float db_max = -INFINITY;
  for (float& v : s) {
    v = 10.0f * std::log10(std::max(amin_f, v)) - ref_db;
    db_max = std::max(db_max, v);
  }
  // numpy 1.x: float32 scalar - Python float is float64; the floor is cast back to float32.
  const float floor_db = static_cast<float>(static_cast<double>(db_max) - top_db);
  for (float& v : s) v = std::max(v, floor_db);
}

namespace {
// One axis of TF's half-pixel bilinear resize: source indices and weight per output index.
struct ResizeAxis {
  std::vector<int> lo, hi;
  std::vector<float> lerp;
};

ResizeAxis resize_axis(int in_size, int out_size) {
  ResizeAxis a;
  a.lo.resize(out_size);
  a.hi.resize(out_size);
  a.lerp.resize(out_size);
  const float scale = static_cast<float>(in_size) / static_cast<float>(out_size);
  for (int i = 0; i < out_size; ++i) {
    const float src = (static_cast<float>(i) + 0.5f) * scale - 0.5f;
    const float fl = std::floor(src);
    a.lo[i] = std::max(static_cast<int>(fl), 0);
    a.hi[i] = std::min(static_cast<int>(std::ceil(src)), in_size - 1);
    a.lerp[i] = src - fl;
  }
  return a;
}
}  // namespace

std::vector<float> resize_bilinear(const std::vector<float>& in, int in_h, int in_w, int out_h, int out_w) {
  SER_CHECK(in_h > 0 && in_w > 0 && out_h > 0 && out_w > 0, "resize_bilinear: bad sizes {}x{} -> {}x{}", in_h, in_w,
            out_h, out_w);
  SER_CHECK(in.size() == static_cast<std::size_t>(in_h) * in_w, "resize_bilinear: {} values for a {}x{} input",
            in.size(), in_h, in_w);
  if (in_h == out_h && in_w == out_w) return in;  // TF copies the input unchanged
  const ResizeAxis ys = resize_axis(in_h, out_h), xs = resize_axis(in_w, out_w);
  std::vector<float> out(static_cast<std::size_t>(out_h) * out_w);  // (out_h, out_w)
  for (int y = 0; y < out_h; ++y) {
    const float* row_lo = in.data() + static_cast<std::size_t>(ys.lo[y]) * in_w;
    const float* row_hi = in.data() + static_cast<std::size_t>(ys.hi[y]) * in_w;
    for (int x = 0; x < out_w; ++x) {
      const int x0 = xs.lo[x], x1 = xs.hi[x];
      const float top = row_lo[x0] + (row_lo[x1] - row_lo[x0]) * xs.lerp[x];
      const float bottom = row_hi[x0] + (row_hi[x1] - row_hi[x0]) * xs.lerp[x];
      out[static_cast<std::size_t>(y) * out_w + x] = top + (bottom - top) * ys.lerp[y];
    }
  }
  return out;
}

// ---------------------------------------------------------------------------- extractor

struct LogMelExtractor::Fft {
  int n = 0;
  double* in = nullptr;            // (n,) windowed frame
  fftw_complex* out = nullptr;     // (n/2 + 1,) spectrum
  fftw_plan plan = nullptr;

  explicit Fft(int n_fft) : n(n_fft) {
    std::lock_guard<std::mutex> lock(fftw_planner_mutex());
    in = static_cast<double*>(fftw_malloc(sizeof(double) * n));
    out = static_cast<fftw_complex*>(fftw_malloc(sizeof(fftw_complex) * (n / 2 + 1)));
    if (in && out) plan = fftw_plan_dft_r2c_1d(n, in, out, FFTW_ESTIMATE);
    if (!plan) {
      fftw_free(in);
      fftw_free(out);
      SER_FAIL("LogMelExtractor: FFTW could not plan a real FFT of size {}", n);
    }
  }
  ~Fft() {
    std::lock_guard<std::mutex> lock(fftw_planner_mutex());
    fftw_destroy_plan(plan);
    fftw_free(in);
    fftw_free(out);
  }
};

LogMelExtractor::LogMelExtractor(const LogMelConfig& cfg) : cfg_(cfg) {
  cfg_.validate();
  window_ = periodic_hann(cfg_.n_fft);
  filterbank_ = mel_filterbank(cfg_);
  const int n_freqs = cfg_.n_freqs();
  band_begin_.assign(cfg_.n_mels, 0);
  band_end_.assign(cfg_.n_mels, 0);
  for (int m = 0; m < cfg_.n_mels; ++m) {
    const float* row = filterbank_.data() + static_cast<std::size_t>(m) * n_freqs;
    int b = 0, e = n_freqs;
    while (b < n_freqs && row[b] == 0.0f) ++b;
    while (e > b && row[e - 1] == 0.0f) --e;
    band_begin_[m] = b;
    band_end_[m] = e;
  }
  fft_ = std::make_unique<Fft>(cfg_.n_fft);
}

LogMelExtractor::~LogMelExtractor() = default;

int64_t LogMelExtractor::stft_power(const std::vector<float>& samples, std::vector<float>& power) {
  const int64_t n = static_cast<int64_t>(samples.size());
  const int n_fft = cfg_.n_fft, hop = cfg_.hop_length, pad = cfg_.n_fft / 2, n_freqs = cfg_.n_freqs();
  const int64_t frames = cfg_.n_frames(n);
  power.assign(static_cast<std::size_t>(n_freqs) * frames, 0.0f);  // (F, T)
  for (int64_t t = 0; t < frames; ++t) {
    // Frame t covers padded samples [hop t, hop t + n_fft) = signal [hop t - pad, ...).
    const int64_t start = t * hop - pad;
    for (int i = 0; i < n_fft; ++i) {
      const int64_t j = start + i;
      const double x = (j >= 0 && j < n) ? static_cast<double>(samples[static_cast<std::size_t>(j)]) : 0.0;
      fft_->in[i] = window_[i] * x;
    }
    fftw_execute(fft_->plan);
    for (int k = 0; k < n_freqs; ++k) {
      const float re = static_cast<float>(fft_->out[k][0]);  // complex64 rounding
      const float im = static_cast<float>(fft_->out[k][1]);
      const float mag = complex64_abs(re, im);
      power[static_cast<std::size_t>(k) * frames + t] = mag * mag;
    }
  }
  return frames;
}

std::vector<float> LogMelExtractor::mel_project(const std::vector<float>& power, int64_t frames) const {
  const int n_freqs = cfg_.n_freqs();
  std::vector<float> mel(static_cast<std::size_t>(cfg_.n_mels) * frames);  // (M, T)
  std::vector<double> acc(static_cast<std::size_t>(frames));                // (T,)
  for (int m = 0; m < cfg_.n_mels; ++m) {
    std::fill(acc.begin(), acc.end(), 0.0);
    const float* w = filterbank_.data() + static_cast<std::size_t>(m) * n_freqs;
    for (int k = band_begin_[m]; k < band_end_[m]; ++k) {
      const double wk = w[k];
      const float* p = power.data() + static_cast<std::size_t>(k) * frames;
      for (int64_t t = 0; t < frames; ++t) acc[t] += wk * p[t];
    }
    float* out = mel.data() + static_cast<std::size_t>(m) * frames;
    for (int64_t t = 0; t < frames; ++t) out[t] = static_cast<float>(acc[t]);
  }
  return mel;
}

namespace {
void check_signal(const std::vector<float>& samples) {
  SER_CHECK(!samples.empty(), "LogMelExtractor: empty signal (0 samples)");
  for (std::size_t i = 0; i < samples.size(); ++i)
    SER_CHECK(std::isfinite(samples[i]), "LogMelExtractor: sample {} is {} (signal must be finite)", i, samples[i]);
}
}  // namespace

// The signal the front end sees: high-passed, then trimmed of silent ends, each when the
// config says so (a signal with nothing above the threshold is kept whole), else the samples
// as they are.
const std::vector<float>& LogMelExtractor::front_end_signal(const std::vector<float>& samples) {
  const std::vector<float>* y = &samples;
  if (cfg_.highpass_hz > 0) {
    filtered_ = filter_biquads(samples, butterworth_highpass(cfg_.highpass_hz, 4, cfg_.sample_rate));
    y = &filtered_;
  }
  if (cfg_.trim_top_db <= 0) return *y;
  const auto [begin, end] = trim_silence(*y, cfg_.trim_top_db);
  if (end <= begin || (begin == 0 && end == static_cast<int64_t>(y->size()))) return *y;
  trimmed_.assign(y->begin() + begin, y->begin() + end);
  return trimmed_;
}

// (M, T) dB -> (H, W): the bilinear resize of the notebook, or the fixed axis' layout.
std::vector<float> LogMelExtractor::to_image(const std::vector<float>& db, int64_t frames) const {
  if (cfg_.clip_norm == "band-mean") {
    std::vector<float> centred = db;
    subtract_band_means(centred, cfg_.n_mels, frames);
    return cfg_.fixed_time() ? lay_out_frames(centred, cfg_.n_mels, frames, cfg_.image_width)
                             : resize_bilinear(centred, cfg_.n_mels, static_cast<int>(frames), cfg_.image_height,
                                               cfg_.image_width);
  }
  if (cfg_.fixed_time()) return lay_out_frames(db, cfg_.n_mels, frames, cfg_.image_width);
  return resize_bilinear(db, cfg_.n_mels, static_cast<int>(frames), cfg_.image_height, cfg_.image_width);
}

void subtract_band_means(std::vector<float>& db, int m, int64_t t) {
  SER_CHECK(m >= 1 && t >= 1 && static_cast<int64_t>(db.size()) == m * t,
            "subtract_band_means: a ({}, {}) array of {} values", m, t, db.size());
  for (int r = 0; r < m; ++r) {
    float* row = db.data() + static_cast<int64_t>(r) * t;
    double sum = 0;
    for (int64_t c = 0; c < t; ++c) sum += row[c];
    const auto mean = static_cast<float>(sum / static_cast<double>(t));
    for (int64_t c = 0; c < t; ++c) row[c] -= mean;
  }
}

LogMelStages LogMelExtractor::stages(const std::vector<float>& samples) {
  check_signal(samples);
  const std::vector<float>& y = front_end_signal(samples);
  std::vector<float> power;
  const int64_t frames = stft_power(y, power);
  std::vector<float> mel = mel_project(power, frames);
  std::vector<float> db = mel;
  power_to_db(db, cfg_.amin, cfg_.top_db);
  const int m = cfg_.n_mels;
  std::vector<float> img = to_image(db, frames);
  LogMelStages s;
  s.stft_power = Tensor::from_vector(Shape{cfg_.n_freqs(), frames}, power);
  s.mel_power = Tensor::from_vector(Shape{m, frames}, mel);
  s.mel_db = Tensor::from_vector(Shape{m, frames}, db);
  s.image = Tensor::from_vector(Shape{cfg_.image_height, cfg_.image_width}, img);
  return s;
}

// stages() without keeping the intermediate arrays; the (F, T) power buffer is reused
// from call to call (a window or clip after another: no fresh pages to fault in).
Tensor LogMelExtractor::image(const std::vector<float>& samples) {
  check_signal(samples);
  const int64_t frames = stft_power(front_end_signal(samples), power_);
  std::vector<float> db = mel_project(power_, frames);  // (M, T)
  power_to_db(db, cfg_.amin, cfg_.top_db);
  return Tensor::from_vector(Shape{cfg_.image_height, cfg_.image_width}, to_image(db, frames));
}

// ---------------------------------------------------------------------------- fixed axis

std::pair<int64_t, int64_t> trim_silence(const std::vector<float>& samples, double top_db, int frame_length,
                                         int hop_length) {
  SER_CHECK(frame_length >= 1 && hop_length >= 1, "trim_silence: frame_length {} and hop_length {} must be >= 1",
            frame_length, hop_length);
  const auto n = static_cast<int64_t>(samples.size());
  const int64_t frames = 1 + n / hop_length, half = frame_length / 2;
  // Prefix sums of squares make each frame's mean square O(1).
  std::vector<double> prefix(static_cast<std::size_t>(n) + 1, 0.0);
  for (int64_t i = 0; i < n; ++i) prefix[i + 1] = prefix[i] + double(samples[i]) * double(samples[i]);
  auto sum_to = [&](int64_t i) { return prefix[static_cast<std::size_t>(std::clamp<int64_t>(i, 0, n))]; };
  std::vector<double> mse(static_cast<std::size_t>(frames));
  double loudest = 0;
  for (int64_t f = 0; f < frames; ++f) {
    const int64_t start = f * hop_length - half;  // frame f covers [start, start + frame_length)
    mse[f] = (sum_to(start + frame_length) - sum_to(start)) / frame_length;
    loudest = std::max(loudest, mse[f]);
  }
  // power_to_db(mse, ref=max, amin=1e-10, top_db=None) > -top_db
  constexpr double kAmin = 1e-10;
  const double ref_db = 10 * std::log10(std::max(kAmin, loudest));
  int64_t first = -1, last = -1;
  for (int64_t f = 0; f < frames; ++f) {
    if (10 * std::log10(std::max(kAmin, mse[f])) - ref_db > -top_db) {
      if (first < 0) first = f;
      last = f;
    }
  }
  if (first < 0) return {0, 0};
  return {first * hop_length, std::min(n, (last + 1) * hop_length)};
}

std::vector<float> lay_out_frames(const std::vector<float>& db, int m, int64_t t, int width) {
  SER_CHECK(m >= 1 && t >= 1 && width >= 1 && static_cast<int64_t>(db.size()) == m * t,
            "lay_out_frames: a ({}, {}) array of {} values for width {}", m, t, db.size(), width);
  std::vector<float> out(static_cast<std::size_t>(m) * width);
  const int64_t first = t > width ? (t - width) / 2 : 0;  // the middle of a longer clip
  for (int r = 0; r < m; ++r)
    for (int c = 0; c < width; ++c)
      out[static_cast<std::size_t>(r) * width + c] = db[static_cast<std::size_t>(r * t + (first + c) % t)];
  return out;
}

}  // namespace ser::features
