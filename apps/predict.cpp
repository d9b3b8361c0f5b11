// Predictor: files (or signals in memory) -> jobs (a whole clip to decode, or one window's
// samples) -> batches of at most `batch` jobs -> images on the feature threads (one
// LogMelExtractor each) -> normalise -> one eval forward per batch -> probabilities back to
// their files -> files finished in input order -> silence gate, segments -> the caller.
// Layouts: batch images (B, 1, H, W) float32, row j = job j until compaction; logits and
// probabilities (count, classes); a file's probabilities (W, classes).
#include "apps/predict.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <deque>
#include <thread>

#include "apps/model_info.h"
#include "engine/core/error.h"
#include "engine/core/progress.h"
#include "engine/cpu/softmax_cross_entropy.h"
#include "engine/nn/model.h"
#include "engine/train/dataset.h"
#include "engine/train/trainer.h"

namespace ser::app {
namespace fs = std::filesystem;

namespace {

// Why a decodable one-image file of `seconds` is unlike any training clip, or "" (see
// predict.h). The sample rate is bandwidth_warning's, and an image without signal is
// silent (Job::no_signal), both said for every file.
std::string input_warning(double seconds) {
  if (seconds < kShortestSensibleSeconds)
    return fmt::format("only {:.3f} s long: stretched over the whole image, shorter than any training utterance",
                       seconds);
  if (seconds > kLongestSensibleSeconds)
    return fmt::format("{:.0f} s long: squeezed into one image; leave out --whole to get a timeline", seconds);
  return "";
}

// What a file's sample rate leaves of the band the features cover (0 .. feature_rate / 2),
// or "": said once per file, whether it is one image or a timeline.
std::string bandwidth_warning(int file_rate, int feature_rate) {
  if (file_rate < kLowestSensibleRate)
    return fmt::format("recorded at {} Hz: too little bandwidth for speech, the prediction means little", file_rate);
  if (file_rate < feature_rate)
    return fmt::format("recorded at {} Hz: nothing above {} Hz, where the model's features reach {} Hz (phone "
                       "audio?); expect lower accuracy",
                       file_rate, file_rate / 2, feature_rate / 2);
  return "";
}

void add_warning(std::string& to, const std::string& more) {
  if (more.empty()) return;
  to += (to.empty() ? "" : "; ") + more;
}

// The message of a per-file failure without its source location and without the file name
// the audio reader put in front (the caller prints the name).
std::string failure_reason(const std::exception& e, const fs::path& file) {
  std::string why = user_message(e);
  const std::string prefix = file.string() + ": ";
  if (why.compare(0, prefix.size(), prefix) == 0) why.erase(0, prefix.size());
  return why;
}

// Runs fn(worker, i) for i in [0, n) on `threads` threads (the caller is worker 0), one
// index at a time: a clip to decode and a window to transform take very different times.
template <typename Fn>
void for_each_on_threads(std::size_t n, int threads, Fn&& fn) {
  std::atomic<std::size_t> next{0};
  auto worker = [&](int w) {
    for (std::size_t i = next++; i < n; i = next++) fn(w, i);
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads && static_cast<std::size_t>(t) < n; ++t) pool.emplace_back(worker, t);
  worker(0);
  for (auto& th : pool) th.join();
}

int thread_count(int asked) {
  const int n = asked > 0 ? asked : static_cast<int>(std::thread::hardware_concurrency());
  return std::max(1, n);
}

// Throws, as decode_mono does for a file, for a signal that is no audio.
void check_signal(const AudioSignal& signal) {
  SER_CHECK(signal.sample_rate > 0, "sample rate must be positive, got {} Hz", signal.sample_rate);
  SER_CHECK(!signal.samples.empty(), "holds no audio samples");
  for (std::size_t i = 0; i < signal.samples.size(); ++i)
    SER_CHECK(std::isfinite(signal.samples[i]), "sample {} is {} (NaN/Inf samples are not audio)", i,
              signal.samples[i]);
}

// A timeline's samples at the feature rate, in blocks, as features::AudioStream gives a file's.
class SampleSource {
 public:
  virtual ~SampleSource() = default;
  virtual bool read(std::vector<float>& out) = 0;  // AudioStream::read
  virtual int64_t delivered() const = 0;
};

class FileSource : public SampleSource {
 public:
  FileSource(const fs::path& path, int rate) : stream_(path, rate) {}
  bool read(std::vector<float>& out) override { return stream_.read(out); }
  int64_t delivered() const override { return stream_.delivered(); }

 private:
  features::AudioStream stream_;
};

// A signal in memory, resampled whole (features::resample: AudioStream's samples bit for
// bit), handed out in blocks so that a stop request is polled as for a file.
class SignalSource : public SampleSource {
 public:
  static constexpr std::size_t kBlock = 1 << 16;
  SignalSource(const AudioSignal& signal, int rate)
      : samples_(features::resample(signal.samples, signal.sample_rate, rate)) {}
  bool read(std::vector<float>& out) override {
    if (next_ == samples_.size()) return false;
    const std::size_t n = std::min(kBlock, samples_.size() - next_);
    out.insert(out.end(), samples_.begin() + static_cast<std::ptrdiff_t>(next_),
               samples_.begin() + static_cast<std::ptrdiff_t>(next_ + n));
    next_ += n;
    return true;
  }
  int64_t delivered() const override { return static_cast<int64_t>(next_); }

 private:
  std::vector<float> samples_;  // (N',) at the feature rate
  std::size_t next_ = 0;
};

}  // namespace

WindowSettings window_settings(const train::ModelInfo& info, const features::LogMelConfig& config,
                               const PredictOptions& options) {
  const train::ClipLengths& clips = info.clip_seconds;
  const bool recorded = clips.files > 0;
  const double window = options.window_seconds > 0 ? options.window_seconds
                        : recorded                 ? clips.median
                                                   : kDefaultClipSeconds;
  const double hop = options.hop_seconds > 0 ? options.hop_seconds : window / 3;
  SER_CHECK(hop <= window, "--hop {:g} s is longer than the window of {:g} s: the windows would skip audio between them",
            hop, window);
  WindowSettings ws;
  ws.sample_rate = config.sample_rate;
  ws.window = std::max<int64_t>(1, std::llround(window * config.sample_rate));
  ws.hop = std::max<int64_t>(1, std::llround(hop * config.sample_rate));
  ws.whole_up_to_seconds = recorded ? clips.p95 : kDefaultLongestClipSeconds;
  ws.framing = options.framing;
  ws.min_level_db = options.min_level_db;
  return ws;
}

// ---------------------------------------------------------------------------- Predictor

struct Predictor::Impl {
  // A file between its start and its return to the caller.
  struct OpenFile {
    FilePrediction result;
    features::AudioHeader header;
    int64_t enqueued = 0, scored = 0;  // windows sent to the batch, and with probabilities back
    bool complete = false;             // every window enqueued (or the file failed)
    std::unique_ptr<LevelMeter> meter;  // timelines
    bool no_signal = false;  // a one-image file whose image is constant: silent, as a timeline's silent window
  };
  // One image to make: a whole clip (decoded by the worker) or one window's samples.
  struct Job {
    std::size_t file = 0;  // index into the run's files
    int64_t window = 0;
    bool whole = false;
    std::vector<float> samples;  // (window,) for a window job
    bool ok = false;
    std::string error;
    double seconds = 0;  // whole: decoded length
    std::string warning;
    bool no_signal = false;  // whole: the image is constant (silence, or a constant signal)
  };

  train::LoadedModel& model;
  features::LogMelConfig config;
  WindowSettings ws;
  PredictOptions options;
  int classes = 0;
  int threads = 1;
  int64_t hw = 0;
  std::vector<std::unique_ptr<features::LogMelExtractor>> extractors;  // one per worker, made on first use
  Tensor batch_images;  // (B, 1, H, W)
  std::vector<float> probs;  // (count, classes)

  // During run(): its inputs, files or signals (the other null).
  const std::vector<fs::path>* files = nullptr;
  const std::vector<AudioSignal>* signals = nullptr;
  std::deque<OpenFile> open;                     // files not yet returned, oldest first
  std::size_t first_open = 0;                    // run index of open.front()
  std::vector<Job> jobs;
  ProgressBar* bar = nullptr;                    // during run(), with options.progress: seconds of audio
  double read_seconds = 0;                       // audio read so far (the bar shows whole seconds)
  int64_t ticked = 0;
  int64_t total_seconds = 0;                     // the inputs' whole seconds (options.on_progress)

  bool stopping() const { return options.stop && options.stop(); }

  void advance(double seconds) {
    read_seconds += seconds;
    const auto whole = static_cast<int64_t>(read_seconds);
    if (whole <= ticked) return;
    if (bar) bar->tick(whole - ticked);
    ticked = whole;
    if (options.on_progress) options.on_progress(ticked, total_seconds);
  }

  Impl(train::LoadedModel& m, const PredictOptions& o)
      : model(m), config(model_feature_config(m.info)), ws(window_settings(m.info, config, o)), options(o) {
    SER_CHECK(o.batch >= 1, "prediction batch must be at least 1, got {}", o.batch);
    classes = static_cast<int>(m.info.class_names.size());
    threads = thread_count(o.threads);
    extractors.resize(static_cast<std::size_t>(threads));
    hw = static_cast<int64_t>(config.image_height) * config.image_width;
    batch_images = Tensor(Shape{o.batch, 1, config.image_height, config.image_width});
    const nn::Architecture& arch = m.model->architecture();
    SER_CHECK(arch.height == config.image_height && arch.width == config.network_width() && arch.in_channels == 1,
              "model: its network takes {}x{}x{} images, its feature parameters make 1x{}x{}", arch.in_channels,
              arch.height, arch.width, config.image_height, config.network_width());
  }

  OpenFile& state(std::size_t file) { return open[file - first_open]; }

  // Input i of the run: its name, header, whole signal at the feature rate, or stream.
  std::size_t input_count() const { return files ? files->size() : signals->size(); }
  fs::path input_name(std::size_t i) const { return files ? (*files)[i] : fs::path((*signals)[i].name); }
  features::AudioHeader input_header(std::size_t i) const {
    if (files) return features::read_audio_header((*files)[i]);
    const AudioSignal& s = (*signals)[i];
    check_signal(s);
    return {s.sample_rate, 1, static_cast<int64_t>(s.samples.size())};
  }
  std::vector<float> input_samples(std::size_t i) const {
    if (files) return features::load_audio((*files)[i], ws.sample_rate);
    return features::resample((*signals)[i].samples, (*signals)[i].sample_rate, ws.sample_rate);
  }
  std::unique_ptr<SampleSource> input_stream(std::size_t i) const {
    if (files) return std::make_unique<FileSource>((*files)[i], ws.sample_rate);
    return std::make_unique<SignalSource>((*signals)[i], ws.sample_rate);
  }

  features::LogMelExtractor& extractor(int worker) {
    auto& e = extractors[static_cast<std::size_t>(worker)];
    if (!e) e = std::make_unique<features::LogMelExtractor>(config);
    return *e;
  }

  void fail(OpenFile& f, std::string why) {
    f.result.error = std::move(why);
    f.complete = true;
  }

  void enqueue(Job job) {
    jobs.push_back(std::move(job));
    if (jobs.size() == static_cast<std::size_t>(options.batch)) flush();
  }

  // A one-image file: the worker decodes it.
  void start_whole(std::size_t i) {
    OpenFile& f = state(i);
    f.result.whole = true;
    f.enqueued = 1;
    f.complete = true;
    Job job;
    job.file = i;
    job.whole = true;
    enqueue(std::move(job));
  }

  // window k of file i: samples [start, start + window) out of buf, which holds the
  // stream's samples from buf_start on.
  void enqueue_window(std::size_t i, int64_t k, int64_t start, const std::vector<float>& buf, int64_t buf_start) {
    OpenFile& f = state(i);
    Job job;
    job.file = i;
    job.window = k;
    const auto from = buf.begin() + (start - buf_start);
    job.samples.assign(from, from + ws.window);
    f.enqueued = k + 1;
    f.result.probabilities.resize(static_cast<std::size_t>(f.enqueued) * classes);
    enqueue(std::move(job));
  }

  // A timeline: the stream's windows go to the batch as their samples arrive; the buffer
  // keeps the samples from the next window's start on (and at least the last `window`,
  // for the window that ends at the end).
  void start_timeline(std::size_t i) {
    OpenFile& f = state(i);
    f.result.whole = false;
    f.meter = std::make_unique<LevelMeter>(std::max<int64_t>(1, std::llround(kLevelBlockSeconds * ws.sample_rate)));
    const std::unique_ptr<SampleSource> stream = input_stream(i);
    std::vector<float> buf;  // (samples from buf_start on)
    int64_t buf_start = 0, k = 0;
    bool interrupted = false;
    for (;;) {
      if (stopping()) {
        interrupted = true;
        break;
      }
      const std::size_t before = buf.size();
      if (!stream->read(buf)) break;
      f.meter->add(buf.data() + before, static_cast<int64_t>(buf.size() - before));
      advance(static_cast<double>(buf.size() - before) / ws.sample_rate);
      const int64_t have = buf_start + static_cast<int64_t>(buf.size());
      for (; k * ws.hop + ws.window <= have; ++k) {
        enqueue_window(i, k, k * ws.hop, buf, buf_start);
        if (!state(i).result.error.empty()) return;
      }
      const int64_t keep_from = std::max(buf_start, std::min(k * ws.hop, have - ws.window));
      buf.erase(buf.begin(), buf.begin() + (keep_from - buf_start));
      buf_start = keep_from;
    }
    if (interrupted) {  // the windows enqueued so far are the timeline
      if (k == 0) {
        fail(f, "interrupted before its first window was read");
        return;
      }
      const int64_t covered = (k - 1) * ws.hop + ws.window;
      f.result.seconds = static_cast<double>(covered) / ws.sample_rate;
      f.result.windows = plan_windows(covered, ws.window, ws.hop);
      SER_CHECK(static_cast<int64_t>(f.result.windows.size()) == k, "timeline: {} windows planned, {} read",
                f.result.windows.size(), k);
      add_warning(f.result.warning, fmt::format("interrupted: the timeline covers the first {:.2f} s only",
                                                f.result.seconds));
      state(i).complete = true;
      return;
    }
    const int64_t n = stream->delivered();
    f.result.seconds = static_cast<double>(n) / ws.sample_rate;
    if (n < ws.window) {
      fail(f, fmt::format("{:.2f} s long, shorter than one window of {:.2f} s{}", f.result.seconds,
                          static_cast<double>(ws.window) / ws.sample_rate,
                          ws.framing == Framing::Windows ? " (leave out --window to score it as one clip)" : ""));
      return;
    }
    f.result.windows = plan_windows(n, ws.window, ws.hop);
    const auto planned = static_cast<int64_t>(f.result.windows.size());
    SER_CHECK(planned == k || planned == k + 1, "timeline: {} windows planned, {} cut", planned, k);
    if (planned == k + 1) enqueue_window(i, k, n - ws.window, buf, buf_start);
    state(i).complete = true;
  }

  void start_file(std::size_t i) {
    OpenFile& f = state(i);
    try {
      f.header = input_header(i);
      f.result.warning = bandwidth_warning(f.header.sample_rate, ws.sample_rate);
      const double declared = f.header.seconds();
      if (ws.framing == Framing::Windows && declared * ws.sample_rate < static_cast<double>(ws.window)) {
        fail(f, fmt::format("{:.2f} s long, shorter than one --window of {:.2f} s (leave out --window to score it "
                            "as one clip)",
                            declared, static_cast<double>(ws.window) / ws.sample_rate));
        return;
      }
      const bool whole =
          ws.framing == Framing::Whole || (ws.framing == Framing::Auto && declared <= ws.whole_up_to_seconds);
      if (whole) {
        start_whole(i);
        advance(declared);
      } else {
        start_timeline(i);
      }
    } catch (const std::exception& e) {
      fail(state(i), failure_reason(e, input_name(i)));
    }
  }

  // Job j's image into row `row` of the batch (worker `worker`).
  void make_image(int worker, Job& job, std::size_t row) {
    const fs::path path = input_name(job.file);
    try {
      float* out = batch_images.data() + static_cast<int64_t>(row) * hw;
      if (job.whole) {
        const std::vector<float> y = input_samples(job.file);
        job.seconds = static_cast<double>(y.size()) / ws.sample_rate;
        const Tensor image = extractor(worker).image(y);
        std::memcpy(out, image.data(), static_cast<std::size_t>(hw) * sizeof(float));
        job.no_signal = std::all_of(out, out + hw, [&](float v) { return v == out[0]; });
        if (!job.no_signal) job.warning = input_warning(job.seconds);  // a silent file gets finish()'s line
      } else {
        const Tensor image = extractor(worker).image(job.samples);
        std::memcpy(out, image.data(), static_cast<std::size_t>(hw) * sizeof(float));
      }
      job.ok = true;
    } catch (const std::exception& e) {
      job.error = failure_reason(e, path);
    }
    job.samples = {};
  }

  // Images of every job, one forward pass over those that have one, results to their files.
  void flush() {
    if (jobs.empty()) return;
    for_each_on_threads(jobs.size(), threads, [&](int worker, std::size_t j) {
      if (open[jobs[j].file - first_open].result.error.empty()) make_image(worker, jobs[j], j);
    });
    std::vector<std::size_t> rows;  // jobs with an image, in row order after compaction
    for (std::size_t j = 0; j < jobs.size(); ++j) {
      Job& job = jobs[j];
      OpenFile& f = state(job.file);
      if (!f.result.error.empty()) continue;
      if (!job.ok) {
        fail(f, job.error);
        continue;
      }
      if (rows.size() != j)
        std::memcpy(batch_images.data() + static_cast<int64_t>(rows.size()) * hw,
                    batch_images.data() + static_cast<int64_t>(j) * hw, static_cast<std::size_t>(hw) * sizeof(float));
      rows.push_back(j);
    }
    if (!rows.empty()) forward(rows);
    jobs.clear();
  }

  void forward(const std::vector<std::size_t>& rows) {
    const int count = static_cast<int>(rows.size());
    Tensor x = batch_images.slice(0, Shape{count, 1, config.image_height, config.image_width});
    train::normalize_in_place(x, model.info.normalization);
    const std::vector<float> logits = train::forward_windowed(*model.model, x);  // (count, classes)
    probs.resize(static_cast<std::size_t>(count) * classes);
    cpu::softmax(probs.data(), logits.data(), count, classes);
    for (int r = 0; r < count; ++r) {
      Job& job = jobs[rows[static_cast<std::size_t>(r)]];
      OpenFile& f = state(job.file);
      const float* p = probs.data() + static_cast<std::size_t>(r) * classes;
      if (job.whole) {
        const auto n = static_cast<int64_t>(std::llround(job.seconds * ws.sample_rate));
        f.result.seconds = job.seconds;
        add_warning(f.result.warning, job.warning);
        f.no_signal = job.no_signal;
        f.result.windows = {TimelineWindow{0, n, 0, n}};
        f.result.probabilities.assign(p, p + classes);
      } else {
        std::copy(p, p + classes, f.result.probabilities.begin() + job.window * classes);
      }
      ++f.scored;
    }
  }

  // The silence gate, segments and file summary of a file whose windows are all scored.
  void finish(OpenFile& f) {
    FilePrediction& r = f.result;
    r.sample_rate = ws.sample_rate;
    if (!r.ok()) {
      r.windows.clear();
      r.probabilities.clear();
      return;
    }
    // One rule for silence: a one-image file without signal is silent, as a timeline window is.
    r.silent = r.whole ? std::vector<bool>(1, f.no_signal) : silent_windows(r.windows, *f.meter, ws.min_level_db);
    r.segments = merge_segments(r.windows, r.silent, stretch_probabilities(r.windows, r.silent, r.probabilities, classes),
                                classes, ws.sample_rate);
    std::vector<double> sum(static_cast<std::size_t>(classes), 0.0);
    int voiced = 0;
    for (std::size_t k = 0; k < r.windows.size(); ++k) {
      if (r.silent[k]) continue;
      ++voiced;
      for (int c = 0; c < classes; ++c) sum[static_cast<std::size_t>(c)] += r.probabilities[k * classes + c];
    }
    if (voiced == 0) {
      r.warning = "no signal (silent throughout): nothing to label";  // the rest would not matter
      return;
    }
    for (double s : sum) r.mean_probabilities.push_back(static_cast<float>(s / voiced));
    r.label = argmax(r.mean_probabilities.data(), classes);
  }

  // Returns, in order, every file at the front whose results are all in.
  void emit_ready(const std::function<void(FilePrediction&)>& done) {
    while (!open.empty() && open.front().complete &&
           (!open.front().result.error.empty() || open.front().scored == open.front().enqueued)) {
      finish(open.front());
      done(open.front().result);
      open.pop_front();
      ++first_open;
    }
  }
};

Predictor::Predictor(train::LoadedModel& model, const PredictOptions& options)
    : impl_(std::make_unique<Impl>(model, options)) {}

Predictor::~Predictor() = default;

const WindowSettings& Predictor::settings() const { return impl_->ws; }

void Predictor::run(const std::vector<fs::path>& files, const std::function<void(FilePrediction&)>& done) {
  impl_->files = &files;
  impl_->signals = nullptr;
  run_inputs(done);
}

void Predictor::run(const std::vector<AudioSignal>& signals, const std::function<void(FilePrediction&)>& done) {
  impl_->files = nullptr;
  impl_->signals = &signals;
  run_inputs(done);
}

void Predictor::run_inputs(const std::function<void(FilePrediction&)>& done) {
  Impl& s = *impl_;
  const std::size_t n = s.input_count();
  s.open.clear();
  s.jobs.clear();
  s.first_open = 0;
  s.read_seconds = 0;
  s.ticked = 0;
  s.total_seconds = 0;
  std::unique_ptr<ProgressBar> bar;
  if (s.options.progress || s.options.on_progress) {  // counts seconds of audio, so that one long recording moves too
    double total = 0;
    for (std::size_t i = 0; i < n; ++i) {
      try {
        total += s.input_header(i).seconds();
      } catch (const std::exception&) {
        // a file that does not open counts nothing; its error comes with its result
      }
    }
    s.total_seconds = static_cast<int64_t>(total);
  }
  if (s.options.progress) bar = std::make_unique<ProgressBar>(s.total_seconds, "predict (seconds of audio)");
  s.bar = bar.get();
  for (std::size_t i = 0; i < n && !s.stopping(); ++i) {
    s.open.emplace_back();
    s.open.back().result.file = s.input_name(i);
    s.start_file(i);
    s.emit_ready(done);
  }
  s.flush();
  s.emit_ready(done);
  SER_CHECK(s.open.empty(), "predict: {} files left without a result", s.open.size());
  if (bar) bar->finish();
  s.bar = nullptr;
  s.files = nullptr;
  s.signals = nullptr;
}

// ------------------------------------------------------------------------- model file

train::LoadedModel load_model_option(const fs::path& model_file, Device device) {
  const fs::path file = model_file_from_option(model_file);  // a run folder: its model.safetensors
  try {
    return train::load_model(file, device);
  } catch (const Error& e) {
    throw Error(e.message() + " (--model takes a run folder of `ser train` or the model.safetensors it writes there)");
  }
}

features::LogMelConfig model_feature_config(const train::ModelInfo& info) {
  try {
    return features::LogMelConfig::from_json(nlohmann::json::parse(info.feature_config_json));
  } catch (const nlohmann::json::exception& e) {
    SER_FAIL("model: malformed feature parameters ({})", e.what());
  }
}

std::vector<Prediction> predict_files(train::LoadedModel& loaded, const std::vector<fs::path>& files) {
  PredictOptions options;
  options.framing = Framing::Whole;
  std::vector<Prediction> out;
  Predictor(loaded, options).run(files, [&](FilePrediction& r) {
    Prediction p;
    p.file = r.file;
    p.ok = r.ok();
    p.error = r.error;
    p.warning = r.warning;
    p.label = r.label;
    p.probabilities = r.mean_probabilities;
    out.push_back(std::move(p));
  });
  return out;
}

}  // namespace ser::app
