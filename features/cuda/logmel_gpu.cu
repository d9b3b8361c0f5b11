// GpuLogMelExtractor (CUDA build): batches signals of different lengths end to end and runs
// frame+window -> cuFFT R2C (float32) -> power -> mel (cuBLAS SGEMM, strict FP32) -> dB ->
// resize on one stream. Host staging buffers are pinned and copies are asynchronous; device
// and pinned buffers grow and are reused across calls; the cuFFT plan has a fixed batch
// (kFftChunk frames) and is reused for every chunk of every call.
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

// Grow-only device allocation of T elements.
template <typename T>
struct DeviceArray {
  T* ptr = nullptr;
  std::size_t capacity = 0;
  ~DeviceArray() { cudaFree(ptr); }
  T* reserve(std::size_t n) {
    if (n > capacity) {
      CUDA_CHECK(cudaFree(ptr));
      ptr = nullptr;
      CUDA_CHECK(cudaMalloc(&ptr, std::max<std::size_t>(n, 1) * sizeof(T)));
      capacity = n;
    }
    return ptr;
  }
};

// Grow-only pinned host allocation of T elements (for asynchronous copies).
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

struct GpuLogMelExtractor::Impl {
  LogMelConfig cfg;
  cudaStream_t stream = nullptr;
  cublasHandle_t cublas = nullptr;
  cufftHandle plan = 0;
  bool plan_made = false;
  DeviceArray<float> window, filterbank;           // (n_fft,), (M, F)
  DeviceArray<float> signal, frames, power, mel, db, images;
  DeviceArray<float2> spectrum;
  DeviceArray<int64_t> offsets;                    // signal_offset | signal_length | frame_offset
  DeviceArray<int> frame_signal;
  PinnedArray<float> host_signal, host_images;

  explicit Impl(const LogMelConfig& c) : cfg(c) {
    cfg.validate();
    // A blocking stream: ordered after work on the legacy default stream, e.g. the zero-fill
    // of a freshly allocated CUDA Tensor that images() copies into.
    CUDA_CHECK(cudaStreamCreate(&stream));
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
    CUDA_CHECK(cudaMemcpy(window.reserve(w32.size()), w32.data(), w32.size() * sizeof(float), cudaMemcpyHostToDevice));
    CUDA_CHECK(cudaMemcpy(filterbank.reserve(fb.size()), fb.data(), fb.size() * sizeof(float), cudaMemcpyHostToDevice));
  }
  ~Impl() {
    if (plan_made) cufftDestroy(plan);
    if (cublas) cublasDestroy(cublas);
    if (stream) cudaStreamDestroy(stream);
  }

  // Runs the whole chain for one batch; leaves power/mel/db/images on the device.
  BatchLayout run(const std::vector<std::vector<float>>& signals) {
    SER_CHECK(!signals.empty(), "GpuLogMelExtractor: empty batch");
    BatchLayout l = describe_batch(signals, cfg);
    const int B = static_cast<int>(signals.size());
    const int n_fft = cfg.n_fft, F = cfg.n_freqs(), M = cfg.n_mels;
    // Upload: signals through a pinned staging buffer, then the small offset tables.
    float* hs = host_signal.reserve(static_cast<std::size_t>(l.total_samples));
    for (int b = 0; b < B; ++b) {
      const auto& y = signals[b];
      for (float v : y) SER_CHECK(std::isfinite(v), "GpuLogMelExtractor: signal {} holds a NaN/Inf sample", b);
      std::memcpy(hs + l.signal_offset[b], y.data(), y.size() * sizeof(float));
    }
    CUDA_CHECK(cudaMemcpyAsync(signal.reserve(l.total_samples), hs, l.total_samples * sizeof(float),
                               cudaMemcpyHostToDevice, stream));
    std::vector<int64_t> table;  // (3B + 1,)
    table.insert(table.end(), l.signal_offset.begin(), l.signal_offset.end());
    table.insert(table.end(), l.signal_length.begin(), l.signal_length.end());
    table.insert(table.end(), l.frame_offset.begin(), l.frame_offset.end());
    int64_t* d_table = offsets.reserve(table.size());
    CUDA_CHECK(cudaMemcpyAsync(d_table, table.data(), table.size() * sizeof(int64_t), cudaMemcpyHostToDevice, stream));
    int* d_frame_signal = frame_signal.reserve(l.frame_signal.size());
    CUDA_CHECK(cudaMemcpyAsync(d_frame_signal, l.frame_signal.data(), l.frame_signal.size() * sizeof(int),
                               cudaMemcpyHostToDevice, stream));
    const int64_t* d_signal_offset = d_table;
    const int64_t* d_signal_length = d_table + B;
    const int64_t* d_frame_offset = d_table + 2 * B;

    // Frames padded up to whole FFT chunks (the tail frames are zero and never read back).
    const int64_t chunks = (l.total_frames + kFftChunk - 1) / kFftChunk;
    const int64_t padded = chunks * kFftChunk;
    float* d_frames = frames.reserve(static_cast<std::size_t>(padded) * n_fft);             // (padded, n_fft)
    float2* d_spec = spectrum.reserve(static_cast<std::size_t>(padded) * F);                 // (padded, F)
    CUDA_CHECK(cudaMemsetAsync(d_frames + l.total_frames * n_fft, 0,
                               (padded - l.total_frames) * n_fft * sizeof(float), stream));
    kernels::logmel_frame_window(d_frames, signal.ptr, d_signal_offset, d_signal_length, d_frame_offset,
                                 d_frame_signal, l.total_frames, n_fft, cfg.hop_length, window.ptr, stream);
    for (int64_t c = 0; c < chunks; ++c)
      CUFFT_CHECK(cufftExecR2C(plan, d_frames + c * kFftChunk * n_fft,
                               reinterpret_cast<cufftComplex*>(d_spec + c * kFftChunk * F)));
    float* d_power = power.reserve(static_cast<std::size_t>(l.total_frames) * F);  // (total_frames, F)
    kernels::logmel_power(d_power, d_spec, l.total_frames * F, stream);
    // mel (total_frames, M) row-major = power (total_frames, F) x fb^T; in cuBLAS column-major
    // terms C^T (M x total) = (fb^T col-major F x M)^T * power^T (F x total).
    float* d_mel = mel.reserve(static_cast<std::size_t>(l.total_frames) * M);
    const float one = 1.0f, zero = 0.0f;
    CUBLAS_CHECK(cublasSgemm(cublas, CUBLAS_OP_T, CUBLAS_OP_N, M, static_cast<int>(l.total_frames), F, &one,
                             filterbank.ptr, F, d_power, F, &zero, d_mel, M));
    float* d_db = db.reserve(static_cast<std::size_t>(l.total_frames) * M);
    kernels::logmel_power_to_db(d_db, d_mel, d_frame_offset, B, M, cfg.amin, cfg.top_db, stream);
    float* d_images = images.reserve(static_cast<std::size_t>(B) * cfg.image_height * cfg.image_width);
    kernels::logmel_resize(d_images, d_db, d_frame_offset, B, M, cfg.image_height, cfg.image_width, stream);
    return l;
  }
};

GpuLogMelExtractor::GpuLogMelExtractor(const LogMelConfig& cfg) {
  SER_CHECK(cuda_device_available(), "GpuLogMelExtractor: no usable CUDA device ({})", cuda_device_description());
  impl_ = std::make_unique<Impl>(cfg);
}

GpuLogMelExtractor::~GpuLogMelExtractor() = default;

Tensor GpuLogMelExtractor::images(const std::vector<std::vector<float>>& signals, Device out_device) {
  const LogMelConfig& cfg = impl_->cfg;
  const int64_t B = static_cast<int64_t>(signals.size());
  const Shape shape{B, 1, cfg.image_height, cfg.image_width};
  if (B == 0) return Tensor(Shape{0, 1, cfg.image_height, cfg.image_width}, out_device);
  impl_->run(signals);
  const std::size_t n = static_cast<std::size_t>(shape.numel());
  if (out_device == Device::CUDA) {
    Tensor out(shape, Device::CUDA);
    CUDA_CHECK(cudaMemcpyAsync(out.data(), impl_->images.ptr, n * sizeof(float), cudaMemcpyDeviceToDevice,
                               impl_->stream));
    CUDA_CHECK(cudaStreamSynchronize(impl_->stream));
    return out;
  }
  float* host = impl_->host_images.reserve(n);
  CUDA_CHECK(cudaMemcpyAsync(host, impl_->images.ptr, n * sizeof(float), cudaMemcpyDeviceToHost, impl_->stream));
  CUDA_CHECK(cudaStreamSynchronize(impl_->stream));
  Tensor out(shape);
  std::memcpy(out.data(), host, n * sizeof(float));
  return out;
}

std::vector<LogMelStages> GpuLogMelExtractor::stages(const std::vector<std::vector<float>>& signals) {
  const LogMelConfig& cfg = impl_->cfg;
  const BatchLayout l = impl_->run(signals);
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
