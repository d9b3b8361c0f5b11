// Decode (libsndfile), mono mix-down and soxr resampling; see audio.h for the contract
// and tests/data/reference/features/README.md for the bit-exact recipe it follows.
#include "features/audio.h"

#include <sndfile.h>
#include <soxr.h>

#include <cmath>
#include <cstdint>
#include <memory>
#include <string>

#include "engine/core/error.h"

namespace ser::features {
namespace {

// Longest signal accepted: 2^31 samples (about 12 h at 48 kHz). Guards against absurd
// declared sizes in untrusted headers before anything large is allocated.
constexpr int64_t kMaxSamples = int64_t(1) << 31;
constexpr sf_count_t kReadBlockFrames = 1 << 16;

struct SndfileCloser {
  void operator()(SNDFILE* f) const { sf_close(f); }
};
using SndfileHandle = std::unique_ptr<SNDFILE, SndfileCloser>;

// libsndfile's text for a file it opened but could not decode. Its decoders (mpg123 for
// MP3) report a failed stream as "File does not exist or is not a regular file", which is
// false here: the file was checked first.
std::string decode_failure(const char* library_text) {
  const std::string text = library_text != nullptr ? library_text : "";
  if (text.find("does not exist") != std::string::npos) return "not an audio stream libsndfile can decode";
  return text;
}

SndfileHandle open_sound_file(const std::filesystem::path& path, SF_INFO& info) {
  std::error_code ec;
  SER_CHECK(std::filesystem::exists(path, ec), "{}: no such file", path.string());
  SER_CHECK(!std::filesystem::is_directory(path, ec), "{}: is a folder; pass audio files (e.g. {}/*.wav)",
            path.string(), path.string());
  SER_CHECK(std::filesystem::is_regular_file(path, ec), "{}: not a readable regular file", path.string());
  SER_CHECK(std::filesystem::file_size(path, ec) > 0 && !ec, "{}: empty file (0 bytes)", path.string());
  info = SF_INFO{};
  SndfileHandle file(sf_open(path.c_str(), SFM_READ, &info));
  SER_CHECK(file != nullptr, "{}: cannot decode audio: {}", path.string(), decode_failure(sf_strerror(nullptr)));
  SER_CHECK(info.samplerate > 0, "{}: declares a sample rate of {} Hz", path.string(), info.samplerate);
  SER_CHECK(info.channels > 0, "{}: declares {} channels", path.string(), info.channels);
  return file;
}

// Reads interleaved frames block by block (never trusting the declared frame count for
// the allocation) and averages channels in float32: sum in channel order, then / C.
std::vector<float> read_mono(SNDFILE* file, const SF_INFO& info, const std::filesystem::path& path) {
  const int channels = info.channels;
  std::vector<float> block(static_cast<std::size_t>(kReadBlockFrames) * channels);  // (frames, C) interleaved
  std::vector<float> mono;                                                         // (N,)
  if (info.frames > 0 && info.frames < kMaxSamples) mono.reserve(static_cast<std::size_t>(info.frames));
  const float channel_count = static_cast<float>(channels);
  for (;;) {
    const sf_count_t got = sf_readf_float(file, block.data(), kReadBlockFrames);
    if (got <= 0) break;
    SER_CHECK(static_cast<int64_t>(mono.size()) + got <= kMaxSamples, "{}: more than {} frames; refusing to decode",
              path.string(), kMaxSamples);
    for (sf_count_t f = 0; f < got; ++f) {
      const float* frame = block.data() + f * channels;
      float sum = frame[0];
      for (int c = 1; c < channels; ++c) sum += frame[c];
      mono.push_back(channels == 1 ? sum : sum / channel_count);
    }
  }
  return mono;
}

void check_finite(const std::vector<float>& x, const std::filesystem::path& path) {
  for (std::size_t i = 0; i < x.size(); ++i)
    SER_CHECK(std::isfinite(x[i]), "{}: sample {} is {} (NaN/Inf samples are not audio)", path.string(), i, x[i]);
}

}  // namespace

DecodedAudio decode_mono(const std::filesystem::path& path) {
  SF_INFO info;
  SndfileHandle file = open_sound_file(path, info);
  DecodedAudio out;
  out.sample_rate = info.samplerate;
  out.channels = info.channels;
  out.samples = read_mono(file.get(), info, path);
  SER_CHECK(!out.samples.empty(), "{}: holds no audio frames ({} declared)", path.string(),
            static_cast<int64_t>(info.frames));
  check_finite(out.samples, path);
  return out;
}

std::vector<float> resample(const std::vector<float>& x, int from_rate, int to_rate) {
  SER_CHECK(from_rate > 0 && to_rate > 0, "resample: rates must be positive, got {} Hz -> {} Hz", from_rate, to_rate);
  if (from_rate == to_rate) return x;
  // librosa: ratio = float(target_sr) / orig_sr; n = int(ceil(len * ratio)).
  const double ratio = static_cast<double>(to_rate) / from_rate;
  const std::size_t n_out = static_cast<std::size_t>(std::ceil(static_cast<double>(x.size()) * ratio));
  std::vector<float> y(n_out, 0.0f);  // (n_out,) fix_length pads with zeros at the end
  if (x.empty()) return y;
  // python-soxr: olen = (size_t)(ilen * out_rate / in_rate + 1).
  const std::size_t olen = static_cast<std::size_t>(static_cast<double>(x.size()) * to_rate / from_rate + 1.0);
  std::vector<float> raw(olen);  // (olen,) libsoxr output before fix_length
  const soxr_quality_spec_t quality = soxr_quality_spec(SOXR_HQ, 0);
  const soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
  std::size_t done = 0;
  const soxr_error_t err = soxr_oneshot(from_rate, to_rate, 1, x.data(), x.size(), nullptr, raw.data(), olen, &done,
                                        &io, &quality, nullptr);
  SER_CHECK(err == nullptr, "resample {} Hz -> {} Hz of {} samples: libsoxr error: {}", from_rate, to_rate, x.size(),
            err);
  const std::size_t keep = done < n_out ? done : n_out;
  std::copy(raw.begin(), raw.begin() + static_cast<std::ptrdiff_t>(keep), y.begin());
  return y;
}

AudioHeader read_audio_header(const std::filesystem::path& path) {
  SF_INFO info;
  const SndfileHandle file = open_sound_file(path, info);
  return {info.samplerate, info.channels, static_cast<int64_t>(info.frames)};
}

std::vector<float> load_audio(const std::filesystem::path& path, int target_rate) {
  DecodedAudio audio = decode_mono(path);
  try {
    return resample(audio.samples, audio.sample_rate, target_rate);
  } catch (const Error& e) {
    SER_FAIL("{}: {}", path.string(), e.what());
  }
}

std::string audio_library_versions() { return std::string(sf_version_string()) + ", " + soxr_version(); }

}  // namespace ser::features
