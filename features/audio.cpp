// Decode (libsndfile), mono mix-down and soxr resampling; see audio.h for the contract
// and tests/data/reference/features/README.md for the bit-exact recipe it follows.
#include "features/audio.h"

#include <sndfile.h>
#include <soxr.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>

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
  for (;;) {
    const sf_count_t got = sf_readf_float(file, block.data(), kReadBlockFrames);
    if (got <= 0) break;
    SER_CHECK(static_cast<int64_t>(mono.size()) + got <= kMaxSamples, "{}: more than {} frames; refusing to decode",
              path.string(), kMaxSamples);
    append_mono(block.data(), got, channels, mono);
  }
  return mono;
}

// x holds samples [first, first + x.size()) of the file.
void check_finite(const std::vector<float>& x, const std::filesystem::path& path, int64_t first = 0) {
  for (std::size_t i = 0; i < x.size(); ++i)
    SER_CHECK(std::isfinite(x[i]), "{}: sample {} is {} (NaN/Inf samples are not audio)", path.string(),
              first + static_cast<int64_t>(i), x[i]);
}

}  // namespace

void append_mono(const float* interleaved, int64_t frames, int channels, std::vector<float>& mono) {
  const float channel_count = static_cast<float>(channels);
  for (int64_t f = 0; f < frames; ++f) {
    const float* frame = interleaved + f * channels;
    float sum = frame[0];
    for (int c = 1; c < channels; ++c) sum += frame[c];
    mono.push_back(channels == 1 ? sum : sum / channel_count);
  }
}

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

// ------------------------------------------------------------------------ AudioStream
// Input block -> mono (kReadBlockFrames,) -> soxr_process -> `pending`; pending samples are
// released only up to ceil(frames_in * ratio) (fix_length's length for the input so far),
// and at the end the rest up to the final length, zero-padded if libsoxr gave fewer.

struct SoxrDeleter {
  void operator()(soxr_t s) const { soxr_delete(s); }
};

struct AudioStream::Impl {
  std::filesystem::path path;
  SF_INFO info{};
  SndfileHandle file;
  AudioHeader header;
  int target_rate = 0;
  std::unique_ptr<std::remove_pointer_t<soxr_t>, SoxrDeleter> soxr;  // null when the rates are equal
  std::vector<float> block;    // (kReadBlockFrames, C) interleaved
  std::vector<float> mono;     // (<= kReadBlockFrames,) this block's mono frames
  std::vector<float> pending;  // resampled, not yet delivered
  std::vector<float> soxr_out; // (olen,) one soxr_process call's output
  int64_t frames_in = 0, delivered = 0;
  bool input_done = false, finished = false;

  // fix_length's length for `frames` input frames: ceil(frames * target / file rate).
  int64_t output_length(int64_t frames) const {
    if (!soxr) return frames;
    return static_cast<int64_t>(std::ceil(static_cast<double>(frames) * target_rate / info.samplerate));
  }
  // Runs libsoxr over `in` (n frames; in == nullptr: flush) until all of it is consumed
  // (flush: until it gives nothing more), appending its output to `pending`.
  void resample_into_pending(const float* in, std::size_t n) {
    for (;;) {
      std::size_t used = 0, made = 0;
      const soxr_error_t err = soxr_process(soxr.get(), in, n, in ? &used : nullptr, soxr_out.data(),
                                            soxr_out.size(), &made);
      SER_CHECK(err == nullptr, "{}: resample {} Hz -> {} Hz: libsoxr error: {}", path.string(), info.samplerate,
                target_rate, err);
      pending.insert(pending.end(), soxr_out.begin(), soxr_out.begin() + static_cast<std::ptrdiff_t>(made));
      if (in == nullptr) {
        if (made == 0) return;
        continue;
      }
      SER_CHECK(used > 0 || made > 0, "{}: libsoxr accepted no input and gave no output", path.string());
      in += used;
      n -= used;
      if (n == 0) return;
    }
  }
  // Moves pending samples to `out`, at most up to fix_length's length `limit`.
  std::size_t release(std::vector<float>& out, int64_t limit) {
    const auto n = static_cast<std::size_t>(std::max<int64_t>(0, std::min<int64_t>(limit - delivered,
                                                                                    static_cast<int64_t>(pending.size()))));
    out.insert(out.end(), pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(n));
    pending.erase(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(n));
    delivered += static_cast<int64_t>(n);
    return n;
  }
};

AudioStream::AudioStream(const std::filesystem::path& path, int target_rate) : impl_(std::make_unique<Impl>()) {
  SER_CHECK(target_rate > 0, "{}: target sample rate must be positive, got {} Hz", path.string(), target_rate);
  Impl& s = *impl_;
  s.path = path;
  s.file = open_sound_file(path, s.info);
  s.header = {s.info.samplerate, s.info.channels, static_cast<int64_t>(s.info.frames)};
  s.target_rate = target_rate;
  s.block.resize(static_cast<std::size_t>(kReadBlockFrames) * s.info.channels);
  s.mono.reserve(static_cast<std::size_t>(kReadBlockFrames));
  if (s.info.samplerate != target_rate) {
    const soxr_quality_spec_t quality = soxr_quality_spec(SOXR_HQ, 0);  // as resample()
    const soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
    soxr_error_t err = nullptr;
    s.soxr.reset(soxr_create(s.info.samplerate, target_rate, 1, &err, &io, &quality, nullptr));
    SER_CHECK(err == nullptr && s.soxr, "{}: resample {} Hz -> {} Hz: libsoxr error: {}", path.string(),
              s.info.samplerate, target_rate, err ? err : "cannot create the resampler");
    s.soxr_out.resize(static_cast<std::size_t>(
        static_cast<double>(kReadBlockFrames) * target_rate / s.info.samplerate + 1024));
  }
}

AudioStream::~AudioStream() = default;

const AudioHeader& AudioStream::header() const { return impl_->header; }

int64_t AudioStream::delivered() const { return impl_->delivered; }

bool AudioStream::read(std::vector<float>& out) {
  Impl& s = *impl_;
  while (!s.finished) {
    if (s.input_done) {  // flush libsoxr, deliver the rest, pad to fix_length's length
      if (s.soxr) s.resample_into_pending(nullptr, 0);
      const int64_t length = s.output_length(s.frames_in);
      std::size_t n = s.release(out, length);
      if (s.delivered < length) {
        out.resize(out.size() + static_cast<std::size_t>(length - s.delivered), 0.0f);
        n += static_cast<std::size_t>(length - s.delivered);
        s.delivered = length;
      }
      s.pending.clear();
      s.finished = true;
      if (n > 0) return true;
      break;
    }
    const sf_count_t got = sf_readf_float(s.file.get(), s.block.data(), kReadBlockFrames);
    if (got <= 0) {
      SER_CHECK(s.frames_in > 0, "{}: holds no audio frames ({} declared)", s.path.string(),
                static_cast<int64_t>(s.info.frames));
      s.input_done = true;
      continue;
    }
    SER_CHECK(s.frames_in + got <= kMaxSamples, "{}: more than {} frames; refusing to decode", s.path.string(),
              kMaxSamples);
    s.mono.clear();
    append_mono(s.block.data(), got, s.info.channels, s.mono);
    check_finite(s.mono, s.path, s.frames_in);
    s.frames_in += got;
    if (s.soxr)
      s.resample_into_pending(s.mono.data(), s.mono.size());
    else
      s.pending.insert(s.pending.end(), s.mono.begin(), s.mono.end());
    if (s.release(out, s.output_length(s.frames_in)) > 0) return true;
  }
  return false;
}

std::string audio_library_versions() { return std::string(sf_version_string()) + ", " + soxr_version(); }

}  // namespace ser::features
