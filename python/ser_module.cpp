// ser._ser: the Python bindings of the C++ core (python/ser/__init__.py is the public API over
// them). Nothing is computed here but the conversion of a NumPy array to the core's signal:
// an array (N,) or (frames, channels) of float32, float64 or int16, any strides, becomes mono
// float32 (N,) as libsndfile and features::decode_mono make a file of those samples (int16:
// code / 32768; float64: rounded to float32; channels averaged by features::append_mono).
// Predictions go back as the JSON text of apps/prediction_json.h (every digit, the Python side
// parses it), arrays as NumPy arrays that own their buffers: load_audio (N,) float32, logmel
// (H, W) float32 (mel bands low to high, time columns), as `ser features` writes a row.
//
// For porting and ONNX export (python/ser/onnx_export.py), read-only: a Model's architecture
// JSON, its normalisation, copies of its named tensors (engine/nn/network.h names and shapes)
// and forward_images, the engine's eval-mode forward pass of (N, C, H, W) float32 images in dB
// before normalisation, at the network's height and width, to softmax probabilities (N, classes).
//
// train runs `ser train ARGS...` in this process (apps/train_command.h parses the arguments
// python/ser/__init__.py makes of its keyword arguments, apps/train_run.h runs them), with
// the GIL taken only to call the progress callback after each epoch and to let Python see
// its signals: Ctrl-C (KeyboardInterrupt, from the callback too) stops the run as it stops
// `ser train`, at the next phase before training or after the epoch's checkpoint.
// blas_core_name says which OpenBLAS kernels this process runs (engine/cpu/blas_setup.h: the
// command line may re-execute itself with faster ones; a Python process cannot).
//
// Every call lets go of the GIL while the core works; one Model predicts one call at a time
// (its network keeps each forward's activations), so a second thread waits for the first.
// Errors: ser::Error -> ValueError with the CLI's message; a path that does not exist ->
// FileNotFoundError (ser::PathNotFound: with the CLI's message); an interrupted run ->
// KeyboardInterrupt with the CLI's line; an array of another dtype -> TypeError; of another
// shape, empty, or holding NaN/Inf, a sample rate <= 0 -> ValueError.
#include <nanobind/nanobind.h>
#include <nlohmann/json.hpp>
#include <nanobind/ndarray.h>
#include <nanobind/stl/map.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cmath>
#include <cstring>
#include <iostream>
#include <filesystem>
#include <limits>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "apps/adapt.h"
#include "apps/cli_values.h"
#include "apps/model_info.h"
#include "apps/predict.h"
#include "apps/predict_inputs.h"
#include "apps/prediction_json.h"
#include "apps/train_command.h"
#include "apps/train_run.h"
#include "engine/core/error.h"
#include "engine/core/path_not_found.h"
#include "engine/cpu/blas_setup.h"
#include "engine/cpu/softmax_cross_entropy.h"
#include "engine/io/safetensors.h"
#include "engine/train/dataset.h"
#include "engine/train/trainer.h"
#include "features/audio.h"
#include "features/logmel.h"

namespace nb = nanobind;
namespace fs = std::filesystem;

namespace ser::python {
namespace {

// A path that does not exist: FileNotFoundError(ENOENT, strerror, path) in Python.
struct MissingPath {
  std::string path;
};

// Wrong kinds of argument, raised as such in Python.
struct TypeProblem {
  std::string message;
};
struct ValueProblem {
  std::string message;
};

void require_existing(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw MissingPath{path};
}

void require_rate(int sample_rate) {
  if (sample_rate <= 0 || sample_rate > features::kMaxSampleRate)
    throw ValueProblem{fmt::format("sample_rate must be between 1 and {} Hz, got {}", features::kMaxSampleRate,
                                   sample_rate)};
}

using AnyArray = nb::ndarray<nb::ro, nb::device::cpu>;

template <typename T>
float sample_value(T v) {
  if constexpr (std::is_same_v<T, int16_t>) {
    return static_cast<float>(v) * (1.0f / 32768.0f);  // libsndfile's PCM_16
  } else if constexpr (std::is_same_v<T, double>) {
    // Beyond float32's range is Inf (refused as such), not an undefined conversion.
    constexpr float inf = std::numeric_limits<float>::infinity();
    if (std::abs(v) > std::numeric_limits<float>::max()) return v > 0 ? inf : -inf;
    return static_cast<float>(v);
  } else {
    return v;
  }
}

// The array's frames (frames, channels), interleaved float32, read through its strides.
template <typename T>
std::vector<float> interleaved(const AnyArray& a, int64_t frames, int64_t channels) {
  const T* base = static_cast<const T*>(a.data());
  const int64_t frame_stride = a.stride(0);
  const int64_t channel_stride = a.ndim() == 2 ? a.stride(1) : 0;
  std::vector<float> out(static_cast<std::size_t>(frames * channels));  // (frames, channels)
  for (int64_t f = 0; f < frames; ++f)
    for (int64_t c = 0; c < channels; ++c)
      out[static_cast<std::size_t>(f * channels + c)] = sample_value(base[f * frame_stride + c * channel_stride]);
  return out;
}

// The mono float32 signal of an audio array (see the top of this file).
std::vector<float> mono_signal(const AnyArray& a) {
  if (a.ndim() != 1 && a.ndim() != 2)
    throw ValueProblem{
        fmt::format("audio must be a (N,) mono or (frames, channels) array, got {} dimensions", a.ndim())};
  const auto frames = static_cast<int64_t>(a.shape(0));
  const auto channels = a.ndim() == 2 ? static_cast<int64_t>(a.shape(1)) : int64_t(1);
  if (frames == 0 || channels == 0) throw ValueProblem{"audio is empty (no samples)"};
  if (a.ndim() == 2 && channels > frames)
    throw ValueProblem{fmt::format("audio of shape ({}, {}): (frames, channels) expected, with fewer channels than "
                                   "frames; pass audio.T for a (channels, frames) array",
                                   frames, channels)};
  std::vector<float> frame_data;
  if (a.dtype() == nb::dtype<float>())
    frame_data = interleaved<float>(a, frames, channels);
  else if (a.dtype() == nb::dtype<double>())
    frame_data = interleaved<double>(a, frames, channels);
  else if (a.dtype() == nb::dtype<int16_t>())
    frame_data = interleaved<int16_t>(a, frames, channels);
  else
    throw TypeProblem{"audio must be a float32, float64 or int16 array (int16 is read as code / 32768, as a PCM_16 "
                      "file is)"};
  std::vector<float> mono;
  mono.reserve(static_cast<std::size_t>(frames));
  features::append_mono(frame_data.data(), frames, static_cast<int>(channels), mono);
  for (std::size_t i = 0; i < mono.size(); ++i)
    if (!std::isfinite(mono[i]))
      throw ValueProblem{fmt::format("audio sample {} is {} (NaN/Inf samples are not audio)", i, mono[i])};
  return mono;
}

// A NumPy array owning `values`, of the given shape.
nb::ndarray<nb::numpy, float> to_numpy(std::vector<float> values, std::vector<size_t> shape) {
  auto* owned = new std::vector<float>(std::move(values));
  nb::capsule owner(owned, [](void* p) noexcept { delete static_cast<std::vector<float>*>(p); });
  return nb::ndarray<nb::numpy, float>(owned->data(), shape.size(), shape.data(), owner);
}

nb::ndarray<nb::numpy, float> load_audio(const std::string& path, int sample_rate) {
  require_existing(path);
  require_rate(sample_rate);
  std::vector<float> y;
  {
    nb::gil_scoped_release release;
    y = features::load_audio(path, sample_rate);
  }
  const std::size_t n = y.size();
  return to_numpy(std::move(y), {n});
}

// What a file's header declares (features::read_audio_header), without decoding it.
std::map<std::string, double> audio_info(const std::string& path) {
  require_existing(path);
  const features::AudioHeader h = features::read_audio_header(path);
  return {{"sample_rate", h.sample_rate}, {"channels", h.channels}, {"frames", static_cast<double>(h.frames)},
          {"seconds", h.seconds()}};
}

// Every field of a front-end config, those to_json() leaves out at their defaults included.
std::string full_json(const features::LogMelConfig& c) {
  nlohmann::json j = c.to_json();
  j["time_axis"] = c.time_axis;
  j["trim_top_db"] = c.trim_top_db;
  j["window_frames"] = c.window_frames;
  j["fill"] = c.fill;
  j["clip_norm"] = c.clip_norm;
  return j.dump();
}

std::string frontend_config(const std::string& name) { return full_json(features::LogMelConfig::named(name)); }

nb::ndarray<nb::numpy, float> logmel(const AnyArray& audio, int sample_rate, const std::string& config_json) {
  require_rate(sample_rate);
  std::vector<float> mono = mono_signal(audio);
  features::LogMelConfig config;
  try {
    config = features::LogMelConfig::from_json(nlohmann::json::parse(config_json));
  } catch (const nlohmann::json::exception& e) {
    throw ValueProblem{fmt::format("frontend: malformed feature parameters ({})", e.what())};
  }
  config.validate();
  std::vector<float> image;
  {
    nb::gil_scoped_release release;
    const std::vector<float> y = features::resample(mono, sample_rate, config.sample_rate);
    features::LogMelExtractor extractor(config);
    const Tensor t = extractor.image(y);
    image.assign(t.data(), t.data() + t.numel());
  }
  const auto height = static_cast<size_t>(config.image_height), width = static_cast<size_t>(config.image_width);
  return to_numpy(std::move(image), {height, width});
}

std::vector<std::string> collect_inputs(const std::vector<std::string>& paths) {
  std::istringstream none;
  std::vector<std::string> out;
  for (const fs::path& p : app::collect_inputs(paths, "", none)) out.push_back(p.string());
  return out;
}

// Predictor options from the keyword arguments, with the CLI's limits (apps/cmd_predict.cpp).
struct Options {
  double window = 0, hop = 0;
  bool whole = false;
  double min_level = app::kDefaultMinLevelDb;
  int batch = app::kDefaultPredictBatch;
  int threads = 0;

  app::PredictOptions predict_options() const {
    if (whole && (window > 0 || hop > 0))
      throw ValueProblem{"whole=True scores each file as one image: it cannot be combined with window or hop"};
    if (window != 0 && !(window > 0.05 && window < 3600))
      throw ValueProblem{fmt::format("window must be between 0.05 and 3600 seconds, got {:g}", window)};
    if (hop != 0 && !(hop > 0 && hop < 3600))
      throw ValueProblem{fmt::format("hop must be between 0 and 3600 seconds, got {:g}", hop)};
    if (!(min_level > 0 && min_level < 200))
      throw ValueProblem{fmt::format("min_level must be between 0 and 200 dB, got {:g}", min_level)};
    if (batch < 1 || batch > 4096) throw ValueProblem{fmt::format("batch must be between 1 and 4096, got {}", batch)};
    if (threads < 0 || threads > app::kMaxThreads)
      throw ValueProblem{fmt::format("threads must be between 0 and {}, got {}", app::kMaxThreads, threads)};
    app::PredictOptions o;
    o.window_seconds = window;
    o.hop_seconds = hop;
    o.framing = whole ? app::Framing::Whole : window > 0 ? app::Framing::Windows : app::Framing::Auto;
    o.min_level_db = min_level;
    o.batch = batch;
    o.threads = threads;
    return o;
  }
};

// A loaded model file (apps/model_info.h model_file_from_option: a file or a run folder).
class Model {
 public:
  explicit Model(const std::string& path) {
    require_existing(path);
    nb::gil_scoped_release release;
    file_ = app::model_file_from_option(path);
    loaded_ = app::load_model_option(file_);
    metadata_ = read_safetensors(file_).metadata;
  }

  std::string file() const { return file_.string(); }
  const std::vector<std::string>& classes() const { return loaded_.info.class_names; }
  // Every front-end parameter, defaults filled in for fields the file leaves out.
  std::string features_json() const { return full_json(app::model_feature_config(loaded_.info)); }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  std::string architecture_json() const { return loaded_.model->architecture().to_json(); }
  // The network sees (image - mean) / std (engine/train/dataset.h normalize_in_place).
  std::map<std::string, double> normalization() const {
    return {{"mean", loaded_.info.normalization.mean}, {"std", loaded_.info.normalization.std}};
  }

  // Copies of every named tensor, trainables then BN moving statistics, in the network's order
  // (no prediction writes them, so no lock: a long predict in another thread does not block this).
  std::vector<std::pair<std::string, nb::ndarray<nb::numpy, float>>> state() {
    std::vector<std::pair<std::string, nb::ndarray<nb::numpy, float>>> out;
    for (const auto& [name, tensor] : loaded_.model->named_state()) {
      std::vector<size_t> shape;
      for (int64_t d : tensor.shape().dims()) shape.push_back(static_cast<size_t>(d));
      out.emplace_back(name, to_numpy(tensor.to_vector(), shape));
    }
    return out;
  }

  // images (N, C, H, W) float32 dB before normalisation, any strides, C, H, W the network's
  // -> softmax probabilities (N, classes): normalize_in_place, then the eval-mode forward
  // (the logits forward_windowed averages for one window), kForwardBatch images at a time so
  // that memory stays bounded whatever N.
  nb::ndarray<nb::numpy, float> forward_images(const AnyArray& images) {
    const nn::Architecture& arch = loaded_.model->architecture();
    if (images.dtype() != nb::dtype<float>()) throw TypeProblem{"images must be a float32 array"};
    const std::vector<int64_t> want{arch.in_channels, arch.height, arch.width};
    bool shape_ok = images.ndim() == 4;
    for (std::size_t d = 0; shape_ok && d < 3; ++d) shape_ok = static_cast<int64_t>(images.shape(d + 1)) == want[d];
    if (!shape_ok) {
      std::string got;
      for (std::size_t d = 0; d < images.ndim(); ++d) got += (d ? ", " : "") + std::to_string(images.shape(d));
      throw ValueProblem{fmt::format("images must be (N, {}, {}, {}) float32 dB (windows of the network's width; "
                                     "ser.logmel's image is (H, W): add the axes), got ({})",
                                     arch.in_channels, arch.height, arch.width, got)};
    }
    const auto n = static_cast<int64_t>(images.shape(0));
    if (n == 0) throw ValueProblem{"images is empty (N = 0)"};
    const int64_t per = arch.in_channels * arch.height * arch.width;
    std::vector<float> x(static_cast<std::size_t>(n * per));  // (N, C, H, W), contiguous
    const float* base = static_cast<const float*>(images.data());
    std::size_t i = 0;
    for (int64_t a = 0; a < n; ++a)
      for (int64_t c = 0; c < arch.in_channels; ++c)
        for (int64_t h = 0; h < arch.height; ++h)
          for (int64_t w = 0; w < arch.width; ++w, ++i) {
            x[i] = base[a * images.stride(0) + c * images.stride(1) + h * images.stride(2) + w * images.stride(3)];
            if (!std::isfinite(x[i]))
              throw ValueProblem{fmt::format("images[{}, {}, {}, {}] is {} (NaN/Inf)", a, c, h, w, x[i])};
          }
    const int classes = arch.classes;
    std::vector<float> probs(static_cast<std::size_t>(n * classes));  // (N, classes)
    {
      nb::gil_scoped_release release;
      std::lock_guard<std::mutex> lock(busy_);
      for (int64_t begin = 0; begin < n; begin += kForwardBatch) {
        const int64_t count = std::min<int64_t>(kForwardBatch, n - begin);
        Tensor batch(Shape{count, arch.in_channels, arch.height, arch.width});
        std::copy(x.begin() + begin * per, x.begin() + (begin + count) * per, batch.data());
        train::normalize_in_place(batch, loaded_.info.normalization);
        const Tensor& logits = loaded_.model->forward(batch, nn::Mode::Eval);  // (count, classes)
        cpu::softmax(probs.data() + begin * classes, logits.data(), static_cast<int>(count), classes);
      }
    }
    return to_numpy(std::move(probs), {static_cast<size_t>(n), static_cast<size_t>(classes)});
  }

  // One result as JSON text for a signal in memory.
  std::string predict(const AnyArray& audio, int sample_rate, const Options& options) {
    require_rate(sample_rate);
    std::vector<app::AudioSignal> signals(1);
    signals[0].samples = mono_signal(audio);
    signals[0].sample_rate = sample_rate;
    const app::PredictOptions o = options.predict_options();
    nb::gil_scoped_release release;
    const std::vector<std::string> out = run(signals, o);
    return out.at(0);
  }

  // One result as JSON text per file, in order; a file that fails is {"file", "error"}.
  std::vector<std::string> predict_files(const std::vector<std::string>& paths, const Options& options) {
    const std::vector<fs::path> files(paths.begin(), paths.end());
    const app::PredictOptions o = options.predict_options();
    nb::gil_scoped_release release;
    return run(files, o);
  }

  // `ser adapt` on this model in place (apps/adapt.h): its batch-norm statistics re-estimated on
  // the files (labels unused; folders as collect_inputs walks them). Returns JSON text:
  // {"files", "windows", "shifts": {layer: shift}, "failures": [{"file", "error"}]}.
  // cache: a --cache value ("" the default folder, "none" no cache).
  std::string adapt(const std::vector<std::string>& paths, int threads, const std::string& cache) {
    const std::vector<fs::path> files = app::collect_inputs(paths, "", std::cin);
    nb::gil_scoped_release release;
    std::lock_guard<std::mutex> lock(busy_);
    app::FeatureOptions fopts;
    fopts.cache_dir = app::cache_dir_from_option(cache);
    fopts.threads = threads;
    const app::AdaptationResult r = app::adapt_batchnorm(loaded_, app::unlabelled_entries(files), fopts);
    loaded_.info = app::adapted_model_info(loaded_.info, paths, r, file_);
    nlohmann::json out = {{"files", r.files}, {"windows", r.windows}, {"shifts", nlohmann::json::object()},
                          {"failures", nlohmann::json::array()}};
    for (const auto& s : r.shifts) out["shifts"][s.layer] = s.shift;
    for (const auto& [path, why] : r.failures) out["failures"].push_back({{"file", path.string()}, {"error", why}});
    return out.dump();
  }

  // The model as it is now (adapted or not) written as a model file (train::save_model, atomic).
  void save(const std::string& path) {
    nb::gil_scoped_release release;
    std::lock_guard<std::mutex> lock(busy_);
    train::save_model(path, *loaded_.model, loaded_.info);
  }

 private:
  template <typename Inputs>
  std::vector<std::string> run(const Inputs& inputs, const app::PredictOptions& options) {
    std::lock_guard<std::mutex> lock(busy_);
    app::Predictor predictor(loaded_, options);
    std::vector<std::string> out;
    predictor.run(inputs, [&](app::FilePrediction& r) {
      out.push_back(app::prediction_json(r, loaded_.info.class_names, predictor.settings(), -1).dump());
    });
    return out;
  }

  fs::path file_;
  train::LoadedModel loaded_;
  std::map<std::string, std::string> metadata_;  // the file's safetensors metadata, as stored
  std::mutex busy_;
  // forward_images: images per forward pass (as the predictor: ~0.16 GB of activations with the shipped network)
  static constexpr int64_t kForwardBatch = 16;
};

// The progress callback's dict for the epoch just finished (state.history.back()).
nb::dict epoch_report(const train::TrainState& state, int epochs) {
  const train::EpochStats& e = state.history.back();
  nb::dict d;
  d["phase"] = "train";
  d["epoch"] = e.epoch;
  d["epochs"] = epochs;
  d["loss"] = e.train_loss;
  d["acc"] = e.train_accuracy;
  d["val_loss"] = e.val_loss;
  d["val_acc"] = e.val_accuracy;
  d["seconds"] = e.seconds;
  d["samples_per_second"] = e.samples_per_second;
  d["best_epoch"] = state.best_epoch;
  d["stopped_early"] = state.stopped_early;
  return d;
}

// The hooks of one ser.train call (apps/train_run.h TrainHooks), called with the GIL released:
// each takes it for its Python work only.
class TrainFollower {
 public:
  explicit TrainFollower(nb::object progress) : progress_(std::move(progress)) {}

  app::TrainHooks hooks() {
    app::TrainHooks h;
    h.epoch_done = [this](const train::TrainState& state, int epochs) { epoch_done(state, epochs); };
    h.pending_signal = [this] { return pending_signal(); };
    return h;
  }

 private:
  // The callback's exception ends the run (the epoch's checkpoint is written); a
  // KeyboardInterrupt is Ctrl-C's: the run then stops as it does, with the CLI's line.
  void epoch_done(const train::TrainState& state, int epochs) {
    nb::gil_scoped_acquire gil;
    if (progress_.is_none()) return;
    try {
      progress_(epoch_report(state, epochs));
    } catch (const nb::python_error& e) {
      if (!e.matches(PyExc_KeyboardInterrupt)) throw;
      interrupted_ = true;
    }
  }

  // Python's signal handlers, run now: SIGINT's KeyboardInterrupt is a stop request (the
  // run stops as `ser train` does), any other exception they raise ends the run as is.
  int pending_signal() {
    if (interrupted_) return SIGINT;
    nb::gil_scoped_acquire gil;
    if (PyErr_CheckSignals() == 0) return 0;
    if (!PyErr_ExceptionMatches(PyExc_KeyboardInterrupt)) throw nb::python_error();
    PyErr_Clear();
    interrupted_ = true;
    return SIGINT;
  }

  nb::object progress_;      // a callable taking the epoch's dict, or None
  bool interrupted_ = false;  // a KeyboardInterrupt was seen
};

// `ser train ARGS...` in this process, progress(dict) after each epoch -> the outcome:
// {"trained", "why", "evaluated_on", "accuracy", "macro_f1", "run", "model", "report"}.
nb::dict train_run(const std::vector<std::string>& args, nb::object progress) {
  TrainFollower follower(std::move(progress));
  const app::TrainHooks hooks = follower.hooks();
  app::TrainOutcome out;
  {
    nb::gil_scoped_release release;
    const app::TrainCommand command = app::parse_train_command(args);
    out = app::run_training(command.options, command.resume, hooks);
  }
  nb::dict d;
  d["trained"] = out.trained;
  d["why"] = out.why;
  d["evaluated_on"] = out.evaluated_on;
  d["accuracy"] = out.test_accuracy;
  d["macro_f1"] = out.macro_f1;
  d["run"] = out.model_path.parent_path().string();
  d["model"] = out.model_path.string();
  d["report"] = out.report_path.string();
  return d;
}

void translate_errors(const std::exception_ptr& p, void*) {
  try {
    std::rethrow_exception(p);
  } catch (const MissingPath& e) {
    nb::object error = nb::handle(PyExc_FileNotFoundError)(ENOENT, std::strerror(ENOENT), e.path);
    PyErr_SetObject(PyExc_FileNotFoundError, error.ptr());
  } catch (const TypeProblem& e) {
    PyErr_SetString(PyExc_TypeError, e.message.c_str());
  } catch (const ValueProblem& e) {
    PyErr_SetString(PyExc_ValueError, e.message.c_str());
  } catch (const PathNotFound& e) {
    nb::object error = nb::handle(PyExc_FileNotFoundError)(ENOENT, user_message(e), e.path());
    PyErr_SetObject(PyExc_FileNotFoundError, error.ptr());
  } catch (const app::TrainingInterrupted& e) {
    PyErr_SetString(PyExc_KeyboardInterrupt, e.message().c_str());
  } catch (const Error& e) {
    PyErr_SetString(PyExc_ValueError, user_message(e).c_str());
  }
}

}  // namespace
}  // namespace ser::python

NB_MODULE(_ser, m) {
  using namespace ser::python;
  m.doc() = "The C++ core of ser (python/ser is the API over it)";
  nb::register_exception_translator(translate_errors);

  nb::class_<Options>(m, "Options")
      .def(nb::init<>())
      .def_rw("window", &Options::window)
      .def_rw("hop", &Options::hop)
      .def_rw("whole", &Options::whole)
      .def_rw("min_level", &Options::min_level)
      .def_rw("batch", &Options::batch)
      .def_rw("threads", &Options::threads);

  nb::class_<Model>(m, "Model")
      .def(nb::init<const std::string&>(), nb::arg("path"))
      .def_prop_ro("file", &Model::file)
      .def_prop_ro("classes", &Model::classes)
      .def_prop_ro("features_json", &Model::features_json)
      .def_prop_ro("metadata", &Model::metadata)
      .def_prop_ro("architecture_json", &Model::architecture_json)
      .def_prop_ro("normalization", &Model::normalization)
      .def("state", &Model::state)
      .def("forward_images", &Model::forward_images, nb::arg("images"))
      .def("predict", &Model::predict, nb::arg("audio"), nb::arg("sample_rate"), nb::arg("options"))
      .def("predict_files", &Model::predict_files, nb::arg("paths"), nb::arg("options"))
      .def("adapt", &Model::adapt, nb::arg("paths"), nb::arg("threads"), nb::arg("cache"))
      .def("save", &Model::save, nb::arg("path"));

  m.def("load_audio", &load_audio, nb::arg("path"), nb::arg("sample_rate"));
  m.def("audio_info", &audio_info, nb::arg("path"));
  m.def("logmel", &logmel, nb::arg("audio"), nb::arg("sample_rate"), nb::arg("config_json"));
  m.def("frontend_config", &frontend_config, nb::arg("name"));
  m.def("collect_inputs", &collect_inputs, nb::arg("paths"));
  m.def("train", &train_run, nb::arg("args"), nb::arg("progress").none());
  m.def("blas_core_name", &ser::cpu::blas_core_name);  // OpenBLAS's kernels in this process (blas_setup.h)
  m.def("default_model_file", [] { return ser::app::default_model_file().string(); });
  m.attr("__version__") = SER_VERSION;
}
