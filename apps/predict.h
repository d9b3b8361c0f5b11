// Prediction with a saved model over files of any length: the features exactly as in
// training (parameters read from the model file), normalised with the stored training
// statistics, eval-mode forward in batches.
//
// A file no longer than the clips the model was trained on (the model's clip_seconds p95)
// is one image of the whole file, as in training. A longer one becomes a timeline
// (apps/timeline.h): windows of --window seconds every --hop seconds, each one image;
// silent windows are marked, not labelled; each window's own stretch takes the mean
// probabilities of the voiced windows overlapping it, and consecutive stretches of one
// label form segments.
//
// Memory is bounded by the batch, not by the input: files are read as streams
// (features::AudioStream), windows are cut as the samples arrive, and at most `batch`
// window signals and images are held before they go through the network together with
// images of other windows or files. What grows with a recording is its per-window result
// (classes floats per window) and its level meter (one double per 10 ms).
// Results come back in input order, each as soon as it and all files before it are done.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "apps/timeline.h"
#include "engine/train/checkpoint.h"
#include "features/audio.h"
#include "features/logmel.h"

namespace ser::app {

// Clip lengths assumed for a model file written before it recorded its own (train::ClipLengths):
// RAVDESS speech clips, the longest corpus of the four, run 3 to 5 s.
inline constexpr double kDefaultClipSeconds = 3.0;
inline constexpr double kDefaultLongestClipSeconds = 5.0;
inline constexpr double kDefaultMinLevelDb = 35.0;
inline constexpr int kDefaultPredictBatch = 16;
inline constexpr double kLevelBlockSeconds = 0.01;

// Inputs the model cannot say anything sensible about, though they decode (one-image files).
inline constexpr double kShortestSensibleSeconds = 0.5;
inline constexpr double kLongestSensibleSeconds = 20.0;
inline constexpr int kLowestSensibleRate = 4000;  // Hz: no speech band left below this

// How files become images: Auto = one image up to the model's clip length, a timeline
// beyond; Windows = every file a timeline (one shorter than a window fails); Whole = every
// file one image (as `ser eval` and training do).
enum class Framing { Auto, Windows, Whole };

struct PredictOptions {
  double window_seconds = 0;  // 0: the model's clip median (kDefaultClipSeconds without one)
  double hop_seconds = 0;     // 0: window / 3
  Framing framing = Framing::Auto;
  double min_level_db = kDefaultMinLevelDb;
  int batch = kDefaultPredictBatch;  // images per forward pass
  int threads = 0;                   // feature threads, 0 = all cores
  bool progress = false;             // progress bar on stderr, counting seconds of audio
  // Called with the bar's counts each time they grow, with or without the bar: whole seconds
  // of audio read so far, and in all inputs (their headers' lengths; one that does not open
  // counts nothing).
  std::function<void(int64_t seconds_done, int64_t seconds_total)> on_progress;
  // Polled between blocks of audio and between files: true stops the run early. The file in
  // progress ends with the windows read so far (a warning says where it stopped); files not
  // started are left out. Ctrl-C in `ser predict`.
  std::function<bool()> stop;
};

// The window, hop and one-image limit a model and the options give, in samples at the
// feature rate. Throws ser::Error for a hop longer than the window.
struct WindowSettings {
  int sample_rate = 16000;
  int64_t window = 0, hop = 0;
  double whole_up_to_seconds = 0;  // Framing::Auto: files up to this long are one image
  Framing framing = Framing::Auto;
  double min_level_db = kDefaultMinLevelDb;
};
WindowSettings window_settings(const train::ModelInfo& info, const features::LogMelConfig& config,
                               const PredictOptions& options);

struct FilePrediction {
  std::filesystem::path file;
  std::string error;    // non-empty: the file failed (the reason, without the path)
  std::string warning;  // a file unlike any training clip (too short or long for one image, a narrow band), or no sound
  double seconds = 0;   // decoded length
  bool whole = true;    // one image of the whole file; false: a timeline of windows
  std::vector<TimelineWindow> windows;  // (W) in samples at sample_rate; one covering all for `whole`
  std::vector<bool> silent;             // (W)
  std::vector<float> probabilities;     // (W, classes) of each window's own image
  std::vector<Segment> segments;        // over stretch_probabilities() (apps/timeline.h)
  int label = -1;                         // argmax of mean_probabilities; -1 when every window is silent
  std::vector<float> mean_probabilities;  // (classes) over the voiced windows; empty when none
  int sample_rate = 16000;
  bool ok() const { return error.empty(); }
};

// A recording in memory (the Python package): mono float32 samples at their own rate, as
// features::decode_mono returns a file's. Predictor scores it exactly as a file holding these
// samples: resampled to the feature rate by features::resample (which AudioStream matches
// bit for bit), then one image or a timeline by the same rules.
struct AudioSignal {
  std::string name;            // the result's `file`
  std::vector<float> samples;  // (N,) mono
  int sample_rate = 0;         // Hz
};

// Runs files through features and the network in batches (see above).
class Predictor {
 public:
  Predictor(train::LoadedModel& model, const PredictOptions& options);
  ~Predictor();
  Predictor(const Predictor&) = delete;
  Predictor& operator=(const Predictor&) = delete;

  const WindowSettings& settings() const;
  // Calls done(result) once per file, in input order. A file that fails is a result with
  // its error; exceptions escape only for failures of the model or the machine.
  void run(const std::vector<std::filesystem::path>& files, const std::function<void(FilePrediction&)>& done);
  // The same over signals in memory. One that is empty, holds a NaN/Inf sample or gives a
  // rate <= 0 is a result with its error, as a file that does not decode.
  void run(const std::vector<AudioSignal>& signals, const std::function<void(FilePrediction&)>& done);

 private:
  struct Impl;
  void run_inputs(const std::function<void(FilePrediction&)>& done);  // over impl_'s files or signals
  std::unique_ptr<Impl> impl_;
};

// train::load_model for a --model option: a file that is not a model says what --model
// expects.
train::LoadedModel load_model_option(const std::filesystem::path& model_file, Device device = Device::CPU);

// The front-end parameters a model was trained with (stored as JSON in the model file);
// throws ser::Error "model: malformed feature parameters (...)" if they do not parse.
features::LogMelConfig model_feature_config(const train::ModelInfo& info);

// One-image prediction of each file, in input order (ser demo's unseen speaker).
struct Prediction {
  std::filesystem::path file;
  bool ok = false;
  std::string error;                 // when !ok
  int label = -1;
  std::vector<float> probabilities;  // (classes)
  std::string warning;
};
std::vector<Prediction> predict_files(train::LoadedModel& loaded, const std::vector<std::filesystem::path>& files);

}  // namespace ser::app
