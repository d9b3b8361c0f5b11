// Batch extraction: many audio files -> their log-mel images, on all CPU cores (decode +
// resample + CPU log-mel per file), or with decode/resample on the CPU threads and the
// log-mel stage batched on the GPU when opts.device is CUDA; there the CPU threads decode
// batch k+1 while the GPU computes batch k (features/pipeline.h, two GPU staging slots). Optional on-disk cache
// (features/cache.h) and a progress bar on stderr. A file that cannot be decoded is
// reported in `failures` (path, reason) and skipped; the others complete.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "engine/core/device.h"
#include "engine/core/tensor.h"
#include "features/logmel.h"

namespace ser::features {

struct ExtractOptions {
  int threads = 0;                    // 0 = all hardware threads
  std::filesystem::path cache_dir;    // empty = no cache
  bool progress = true;               // progress bar on stderr
  Device device = Device::CPU;        // CUDA: log-mel on the GPU (throws if not built / no device)
  int gpu_batch = 256;                // files per GPU batch (decoded on the CPU threads first)
  bool gpu_overlap = true;            // CUDA: decode the next batch while the GPU works (false:
                                      // CPU and GPU take turns; for benchmarks and comparison)
  // Applied to every decoded signal (mono, cfg.sample_rate; `file` its index in the input)
  // before its log-mel, on the worker threads (it must be thread-safe); `ser eval --perturb`
  // and the augmented training copies use it. The images are
  // then not the files', so the cache is neither read nor written while it is set.
  std::function<std::vector<float>(const std::vector<float>&, int sample_rate, std::size_t file)> waveform_transform;
};

struct ExtractResult {
  Tensor images;  // (M, 1, H, W) CPU, files that succeeded, input order (a view of one allocation)
  std::vector<int64_t> source_index;               // images[i] came from files[source_index[i]]
  std::vector<std::pair<std::filesystem::path, std::string>> failures;  // path, reason (without the path or a source location)
  int64_t cache_hits = 0;                          // images loaded from the cache
  int64_t cache_corrupt = 0;                       // cache entries found corrupt and recomputed
  std::vector<std::string> cache_errors;           // failed cache writes (the images are still returned)
};

ExtractResult extract_images(const std::vector<std::filesystem::path>& files, const LogMelConfig& cfg,
                             const ExtractOptions& opts);

}  // namespace ser::features
