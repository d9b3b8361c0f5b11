// Run folders of `ser train`: which files a run owns, whether a folder already holds a
// run (so a new run never overwrites one by accident), clearing a run's own files for
// --force, a fresh default folder per run, a read-only look at a checkpoint (before any
// indexing or extraction, so a damaged or foreign checkpoint is refused at once), and the
// comparison of a resumed run's corpus with the manifest.tsv it recorded.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "data/corpus.h"
#include "engine/nn/architecture.h"

namespace ser::app {

// The files `ser train` writes in a run folder (ser eval adds RUN/eval/ with report files).
const std::vector<std::string>& run_file_names();

// Whether `dir` holds a run: a run.json, checkpoint.safetensors or model.safetensors.
bool holds_run(const std::filesystem::path& dir);
// The epochs run.json in `dir` plans ("recipe"."epochs", or "epochs" of older versions),
// or -1 when there is no readable run.json.
int planned_epochs(const std::filesystem::path& dir);
// "epoch K of N", "no epoch finished yet, N planned" or "a model file": for refusals.
std::string describe_run(const std::filesystem::path& dir);
// Removes the run's own files (run_file_names(), and the report files of RUN/eval/ with
// that folder if it is then empty); anything else in `dir` stays.
void clear_run(const std::filesystem::path& dir);

// `parent`/YYYY-MM-DDTHH-MM-SS (local time), with -2, -3, ... if that name is taken.
std::filesystem::path fresh_run_folder(const std::filesystem::path& parent);

// Fails with one line naming the folder unless this process can create `dir` (or, if it
// exists, write in it). Creates nothing.
void check_run_folder_writable(const std::filesystem::path& dir);

// What a checkpoint says about its run, read without restoring it.
struct CheckpointSummary {
  nn::Architecture architecture;
  std::vector<std::string> class_names;
  uint64_t seed = 0;
  int epochs_done = 0;
};
// Reads and checks the whole file; a file that cannot be parsed fails with
// "PATH: checkpoint.safetensors is truncated or corrupt (reason)".
CheckpointSummary read_checkpoint_summary(const std::filesystem::path& path);

// Files that differ between the manifest a run recorded and the corpus indexed now, keyed
// by absolute path (relative recorded paths are taken against the current directory).
struct ManifestDiff {
  std::vector<std::string> added, removed, changed;  // paths; changed: label, corpus or speaker differ
  bool empty() const { return added.empty() && removed.empty() && changed.empty(); }
};
ManifestDiff compare_manifests(const std::vector<data::ManifestEntry>& recorded,
                               const std::vector<data::ManifestEntry>& now);
// "8 files removed (a.wav, b.wav, c.wav, ...), 1 changed (d.wav)": the counts, and at
// most `names` paths of each kind.
std::string describe(const ManifestDiff& diff, std::size_t names = 3);

}  // namespace ser::app
