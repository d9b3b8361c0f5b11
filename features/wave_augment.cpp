// Waveform augmentation ops, the training sampler and the evaluation perturbations; see
// wave_augment.h for every formula. FFTs: FFTW r2c / c2r of power-of-two sizes, float64.
#include "features/wave_augment.h"

#include <fftw3.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <sndfile.h>
#include <soxr.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <utility>

#include "engine/core/error.h"
#include "engine/core/philox.h"
#include "features/fftw_planner.h"
#include "features/logmel.h"

namespace ser::features {
namespace {

constexpr double kPi = 3.14159265358979323846;

// ------------------------------------------------------------------------ helpers

double mean_square(const std::vector<float>& x) {
  double sum = 0;
  for (float v : x) sum += static_cast<double>(v) * v;
  return x.empty() ? 0.0 : sum / static_cast<double>(x.size());
}

std::size_t next_pow2(std::size_t n) {
  std::size_t m = 1;
  while (m < n) m <<= 1;
  return m;
}

std::vector<float> to_float(const std::vector<double>& y) { return std::vector<float>(y.begin(), y.end()); }

// x tiled (repeated from its start) or cropped to n samples.
std::vector<float> tile_to(const std::vector<float>& x, std::size_t n) {
  std::vector<float> y(n);
  for (std::size_t i = 0; i < n; i += x.size())
    std::copy(x.begin(), x.begin() + static_cast<std::ptrdiff_t>(std::min(x.size(), n - i)),
              y.begin() + static_cast<std::ptrdiff_t>(i));
  return y;
}

void check_sample_rate(const char* op, int sample_rate) {
  SER_CHECK(sample_rate > 0 && sample_rate <= 1'000'000, "{}: sample_rate must lie in [1, 1000000], got {}", op,
            sample_rate);
}

// Uniforms 4b .. 4b + 3 of stream (seed, offset): philox_uniform_at(seed, offset, 4b + j),
// with one Philox call instead of four.
void uniforms4(uint64_t seed, uint64_t offset, uint64_t block, double u[4]) {
  const Philox4x32 r = philox4x32_10(block, offset, seed);
  for (int j = 0; j < 4; ++j) u[j] = philox_uniform(r.v[j]);
}

// k^(-exponent / 2), exactly for the common exponents.
double power_law_amplitude(std::size_t k, double exponent) {
  if (exponent == 0.0) return 1.0;
  if (exponent == 1.0) return 1.0 / std::sqrt(static_cast<double>(k));
  if (exponent == 2.0) return 1.0 / static_cast<double>(k);
  return std::pow(static_cast<double>(k), -exponent / 2.0);
}

// SplitMix64 finaliser (Steele et al. 2014): derives independent Philox keys.
uint64_t splitmix64(uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// ------------------------------------------------------------------------ FFT

// Real FFT plans of one size, planned once on fftw_malloc'd arrays and run with the
// new-array execute functions (thread-safe) on other fftw_malloc'd arrays (same alignment).
struct RealFftPlans {
  fftw_plan forward = nullptr;  // r2c: (n,) -> (n/2 + 1,)
  fftw_plan inverse = nullptr;  // c2r: (n/2 + 1,) -> (n,), unnormalised (x n)
};

// Plans live for the process (a handful of power-of-two sizes); the planner is not
// thread-safe, so planning (and this cache) is serialised under the project's one FFTW lock.
RealFftPlans real_fft_plans(int n) {
  static std::map<int, RealFftPlans> cache;
  std::lock_guard<std::mutex> lock(fftw_planner_mutex());
  const auto found = cache.find(n);
  if (found != cache.end()) return found->second;
  double* real = static_cast<double*>(fftw_malloc(sizeof(double) * n));
  fftw_complex* spec = static_cast<fftw_complex*>(fftw_malloc(sizeof(fftw_complex) * (n / 2 + 1)));
  RealFftPlans p;
  if (real && spec) {
    p.forward = fftw_plan_dft_r2c_1d(n, real, spec, FFTW_ESTIMATE);
    p.inverse = fftw_plan_dft_c2r_1d(n, spec, real, FFTW_ESTIMATE);
  }
  fftw_free(real);
  fftw_free(spec);
  SER_CHECK(p.forward && p.inverse, "wave_augment: FFTW could not plan a real FFT of size {}", n);
  cache.emplace(n, p);
  return p;
}

// An fftw_malloc'd signal (n,) and half spectrum (n/2 + 1,).
struct FftBuffers {
  explicit FftBuffers(int n)
      : real(static_cast<double*>(fftw_malloc(sizeof(double) * n))),
        spec(static_cast<fftw_complex*>(fftw_malloc(sizeof(fftw_complex) * (n / 2 + 1)))) {
    if (!real || !spec) {
      release();
      SER_FAIL("wave_augment: cannot allocate an FFT buffer of {} samples", n);
    }
  }
  ~FftBuffers() { release(); }
  FftBuffers(const FftBuffers&) = delete;
  FftBuffers& operator=(const FftBuffers&) = delete;
  void release() {
    fftw_free(real);
    fftw_free(spec);
  }
  double* real;
  fftw_complex* spec;
};

// Buffers no RealFft of this thread holds, by size: reused from call to call, so a 3 s clip
// does not fault in 1 MB of fresh pages per transform.
std::map<int, std::vector<std::unique_ptr<FftBuffers>>>& idle_fft_buffers() {
  thread_local std::map<int, std::vector<std::unique_ptr<FftBuffers>>> idle;
  return idle;
}

// One real signal and its half spectrum, (n,) and (n/2 + 1,), uninitialised: fill real()
// with load() or every bin of spec() before a transform.
class RealFft {
 public:
  explicit RealFft(std::size_t n) : n_(static_cast<int>(n)), plans_(real_fft_plans(n_)) {
    auto& idle = idle_fft_buffers()[n_];
    if (idle.empty()) {
      buffers_ = std::make_unique<FftBuffers>(n_);
    } else {
      buffers_ = std::move(idle.back());
      idle.pop_back();
    }
  }
  ~RealFft() { idle_fft_buffers()[n_].push_back(std::move(buffers_)); }
  RealFft(const RealFft&) = delete;
  RealFft& operator=(const RealFft&) = delete;

  int size() const { return n_; }
  std::size_t bins() const { return static_cast<std::size_t>(n_) / 2 + 1; }
  double* real() { return buffers_->real; }
  // real() = x followed by zeros.
  void load(const std::vector<float>& x) {
    std::copy(x.begin(), x.end(), real());
    std::fill(real() + x.size(), real() + n_, 0.0);
  }
  fftw_complex* spec() { return buffers_->spec; }
  void forward() { fftw_execute_dft_r2c(plans_.forward, real(), spec()); }
  // Overwrites real() with the inverse transform of spec() (unnormalised, x n); spec() is destroyed.
  void inverse() { fftw_execute_dft_c2r(plans_.inverse, spec(), real()); }

 private:
  int n_;
  RealFftPlans plans_;
  std::unique_ptr<FftBuffers> buffers_;
};

// Linear convolution of x (N,) and h (L,), first `keep` samples, via one FFT size >= N + L - 1.
std::vector<double> fft_convolve(const std::vector<float>& x, const std::vector<float>& h, std::size_t keep) {
  const std::size_t m = next_pow2(x.size() + h.size() - 1);
  RealFft a(m), b(m);
  a.load(x);
  b.load(h);
  a.forward();
  b.forward();
  for (std::size_t k = 0; k < a.bins(); ++k) {
    const double re = a.spec()[k][0] * b.spec()[k][0] - a.spec()[k][1] * b.spec()[k][1];
    const double im = a.spec()[k][0] * b.spec()[k][1] + a.spec()[k][1] * b.spec()[k][0];
    a.spec()[k][0] = re;
    a.spec()[k][1] = im;
  }
  a.inverse();
  std::vector<double> y(keep);
  for (std::size_t i = 0; i < keep; ++i) y[i] = a.real()[i] / static_cast<double>(m);
  return y;
}

// ------------------------------------------------------------------------ libsndfile in memory

struct MemoryFile {
  std::vector<unsigned char> bytes;
  sf_count_t pos = 0;
};

MemoryFile& memory(void* user) { return *static_cast<MemoryFile*>(user); }

sf_count_t vio_get_filelen(void* user) { return static_cast<sf_count_t>(memory(user).bytes.size()); }

sf_count_t vio_seek(sf_count_t offset, int whence, void* user) {
  MemoryFile& m = memory(user);
  const sf_count_t base = whence == SEEK_CUR ? m.pos : whence == SEEK_END ? vio_get_filelen(user) : 0;
  m.pos = std::max<sf_count_t>(0, base + offset);
  return m.pos;
}

sf_count_t vio_read(void* ptr, sf_count_t count, void* user) {
  MemoryFile& m = memory(user);
  const sf_count_t size = vio_get_filelen(user);
  const sf_count_t n = std::max<sf_count_t>(0, std::min(count, size - m.pos));
  if (n > 0) std::memcpy(ptr, m.bytes.data() + m.pos, static_cast<std::size_t>(n));
  m.pos += n;
  return n;
}

sf_count_t vio_write(const void* ptr, sf_count_t count, void* user) {
  MemoryFile& m = memory(user);
  if (m.pos + count > vio_get_filelen(user)) m.bytes.resize(static_cast<std::size_t>(m.pos + count));
  std::memcpy(m.bytes.data() + m.pos, ptr, static_cast<std::size_t>(count));
  m.pos += count;
  return count;
}

sf_count_t vio_tell(void* user) { return memory(user).pos; }

SF_VIRTUAL_IO memory_io() { return {vio_get_filelen, vio_seek, vio_read, vio_write, vio_tell}; }

int codec_format(AudioCodec codec) {
  return codec == AudioCodec::kVorbis ? (SF_FORMAT_OGG | SF_FORMAT_VORBIS) : (SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III);
}

void encode_to_memory(const std::vector<float>& x, int sample_rate, AudioCodec codec, double compression,
                      MemoryFile& file) {
  SF_VIRTUAL_IO io = memory_io();
  SF_INFO info{};
  info.samplerate = sample_rate;
  info.channels = 1;
  info.format = codec_format(codec);
  SNDFILE* f = sf_open_virtual(&io, SFM_WRITE, &info, &file);
  SER_CHECK(f != nullptr, "codec_roundtrip: libsndfile cannot open a {} encoder at {} Hz: {}", codec_name(codec),
            sample_rate, sf_strerror(nullptr));
  sf_command(f, SFC_SET_COMPRESSION_LEVEL, &compression, sizeof(compression));
  std::vector<float> clipped(x.size());  // (N,) the encoders' input range
  for (std::size_t i = 0; i < x.size(); ++i) clipped[i] = std::clamp(x[i], -1.0f, 1.0f);
  const sf_count_t written = sf_writef_float(f, clipped.data(), static_cast<sf_count_t>(clipped.size()));
  const std::string error = sf_strerror(f);
  const int closed = sf_close(f);
  SER_CHECK(written == static_cast<sf_count_t>(x.size()) && closed == 0,
            "codec_roundtrip: {} encoding wrote {} of {} frames: {}", codec_name(codec), written, x.size(), error);
}

std::vector<float> decode_from_memory(MemoryFile& file, AudioCodec codec) {
  SF_VIRTUAL_IO io = memory_io();
  SF_INFO info{};
  file.pos = 0;
  SNDFILE* f = sf_open_virtual(&io, SFM_READ, &info, &file);
  SER_CHECK(f != nullptr, "codec_roundtrip: libsndfile cannot decode its own {} stream ({} bytes): {}",
            codec_name(codec), file.bytes.size(), sf_strerror(nullptr));
  std::vector<float> y, block(static_cast<std::size_t>(4096) * std::max(1, info.channels));
  for (;;) {
    const sf_count_t got = sf_readf_float(f, block.data(), 4096);
    if (got <= 0) break;
    for (sf_count_t i = 0; i < got; ++i) y.push_back(block[static_cast<std::size_t>(i * info.channels)]);
  }
  sf_close(f);
  return y;
}

}  // namespace

// ------------------------------------------------------------------------ ops

std::vector<float> speed_perturb(const std::vector<float>& x, double factor, int sample_rate) {
  check_sample_rate("speed_perturb", sample_rate);
  SER_CHECK(std::isfinite(factor) && factor >= 0.5 && factor <= 2.0, "speed_perturb: factor must lie in [0.5, 2], got {}",
            factor);
  if (factor == 1.0 || x.empty()) return x;
  // The libsoxr call of resample() (features/audio.h), straight into the output: HQ, float32.
  const int read_rate = static_cast<int>(std::lround(sample_rate * factor));
  const std::size_t n_out = static_cast<std::size_t>(std::lround(static_cast<double>(x.size()) / factor));
  const std::size_t olen = static_cast<std::size_t>(static_cast<double>(x.size()) * sample_rate / read_rate + 1.0);
  std::vector<float> y(std::max(olen, n_out), 0.0f);
  const soxr_quality_spec_t quality = soxr_quality_spec(SOXR_HQ, 0);
  const soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
  std::size_t done = 0;
  const soxr_error_t err = soxr_oneshot(read_rate, sample_rate, 1, x.data(), x.size(), nullptr, y.data(), olen, &done,
                                        &io, &quality, nullptr);
  SER_CHECK(err == nullptr, "speed_perturb {}: libsoxr error: {}", factor, err);
  std::fill(y.begin() + static_cast<std::ptrdiff_t>(std::min(done, y.size())), y.end(), 0.0f);
  y.resize(n_out);
  return y;
}

std::vector<float> add_noise(const std::vector<float>& x, const std::vector<float>& noise, double snr_db) {
  SER_CHECK(!noise.empty(), "add_noise: the noise is empty (0 samples)");
  SER_CHECK(std::isfinite(snr_db), "add_noise: SNR must be finite, got {} dB", snr_db);
  const double px = mean_square(x);
  if (px == 0.0) return x;
  const std::size_t periods = x.size() / noise.size(), head = x.size() % noise.size();
  double period_sum = 0, head_sum = 0;
  for (std::size_t i = 0; i < noise.size(); ++i) {
    const double v = static_cast<double>(noise[i]) * noise[i];
    period_sum += v;
    if (i < head) head_sum += v;
  }
  const double pn = (period_sum * static_cast<double>(periods) + head_sum) / static_cast<double>(x.size());
  if (pn == 0.0) return x;
  const double scale = std::sqrt(px / (pn * std::pow(10.0, snr_db / 10.0)));
  std::vector<float> y(x.size());
  for (std::size_t i = 0, j = 0; i < x.size(); ++i, j = j + 1 == noise.size() ? 0 : j + 1)
    y[i] = static_cast<float>(x[i] + scale * noise[j]);
  return y;
}

std::vector<float> coloured_noise(std::size_t n, double exponent, uint64_t seed, uint64_t offset) {
  SER_CHECK(std::isfinite(exponent) && exponent >= 0 && exponent <= 3,
            "coloured_noise: exponent must lie in [0, 3] (white 0, pink 1, brown 2), got {}", exponent);
  if (n == 0) return {};
  RealFft fft(std::max<std::size_t>(2, next_pow2(n)));
  const std::size_t half = static_cast<std::size_t>(fft.size()) / 2;  // bins 1..half; DC = 0
  fft.spec()[0][0] = fft.spec()[0][1] = 0.0;
  for (std::size_t block = 0; 2 * block <= half; ++block) {  // bins 2b, 2b + 1 <- uniforms 4b .. 4b + 3
    double u[4];
    uniforms4(seed, offset, block, u);
    for (std::size_t j = 0; j < 2; ++j) {
      const std::size_t k = 2 * block + j;
      if (k == 0 || k > half) continue;
      const double amplitude = power_law_amplitude(k, exponent);
      fft.spec()[k][0] = (2 * u[2 * j] - 1) * amplitude;
      fft.spec()[k][1] = k == half ? 0.0 : (2 * u[2 * j + 1] - 1) * amplitude;
    }
  }
  fft.inverse();
  double sum = 0;
  for (std::size_t i = 0; i < n; ++i) sum += fft.real()[i] * fft.real()[i];
  const double rms = std::sqrt(sum / static_cast<double>(n));
  std::vector<float> y(n, 0.0f);
  if (rms > 0)
    for (std::size_t i = 0; i < n; ++i) y[i] = static_cast<float>(fft.real()[i] / rms);
  return y;
}

std::vector<float> babble(const std::vector<const std::vector<float>*>& clips, std::size_t n, int count) {
  SER_CHECK(count >= 1 && static_cast<std::size_t>(count) <= clips.size(),
            "babble: count must lie in [1, {}] (the clips given), got {}", clips.size(), count);
  std::vector<double> sum(n, 0.0);  // (n,)
  for (int j = 0; j < count; ++j) {
    const std::vector<float>* clip = clips[static_cast<std::size_t>(j)];
    SER_CHECK(clip != nullptr && !clip->empty(), "babble: clip {} is {}", j, clip == nullptr ? "null" : "empty");
    const std::vector<float> tiled = tile_to(*clip, n);
    const double rms = std::sqrt(mean_square(tiled));
    if (rms == 0.0) continue;
    for (std::size_t i = 0; i < n; ++i) sum[i] += tiled[i] / rms;
  }
  return to_float(sum);
}

std::vector<float> apply_gain_db(const std::vector<float>& x, double db) {
  SER_CHECK(std::isfinite(db), "apply_gain_db: gain must be finite, got {} dB", db);
  const float g = static_cast<float>(std::pow(10.0, db / 20.0));
  std::vector<float> y(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) y[i] = x[i] * g;
  return y;
}

// ------------------------------------------------------------------------ biquads

namespace {

void check_biquad(const char* kind, double f0, double q, int sample_rate) {
  check_sample_rate(kind, sample_rate);
  SER_CHECK(std::isfinite(f0) && f0 > 0 && f0 < sample_rate / 2.0, "{}: f0 must lie in (0, {}) Hz, got {}", kind,
            sample_rate / 2.0, f0);
  SER_CHECK(std::isfinite(q) && q > 0, "{}: Q must be > 0, got {}", kind, q);
}

// Divides by a0 (cookbook coefficients are given unnormalised).
Biquad normalised(double b0, double b1, double b2, double a0, double a1, double a2) {
  return {b0 / a0, b1 / a0, b2 / a0, a1 / a0, a2 / a0};
}

// Q of section k (1-based) of an even-order Butterworth.
double butterworth_q(int k, int order) { return 1.0 / (2.0 * std::cos((2 * k - 1) * kPi / (2.0 * order))); }

void check_order(const char* kind, int order) {
  SER_CHECK(order >= 2 && order <= 8 && order % 2 == 0, "{}: order must be 2, 4, 6 or 8, got {}", kind, order);
}

}  // namespace

Biquad biquad_lowpass(double f0, double q, int sample_rate) {
  check_biquad("biquad_lowpass", f0, q, sample_rate);
  const double w0 = 2 * kPi * f0 / sample_rate, c = std::cos(w0), alpha = std::sin(w0) / (2 * q);
  return normalised((1 - c) / 2, 1 - c, (1 - c) / 2, 1 + alpha, -2 * c, 1 - alpha);
}

Biquad biquad_highpass(double f0, double q, int sample_rate) {
  check_biquad("biquad_highpass", f0, q, sample_rate);
  const double w0 = 2 * kPi * f0 / sample_rate, c = std::cos(w0), alpha = std::sin(w0) / (2 * q);
  return normalised((1 + c) / 2, -(1 + c), (1 + c) / 2, 1 + alpha, -2 * c, 1 - alpha);
}

Biquad biquad_peaking(double f0, double q, double gain_db, int sample_rate) {
  check_biquad("biquad_peaking", f0, q, sample_rate);
  SER_CHECK(std::isfinite(gain_db), "biquad_peaking: gain must be finite, got {} dB", gain_db);
  const double a = std::pow(10.0, gain_db / 40.0);
  const double w0 = 2 * kPi * f0 / sample_rate, c = std::cos(w0), alpha = std::sin(w0) / (2 * q);
  return normalised(1 + alpha * a, -2 * c, 1 - alpha * a, 1 + alpha / a, -2 * c, 1 - alpha / a);
}

std::vector<Biquad> butterworth_lowpass(double fc, int order, int sample_rate) {
  check_order("butterworth_lowpass", order);
  std::vector<Biquad> s;
  for (int k = 1; k <= order / 2; ++k) s.push_back(biquad_lowpass(fc, butterworth_q(k, order), sample_rate));
  return s;
}

std::vector<Biquad> butterworth_highpass(double fc, int order, int sample_rate) {
  check_order("butterworth_highpass", order);
  std::vector<Biquad> s;
  for (int k = 1; k <= order / 2; ++k) s.push_back(biquad_highpass(fc, butterworth_q(k, order), sample_rate));
  return s;
}

std::vector<float> filter_biquads(const std::vector<float>& x, const std::vector<Biquad>& sections) {
  // Sample by sample through every section (the same operations per section as one pass
  // per section, but the sections' recursions overlap in the CPU).
  std::vector<double> z1(sections.size(), 0.0), z2(sections.size(), 0.0);  // (S,) states
  std::vector<float> y(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    double v = x[i];
    for (std::size_t k = 0; k < sections.size(); ++k) {
      const Biquad& s = sections[k];
      const double out = s.b0 * v + z1[k];
      z1[k] = s.b1 * v - s.a1 * out + z2[k];
      z2[k] = s.b2 * v - s.a2 * out;
      v = out;
    }
    y[i] = static_cast<float>(v);
  }
  return y;
}

std::vector<float> telephone_band(const std::vector<float>& x, int sample_rate) {
  SER_CHECK(sample_rate > 6800, "telephone_band: needs a sample rate above 6800 Hz (3400 Hz band edge), got {}",
            sample_rate);
  std::vector<Biquad> sections = butterworth_highpass(300.0, 4, sample_rate);
  const std::vector<Biquad> low = butterworth_lowpass(3400.0, 4, sample_rate);
  sections.insert(sections.end(), low.begin(), low.end());
  return filter_biquads(x, sections);
}

namespace {

// The 256 mu-law output levels, the 255 decision levels between them (x domain), and a
// first guess of the code per cell of [-1, 1] (cells narrower than the closest two
// decision levels, so the guess is off by at most one and two compares settle it).
struct MuLawTable {
  static constexpr int kCells = 1 << 15;
  std::vector<float> levels;        // (256,) x' of code q
  std::vector<double> thresholds;   // (255,) x where the code steps from q to q + 1
  std::vector<uint8_t> cell_code;   // (kCells,) the code at the start of each cell
  std::size_t cell(double c) const {
    return std::min<std::size_t>(kCells - 1, static_cast<std::size_t>((c + 1.0) * (kCells / 2)));
  }
};

// sign(y) ((1 + mu)^|y| - 1) / mu.
double mu_law_expand(double y, double mu) { return std::copysign(std::expm1(std::fabs(y) * std::log1p(mu)) / mu, y); }

const MuLawTable& mu_law_table() {
  static const MuLawTable table = [] {
    constexpr double mu = 255.0;
    MuLawTable t;
    for (int q = 0; q < 256; ++q) t.levels.push_back(static_cast<float>(mu_law_expand(2.0 * q / mu - 1.0, mu)));
    // floor(v + 0.5) >= q + 1  <=>  y >= (2q + 1) / mu - 1  <=>  x >= expand((2q + 1) / mu - 1).
    for (int q = 0; q < 255; ++q) t.thresholds.push_back(mu_law_expand((2.0 * q + 1.0) / mu - 1.0, mu));
    for (int i = 0; i < MuLawTable::kCells; ++i) {
      const double start = -1.0 + 2.0 * i / MuLawTable::kCells;
      t.cell_code.push_back(static_cast<uint8_t>(
          std::upper_bound(t.thresholds.begin(), t.thresholds.end(), start) - t.thresholds.begin()));
    }
    return t;
  }();
  return table;
}

}  // namespace

std::vector<float> mu_law_roundtrip(const std::vector<float>& x) {
  const MuLawTable& t = mu_law_table();
  std::vector<float> y(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double c = std::clamp(static_cast<double>(x[i]), -1.0, 1.0);
    int code = t.cell_code[t.cell(c)];  // then: the number of decision levels <= c
    while (code > 0 && c < t.thresholds[code - 1]) --code;
    while (code < 255 && c >= t.thresholds[code]) ++code;
    y[i] = t.levels[static_cast<std::size_t>(code)];
  }
  return y;
}

// ------------------------------------------------------------------------ tilt, reverb, cut

namespace {
// log2(k) for k = 0 .. n - 1 (k = 0: -inf, unused), one table per size and thread.
const std::vector<double>& log2_table(std::size_t n) {
  thread_local std::map<std::size_t, std::vector<double>> tables;
  std::vector<double>& t = tables[n];
  if (t.empty())
    for (std::size_t k = 0; k < n; ++k) t.push_back(std::log2(static_cast<double>(k)));
  return t;
}
}  // namespace

std::vector<float> spectral_tilt(const std::vector<float>& x, int sample_rate, double db_per_octave) {
  check_sample_rate("spectral_tilt", sample_rate);
  SER_CHECK(std::isfinite(db_per_octave) && std::fabs(db_per_octave) <= 24,
            "spectral_tilt: tilt must lie in [-24, 24] dB/octave, got {}", db_per_octave);
  if (db_per_octave == 0.0 || x.empty()) return x;
  RealFft fft(next_pow2(x.size() + 4096));
  fft.load(x);
  fft.forward();
  // G(f) = 2^(beta log2(f / 1000)), beta = db_per_octave log2(10) / 20; scaled by 1 / M for the inverse.
  const double bin_hz = static_cast<double>(sample_rate) / fft.size();
  const double beta = db_per_octave * std::log2(10.0) / 20.0, scale = 1.0 / fft.size();
  const double floor_gain = std::exp2(beta * std::log2(100.0 / 1000.0)) * scale;
  const double log2_bin_khz = std::log2(bin_hz / 1000.0);
  const std::vector<double>& log2_k = log2_table(fft.bins());
  for (std::size_t k = 0; k < fft.bins(); ++k) {
    const double f = static_cast<double>(k) * bin_hz;
    const double gain = f <= 100.0 ? floor_gain : std::exp2(beta * (log2_k[k] + log2_bin_khz)) * scale;
    fft.spec()[k][0] *= gain;
    fft.spec()[k][1] *= gain;
  }
  fft.inverse();
  return std::vector<float>(fft.real(), fft.real() + x.size());
}

std::vector<float> reverb_impulse_response(int sample_rate, double rt60_s, uint64_t seed, uint64_t offset,
                                           double wet) {
  check_sample_rate("reverb_impulse_response", sample_rate);
  SER_CHECK(std::isfinite(rt60_s) && rt60_s > 0 && rt60_s <= 5, "synthetic reverb: rt60 must lie in (0, 5] s, got {}",
            rt60_s);
  SER_CHECK(std::isfinite(wet) && wet >= 0 && wet <= 4, "synthetic reverb: wet must lie in [0, 4], got {}", wet);
  const std::size_t length = std::max<std::size_t>(1, static_cast<std::size_t>(std::lround(rt60_s * sample_rate)));
  std::vector<double> tail(length, 0.0);  // (L,) t[n], t[0] = 0
  // Envelope exp(-3 ln(10) n / (rt60 fs)) by repeated multiplication (relative drift ~ n eps).
  const double step = std::exp(-3.0 * std::log(10.0) / (rt60_s * sample_rate));
  double envelope = 1.0, energy = 0.0;
  for (std::size_t block = 0; 4 * block < length; ++block) {  // t[4b .. 4b + 3] <- uniforms 4b .. 4b + 3
    double u[4];
    uniforms4(seed, offset, block, u);
    for (std::size_t j = 0; j < 4; ++j) {
      const std::size_t n = 4 * block + j;
      if (n >= length) break;
      if (n > 0) {
        envelope *= step;
        tail[n] = (2 * u[j] - 1) * envelope;
        energy += tail[n] * tail[n];
      }
    }
  }
  std::vector<float> h(length, 0.0f);
  h[0] = 1.0f;
  if (energy > 0)
    for (std::size_t n = 1; n < length; ++n) h[n] = static_cast<float>(wet * tail[n] / std::sqrt(energy));
  return h;
}

std::vector<float> synthetic_reverb(const std::vector<float>& x, int sample_rate, double rt60_s, uint64_t seed,
                                    uint64_t offset, double wet) {
  const std::vector<float> h = reverb_impulse_response(sample_rate, rt60_s, seed, offset, wet);
  const double px = mean_square(x);
  if (px == 0.0) return x;
  std::vector<double> y = fft_convolve(x, h, x.size());
  double py = 0;
  for (double v : y) py += v * v;
  py /= static_cast<double>(y.size());
  if (py == 0.0) return x;
  const double scale = std::sqrt(px / py);
  for (double& v : y) v *= scale;
  return to_float(y);
}

std::vector<float> cut_to_seconds(const std::vector<float>& x, int sample_rate, double seconds) {
  check_sample_rate("cut_to_seconds", sample_rate);
  SER_CHECK(std::isfinite(seconds) && seconds > 0 && seconds <= 86400, "cut_to_seconds: seconds must lie in (0, 86400], got {}",
            seconds);
  const std::size_t n = static_cast<std::size_t>(std::llround(seconds * sample_rate));
  std::vector<float> y(n, 0.0f);
  std::copy(x.begin(), x.begin() + static_cast<std::ptrdiff_t>(std::min(n, x.size())), y.begin());
  return y;
}

// ------------------------------------------------------------------------ codec

std::string codec_name(AudioCodec codec) { return codec == AudioCodec::kVorbis ? "vorbis" : "mp3"; }

bool codec_supported(AudioCodec codec, int sample_rate) {
  SF_INFO info{};
  info.samplerate = sample_rate;
  info.channels = 1;
  info.format = codec_format(codec);
  return sf_format_check(&info) != 0;
}

std::vector<float> codec_roundtrip(const std::vector<float>& x, int sample_rate, AudioCodec codec, double compression) {
  check_sample_rate("codec_roundtrip", sample_rate);
  SER_CHECK(std::isfinite(compression) && compression >= 0 && compression <= 1,
            "codec_roundtrip: compression must lie in [0, 1], got {}", compression);
  SER_CHECK(codec_supported(codec, sample_rate),
            "codec_roundtrip: this libsndfile ({}) cannot write {} at {} Hz (sf_format_check)", sf_version_string(),
            codec_name(codec), sample_rate);
  if (x.empty()) return x;
  MemoryFile file;
  encode_to_memory(x, sample_rate, codec, compression, file);
  std::vector<float> y = decode_from_memory(file, codec);
  y.resize(x.size(), 0.0f);
  return y;
}

// ------------------------------------------------------------------------ WaveAugmentConfig

namespace {

// The ops in the order they apply; op k owns philox indices [16 k, 16 k + 16).
enum Op { kSpeed, kReverb, kNoise, kTilt, kTelephone, kCodec, kGain, kOpCount };
constexpr const char* kOpKeys[kOpCount] = {"speed", "reverb", "noise", "tilt", "telephone", "codec", "gain"};
constexpr uint64_t kSlotsPerOp = 16;
constexpr int kMaxBabbleTalkers = 12;  // noise slots 3..14
constexpr const char* kItemHelp =
    "speed=[P@]LO-HI, reverb=[P@]LO-HI[:WETLO-WETHI], noise=[P@]LO-HI[:white+pink+brown+babble], tilt=[P@]LO-HI, "
    "telephone=P, codec=P, gain=[P@]LO-HI, or none";

const char* kind_name(NoiseKind k) {
  switch (k) {
    case NoiseKind::kWhite: return "white";
    case NoiseKind::kPink: return "pink";
    case NoiseKind::kBrown: return "brown";
    case NoiseKind::kBabble: return "babble";
  }
  return "?";
}

double kind_exponent(NoiseKind k) { return k == NoiseKind::kPink ? 1.0 : k == NoiseKind::kBrown ? 2.0 : 0.0; }

const std::vector<NoiseKind>& default_kinds() {
  static const std::vector<NoiseKind> kinds = {NoiseKind::kWhite, NoiseKind::kPink, NoiseKind::kBrown};
  return kinds;
}

double& op_prob(WaveAugmentConfig& c, Op op) {
  double* probs[kOpCount] = {&c.speed_prob, &c.reverb_prob,    &c.noise_prob, &c.tilt_prob,
                             &c.telephone_prob, &c.codec_prob, &c.gain_prob};
  return *probs[op];
}
double op_prob(const WaveAugmentConfig& c, Op op) { return op_prob(const_cast<WaveAugmentConfig&>(c), op); }

// A number written in plain decimal or exponent form (no spaces, hex, inf or nan).
double parse_number(const std::string& label, const std::string& text) {
  const bool plain = !text.empty() && text.find_first_not_of("0123456789.+-eE") == std::string::npos;
  try {
    std::size_t used = 0;
    const double v = plain ? std::stod(text, &used) : NAN;
    SER_CHECK(plain && used == text.size() && std::isfinite(v), "{}: '{}' is not a number", label, text);
    return v;
  } catch (const std::logic_error&) {
    SER_FAIL("{}: '{}' is not a number", label, text);
  }
}

// "LO-HI" (split at the first '-' that follows a digit or '.') or "V" (= V-V).
std::pair<double, double> parse_range(const std::string& label, const std::string& text) {
  for (std::size_t i = 1; i < text.size(); ++i) {
    const char before = text[i - 1];
    if (text[i] == '-' && (std::isdigit(static_cast<unsigned char>(before)) || before == '.'))
      return {parse_number(label, text.substr(0, i)), parse_number(label, text.substr(i + 1))};
  }
  const double v = parse_number(label, text);
  return {v, v};
}

// "P@REST" -> (P, REST); "REST" -> (1, REST).
std::pair<double, std::string> split_probability(const std::string& label, const std::string& value) {
  const std::size_t at = value.find('@');
  if (at == std::string::npos) return {1.0, value};
  return {parse_number(label, value.substr(0, at)), value.substr(at + 1)};
}

// "white+pink+babble5" -> kinds (and the babble talkers).
void parse_kinds(const std::string& label, const std::string& text, WaveAugmentConfig& c) {
  c.noise_kinds.clear();
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t plus = std::min(text.find('+', start), text.size());
    const std::string token = text.substr(start, plus - start);
    NoiseKind kind;
    if (token == "white") kind = NoiseKind::kWhite;
    else if (token == "pink") kind = NoiseKind::kPink;
    else if (token == "brown") kind = NoiseKind::kBrown;
    else if (token.rfind("babble", 0) == 0) {
      kind = NoiseKind::kBabble;
      if (token.size() > 6) {
        const double talkers = parse_number(label, token.substr(6));
        SER_CHECK(talkers == std::floor(talkers) && talkers >= 1 && talkers <= kMaxBabbleTalkers,
                  "{}: babble talkers must be a whole number in [1, {}], got '{}'", label, kMaxBabbleTalkers,
                  token.substr(6));
        c.babble_talkers = static_cast<int>(talkers);
      }
    } else {
      SER_FAIL("{}: unknown noise kind '{}' (white, pink, brown, babble, babbleN)", label, token);
    }
    SER_CHECK(std::find(c.noise_kinds.begin(), c.noise_kinds.end(), kind) == c.noise_kinds.end(),
              "{}: noise kind '{}' given twice", label, kind_name(kind));
    c.noise_kinds.push_back(kind);
    start = plus + 1;
  }
}

void check_range(const std::string& label, const char* what, double lo, double hi, double min, double max,
                 bool open_min = false) {
  const bool in = std::isfinite(lo) && std::isfinite(hi) && lo <= hi && (open_min ? lo > min : lo >= min) && hi <= max;
  SER_CHECK(in, "{}: {} range {}-{} must satisfy LO <= HI within {}{}, {}]", label, what, lo, hi, open_min ? "(" : "[",
            min, max);
}

// Throws naming `label` for a value of op `op` out of range; values of an op that is off are ignored.
void validate_op(const WaveAugmentConfig& c, Op op, const std::string& label) {
  const double p = op_prob(c, op);
  SER_CHECK(std::isfinite(p) && p >= 0 && p <= 1, "{}: probability {} must lie in [0, 1]", label, p);
  if (p == 0) return;
  switch (op) {
    case kSpeed: check_range(label, "speed factor", c.speed_min, c.speed_max, 0.5, 2.0); break;
    case kReverb:
      check_range(label, "rt60 seconds", c.rt60_min, c.rt60_max, 0.0, 5.0, true);
      check_range(label, "wet", c.wet_min, c.wet_max, 0.0, 4.0);
      break;
    case kNoise:
      check_range(label, "SNR dB", c.snr_min, c.snr_max, -20.0, 80.0);
      SER_CHECK(!c.noise_kinds.empty(), "{}: no noise kinds", label);
      SER_CHECK(c.babble_talkers >= 1 && c.babble_talkers <= kMaxBabbleTalkers,
                "{}: babble talkers {} must lie in [1, {}]", label, c.babble_talkers, kMaxBabbleTalkers);
      break;
    case kTilt: check_range(label, "tilt dB/octave", c.tilt_min, c.tilt_max, -24.0, 24.0); break;
    case kGain: check_range(label, "gain dB", c.gain_min, c.gain_max, -60.0, 40.0); break;
    default: break;  // telephone, codec: a probability only
  }
}

// Sets op `op` from its item value (after "KEY=").
void parse_op(Op op, const std::string& label, const std::string& value, WaveAugmentConfig& c) {
  if (op == kTelephone || op == kCodec) {
    op_prob(c, op) = parse_number(label, value);
    return;
  }
  const auto [p, rest] = split_probability(label, value);
  op_prob(c, op) = p;
  const std::size_t colon = rest.find(':');
  const std::string range = rest.substr(0, colon), extra = colon == std::string::npos ? "" : rest.substr(colon + 1);
  SER_CHECK(colon == std::string::npos || op == kReverb || op == kNoise,
            "{}: only reverb (:WETLO-WETHI) and noise (:KINDS) take a ':' part", label);
  SER_CHECK(colon == std::string::npos || !extra.empty(), "{}: nothing after ':'", label);
  const auto [lo, hi] = parse_range(label, range);
  switch (op) {
    case kSpeed: c.speed_min = lo, c.speed_max = hi; break;
    case kReverb:
      c.rt60_min = lo, c.rt60_max = hi;
      if (!extra.empty()) std::tie(c.wet_min, c.wet_max) = parse_range(label, extra);
      break;
    case kNoise:
      c.snr_min = lo, c.snr_max = hi;
      if (!extra.empty()) parse_kinds(label, extra, c);
      break;
    case kTilt: c.tilt_min = lo, c.tilt_max = hi; break;
    case kGain: c.gain_min = lo, c.gain_max = hi; break;
    default: break;
  }
}

std::string range_text(double lo, double hi) { return lo == hi ? fmt::format("{}", lo) : fmt::format("{}-{}", lo, hi); }

std::string kinds_text(const WaveAugmentConfig& c) {
  std::vector<std::string> names;
  for (NoiseKind k : c.noise_kinds)
    names.push_back(k == NoiseKind::kBabble && c.babble_talkers != 3 ? fmt::format("babble{}", c.babble_talkers)
                                                                     : kind_name(k));
  return fmt::format("{}", fmt::join(names, "+"));
}

// The value of op `op`'s item (after "KEY="); the op is on.
std::string op_text(const WaveAugmentConfig& c, Op op) {
  const double p = op_prob(c, op);
  if (op == kTelephone || op == kCodec) return fmt::format("{}", p);
  const std::string prefix = p == 1.0 ? "" : fmt::format("{}@", p);
  switch (op) {
    case kSpeed: return prefix + range_text(c.speed_min, c.speed_max);
    case kReverb:
      return prefix + range_text(c.rt60_min, c.rt60_max) +
             (c.wet_min == 1.0 && c.wet_max == 1.0 ? "" : ":" + range_text(c.wet_min, c.wet_max));
    case kNoise:
      return prefix + range_text(c.snr_min, c.snr_max) + (c.noise_kinds == default_kinds() ? "" : ":" + kinds_text(c));
    case kTilt: return prefix + range_text(c.tilt_min, c.tilt_max);
    case kGain: return prefix + range_text(c.gain_min, c.gain_max);
    default: return "";
  }
}

}  // namespace

bool WaveAugmentConfig::enabled() const {
  for (int op = 0; op < kOpCount; ++op)
    if (op_prob(*this, static_cast<Op>(op)) > 0) return true;
  return false;
}

bool WaveAugmentConfig::uses_babble() const {
  return noise_prob > 0 && std::find(noise_kinds.begin(), noise_kinds.end(), NoiseKind::kBabble) != noise_kinds.end();
}

std::string WaveAugmentConfig::text() const {
  std::vector<std::string> items;
  for (int op = 0; op < kOpCount; ++op)
    if (op_prob(*this, static_cast<Op>(op)) > 0)
      items.push_back(fmt::format("{}={}", kOpKeys[op], op_text(*this, static_cast<Op>(op))));
  return items.empty() ? "none" : fmt::format("{}", fmt::join(items, ","));
}

WaveAugmentConfig WaveAugmentConfig::parse(const std::string& text) {
  WaveAugmentConfig c;
  if (text == "none" || text.empty()) return c;
  bool seen[kOpCount] = {};
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    const std::string item = text.substr(start, comma - start);
    const std::string label = fmt::format("--wave-augment item '{}'", item);
    const std::size_t eq = item.find('=');
    SER_CHECK(eq != std::string::npos && eq + 1 < item.size(), "{}: expected KEY=VALUE ({})", label, kItemHelp);
    const std::string key = item.substr(0, eq);
    const auto* found = std::find(std::begin(kOpKeys), std::end(kOpKeys), key);
    SER_CHECK(found != std::end(kOpKeys), "{}: unknown key '{}' ({})", label, key, kItemHelp);
    const Op op = static_cast<Op>(found - std::begin(kOpKeys));
    SER_CHECK(!seen[op], "{}: '{}' is given twice", label, key);
    seen[op] = true;
    parse_op(op, label, item.substr(eq + 1), c);
    validate_op(c, op, label);
    start = comma + 1;
  }
  return c;
}

void WaveAugmentConfig::validate() const {
  for (int op = 0; op < kOpCount; ++op)
    validate_op(*this, static_cast<Op>(op), fmt::format("--wave-augment {}", kOpKeys[op]));
}

bool WaveAugmentConfig::operator==(const WaveAugmentConfig& o) const { return text() == o.text(); }

void to_json(nlohmann::json& j, const WaveAugmentConfig& c) { j = c.text(); }

void from_json(const nlohmann::json& j, WaveAugmentConfig& c) {
  SER_CHECK(j.is_string(), "wave_augment: expected a text like \"speed=0.9-1.1,noise=0.5@5-20\", got {}", j.dump());
  c = WaveAugmentConfig::parse(j.get<std::string>());
}

// ------------------------------------------------------------------------ sampler

namespace {

// Uniform j of op `op` in stream (seed, stream).
class OpUniforms {
 public:
  OpUniforms(uint64_t seed, uint64_t stream, Op op) : seed_(seed), stream_(stream), base_(kSlotsPerOp * op) {}
  double operator()(uint64_t j) const { return philox_uniform_at(seed_, stream_, base_ + j); }
  bool on(double prob) const { return (*this)(0) < prob; }
  double in(double lo, double hi, uint64_t j) const { return lo + (hi - lo) * (*this)(j); }

 private:
  uint64_t seed_, stream_, base_;
};

uint64_t derived_seed(uint64_t seed, uint64_t stream, uint64_t tag) {
  return splitmix64(splitmix64(seed ^ splitmix64(stream)) + tag);
}

// A speed factor rounded to a multiple of 0.01 when that stays in range: libsoxr takes
// ~0.5 ms for a 3 s clip at ratios like 97/100 but up to 1.2 ms at ones like 14437/16000.
double speed_on_grid(double factor, const WaveAugmentConfig& cfg) {
  const double rounded = std::round(factor * 100.0) / 100.0;
  return rounded >= cfg.speed_min && rounded <= cfg.speed_max ? rounded : factor;
}

// Index in [0, n) from a uniform in [0, 1).
std::size_t pick(double u, std::size_t n) { return std::min(n - 1, static_cast<std::size_t>(u * n)); }

}  // namespace

WaveAugmentDraw draw_wave_augment(const WaveAugmentConfig& cfg, uint64_t seed, uint64_t stream, std::size_t pool_size) {
  cfg.validate();
  WaveAugmentDraw d;
  const OpUniforms speed(seed, stream, kSpeed), reverb(seed, stream, kReverb), noise(seed, stream, kNoise),
      tilt(seed, stream, kTilt), telephone(seed, stream, kTelephone), codec(seed, stream, kCodec),
      gain(seed, stream, kGain);
  if ((d.speed = speed.on(cfg.speed_prob))) d.speed_factor = speed_on_grid(speed.in(cfg.speed_min, cfg.speed_max, 1), cfg);
  if ((d.reverb = reverb.on(cfg.reverb_prob))) {
    d.rt60_s = reverb.in(cfg.rt60_min, cfg.rt60_max, 1);
    d.wet = reverb.in(cfg.wet_min, cfg.wet_max, 2);
    d.reverb_seed = derived_seed(seed, stream, 2);
  }
  if ((d.noise = noise.on(cfg.noise_prob))) {
    d.snr_db = noise.in(cfg.snr_min, cfg.snr_max, 1);
    d.noise_kind = cfg.noise_kinds[pick(noise(2), cfg.noise_kinds.size())];
    d.noise_seed = derived_seed(seed, stream, 1);
    if (d.noise_kind == NoiseKind::kBabble) {
      SER_CHECK(pool_size > 0, "--wave-augment noise: babble needs a babble pool of clips, got none");
      for (int t = 0; t < cfg.babble_talkers; ++t) d.babble_clips.push_back(static_cast<int>(pick(noise(3 + t), pool_size)));
    }
  }
  if ((d.tilt = tilt.on(cfg.tilt_prob))) d.tilt_db_per_octave = tilt.in(cfg.tilt_min, cfg.tilt_max, 1);
  d.telephone = telephone.on(cfg.telephone_prob);
  d.codec = codec.on(cfg.codec_prob);
  if ((d.gain = gain.on(cfg.gain_prob))) d.gain_db = gain.in(cfg.gain_min, cfg.gain_max, 1);
  return d;
}

namespace {

std::vector<float> draw_noise(const WaveAugmentDraw& d, std::size_t n, uint64_t offset,
                              const std::vector<const std::vector<float>*>& pool) {
  if (d.noise_kind != NoiseKind::kBabble) return coloured_noise(n, kind_exponent(d.noise_kind), d.noise_seed, offset);
  std::vector<const std::vector<float>*> clips;
  for (int i : d.babble_clips) {
    SER_CHECK(i >= 0 && static_cast<std::size_t>(i) < pool.size(), "augment: babble clip {} of a pool of {}", i,
              pool.size());
    clips.push_back(pool[static_cast<std::size_t>(i)]);
  }
  return babble(clips, n, static_cast<int>(clips.size()));
}

}  // namespace

std::vector<float> apply_wave_augment(const std::vector<float>& x, int sample_rate, const WaveAugmentDraw& d,
                                      const std::vector<const std::vector<float>*>& babble_pool) {
  std::vector<float> y = x;
  if (y.empty()) return y;
  if (d.speed) y = speed_perturb(y, d.speed_factor, sample_rate);
  if (d.reverb) y = synthetic_reverb(y, sample_rate, d.rt60_s, d.reverb_seed, 0, d.wet);
  if (d.noise) y = add_noise(y, draw_noise(d, y.size(), 0, babble_pool), d.snr_db);
  if (d.tilt) y = spectral_tilt(y, sample_rate, d.tilt_db_per_octave);
  if (d.telephone) y = mu_law_roundtrip(telephone_band(y, sample_rate));
  if (d.codec) y = codec_roundtrip(y, sample_rate);
  if (d.gain) y = apply_gain_db(y, d.gain_db);
  return y;
}

std::vector<float> augment_waveform(const std::vector<float>& x, int sample_rate, const WaveAugmentConfig& cfg,
                                    uint64_t seed, uint64_t stream,
                                    const std::vector<const std::vector<float>*>& babble_pool) {
  cfg.validate();
  if (!cfg.enabled()) return x;
  SER_CHECK(!cfg.uses_babble() || !babble_pool.empty(),
            "--wave-augment noise: the kinds include babble but the babble pool is empty");
  return apply_wave_augment(x, sample_rate, draw_wave_augment(cfg, seed, stream, babble_pool.size()), babble_pool);
}

std::vector<float> augment_waveform(const std::vector<float>& x, int sample_rate, const WaveAugmentConfig& cfg,
                                    Generator& generator, const std::vector<const std::vector<float>*>& babble_pool) {
  const uint64_t stream = generator.next_stream();
  return augment_waveform(x, sample_rate, cfg, generator.seed(), stream, babble_pool);
}

// ------------------------------------------------------------------------ evaluation perturbations

std::vector<std::string> perturbation_names() {
  std::vector<std::string> names = {"clean",  "telephone", "noise-snr10", "reverb",  "gain-20db",
                                    "cut-2s", "speed-0.9", "speed-1.1"};
  if (codec_supported(AudioCodec::kVorbis)) names.push_back("codec");
  return names;
}

std::vector<float> apply_perturbation(const std::string& name, const std::vector<float>& x, int sample_rate) {
  if (name == "clean") return x;
  if (name == "telephone") return mu_law_roundtrip(telephone_band(x, sample_rate));
  if (name == "noise-snr10") return add_noise(x, coloured_noise(std::max<std::size_t>(1, x.size()), 1.0, kPerturbationSeed, 0), 10.0);
  if (name == "reverb") return synthetic_reverb(x, sample_rate, 0.5, kPerturbationSeed, 1, 1.0);
  if (name == "gain-20db") return apply_gain_db(x, -20.0);
  if (name == "cut-2s") {  // the leading silence cut (30 dB below the loudest frame), then 2 s kept
    const int64_t start = trim_silence(x, 30.0).first;
    return cut_to_seconds(std::vector<float>(x.begin() + start, x.end()), sample_rate, 2.0);
  }
  if (name == "speed-0.9") return speed_perturb(x, 0.9, sample_rate);
  if (name == "speed-1.1") return speed_perturb(x, 1.1, sample_rate);
  const std::vector<std::string> names = perturbation_names();
  if (name == "codec" && std::find(names.begin(), names.end(), "codec") != names.end())
    return codec_roundtrip(x, sample_rate, AudioCodec::kVorbis, 0.5);
  SER_FAIL("unknown perturbation '{}' (valid: {})", name, fmt::join(names, ", "));
}

}  // namespace ser::features
