// Waveform augmentation (features/wave_augment.h), each op checked against an independent
// measurement: SNR from the added component, spectral slope from a direct DFT, filter gain
// from a least-squares sine fit against the analytic Butterworth response, speed from zero
// crossings, rt60 from Schroeder backward integration, codec quality by correlation; then
// determinism of the sampler, the config grammar and the evaluation perturbations.
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "engine/core/error.h"
#include "engine/core/random.h"
#include "features/wave_augment.h"

using namespace ser;
using namespace ser::features;

namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr int kRate = 16000;

std::vector<float> sine(double hz, double amplitude, std::size_t n, int rate = kRate) {
  std::vector<float> y(n);
  for (std::size_t i = 0; i < n; ++i) y[i] = static_cast<float>(amplitude * std::sin(2 * kPi * hz * i / rate));
  return y;
}

// Harmonic stack with vibrato (speech-like), amplitude about 0.5.
std::vector<float> voice(std::size_t n, double f0 = 140) {
  std::vector<float> y(n);
  for (std::size_t i = 0; i < n; ++i) {
    const double t = static_cast<double>(i) / kRate, f = f0 * (1 + 0.03 * std::sin(2 * kPi * 5 * t));
    double v = 0;
    for (int h = 1; h <= 20; ++h) v += std::sin(2 * kPi * f * h * t) / h;
    y[i] = static_cast<float>(0.15 * v);
  }
  return y;
}

double mean_square(const std::vector<float>& x, std::size_t begin = 0, std::size_t end = SIZE_MAX) {
  end = std::min(end, x.size());
  double s = 0;
  for (std::size_t i = begin; i < end; ++i) s += static_cast<double>(x[i]) * x[i];
  return s / static_cast<double>(end - begin);
}

double db(double power_ratio) { return 10 * std::log10(power_ratio); }

// Amplitude of the hz component of y over [begin, begin + len) (len a whole number of periods).
double sine_amplitude(const std::vector<float>& y, double hz, std::size_t begin, std::size_t len) {
  double a = 0, b = 0;
  for (std::size_t i = begin; i < begin + len; ++i) {
    a += y[i] * std::sin(2 * kPi * hz * i / kRate);
    b += y[i] * std::cos(2 * kPi * hz * i / kRate);
  }
  return 2 * std::hypot(a, b) / static_cast<double>(len);
}

// Frequency from upward zero crossings (linearly interpolated) over [begin, end).
double zero_crossing_hz(const std::vector<float>& y, std::size_t begin, std::size_t end) {
  double first = -1, last = -1;
  int crossings = 0;
  for (std::size_t i = begin + 1; i < end; ++i) {
    if (y[i - 1] < 0 && y[i] >= 0) {
      const double t = (i - 1) + y[i - 1] / (y[i - 1] - y[i]);
      if (first < 0) first = t;
      last = t;
      ++crossings;
    }
  }
  return (crossings - 1) / (last - first) * kRate;
}

// Least-squares slope of y on x.
double slope(const std::vector<double>& x, const std::vector<double>& y) {
  double mx = 0, my = 0;
  for (std::size_t i = 0; i < x.size(); ++i) mx += x[i], my += y[i];
  mx /= x.size(), my /= y.size();
  double sxy = 0, sxx = 0;
  for (std::size_t i = 0; i < x.size(); ++i) sxy += (x[i] - mx) * (y[i] - my), sxx += (x[i] - mx) * (x[i] - mx);
  return sxy / sxx;
}

double correlation(const std::vector<float>& a, const std::vector<float>& b) {
  double ab = 0, aa = 0, bb = 0;
  for (std::size_t i = 0; i < a.size(); ++i) ab += a[i] * b[i], aa += a[i] * a[i], bb += b[i] * b[i];
  return ab / std::sqrt(aa * bb);
}

// Analytic |H| in dB of the bilinear-transformed 4th-order Butterworth band 300-3400 Hz.
double telephone_response_db(double hz) {
  const double w = std::tan(kPi * hz / kRate), lo = std::tan(kPi * 300 / kRate), hi = std::tan(kPi * 3400 / kRate);
  return -10 * std::log10(1 + std::pow(lo / w, 8)) - 10 * std::log10(1 + std::pow(w / hi, 8));
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](float p, float q) {
           return std::memcmp(&p, &q, sizeof p) == 0;
         });
}

}  // namespace

TEST_SUITE("features") {

TEST_CASE("apply_gain_db multiplies by 10^(dB/20) exactly, without clipping") {
  const std::vector<float> x = voice(4000);
  for (double g : {-20.0, 0.0, 6.0, 20.0}) {
    const std::vector<float> y = apply_gain_db(x, g);
    const float factor = static_cast<float>(std::pow(10.0, g / 20));
    REQUIRE(y.size() == x.size());
    for (std::size_t i = 0; i < x.size(); ++i) REQUIRE(y[i] == x[i] * factor);
  }
  CHECK(apply_gain_db({0.5f}, 20.0)[0] == doctest::Approx(5.0).epsilon(1e-6));  // beyond 1: kept
  CHECK_THROWS_AS(apply_gain_db(x, NAN), Error);
}

TEST_CASE("add_noise reaches the requested SNR within 0.01 dB (tiled and cropped noise)") {
  const std::vector<float> x = voice(16000);
  for (std::size_t noise_len : {3000u, 16000u, 40000u}) {
    const std::vector<float> noise = coloured_noise(noise_len, 0.0, 7, noise_len);
    for (double snr : {-5.0, 0.0, 10.0, 30.0}) {
      const std::vector<float> y = add_noise(x, noise, snr);
      REQUIRE(y.size() == x.size());
      std::vector<float> added(x.size());
      for (std::size_t i = 0; i < x.size(); ++i) added[i] = y[i] - x[i];
      CHECK(std::fabs(db(mean_square(x) / mean_square(added)) - snr) < 0.01);
    }
  }
  // The tiled noise repeats: sample i and i + 3000 carry the same noise.
  const std::vector<float> noise = coloured_noise(3000, 0.0, 7, 1);
  const std::vector<float> y = add_noise(std::vector<float>(9000, 0.25f), noise, 0.0);
  CHECK(y[10] == y[3010]);
  CHECK(same_bits(add_noise(std::vector<float>(100, 0.0f), noise, 0.0), std::vector<float>(100, 0.0f)));
  CHECK(same_bits(add_noise(x, std::vector<float>(50, 0.0f), 0.0), x));
  CHECK_THROWS_WITH_AS(add_noise(x, {}, 0.0), doctest::Contains("noise is empty"), Error);
}

TEST_CASE("coloured_noise has unit RMS and a power spectrum of slope -exponent (direct DFT)") {
  constexpr std::size_t n = 65536;
  std::vector<double> cos_table(n), sin_table(n);  // exp(-2 pi i j / n)
  for (std::size_t j = 0; j < n; ++j) cos_table[j] = std::cos(2 * kPi * j / n), sin_table[j] = std::sin(2 * kPi * j / n);
  for (double exponent : {0.0, 1.0, 2.0}) {
    const std::vector<float> y = coloured_noise(n, exponent, 1234, 5);
    CHECK(mean_square(y) == doctest::Approx(1.0).epsilon(1e-5));
    // Band powers: 64 bins from each of 12 log-spaced start bins between 100 and 20000.
    std::vector<double> log_f, log_p;
    for (int c = 0; c < 12; ++c) {
      const std::size_t k0 = static_cast<std::size_t>(100 * std::pow(200.0, c / 11.0));
      double power = 0;
      for (std::size_t k = k0; k < k0 + 64; ++k) {
        double re = 0, im = 0;
        for (std::size_t i = 0; i < n; ++i) {
          const std::size_t j = (k * i) & (n - 1);
          re += y[i] * cos_table[j];
          im -= y[i] * sin_table[j];
        }
        power += re * re + im * im;
      }
      log_f.push_back(std::log10(k0 + 31.5));
      log_p.push_back(std::log10(power));
    }
    const double s = slope(log_f, log_p);
    MESSAGE("exponent " << exponent << ": fitted slope " << s);
    CHECK(std::fabs(s + exponent) < 0.1);
  }
  // Deterministic per (seed, offset); another offset gives another signal; any length.
  CHECK(same_bits(coloured_noise(1000, 1.0, 3, 4), coloured_noise(1000, 1.0, 3, 4)));
  CHECK(!same_bits(coloured_noise(1000, 1.0, 3, 4), coloured_noise(1000, 1.0, 3, 5)));
  CHECK(mean_square(coloured_noise(48000, 2.0, 3, 4)) == doctest::Approx(1.0).epsilon(1e-5));
  CHECK_THROWS_AS(coloured_noise(10, -1.0, 0, 0), Error);
}

TEST_CASE("babble sums unit-RMS talkers tiled to the length") {
  const std::vector<float> a = sine(200, 0.1, 1000), b = sine(310, 2.0, 1600), silent(500, 0.0f);
  const std::vector<float> y = babble({&a, &b, &silent}, 4000, 3);
  REQUIRE(y.size() == 4000);
  // Each talker tiled to 4000 samples, then scaled to RMS 1 over those samples.
  std::vector<float> ta(4000), tb(4000);
  for (std::size_t i = 0; i < 4000; ++i) ta[i] = a[i % 1000], tb[i] = b[i % 1600];
  const double ra = std::sqrt(mean_square(ta)), rb = std::sqrt(mean_square(tb));
  for (std::size_t i : {0u, 999u, 1000u, 1700u, 3999u}) CHECK(y[i] == doctest::Approx(ta[i] / ra + tb[i] / rb).epsilon(1e-5));
  const double r10 = std::sqrt(mean_square(a, 0, 10));  // cropped to 10 samples
  CHECK(babble({&a, &b}, 10, 1)[3] == doctest::Approx(a[3] / r10).epsilon(1e-5));
  CHECK_THROWS_WITH_AS(babble({&a}, 10, 2), doctest::Contains("count must lie in [1, 1]"), Error);
  CHECK_THROWS_WITH_AS(babble({nullptr}, 10, 1), doctest::Contains("clip 0 is null"), Error);
}

TEST_CASE("telephone_band follows the analytic Butterworth response: stops 100 Hz and 6 kHz, passes 1 kHz") {
  for (double hz : {100.0, 200.0, 300.0, 1000.0, 3400.0, 5000.0, 6000.0}) {
    const std::vector<float> y = telephone_band(sine(hz, 0.5, 24000), kRate);
    const double gain_db = 20 * std::log10(sine_amplitude(y, hz, 8000, 16000) / 0.5);  // after the transient
    MESSAGE(hz << " Hz: " << gain_db << " dB (analytic " << telephone_response_db(hz) << ")");
    CHECK(std::fabs(gain_db - telephone_response_db(hz)) < 0.05);
    if (hz == 100.0 || hz == 6000.0) CHECK(gain_db <= -20);
    if (hz == 1000.0) CHECK(std::fabs(gain_db) < 1);
  }
  CHECK_THROWS_AS(telephone_band({0.0f}, 6000), Error);
}

TEST_CASE("biquad_peaking has its gain at f0 and none far away") {
  const std::vector<Biquad> eq = {biquad_peaking(1000, 2.0, 9.0, kRate)};
  const double at_f0 = sine_amplitude(filter_biquads(sine(1000, 0.1, 24000), eq), 1000, 8000, 16000);
  const double far = sine_amplitude(filter_biquads(sine(6000, 0.1, 24000), eq), 6000, 8000, 16000);
  CHECK(20 * std::log10(at_f0 / 0.1) == doctest::Approx(9.0).epsilon(0.002));
  CHECK(std::fabs(20 * std::log10(far / 0.1)) < 0.3);
  CHECK_THROWS_AS(biquad_lowpass(9000, 0.7, kRate), Error);
  CHECK_THROWS_AS(butterworth_highpass(300, 3, kRate), Error);
}

TEST_CASE("mu_law_roundtrip: 256 levels, error within the companding step, input clipped to [-1, 1]") {
  std::vector<float> x;
  for (int i = -20000; i <= 20000; ++i) x.push_back(static_cast<float>(i / 20000.0));
  const std::vector<float> y = mu_law_roundtrip(x);
  const double mu = 255, step = std::log1p(mu) / mu / mu;  // |dx/dy| (1 + mu |x|)^-1 times the 1/mu level error
  std::set<float> levels(y.begin(), y.end());
  CHECK(levels.size() <= 256);
  CHECK(levels.size() >= 250);
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double bound = step * (1 + mu * std::max(std::fabs(x[i]), std::fabs(y[i]))) * 1.0001 + 1e-7;
    REQUIRE(std::fabs(y[i] - x[i]) <= bound);
  }
  CHECK(std::fabs(mu_law_roundtrip({0.0f})[0]) < 1e-4f);
  CHECK(mu_law_roundtrip({3.0f})[0] == mu_law_roundtrip({1.0f})[0]);
  CHECK(mu_law_roundtrip({1.0f})[0] == doctest::Approx(1.0));
}

TEST_CASE("spectral_tilt scales a sine by the tilt per octave from 1 kHz") {
  for (double tilt : {6.0, -4.5}) {
    for (double hz : {500.0, 1000.0, 2000.0, 4000.0}) {
      const std::vector<float> y = spectral_tilt(sine(hz, 0.2, 32000), kRate, tilt);
      REQUIRE(y.size() == 32000);
      const double got = 20 * std::log10(sine_amplitude(y, hz, 8000, 16000) / 0.2);
      CHECK(std::fabs(got - tilt * std::log2(hz / 1000)) < 0.05);
    }
  }
  const std::vector<float> x = voice(1000);
  CHECK(same_bits(spectral_tilt(x, kRate, 0.0), x));
  CHECK_THROWS_AS(spectral_tilt(x, kRate, 30), Error);
}

TEST_CASE("speed_perturb changes the length by 1/f and a tone's frequency by f") {
  const std::vector<float> x = sine(1000, 0.5, 32000);
  for (double f : {0.9, 1.1, 0.95, 1.05}) {
    const std::vector<float> y = speed_perturb(x, f, kRate);
    CHECK(y.size() == static_cast<std::size_t>(std::lround(32000 / f)));
    const double expected = 1000.0 * std::lround(kRate * f) / kRate;
    const double measured = zero_crossing_hz(y, 2000, y.size() - 2000);
    MESSAGE("factor " << f << ": " << measured << " Hz");
    CHECK(std::fabs(measured / expected - 1) < 1e-4);
    // The amplitude survives (libsoxr HQ passband).
    CHECK(std::sqrt(2 * mean_square(y, 2000, y.size() - 2000)) == doctest::Approx(0.5).epsilon(0.01));
  }
  CHECK(same_bits(speed_perturb(x, 1.0, kRate), x));
  CHECK_THROWS_WITH_AS(speed_perturb(x, 3.0, kRate), doctest::Contains("factor must lie in [0.5, 2]"), Error);
}

TEST_CASE("synthetic_reverb keeps the RMS; its impulse response decays 60 dB in rt60 (Schroeder, within 10 %)") {
  for (double rt60 : {0.2, 0.5, 0.8}) {
    const std::vector<float> h = reverb_impulse_response(kRate, rt60, 11, 3, 0.7);
    REQUIRE(h.size() == static_cast<std::size_t>(std::lround(rt60 * kRate)));
    CHECK(h[0] == 1.0f);
    double tail = 0;
    for (std::size_t n = 1; n < h.size(); ++n) tail += static_cast<double>(h[n]) * h[n];
    CHECK(tail == doctest::Approx(0.49).epsilon(1e-5));
    // Schroeder energy decay of the tail, fitted between -5 and -35 dB, extrapolated to -60.
    std::vector<double> edc(h.size(), 0.0);
    for (std::size_t n = h.size() - 1; n >= 1; --n) edc[n - 1] = (n < h.size() - 1 ? edc[n] : 0) + h[n] * h[n];
    std::vector<double> t, level;
    for (std::size_t n = 0; n + 1 < h.size(); ++n) {
      const double l = db(edc[n] / edc[0]);
      if (l <= -5 && l >= -35) t.push_back(static_cast<double>(n) / kRate), level.push_back(l);
    }
    const double measured = -60 / slope(t, level);
    MESSAGE("rt60 " << rt60 << " s: Schroeder " << measured << " s");
    CHECK(std::fabs(measured / rt60 - 1) < 0.1);
  }
  const std::vector<float> x = voice(48000);
  const std::vector<float> y = synthetic_reverb(x, kRate, 0.5, 11, 3, 1.0);
  REQUIRE(y.size() == x.size());
  CHECK(mean_square(y) == doctest::Approx(mean_square(x)).epsilon(1e-5));
  CHECK(correlation(x, y) < 0.95);  // it did something
  // The FFT convolution equals the direct sum (a few output samples).
  const std::vector<float> h = reverb_impulse_response(kRate, 0.5, 11, 3, 1.0);
  const std::vector<float> raw = synthetic_reverb(x, kRate, 0.5, 11, 3, 1.0);
  std::vector<double> direct;
  for (std::size_t i : {0u, 100u, 7999u, 30000u, 47999u}) {
    double s = 0;
    for (std::size_t m = 0; m <= i && m < h.size(); ++m) s += static_cast<double>(h[m]) * x[i - m];
    direct.push_back(s);
  }
  const double ratio = direct[3] / raw[30000];  // the RMS normalisation factor
  int j = 0;
  for (std::size_t i : {0u, 100u, 7999u, 30000u, 47999u}) CHECK(raw[i] * ratio == doctest::Approx(direct[j++]).epsilon(1e-4));
  CHECK(same_bits(synthetic_reverb(x, kRate, 0.5, 11, 3), synthetic_reverb(x, kRate, 0.5, 11, 3)));
  CHECK(!same_bits(synthetic_reverb(x, kRate, 0.5, 11, 3), synthetic_reverb(x, kRate, 0.5, 11, 4)));
  CHECK(same_bits(synthetic_reverb(std::vector<float>(10, 0.0f), kRate, 0.5, 1, 1), std::vector<float>(10, 0.0f)));
  CHECK_THROWS_WITH_AS(synthetic_reverb(x, kRate, 0.0, 1, 1), doctest::Contains("rt60 must lie in (0, 5]"), Error);
}

TEST_CASE("cut_to_seconds keeps the first seconds and zero-pads a shorter signal") {
  const std::vector<float> x = voice(48000);
  const std::vector<float> y = cut_to_seconds(x, kRate, 2.0);
  REQUIRE(y.size() == 32000);
  CHECK(std::equal(y.begin(), y.end(), x.begin()));
  const std::vector<float> z = cut_to_seconds(std::vector<float>(1000, 0.5f), kRate, 0.125);
  REQUIRE(z.size() == 2000);
  CHECK(z[999] == 0.5f);
  CHECK(z[1000] == 0.0f);
  CHECK(z[1999] == 0.0f);
}

TEST_CASE("codec_roundtrip keeps the length and the waveform (correlation > 0.9)") {
  const std::vector<float> x = voice(48000);
  for (AudioCodec codec : {AudioCodec::kVorbis, AudioCodec::kMp3}) {
    if (!codec_supported(codec, kRate)) {
      MESSAGE("skipped: this libsndfile cannot write " << codec_name(codec) << " at 16 kHz");
      CHECK_THROWS_WITH_AS(codec_roundtrip(x, kRate, codec), doctest::Contains("cannot write"), Error);
      continue;
    }
    const std::vector<float> y = codec_roundtrip(x, kRate, codec, 0.5);
    REQUIRE(y.size() == x.size());
    const double r = correlation(x, y);
    MESSAGE(codec_name(codec) << ": correlation " << r);
    CHECK(r > 0.9);
    CHECK(!same_bits(x, y));
    CHECK(same_bits(codec_roundtrip(x, kRate, codec, 0.5), y));  // deterministic
  }
}

TEST_CASE("WaveAugmentConfig: text and parse round-trip; JSON is the text") {
  const std::string typical =
      "speed=0.9-1.1,reverb=0.3@0.2-0.8,noise=0.5@5-20,tilt=0.3@-6-6,telephone=0.2,gain=-12-6";
  const WaveAugmentConfig c = WaveAugmentConfig::parse(
      "speed=0.9-1.1,noise=0.5@5-20,gain=-12-6,telephone=0.2,tilt=0.3@-6-6,reverb=0.3@0.2-0.8");
  CHECK(c.text() == typical);
  CHECK(c.speed_prob == 1);
  CHECK(c.speed_min == 0.9);
  CHECK(c.speed_max == 1.1);
  CHECK(c.noise_prob == 0.5);
  CHECK(c.snr_min == 5);
  CHECK(c.gain_min == -12);
  CHECK(c.gain_max == 6);
  CHECK(c.tilt_min == -6);
  CHECK(c.tilt_max == 6);
  CHECK(c.rt60_max == 0.8);
  CHECK(c.telephone_prob == 0.2);
  CHECK(WaveAugmentConfig::parse(c.text()) == c);
  for (const char* text : {"none", "gain=-6--3", "noise=0.25@-5-1e-05:pink+babble5", "reverb=0.5:0.2-1.5",
                           "codec=0.1,speed=0.5@1.2", "noise=10:babble"}) {
    const WaveAugmentConfig p = WaveAugmentConfig::parse(text);
    CHECK(WaveAugmentConfig::parse(p.text()) == p);
    CHECK(p.text() == WaveAugmentConfig::parse(p.text()).text());
  }
  CHECK(WaveAugmentConfig::parse("gain=-6--3").gain_max == -3);
  const WaveAugmentConfig b = WaveAugmentConfig::parse("noise=0.25@-5-1e-05:pink+babble5");
  CHECK(b.snr_min == -5);
  CHECK(b.snr_max == 1e-05);
  CHECK(b.babble_talkers == 5);
  CHECK(b.uses_babble());
  CHECK(!WaveAugmentConfig::parse("none").enabled());
  CHECK(c.enabled());
  nlohmann::json j = c;
  CHECK(j == typical);
  CHECK(j.get<WaveAugmentConfig>() == c);
  CHECK_THROWS_AS(nlohmann::json(3).get<WaveAugmentConfig>(), Error);
}

TEST_CASE("WaveAugmentConfig::parse rejects malformed items, naming them") {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"speed=0.4-1.1", "item 'speed=0.4-1.1': speed factor range"},
      {"speed=1.1-0.9", "item 'speed=1.1-0.9'"},
      {"gain=x", "item 'gain=x': 'x' is not a number"},
      {"gain=1.5@3", "item 'gain=1.5@3': probability 1.5"},
      {"noise=0.5@5-20:purple", "unknown noise kind 'purple'"},
      {"noise=0.5@5-20:pink+pink", "noise kind 'pink' given twice"},
      {"noise=5:babble13", "babble talkers must be a whole number in [1, 12]"},
      {"reverb=0.3@0-0.8", "item 'reverb=0.3@0-0.8': rt60 seconds range"},
      {"reverb=9", "rt60 seconds range 9-9"},
      {"tilt=0.3@-30-6", "item 'tilt=0.3@-30-6': tilt dB/octave"},
      {"telephone=0.2@1", "item 'telephone=0.2@1'"},
      {"echo=0.5", "unknown key 'echo'"},
      {"speed", "item 'speed': expected KEY=VALUE"},
      {"speed=", "item 'speed=': expected KEY=VALUE"},
      {"gain=3,gain=4", "'gain' is given twice"},
      {"gain=3:1", "only reverb"},
      {"speed=0.9-1.1,", "item '': expected KEY=VALUE"},
      {"gain=inf", "'inf' is not a number"},
      {"gain= 3", "' 3' is not a number"},
  };
  for (const auto& item : bad) {
    const std::string& text = item.first;  // not a structured binding: CAPTURE's lambda cannot name one before C++20
    CAPTURE(text);
    CHECK_THROWS_WITH_AS(WaveAugmentConfig::parse(text), doctest::Contains(item.second.c_str()), Error);
  }
  WaveAugmentConfig c;
  c.gain_prob = 1;
  c.gain_min = 50;
  c.gain_max = 60;
  CHECK_THROWS_WITH_AS(c.validate(), doctest::Contains("--wave-augment gain: gain dB range 50-60"), Error);
}

TEST_CASE("augment_waveform is a deterministic function of (seed, stream); none returns x bit for bit") {
  const std::vector<float> x = voice(48000), talker1 = voice(30000, 180), talker2 = voice(20000, 220);
  const std::vector<const std::vector<float>*> pool = {&talker1, &talker2};
  CHECK(same_bits(augment_waveform(x, kRate, WaveAugmentConfig::parse("none"), 1, 2), x));
  const WaveAugmentConfig cfg = WaveAugmentConfig::parse(
      "speed=0.9-1.1,reverb=0.5@0.2-0.8,noise=0.8@5-20:white+pink+brown+babble,tilt=0.5@-6-6,telephone=0.3,"
      "gain=-12-6");
  int changed_length = 0;
  for (uint64_t stream = 0; stream < 6; ++stream) {
    const std::vector<float> a = augment_waveform(x, kRate, cfg, 99, stream, pool);
    CHECK(same_bits(a, augment_waveform(x, kRate, cfg, 99, stream, pool)));
    CHECK(!same_bits(a, augment_waveform(x, kRate, cfg, 99, stream + 1, pool)));
    CHECK(!same_bits(a, augment_waveform(x, kRate, cfg, 100, stream, pool)));
    const WaveAugmentDraw d = draw_wave_augment(cfg, 99, stream, pool.size());
    CHECK(d.speed);
    CHECK(d.speed_factor >= 0.9);
    CHECK(d.speed_factor <= 1.1);
    CHECK(a.size() == static_cast<std::size_t>(std::lround(48000 / d.speed_factor)));
    changed_length += a.size() != x.size();
    for (float v : a) REQUIRE(std::isfinite(v));
  }
  CHECK(changed_length > 0);
  // The Generator overload takes the next stream.
  Generator g(99);
  g.set_offset(4);
  CHECK(same_bits(augment_waveform(x, kRate, cfg, g, pool), augment_waveform(x, kRate, cfg, 99, 4, pool)));
  CHECK(g.offset() == 5);
  // Babble with an empty pool is refused.
  CHECK_THROWS_WITH_AS(augment_waveform(x, kRate, WaveAugmentConfig::parse("noise=10:babble"), 1, 1),
                       doctest::Contains("babble pool is empty"), Error);
}

TEST_CASE("augment_waveform gives the same bits on several threads at once") {
  const std::vector<float> x = voice(40000);
  const WaveAugmentConfig cfg = WaveAugmentConfig::parse("speed=0.9-1.1,reverb=0.2-0.8,noise=0-20:pink,tilt=-6-6");
  std::vector<std::vector<float>> serial(8), threaded(8);
  for (uint64_t s = 0; s < 8; ++s) serial[s] = augment_waveform(x, kRate, cfg, 3, s);
  std::vector<std::thread> threads;
  for (uint64_t t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (uint64_t s = t; s < 8; s += 4) threaded[s] = augment_waveform(x, kRate, cfg, 3, s);
    });
  for (std::thread& t : threads) t.join();
  for (uint64_t s = 0; s < 8; ++s) CHECK(same_bits(serial[s], threaded[s]));
}

TEST_CASE("draw_wave_augment: probabilities hold, and one op's draws do not move when another is turned on") {
  const WaveAugmentConfig a = WaveAugmentConfig::parse("speed=0.9-1.1,telephone=0.25");
  const WaveAugmentConfig b = WaveAugmentConfig::parse("speed=0.9-1.1,telephone=0.25,gain=0.5@-6-6,noise=0.5@0-10");
  int telephone = 0, noise = 0;
  for (uint64_t s = 0; s < 4000; ++s) {
    const WaveAugmentDraw da = draw_wave_augment(a, 5, s, 0), db = draw_wave_augment(b, 5, s, 0);
    REQUIRE(da.speed_factor == db.speed_factor);
    REQUIRE(da.telephone == db.telephone);
    telephone += da.telephone;
    noise += db.noise;
    if (db.noise) REQUIRE(db.snr_db >= 0);
  }
  CHECK(telephone / 4000.0 == doctest::Approx(0.25).epsilon(0.1));
  CHECK(noise / 4000.0 == doctest::Approx(0.5).epsilon(0.1));
}

TEST_CASE("apply_perturbation: the fixed evaluation conditions") {
  const std::vector<float> x = voice(48000);
  std::vector<std::string> names = perturbation_names();
  const std::vector<std::string> expected = {"clean",  "telephone", "noise-snr10", "reverb",   "gain-20db",
                                             "cut-2s", "speed-0.9", "speed-1.1",   "codec"};
  if (!codec_supported(AudioCodec::kVorbis)) MESSAGE("codec left out: no OGG Vorbis in this libsndfile");
  CHECK(names == std::vector<std::string>(expected.begin(), expected.begin() + static_cast<long>(names.size())));
  for (const std::string& name : names) {
    const std::vector<float> y = apply_perturbation(name, x, kRate);
    CAPTURE(name);
    CHECK(same_bits(y, apply_perturbation(name, x, kRate)));
    const std::size_t length = name == "cut-2s" ? 32000 : name == "speed-0.9" ? 53333 : name == "speed-1.1" ? 43636 : 48000;
    CHECK(y.size() == length);
    if (name == "clean") CHECK(same_bits(y, x));
    else CHECK(!same_bits(y, x));
  }
  std::vector<float> noisy = apply_perturbation("noise-snr10", x, kRate);
  for (std::size_t i = 0; i < x.size(); ++i) noisy[i] -= x[i];
  CHECK(std::fabs(db(mean_square(x) / mean_square(noisy)) - 10) < 0.01);
  CHECK(apply_perturbation("gain-20db", x, kRate)[100] == x[100] * static_cast<float>(0.1));
  // cut-2s drops the leading silence first: after 1 s of zeros, x starts within one trim
  // frame (2048 samples) of the cut, and the rest is x's first samples bit for bit.
  std::vector<float> late(16000, 0.0f);
  late.insert(late.end(), x.begin(), x.end());
  const std::vector<float> cut = apply_perturbation("cut-2s", late, kRate);
  REQUIRE(cut.size() == 32000);
  std::size_t zeros = 0;
  while (zeros < cut.size() && cut[zeros] == 0.0f) ++zeros;
  std::size_t own_zeros = 0;  // x itself starts at sin(0) = 0
  while (x[own_zeros] == 0.0f) ++own_zeros;
  REQUIRE(zeros >= own_zeros);
  zeros -= own_zeros;
  CHECK(zeros <= 2048);
  CHECK(same_bits(std::vector<float>(cut.begin() + static_cast<long>(zeros), cut.end()),
                  std::vector<float>(x.begin(), x.begin() + static_cast<long>(32000 - zeros))));
  CHECK_THROWS_WITH_AS(apply_perturbation("noise-snr5", x, kRate),
                       doctest::Contains("unknown perturbation 'noise-snr5' (valid: clean, telephone, noise-snr10"),
                       Error);
}

}  // TEST_SUITE
