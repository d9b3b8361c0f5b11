// Audio in: decode any file libsndfile reads to float32, mix down to mono, and resample
// with libsoxr exactly as librosa.load(path, sr=16000) does (PROTOCOL.md step 1;
// tests/data/reference/features/README.md steps 1-3).
//
// Layouts: every signal here is a mono float32 vector of N samples, (N,).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace ser::features {

struct DecodedAudio {
  std::vector<float> samples;  // (N,) mono, float32; PCM scaled like soundfile (PCM_16 code/32768, ...)
  int sample_rate = 0;         // Hz, as declared by the file
  int channels = 0;            // channels in the file (before the mix-down)
};

// Decodes with libsndfile (sf_readf_float, its default float normalisation) and averages
// the channels in float32, (L + R) / 2 for stereo. Throws ser::Error naming the file when
// it cannot be opened or parsed, declares 0 Hz or 0 channels, holds no frames, or holds a
// NaN/Inf sample. A file whose data is shorter than its header declares yields the frames
// present (as soundfile does).
DecodedAudio decode_mono(const std::filesystem::path& path);

// The mix-down decode_mono applies: appends the channel average of `frames` interleaved
// frames (frames, channels) to `mono`, in float32 (sum in channel order, then / channels).
// The Python package mixes arrays in memory with it, as a file of those samples would be.
void append_mono(const float* interleaved, int64_t frames, int channels, std::vector<float>& mono);

// libsoxr HQ (soxr_quality_spec(SOXR_HQ, 0)), float32 in and out, then librosa's
// fix_length to ceil(n * (to_rate / from_rate)) samples (zeros appended or extra dropped).
// Returns a copy of x when the rates are equal. Throws on a non-positive rate.
std::vector<float> resample(const std::vector<float>& x, int from_rate, int to_rate);

// What the file's header declares, without decoding it (libsndfile's sf_open). Throws
// like decode_mono for a missing, empty or undecodable file.
struct AudioHeader {
  int sample_rate = 0;
  int channels = 0;
  int64_t frames = 0;
  double seconds() const { return sample_rate > 0 ? static_cast<double>(frames) / sample_rate : 0.0; }
};
AudioHeader read_audio_header(const std::filesystem::path& path);

// decode_mono + resample to target_rate.
std::vector<float> load_audio(const std::filesystem::path& path, int target_rate = 16000);

// The samples load_audio(path, target_rate) returns, delivered in blocks, so that a long
// recording is read with a few blocks in memory instead of whole (decode_mono of one hour
// of 44.1 kHz stereo holds 1.3 GB of floats). Same maths: libsndfile float frames, channels
// averaged in float32, libsoxr HQ driven block by block and flushed at the end (its output
// does not depend on how the input is cut: tests/features/test_audio_stream.cpp), then
// fix_length to ceil(frames * target_rate / file_rate). Errors as decode_mono's, naming
// the file: the constructor for a file that cannot be opened, read() for a NaN/Inf sample
// or a file with no frames. Not copyable; one reader per stream.
class AudioStream {
 public:
  AudioStream(const std::filesystem::path& path, int target_rate);
  ~AudioStream();
  AudioStream(const AudioStream&) = delete;
  AudioStream& operator=(const AudioStream&) = delete;

  // What the file's header declares (frames may differ from what decodes).
  const AudioHeader& header() const;
  // Appends the next samples (at target_rate, about 64 k input frames' worth) to `out`.
  // Returns false, appending nothing, once the whole signal has been delivered.
  bool read(std::vector<float>& out);
  // Samples delivered so far.
  int64_t delivered() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The decoding and resampling libraries, e.g. "libsndfile-1.2.0, libsoxr 0.1.3".
std::string audio_library_versions();

}  // namespace ser::features
