// Batch extraction over a worker pool; see extract.h. Workers pull file indices from one
// atomic counter; each owns a LogMelExtractor (FFTW plan + buffers). Results land in a
// per-file slot, so the output keeps input order whatever the scheduling.
// CUDA path: run_two_stage_pipeline over batches of gpu_batch files — prepare = decode on
// the workers, submit = GpuLogMelExtractor::submit (returns at once), collect = wait, write
// rows, cache, progress — so decoding batch k+1 overlaps the GPU's work on batch k.
#include "features/extract.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>

#include "engine/core/error.h"
#include "engine/core/progress.h"
#include "features/audio.h"
#include "features/cache.h"
#include "features/logmel_gpu.h"
#include "features/pipeline.h"

namespace ser::features {
namespace fs = std::filesystem;

namespace {

// Per-file outcome: the image was written to its row of the output, or a decoded signal
// waits for the GPU, or an error.
struct Slot {
  bool has_image = false;
  std::vector<float> signal;  // (N,) at cfg.sample_rate (GPU path only)
  std::string error;
};

int thread_count(const ExtractOptions& opts, std::size_t work) {
  int n = opts.threads > 0 ? opts.threads : static_cast<int>(std::thread::hardware_concurrency());
  n = std::max(1, n);
  return static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(n), std::max<std::size_t>(work, 1)));
}

// Runs fn(worker, i) for i in [begin, end) on `threads` fresh threads (worker in
// [0, threads)), handing out one index at a time: files take very different times to
// decode, so this balances better than the engine pool's fixed chunks (engine/cpu/parallel.h),
// and decoding must not occupy the pool the training step uses.
template <typename Fn>
void for_each_index_on_threads(std::size_t begin, std::size_t end, int threads, Fn&& fn) {
  std::atomic<std::size_t> next{begin};
  auto worker = [&](int w) {
    for (std::size_t i = next++; i < end; i = next++) fn(w, i);
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(worker, t);
  worker(0);
  for (auto& th : pool) th.join();
}

// Why a file failed, as the user reads it beside the file's name: the message without its
// source location, and without the file name the audio reader already put in front.
std::string failure_reason(const std::exception& e, const fs::path& file) {
  std::string why = user_message(e);
  const std::string prefix = file.string() + ": ";
  if (why.compare(0, prefix.size(), prefix) == 0) why.erase(0, prefix.size());
  return why;
}

std::string progress_suffix(const std::atomic<int64_t>& hits, const std::atomic<int64_t>& failed) {
  return fmt::format("({} cached, {} failed)", hits.load(), failed.load());
}

}  // namespace

ExtractResult extract_images(const std::vector<fs::path>& files, const LogMelConfig& cfg, const ExtractOptions& opts) {
  cfg.validate();
  const bool gpu = opts.device == Device::CUDA;
  std::unique_ptr<GpuLogMelExtractor> gpu_extractor;
  if (gpu) gpu_extractor = std::make_unique<GpuLogMelExtractor>(cfg);  // throws without CUDA
  std::unique_ptr<FeatureCache> cache;
  if (!opts.cache_dir.empty() && !opts.waveform_transform) cache = std::make_unique<FeatureCache>(opts.cache_dir, cfg);

  const int threads = thread_count(opts, files.size());
  const int64_t hw = static_cast<int64_t>(cfg.image_height) * cfg.image_width;
  const Shape image_shape{cfg.image_height, cfg.image_width};
  // (files, 1, H, W): row i receives file i's image; compacted in order at the end, so the
  // images are held once (no per-file copies).
  Tensor all(Shape{static_cast<int64_t>(files.size()), 1, cfg.image_height, cfg.image_width});
  auto row = [&](std::size_t i) { return all.data() + static_cast<int64_t>(i) * hw; };
  std::vector<Slot> slots(files.size());
  std::vector<std::string> keys(files.size());
  std::atomic<int64_t> hits{0}, failed{0};
  std::unique_ptr<ProgressBar> bar;
  if (opts.progress) bar = std::make_unique<ProgressBar>(static_cast<int64_t>(files.size()), "features");

  // One CPU extractor per worker (FFTW plan + buffers reused across files), made on first use.
  std::vector<std::unique_ptr<LogMelExtractor>> extractors(static_cast<std::size_t>(threads));
  auto extractor_of = [&](int worker) -> LogMelExtractor& {
    auto& e = extractors[static_cast<std::size_t>(worker)];
    if (!e) e = std::make_unique<LogMelExtractor>(cfg);
    return *e;
  };

  // A cache write that fails (disk full, permissions) costs the cache entry, not the image.
  std::mutex cache_error_mutex;
  std::vector<std::string> cache_errors;
  auto store = [&](std::size_t i, const Tensor& img) {
    try {
      cache->store(keys[i], img, files[i]);
    } catch (const std::exception& e) {
      std::lock_guard<std::mutex> lock(cache_error_mutex);
      cache_errors.push_back(user_message(e));
    }
  };

  // CPU stage for file i: cache lookup, else decode + resample (+ log-mel on the CPU path).
  auto process = [&](int worker, std::size_t i) {
    Slot& slot = slots[i];
    try {
      if (cache) {
        keys[i] = cache->key_for(files[i]);
        if (auto img = cache->load(keys[i])) {
          std::memcpy(row(i), img->data(), static_cast<std::size_t>(hw) * sizeof(float));
          slot.has_image = true;
          ++hits;
        }
      }
      if (!slot.has_image) {
        std::vector<float> y = load_audio(files[i], cfg.sample_rate);
        if (opts.waveform_transform) y = opts.waveform_transform(y, cfg.sample_rate, i);
        if (gpu) {
          slot.signal = std::move(y);
        } else {
          const Tensor img = extractor_of(worker).image(y);
          std::memcpy(row(i), img.data(), static_cast<std::size_t>(hw) * sizeof(float));
          if (cache) store(i, img);
          slot.has_image = true;
        }
      }
    } catch (const std::exception& e) {
      slot.error = failure_reason(e, files[i]);
      slot.has_image = false;
      ++failed;
    }
    if (bar && (!gpu || slot.has_image || !slot.error.empty())) bar->tick(1, progress_suffix(hits, failed));
  };

  if (!gpu) {
    for_each_index_on_threads(0, files.size(), threads, process);
  } else {
    // A batch between submit and collect: the files sent to the GPU (cache hits and failures
    // never are) and its ticket. At most two in flight, consecutive batches: index % 2.
    struct GpuBatch {
      std::vector<std::size_t> todo;  // (B,) file indices, ascending
      GpuLogMelExtractor::Ticket ticket;
    };
    GpuBatch in_flight[2];
    PipelineStages stages;
    stages.prepare = [&](const BatchRange& b) { for_each_index_on_threads(b.begin, b.end, threads, process); };
    stages.submit = [&](const BatchRange& b) {
      GpuBatch& g = in_flight[b.index % 2];
      g.todo.clear();
      std::vector<std::size_t> todo;
      std::vector<std::vector<float>> signals;  // B x (N_i,), freed on return (submit copies them)
      for (std::size_t i = b.begin; i < b.end; ++i)
        if (!slots[i].has_image && slots[i].error.empty()) {
          todo.push_back(i);
          signals.push_back(std::move(slots[i].signal));
        }
      if (todo.empty()) return;
      g.ticket = gpu_extractor->submit(signals, Device::CPU);
      g.todo = std::move(todo);
    };
    stages.collect = [&](const BatchRange& b) {
      GpuBatch& g = in_flight[b.index % 2];
      if (g.todo.empty()) return;
      const Tensor batch = gpu_extractor->collect(g.ticket);  // (B, 1, H, W)
      for (std::size_t k = 0; k < g.todo.size(); ++k) {
        const std::size_t i = g.todo[k];
        std::memcpy(row(i), batch.data() + static_cast<int64_t>(k) * hw, static_cast<std::size_t>(hw) * sizeof(float));
        slots[i].has_image = true;
        if (cache) store(i, batch.slice(static_cast<int64_t>(k) * hw, image_shape));
        if (bar) bar->tick(1, progress_suffix(hits, failed));
      }
      g.todo.clear();
    };
    run_two_stage_pipeline(files.size(), static_cast<std::size_t>(std::max(1, opts.gpu_batch)), stages,
                           opts.gpu_overlap ? PipelineSchedule::kOverlapped : PipelineSchedule::kSequential);
  }
  if (bar) bar->finish();
  if (cache) {
    try {
      cache->flush_index();
    } catch (const std::exception& e) {
      cache_errors.push_back(user_message(e));
    }
  }

  ExtractResult result;
  result.cache_hits = hits.load();
  result.cache_corrupt = cache ? cache->corrupt_count() : 0;
  result.cache_errors = std::move(cache_errors);
  int64_t ok = 0;
  for (std::size_t i = 0; i < files.size(); ++i) {
    if (slots[i].has_image) {
      if (ok != static_cast<int64_t>(i))  // move row i down to row ok (ok < i: never overlaps)
        std::memcpy(all.data() + ok * hw, row(i), static_cast<std::size_t>(hw) * sizeof(float));
      result.source_index.push_back(static_cast<int64_t>(i));
      ++ok;
    } else {
      result.failures.emplace_back(files[i], slots[i].error);
    }
  }
  result.images = all.slice(0, Shape{ok, 1, cfg.image_height, cfg.image_width});
  return result;
}

}  // namespace ser::features
