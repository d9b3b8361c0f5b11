// `ser info MODEL` and the --model RUN_DIR lookup (see model_info.h). Everything beyond the
// model file is optional: a model copied out of its run folder is described by its own
// metadata alone, and a run folder's file that cannot be read is named in its line.
#include "apps/model_info.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cctype>
#include <fstream>
#include <map>
#include <optional>
#include <cstdlib>
#include <set>
#include <vector>

#include "apps/predict.h"
#include "data/demo_corpus.h"
#include "data/manifest.h"
#include "engine/core/error.h"
#include "engine/io/safetensors.h"

namespace ser::app {
namespace fs = std::filesystem;

namespace {

bool present(const fs::path& p) {
  std::error_code ec;
  return fs::exists(p, ec);
}

std::string line(const std::string& name, const std::string& value) {
  return fmt::format("{:<15}{}\n", name + ":", value);
}

std::string seconds(double s) { return fmt::format("{:.2f} s", s); }

// A JSON number or string as text; "?" for anything else.
std::string text_of(const nlohmann::json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_number() || j.is_boolean()) return j.dump();
  return "?";
}

// Parsed JSON of a file, or an explanation in `why`.
std::optional<nlohmann::json> read_json(const fs::path& file, std::string& why) {
  std::ifstream in(file);
  if (!in) {
    why = fmt::format("{}: cannot open", file.string());
    return std::nullopt;
  }
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    why = fmt::format("{}: unreadable ({})", file.string(), e.what());
    return std::nullopt;
  }
}

// The stored front end; a field absent from the stored JSON reads as its default, as when
// the model is used (no time_axis: resize, how every model file before the fixed axis reads).
std::string feature_line(const features::LogMelConfig& c) {
  std::string out = fmt::format("{} Hz, n_fft {}, hop {} ({:.1f} ms), {} mels ({:g}-{:g} Hz), images {}x{} (mels x frames)",
                                c.sample_rate, c.n_fft, c.hop_length, 1000.0 * c.hop_length / c.sample_rate, c.n_mels,
                                c.fmin, c.fmax, c.image_height, c.image_width);
  if (c.fixed_time())
    out += fmt::format("; time axis fixed (one column per hop; the network sees windows of {} columns, {:.2f} s)",
                       c.window_frames, static_cast<double>(c.window_frames) * c.hop_length / c.sample_rate);
  else
    out += "; time axis resize (the whole clip squeezed into the image's width)";
  if (c.trim_top_db > 0) out += fmt::format("; ends trimmed at {:g} dB", c.trim_top_db);
  if (c.highpass_hz > 0) out += fmt::format("; high-passed at {:g} Hz (4th-order Butterworth)", c.highpass_hz);
  return out;
}

std::string network_line(const nn::Architecture& a, int64_t parameters) {
  return fmt::format("{} conv blocks ({}; {}), head {}, dense {}, input {}x{}x{}, {} parameters",
                     a.conv_channels.size(), fmt::join(a.conv_channels, ", "), a.block, a.head,
                     a.dense_units.empty() ? std::string("none") : fmt::format("{}", fmt::join(a.dense_units, ", ")),
                     a.in_channels, a.height, a.width, parameters);
}

std::string recipe_line(const nlohmann::json& r) {
  if (!r.is_object()) return "not stored in run.json (a run of a version before recipes)";
  std::vector<std::string> parts;
  auto add = [&](const char* key, const char* label) {
    if (r.contains(key)) parts.push_back(fmt::format("{} {}", label, r.at(key).is_object() ? r.at(key).dump() : text_of(r.at(key))));
  };
  add("epochs", "epochs");
  add("batch", "batch");
  add("lr", "lr");
  add("lr_schedule", "schedule");
  add("weight_decay", "weight decay");
  add("sampling", "sampling");
  add("keep", "keep");
  add("label_smoothing", "label smoothing");
  parts.push_back(fmt::format("frontend {}", r.contains("frontend") ? text_of(r.at("frontend")) : "resize"));
  add("augment", "augment");
  if (r.contains("wave_copies"))
    parts.push_back(fmt::format("{} waveform-augmented copies ({})", text_of(r.at("wave_copies")),
                                r.contains("wave_augment") ? text_of(r.at("wave_augment")) : "?"));
  return fmt::format("{}: {}", r.contains("name") ? text_of(r.at("name")) : "?", fmt::join(parts, ", "));
}

std::string trained_on_line(const nlohmann::json& run) {
  std::vector<std::string> parts;
  auto add = [&](const char* key, const char* label) {
    if (run.contains(key) && !(run.at(key).is_string() && run.at(key).get<std::string>().empty()))
      parts.push_back(fmt::format("{} {}", label, text_of(run.at(key))));
  };
  add("corpus", "corpus");
  add("classes", "classes");
  add("protocol", "protocol");
  add("seed", "seed");
  add("val_speakers", "validation speakers");
  add("test_speakers", "test speakers");
  add("val_corpus", "validation corpora");
  add("test_corpus", "test corpora");
  std::vector<std::string> dirs;
  if (run.contains("data") && run.at("data").is_array())
    for (const auto& d : run.at("data")) dirs.push_back(text_of(d));
  return fmt::format("{} ({})", dirs.empty() ? std::string("?") : fmt::format("{}", fmt::join(dirs, ", ")),
                     fmt::join(parts, ", "));
}

// "accuracy 63.30 %, UAR 0.6300, macro F1 0.6200 on 400 files: TITLE"
std::string figures_of(const nlohmann::json& m) {
  auto number = [&](const char* key) { return m.contains(key) && m.at(key).is_number() ? m.at(key).get<double>() : -1.0; };
  std::string out = fmt::format("accuracy {:.2f} %", 100 * number("accuracy"));
  if (number("uar") >= 0) out += fmt::format(", UAR {:.4f}", number("uar"));
  if (number("macro_f1") >= 0) out += fmt::format(", macro F1 {:.4f}", number("macro_f1"));
  if (m.contains("total")) out += fmt::format(" on {} files", text_of(m.at("total")));
  if (m.contains("title") && m.at("title").is_string()) out += ": " + m.at("title").get<std::string>();
  return out;
}

// Lower-case words (runs of letters and digits) of `text`.
std::set<std::string> words_of(const std::string& text) {
  std::set<std::string> out;
  std::string word;
  for (char ch : text + " ") {
    if (std::isalnum(static_cast<unsigned char>(ch))) {
      word += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    } else if (!word.empty()) {
      out.insert(word);
      word.clear();
    }
  }
  return out;
}

bool is_demo_folder(const std::string& dir) { return present(fs::path(dir) / data::kDemoCorpusMarker); }

bool under(const fs::path& file, const std::string& dir) {
  const std::string f = file.lexically_normal().string(), d = fs::path(dir).lexically_normal().string();
  return f.size() > d.size() && f.compare(0, d.size(), d) == 0 && (d.back() == '/' || f[d.size()] == '/');
}

// The "adapted" line: what `ser adapt` / --adapt-bn re-estimated the batch-norm statistics on.
std::string adapted_line(const nlohmann::json& a) {
  if (!a.is_object()) return "batch-norm statistics adapted (no details stored)";
  std::vector<std::string> data;
  if (a.contains("data") && a.at("data").is_array())
    for (const auto& d : a.at("data")) data.push_back(text_of(d));
  std::string files = a.contains("files") ? text_of(a.at("files")) + " files, " : "";
  return fmt::format("batch-norm statistics re-estimated without labels on {}{} windows of {}; from {}", files,
                     a.contains("windows") ? text_of(a.at("windows")) : std::string("?"),
                     data.empty() ? std::string("(not stored)") : fmt::format("{}", fmt::join(data, ", ")),
                     a.contains("from") ? text_of(a.at("from")) : std::string("(not stored)"));
}

}  // namespace

fs::path model_file_from_option(const fs::path& option, const std::string& name) {
  std::error_code ec;
  SER_CHECK(!option.empty(), "{}: empty path", name);
  SER_CHECK(fs::exists(option, ec), "{} {}: no such file or folder", name, option.string());
  if (!fs::is_directory(option, ec)) return option;
  const fs::path model = option / "model.safetensors";
  if (present(model)) return model;
  SER_CHECK(!present(option / "checkpoint.safetensors"),
            "{} {}: no model.safetensors in this run folder yet: training has not finished (`ser train --resume {}` "
            "finishes it)", name, option.string(), option.string());
  SER_FAIL("{} {}: a folder without model.safetensors (it takes a model file, or the run folder `ser train` wrote "
           "one in)", name, option.string());
}

fs::path default_model_file() {
  if (const char* env = std::getenv("SER_MODEL"); env != nullptr && *env != '\0')
    return model_file_from_option(env, "$SER_MODEL");
  std::vector<fs::path> candidates;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) candidates.push_back(exe.parent_path().parent_path() / "share" / "ser" / "default.safetensors");
#ifdef SER_SOURCE_DEFAULT_MODEL
  candidates.emplace_back(SER_SOURCE_DEFAULT_MODEL);
#endif
  std::vector<std::string> looked;
  for (const fs::path& c : candidates) {
    if (fs::is_regular_file(c, ec)) return c;
    looked.push_back(c.string());
  }
  SER_FAIL("no --model given and no shipped default model found (looked for {}; $SER_MODEL names another): pass "
           "--model RUN_DIR of a `ser train` run, or make the default with scripts/train-default-model",
           looked.empty() ? std::string("nothing") : fmt::format("{}", fmt::join(looked, " and ")));
}

fs::path model_or_default(const std::string& option, bool given) {
  if (given) return option;
  const fs::path file = default_model_file();
  const char* env = std::getenv("SER_MODEL");
  fmt::print(stderr, "model: {} ({}; --model to choose another)\n", file.string(),
             env != nullptr && *env != '\0' ? "$SER_MODEL" : "the shipped default");
  return file;
}

std::string licence_note(const std::string& names, bool known) {
  if (!known)
    return "the model file does not say which corpora it was trained on: check their licences (weights trained on "
           "RAVDESS, CC BY-NC-SA 4.0, or TESS, CC BY-NC-ND 4.0, are for non-commercial use only)";
  const std::set<std::string> words = words_of(names);
  auto has = [&](std::initializer_list<const char*> any) {
    for (const char* w : any)
      if (words.count(w)) return true;
    return false;
  };
  std::vector<std::string> restricted, others;
  if (has({"ravdess"})) restricted.push_back("RAVDESS (CC BY-NC-SA 4.0)");
  if (has({"tess"})) restricted.push_back("TESS (CC BY-NC-ND 4.0)");
  if (has({"savee"})) others.push_back("SAVEE");
  if (has({"cremad", "crema"})) others.push_back("CREMA-D");
  if (has({"emodb"})) others.push_back("EMO-DB");
  const std::string check =
      others.empty() ? "check the licences of the corpora it was trained on"
                     : fmt::format("check the licences of {} too", fmt::join(others, ", "));
  if (!restricted.empty())
    return fmt::format("weights trained on {} are for non-commercial use only; {}", fmt::join(restricted, " and "),
                       others.empty() ? "check the licences of any other corpora it was trained on" : check);
  if (!others.empty()) return fmt::format("check the licences of the corpora it was trained on ({})", fmt::join(others, ", "));
  return "check the licences of the corpora it was trained on before using the weights";
}

std::string describe_model(const fs::path& option) {
  const fs::path file = model_file_from_option(option, "ser info");
  train::LoadedModel loaded;
  try {
    loaded = train::load_model(file);
  } catch (const Error& e) {
    throw Error(e.message() + " (ser info takes a model file or the run folder `ser train` writes it in)");
  }
  const train::ModelInfo& info = loaded.info;
  const SafeTensors raw = read_safetensors(file);  // read again for what ModelInfo leaves out
  auto meta = [&](const char* key) {
    const auto it = raw.metadata.find(key);
    return it == raw.metadata.end() ? std::string("?") : it->second;
  };
  std::string out = line("model", fmt::format("{} ({}, written by ser {})", file.string(), meta("format"), meta("ser_version")));
  out += line("classes", fmt::format("{}: {}", info.class_names.size(), fmt::join(info.class_names, ", ")));
  out += line("network", network_line(loaded.model->architecture(), loaded.model->parameter_count()));
  out += line("features", feature_line(model_feature_config(info)));
  out += line("normalisation", fmt::format("mean {:.4f}, std {:.4f} (of the training images' log-mel dB)",
                                           info.normalization.mean, info.normalization.std));
  const train::ClipLengths& c = info.clip_seconds;
  out += line("clip lengths",
              c.files > 0 ? fmt::format("median {}, p95 {}, min {}, max {} over {} training files", seconds(c.median),
                                        seconds(c.p95), seconds(c.min), seconds(c.max), c.files)
                          : std::string("not recorded (a model file before they were; ser predict assumes 3 s, 5 s at most)"));

  // The run folder around the model, if it is one.
  const fs::path run = file.has_parent_path() ? file.parent_path() : fs::path(".");
  std::string sources;  // what the licence note looks at
  bool known = false, demo_only = false;
  std::string why;
  nlohmann::json stored;  // the model file's own "training" metadata (ser train writes it)
  if (!info.training_json.empty()) {
    try {
      stored = nlohmann::json::parse(info.training_json);
    } catch (const nlohmann::json::exception&) {
      stored = nullptr;
    }
  }
  if (!present(run / "run.json") && stored.is_object()) {
    out += line("recipe", recipe_line(stored.contains("recipe") ? stored.at("recipe") : nlohmann::json()));
    out += line("trained on", trained_on_line(stored) + " (stored in the model file)");
    known = true;
    if (stored.contains("data") && stored.at("data").is_array())
      for (const auto& d : stored.at("data")) sources += text_of(d) + " ";
    if (stored.contains("training_files") && stored.at("training_files").is_object()) {
      std::vector<std::string> counts;
      for (const auto& [corpus, c] : stored.at("training_files").items()) {
        sources += corpus + " ";
        counts.push_back(fmt::format("{} {} files, {} speakers", corpus, text_of(c.value("files", nlohmann::json())),
                                     text_of(c.value("speakers", nlohmann::json()))));
      }
      out += line("training files", fmt::format("{}", fmt::join(counts, "; ")));
    }
  } else if (!present(run / "run.json")) {
    out += line("recipe", "not stored (no run.json beside the model; the model file holds no recipe)");
    out += line("trained on", "not stored (no run.json beside the model)");
  } else if (const auto j = read_json(run / "run.json", why)) {
    out += line("recipe", recipe_line(j->contains("recipe") ? j->at("recipe") : nlohmann::json()));
    out += line("trained on", trained_on_line(*j));
    known = true;
    std::vector<std::string> demo_dirs;
    if (j->contains("data") && j->at("data").is_array()) {
      for (const auto& d : j->at("data")) {
        const std::string dir = text_of(d);
        if (is_demo_folder(dir)) demo_dirs.push_back(dir);
        else sources += dir + " ";
      }
      demo_only = !demo_dirs.empty() && demo_dirs.size() == j->at("data").size();
    }
    if (j->contains("corpus") && demo_dirs.empty()) sources += text_of(j->at("corpus")) + " ";
    if (present(run / "manifest.tsv")) {
      try {
        std::map<std::string, int64_t> per_corpus;
        std::set<std::string> speakers;
        const auto entries = data::read_manifest(run / "manifest.tsv");
        for (const auto& e : entries) {
          ++per_corpus[e.corpus];
          speakers.insert(e.speaker);
          bool demo = false;
          for (const auto& d : demo_dirs) demo |= under(e.path, d);
          if (!demo) sources += e.corpus + " " + e.speaker + " ";
        }
        std::vector<std::string> counts;
        for (const auto& [corpus, n] : per_corpus) counts.push_back(fmt::format("{} {}", corpus, n));
        out += line("files", fmt::format("{} in manifest.tsv ({}), {} speakers", entries.size(), fmt::join(counts, ", "),
                                         speakers.size()));
      } catch (const Error& e) {
        out += line("files", fmt::format("manifest.tsv unreadable ({})", user_message(e)));
      }
    }
  } else {
    out += line("recipe", why);
    out += line("trained on", why);
  }
  if (stored.is_object() && stored.contains("adapted_bn")) out += line("adapted", adapted_line(stored.at("adapted_bn")));
  bool any_figures = false;
  for (const auto& [name, rel] : {std::pair<const char*, const char*>{"figures", "metrics.json"},
                                  {"eval figures", "eval/metrics.json"}}) {
    if (!present(run / rel)) continue;
    any_figures = true;
    if (const auto m = read_json(run / rel, why)) out += line(name, figures_of(*m) + " (" + rel + ")");
    else out += line(name, why);
  }
  if (!any_figures) out += line("figures", "none stored (no metrics.json beside the model)");
  out += line("licence", demo_only ? "trained on the synthetic corpus of `ser demo` only: no corpus licence applies"
                                   : licence_note(sources, known));
  return out;
}

}  // namespace ser::app
