// Run folder bookkeeping for `ser train` (see run_folder.h).
#include "apps/run_folder.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <system_error>

#include "apps/report.h"
#include "engine/core/error.h"
#include "engine/io/json_number.h"
#include "engine/io/safetensors.h"

namespace ser::app {
namespace fs = std::filesystem;

namespace {

bool present(const fs::path& p) {
  std::error_code ec;
  return fs::exists(p, ec);
}

std::string key_of(const fs::path& p) { return fs::absolute(p).lexically_normal().string(); }

}  // namespace

const std::vector<std::string>& run_file_names() {
  static const std::vector<std::string> names{
      "run.json",    "manifest.tsv",  "checkpoint.safetensors", "model.safetensors", "predictions.tsv",
      "metrics.json", "history.json", "report.txt",             "confusion.svg",     "curves.svg",
      "report.html"};
  return names;
}

int planned_epochs(const fs::path& dir) {
  std::ifstream in(dir / "run.json");
  if (!in) return -1;
  try {
    const nlohmann::json j = nlohmann::json::parse(in);
    // "recipe"."epochs" since recipes exist; "epochs" at the top level before.
    return json_to_int(j.contains("recipe") ? j.at("recipe").at("epochs") : j.at("epochs"), "run.json", "epochs");
  } catch (const nlohmann::json::exception&) {
    return -1;
  } catch (const Error&) {
    return -1;
  }
}

bool holds_run(const fs::path& dir) {
  for (const char* f : {"run.json", "checkpoint.safetensors", "model.safetensors"})
    if (present(dir / f)) return true;
  return false;
}

std::string describe_run(const fs::path& dir) {
  const int planned = planned_epochs(dir);
  int done = -1;
  if (present(dir / "checkpoint.safetensors")) {
    try {
      done = read_checkpoint_summary(dir / "checkpoint.safetensors").epochs_done;
    } catch (const Error&) {
      // described below without the epoch count
    }
  }
  if (done >= 0 && planned > 0) return fmt::format("epoch {} of {}", done, planned);
  if (done >= 0) return fmt::format("{} epoch{} done", done, done == 1 ? "" : "s");
  if (planned > 0) return fmt::format("no epoch finished yet, {} planned", planned);
  return present(dir / "model.safetensors") ? "a model file" : "an unreadable checkpoint";
}

void clear_run(const fs::path& dir) {
  auto remove = [](const fs::path& p) {
    std::error_code ec;
    fs::remove(p, ec);
    SER_CHECK(!ec, "{}: cannot remove it to replace the run: {}", p.string(), ec.message());
  };
  for (const auto& name : run_file_names()) remove(dir / name);
  const fs::path eval = dir / "eval";
  std::error_code ec;
  if (!fs::is_directory(eval, ec)) return;
  for (const auto& name : report_file_names()) remove(eval / name);  // what `ser eval` writes there
  if (fs::is_empty(eval, ec)) fs::remove(eval, ec);
}

fs::path fresh_run_folder(const fs::path& parent) {
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H-%M-%S", &local);
  fs::path dir = parent / stamp;
  for (int n = 2; present(dir); ++n) dir = parent / fmt::format("{}-{}", stamp, n);
  return dir;
}

void check_run_folder_writable(const fs::path& dir) {
  std::error_code ec;
  if (fs::exists(dir, ec)) {
    SER_CHECK(fs::is_directory(dir, ec), "--out {}: is not a folder", dir.string());
    SER_CHECK(::access(dir.c_str(), W_OK | X_OK) == 0,
              "{}: cannot write in the run folder: {}; nothing in it was changed", dir.string(), std::strerror(errno));
    return;
  }
  // The nearest existing ancestor must be a folder this process can create entries in.
  fs::path parent = fs::absolute(dir).parent_path();
  while (!parent.empty() && !fs::exists(parent, ec) && parent != parent.root_path()) parent = parent.parent_path();
  SER_CHECK(fs::is_directory(parent, ec), "{}: cannot create the run folder: {} is not a folder", dir.string(),
            parent.string());
  SER_CHECK(::access(parent.c_str(), W_OK | X_OK) == 0, "{}: cannot create the run folder: {}", dir.string(),
            std::strerror(errno));
}

CheckpointSummary read_checkpoint_summary(const fs::path& path) {
  const std::string where = path.string();
  auto corrupt = [&](const std::string& why) {
    return Error(fmt::format("{}: {} is truncated or corrupt ({})", where, path.filename().string(), why));
  };
  SafeTensors file;
  try {
    file = read_safetensors(path);
  } catch (const Error& e) {
    throw corrupt(user_message(e));
  }
  auto meta = [&](const char* key) -> const std::string& {
    const auto it = file.metadata.find(key);
    if (it == file.metadata.end()) throw corrupt(fmt::format("metadata '{}' missing", key));
    return it->second;
  };
  SER_CHECK(meta("format") == "ser-checkpoint-1", "{}: not a ser training checkpoint (format '{}')", where,
            meta("format"));
  CheckpointSummary out;
  try {
    out.architecture = nn::Architecture::from_json(meta("architecture"));
  } catch (const Error& e) {
    throw corrupt("bad architecture: " + user_message(e));
  }
  try {
    out.class_names = nlohmann::json::parse(meta("classes")).get<std::vector<std::string>>();
    const auto state = nlohmann::json::parse(meta("train_state"));
    out.seed = json_to_uint64(state.at("generator_seed"), "train_state", "generator_seed");
    out.epochs_done = json_to_int(state.at("epochs_done"), "train_state", "epochs_done");
  } catch (const nlohmann::json::exception& e) {
    throw corrupt(fmt::format("malformed training state: {}", e.what()));
  } catch (const Error& e) {
    throw corrupt(fmt::format("malformed training state: {}", e.message()));
  }
  return out;
}

ManifestDiff compare_manifests(const std::vector<data::ManifestEntry>& recorded,
                               const std::vector<data::ManifestEntry>& now) {
  std::map<std::string, const data::ManifestEntry*> before;
  for (const auto& e : recorded) before[key_of(e.path)] = &e;
  ManifestDiff diff;
  for (const auto& e : now) {
    const std::string key = key_of(e.path);
    const auto it = before.find(key);
    if (it == before.end()) {
      diff.added.push_back(key);
      continue;
    }
    const data::ManifestEntry& old = *it->second;
    if (old.label != e.label || old.label_name != e.label_name || old.corpus != e.corpus || old.speaker != e.speaker)
      diff.changed.push_back(key);
    before.erase(it);
  }
  for (const auto& [key, entry] : before) diff.removed.push_back(key);
  return diff;
}

std::string describe(const ManifestDiff& diff, std::size_t names) {
  std::vector<std::string> parts;
  auto part = [&](const std::vector<std::string>& paths, const char* what) {
    if (paths.empty()) return;
    std::vector<std::string> shown(paths.begin(), paths.begin() + std::min(names, paths.size()));
    if (paths.size() > names) shown.push_back("...");
    parts.push_back(fmt::format("{} file{} {} ({})", paths.size(), paths.size() == 1 ? "" : "s", what,
                                fmt::join(shown, ", ")));
  };
  part(diff.removed, "removed");
  part(diff.added, "added");
  part(diff.changed, "changed label, corpus or speaker");
  return fmt::format("{}", fmt::join(parts, ", "));
}

}  // namespace ser::app
