// GpuLogMelExtractor (CUDA build): batches signals of different lengths end to end and runs
// frame+window -> cuFFT R2C (float32) -> power -> mel (cuBLAS SGEMM, strict FP32) -> dB ->
// resize on one stream. The cuFFT plan has a fixed batch (kFftChunk frames) and is reused
// for every chunk of every call.
//
// Double buffering (submit/collect): two staging slots, each with its own pinned host
// buffers (signals in, offset tables, images out) and a CUDA event recorded after the
// batch's download. The device scratch (signal, frames, spectrum, power, mel, dB, images)
// is shared: all work is on one stream, so batch k+1's upload is ordered after batch k's
// download. Every host->device and device->host copy of submit() is from/to pinned memory,
// so submit() never blocks on the device (a pageable source would make the copy wait for the
// stream). Buffers grow and are reused; a device buffer that must grow first waits for the
// stream, so a batch in flight never loses its scratch.
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cufft.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "engine/core/error.h"
#include "engine/cuda/check.h"
#include "features/logmel_gpu.h"
#include "kernels/logmel.h"

namespace ser::features {
namespace {

constexpr int kFftChunk = 2048;  // frames per cuFFT execution (plan batch size)

// Grow-only device allocation of T elements. Growing waits for `stream` first, so work
// already queued there never reads freed memory.
template <typename T>
struct DeviceArray {
  T* ptr = nullptr;
  std::size_t capacity = 0;
  ~DeviceArray() { cudaFree(ptr); }
  T* reserve(std::size_t n, cudaStream_t stream) {
    if (n > capacity) {
      CUDA_CHECK(cudaStreamSynchronize(stream));
      CUDA_CHECK(cudaFree(ptr));
      ptr = nullptr;
      CUDA_CHECK(cudaMalloc(&ptr, std::max<std::size_t>(n, 1) * sizeof(T)));
      capacity = n;
    }
    return ptr;
  }
};

// Grow-only pinned host allocation of T elements (for asynchronous copies). Only grown
// while its slot is not in flight.
template <typename T>
struct PinnedArray {
  T* ptr = nullptr;
  std::size_t capacity = 0;
  ~PinnedArray() { cudaFreeHost(ptr); }
  T* reserve(std::size_t n) {
    if (n > capacity) {
      CUDA_CHECK(cudaFreeHost(ptr));
      ptr = nullptr;
      CUDA_CHECK(cudaMallocHost(&ptr, std::max<std::size_t>(n, 1) * sizeof(T)));
      capacity = n;
    }
    return ptr;
  }
};

// Host-side description of one batch: offsets of signals and frames (see kernels/logmel.h).
struct BatchLayout {
  std::vector<int64_t> signal_offset, signal_length, frame_offset;  // (B,), (B,), (B + 1,)
  std::vector<int> frame_signal;                                    // (total_frames,)
  int64_t total_samples = 0, total_frames = 0;
};

BatchLayout describe_batch(const std::vector<std::vector<float>>& signals, const LogMelConfig& cfg) {
  BatchLayout l;
  l.frame_offset.push_back(0);
  for (std::size_t b = 0; b < signals.size(); ++b) {
    const auto& y = signals[b];
    SER_CHECK(!y.empty(), "GpuLogMelExtractor: signal {} of the batch is empty", b);
    const int64_t frames = cfg.n_frames(static_cast<int64_t>(y.size()));
    l.signal_offset.push_back(l.total_samples);
    l.signal_length.push_back(static_cast<int64_t>(y.size()));
    l.total_samples += static_cast<int64_t>(y.size());
    l.total_frames += frames;
    l.frame_offset.push_back(l.total_frames);
    l.frame_signal.insert(l.frame_signal.end(), static_cast<std::size_t>(frames), static_cast<int>(b));
  }
  return l;
}

}  // namespace

// One staging slot of the double buffer: pinned host buffers of the batch it carries, the
// event recorded after its download, and where collect() delivers its images.
struct StagingSlot {
  PinnedArray<float> signal;       // (total_samples,) the batch's signals end to end
  PinnedArray<int64_t> table;      // (3B + 1,) signal_offset | signal_length | frame_offset
  PinnedArray<int> frame_signal;   // (total_frames,) signal of each frame
  PinnedArray<float> images;       // (B, H, W) downloaded images (out_device CPU)
  Tensor device_images;            // (B, 1, H, W) CUDA (out_device CUDA)
  cudaEvent_t done = nullptr;      // recorded after the batch's last copy
  bool pending = false;            // submitted, not yet collected
  uint64_t serial = 0;             // the ticket's serial while pending
  int64_t batch = 0;               // B
  Device out_device = Device::CPU;
};

struct GpuLogMelExtractor::Impl {
  LogMelConfig cfg;
  cudaStream_t stream = nullptr;
  cublasHandle_t cublas = nullptr;
  cufftHandle plan = 0;
  bool plan_made = false;
  DeviceArray<float> window, filterbank;           // (n_fft,), (M, F)
  // Shared scratch: (total_samples,), (padded, n_fft), (total_frames, F) x2 with spectrum
  // complex (padded, F), (total_frames, M) x2, (B, H, W).
  DeviceArray<float> signal, frames, power, mel, db, images;
  DeviceArray<float2> spectrum;
  DeviceArray<int64_t> offsets;                    // signal_offset | signal_length | frame_offset
  DeviceArray<int> frame_signal;
  StagingSlot slots[kSlots];
  uint64_t last_serial = 0;

  explicit Impl(const LogMelConfig& c) : cfg(c) {
    try {
      create();
    } catch (...) {
      release();  // the destructor does not run for a constructor that throws
      throw;
    }
  }
  ~Impl() { release(); }

  void create() {
    cfg.validate();
    // A blocking stream: ordered after work on the legacy default stream, e.g. the zero-fill
    // of a freshly allocated CUDA Tensor that submit() copies into.
    CUDA_CHECK(cudaStreamCreate(&stream));
    for (StagingSlot& slot : slots) CUDA_CHECK(cudaEventCreateWithFlags(&slot.done, cudaEventDisableTiming));
    CUBLAS_CHECK(cublasCreate(&cublas));
    CUBLAS_CHECK(cublasSetStream(cublas, stream));
    CUBLAS_CHECK(cublasSetMathMode(cublas, CUBLAS_DEFAULT_MATH));  // strict FP32, no TF32
    int n = cfg.n_fft;
    CUFFT_CHECK(cufftPlanMany(&plan, 1, &n, nullptr, 1, cfg.n_fft, nullptr, 1, cfg.n_freqs(), CUFFT_R2C, kFftChunk));
    plan_made = true;
    CUFFT_CHECK(cufftSetStream(plan, stream));
    const std::vector<double> w64 = periodic_hann(cfg.n_fft);
    const std::vector<float> w32(w64.begin(), w64.end());  // float32 window (float32-FFT path)
    const std::vector<float> fb = mel_filterbank(cfg);
    CUDA_CHECK(cudaMemcpy(window.reserve(w32.size(), stream), w32.data(), w32.size() * sizeof(float),
                          cudaMemcpyHostToDevice));
    CUDA_CHECK(cudaMemcpy(filterbank.reserve(fb.size(), stream), fb.data(), fb.size() * sizeof(float),
                          cudaMemcpyHostToDevice));
  }
  void release() {
    if (stream) cudaStreamSynchronize(stream);  // nothing in flight may outlive its buffers
    for (StagingSlot& slot : slots)
      if (slot.done) cudaEventDestroy(slot.done);
    if (plan_made) cufftDestroy(plan);
    if (cublas) cublasDestroy(cublas);
    if (stream) cudaStreamDestroy(stream);
  }

  int in_flight() const {
    int n = 0;
    for (const StagingSlot& slot : slots) n += slot.pending ? 1 : 0;
    return n;
  }

  // Packs the batch into `slot`'s pinned buffers and queues upload + the whole chain on the
  // stream; returns without waiting. Leaves power/mel/db/images in the shared scratch.
  // `slot` must not be in flight.
  BatchLayout enqueue(const std::vector<std::vector<float>>& signals, StagingSlot& slot) {
    SER_CHECK(!signals.empty(), "GpuLogMelExtractor: empty batch");
    BatchLayout l = describe_batch(signals, cfg);
    const int B = static_cast<int>(signals.size());
    const int n_fft = cfg.n_fft, F = cfg.n_freqs(), M = cfg.n_mels;
    for (int b = 0; b < B; ++b)
      for (float v : signals[b]) SER_CHECK(std::isfinite(v), "GpuLogMelExtractor: signal {} holds a NaN/Inf sample", b);
    // Pack: signals and the small tables into this slot's pinned buffers.
    float* hs = slot.signal.reserve(static_cast<std::size_t>(l.total_samples));
    for (int b = 0; b < B; ++b)
      std::memcpy(hs + l.signal_offset[b], signals[b].data(), signals[b].size() * sizeof(float));
    const std::size_t table_size = 3 * static_cast<std::size_t>(B) + 1;
    int64_t* ht = slot.table.reserve(table_size);
    std::copy(l.signal_offset.begin(), l.signal_offset.end(), ht);
    std::copy(l.signal_length.begin(), l.signal_length.end(), ht + B);
    std::copy(l.frame_offset.begin(), l.frame_offset.end(), ht + 2 * B);
    int* hf = slot.frame_signal.reserve(l.frame_signal.size());
    std::copy(l.frame_signal.begin(), l.frame_signal.end(), hf);

    // Device scratch first (growing waits for the stream), then the asynchronous uploads.
    const int64_t chunks = (l.total_frames + kFftChunk - 1) / kFftChunk;
    const int64_t padded = chunks * kFftChunk;  // frames padded up to whole FFT chunks
    float* d_signal = signal.reserve(static_cast<std::size_t>(l.total_samples), stream);
    int64_t* d_table = offsets.reserve(table_size, stream);
    int* d_frame_signal = frame_signal.reserve(l.frame_signal.size(), stream);
    float* d_frames = frames.reserve(static_cast<std::size_t>(padded) * n_fft, stream);   // (padded, n_fft)
    float2* d_spec = spectrum.reserve(static_cast<std::size_t>(padded) * F, stream);       // (padded, F)
    float* d_power = power.reserve(static_cast<std::size_t>(l.total_frames) * F, stream);  // (total_frames, F)
    float* d_mel = mel.reserve(static_cast<std::size_t>(l.total_frames) * M, stream);      // (total_frames, M)
    float* d_db = db.reserve(static_cast<std::size_t>(l.total_frames) * M, stream);        // (total_frames, M)
    float* d_images = images.reserve(static_cast<std::size_t>(B) * cfg.image_height * cfg.image_width, stream);
    CUDA_CHECK(cudaMemcpyAsync(d_signal, hs, l.total_samples * sizeof(float), cudaMemcpyHostToDevice, stream));
    CUDA_CHECK(cudaMemcpyAsync(d_table, ht, table_size * sizeof(int64_t), cudaMemcpyHostToDevice, stream));
    CUDA_CHECK(cudaMemcpyAsync(d_frame_signal, hf, l.frame_signal.size() * sizeof(int), cudaMemcpyHostToDevice,
                               stream));
    const int64_t* d_signal_offset = d_table;
    const int64_t* d_signal_length = d_table + B;
    const int64_t* d_frame_offset = d_table + 2 * B;

    // The tail frames of the last chunk are zero and never read back.
    CUDA_CHECK(cudaMemsetAsync(d_frames + l.total_frames * n_fft, 0,
                               (padded - l.total_frames) * n_fft * sizeof(float), stream));
    kernels::logmel_frame_window(d_frames, d_signal, d_signal_offset, d_signal_length, d_frame_offset,
                                 d_frame_signal, l.total_frames, n_fft, cfg.hop_length, window.ptr, stream);
    for (int64_t c = 0; c < chunks; ++c)
      CUFFT_CHECK(cufftExecR2C(plan, d_frames + c * kFftChunk * n_fft,
                               reinterpret_cast<cufftComplex*>(d_spec + c * kFftChunk * F)));
    kernels::logmel_power(d_power, d_spec, l.total_frames * F, stream);
    // mel (total_frames, M) row-major = power (total_frames, F) x fb^T; in cuBLAS column-major
    // terms C^T (M x total) = (fb^T col-major F x M)^T * power^T (F x total).
    const float one = 1.0f, zero = 0.0f;
    CUBLAS_CHECK(cublasSgemm(cublas, CUBLAS_OP_T, CUBLAS_OP_N, M, static_cast<int>(l.total_frames), F, &one,
                             filterbank.ptr, F, d_power, F, &zero, d_mel, M));
    kernels::logmel_power_to_db(d_db, d_mel, d_frame_offset, B, M, cfg.amin, cfg.top_db, stream);
    kernels::logmel_resize(d_images, d_db, d_frame_offset, B, M, cfg.image_height, cfg.image_width, stream);
    return l;
  }
};

GpuLogMelExtractor::GpuLogMelExtractor(const LogMelConfig& cfg) {
  SER_CHECK(!cfg.fixed_time() && cfg.trim_top_db <= 0 && cfg.highpass_hz <= 0,
            "the GPU front end computes the notebook's resized images only; the fixed time axis (trimmed ends, "
            "16 ms frames, high-pass) runs on the CPU: extract with --device cpu");
  SER_CHECK(cuda_device_available(), "GpuLogMelExtractor: no usable CUDA device ({})", cuda_device_description());
  impl_ = std::make_unique<Impl>(cfg);
}

GpuLogMelExtractor::~GpuLogMelExtractor() = default;

GpuLogMelExtractor::Ticket GpuLogMelExtractor::submit(const std::vector<std::vector<float>>& signals,
                                                      Device out_device) {
  Impl& im = *impl_;
  int free_slot = -1;
  for (int i = 0; i < kSlots && free_slot < 0; ++i)
    if (!im.slots[i].pending) free_slot = i;
  SER_CHECK(free_slot >= 0, "GpuLogMelExtractor::submit: {} batches already in flight; collect one first", kSlots);
  StagingSlot& slot = im.slots[free_slot];
  im.enqueue(signals, slot);
  const LogMelConfig& cfg = im.cfg;
  const int64_t B = static_cast<int64_t>(signals.size());
  const std::size_t n = static_cast<std::size_t>(B) * cfg.image_height * cfg.image_width;
  if (out_device == Device::CUDA) {
    // Its own tensor: the shared images scratch is overwritten by the next batch.
    slot.device_images = Tensor(Shape{B, 1, cfg.image_height, cfg.image_width}, Device::CUDA);
    CUDA_CHECK(cudaMemcpyAsync(slot.device_images.data(), im.images.ptr, n * sizeof(float),
                               cudaMemcpyDeviceToDevice, im.stream));
  } else {
    CUDA_CHECK(cudaMemcpyAsync(slot.images.reserve(n), im.images.ptr, n * sizeof(float), cudaMemcpyDeviceToHost,
                               im.stream));
  }
  CUDA_CHECK(cudaEventRecord(slot.done, im.stream));
  slot.pending = true;
  slot.serial = ++im.last_serial;
  slot.batch = B;
  slot.out_device = out_device;
  return Ticket{free_slot, slot.serial};
}

Tensor GpuLogMelExtractor::collect(const Ticket& ticket) {
  Impl& im = *impl_;
  SER_CHECK(ticket.slot >= 0 && ticket.slot < kSlots && im.slots[ticket.slot].pending &&
                im.slots[ticket.slot].serial == ticket.serial,
            "GpuLogMelExtractor::collect: ticket (slot {}, serial {}) is not in flight (never submitted or "
            "already collected)",
            ticket.slot, ticket.serial);
  StagingSlot& slot = im.slots[ticket.slot];
  // Freed only once its copies are done: after a failed wait a DMA may still target the
  // slot's pinned buffers, so it stays in flight (and the context is unusable anyway).
  CUDA_CHECK(cudaEventSynchronize(slot.done));
  slot.pending = false;
  const LogMelConfig& cfg = im.cfg;
  const Shape shape{slot.batch, 1, cfg.image_height, cfg.image_width};
  if (slot.out_device == Device::CUDA) {
    Tensor out = slot.device_images;
    slot.device_images = Tensor();
    return out;
  }
  Tensor out(shape);
  std::memcpy(out.data(), slot.images.ptr, static_cast<std::size_t>(shape.numel()) * sizeof(float));
  return out;
}

int GpuLogMelExtractor::in_flight() const { return impl_->in_flight(); }

Tensor GpuLogMelExtractor::images(const std::vector<std::vector<float>>& signals, Device out_device) {
  const LogMelConfig& cfg = impl_->cfg;
  if (signals.empty()) return Tensor(Shape{0, 1, cfg.image_height, cfg.image_width}, out_device);
  return collect(submit(signals, out_device));
}

std::vector<LogMelStages> GpuLogMelExtractor::stages(const std::vector<std::vector<float>>& signals) {
  const LogMelConfig& cfg = impl_->cfg;
  SER_CHECK(impl_->in_flight() == 0, "GpuLogMelExtractor::stages: {} batches still in flight; collect them first",
            impl_->in_flight());
  const BatchLayout l = impl_->enqueue(signals, impl_->slots[0]);
  const int F = cfg.n_freqs(), M = cfg.n_mels, H = cfg.image_height, W = cfg.image_width;
  auto download = [&](const float* d, std::size_t n) {
    std::vector<float> h(n);
    CUDA_CHECK(cudaMemcpyAsync(h.data(), d, n * sizeof(float), cudaMemcpyDeviceToHost, impl_->stream));
    return h;
  };
  const std::vector<float> power = download(impl_->power.ptr, static_cast<std::size_t>(l.total_frames) * F);
  const std::vector<float> mel = download(impl_->mel.ptr, static_cast<std::size_t>(l.total_frames) * M);
  const std::vector<float> db = download(impl_->db.ptr, static_cast<std::size_t>(l.total_frames) * M);
  const std::vector<float> img = download(impl_->images.ptr, signals.size() * static_cast<std::size_t>(H) * W);
  CUDA_CHECK(cudaStreamSynchronize(impl_->stream));
  // Frame-major (T, K) device layouts -> the CPU reference's (K, T).
  auto transpose = [](const float* src, int64_t frames, int k_count) {
    Tensor t(Shape{k_count, frames});
    for (int64_t f = 0; f < frames; ++f)
      for (int k = 0; k < k_count; ++k) t[k * frames + f] = src[f * k_count + k];
    return t;
  };
  std::vector<LogMelStages> out(signals.size());
  for (std::size_t b = 0; b < signals.size(); ++b) {
    const int64_t f0 = l.frame_offset[b], frames = l.frame_offset[b + 1] - f0;
    out[b].stft_power = transpose(power.data() + f0 * F, frames, F);
    out[b].mel_power = transpose(mel.data() + f0 * M, frames, M);
    out[b].mel_db = transpose(db.data() + f0 * M, frames, M);
    out[b].image = Tensor::from_vector(
        Shape{H, W}, std::vector<float>(img.begin() + b * H * W, img.begin() + (b + 1) * H * W));
  }
  return out;
}

}  // namespace ser::features
