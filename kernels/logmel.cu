// Log-mel kernels: framing + window, power, per-signal power_to_db, bilinear resize.
// See kernels/logmel.h for the batch layout. Arithmetic mirrors features/logmel.cpp; the
// only intended difference is the float32 FFT (cuFFT) in between, which the README bounds.
#include <cfloat>

#include "engine/cuda/check.h"
#include "kernels/logmel.h"

namespace ser::kernels {
namespace {

constexpr int kThreads = 256;

unsigned blocks_for(int64_t n) {
  const int64_t b = (n + kThreads - 1) / kThreads;
  return static_cast<unsigned>(b < 65535 * 32 ? (b > 0 ? b : 1) : 65535 * 32);
}

// One thread per (frame, sample) element of frames (total_frames, n_fft).
__global__ void frame_window_kernel(float* frames, const float* signal, const int64_t* signal_offset,
                                    const int64_t* signal_length, const int64_t* frame_offset,
                                    const int* frame_signal, int64_t total_frames, int n_fft, int hop,
                                    const float* window) {
  const int64_t count = total_frames * n_fft;
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < count; e += int64_t(blockDim.x) * gridDim.x) {
    const int64_t f = e / n_fft;
    const int i = static_cast<int>(e - f * n_fft);
    const int b = frame_signal[f];
    const int64_t t = f - frame_offset[b];
    const int64_t j = t * hop - n_fft / 2 + i;
    const float x = (j >= 0 && j < signal_length[b]) ? signal[signal_offset[b] + j] : 0.0f;
    frames[e] = __fmul_rn(window[i], x);
  }
}

__global__ void power_kernel(float* power, const float2* spectrum, int64_t count) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count; i += int64_t(blockDim.x) * gridDim.x) {
    // Same |X| formula as the CPU reference (numpy's AVX-512 complex abs).
    const float a = fabsf(spectrum[i].x), b = fabsf(spectrum[i].y);
    const float larger = fmaxf(a, b), smaller = fminf(a, b);
    const float mag = (larger == 0.0f || isinf(larger))
                          ? larger
                          : __fmul_rn(__fsqrt_rn(__fmaf_rn(__fdiv_rn(smaller, larger), __fdiv_rn(smaller, larger), 1.0f)),
                                      larger);
    power[i] = __fmul_rn(mag, mag);
  }
}

// Block-wide max of one float per thread (blockDim.x == kThreads).
__device__ float block_max(float v, float* scratch) {
  scratch[threadIdx.x] = v;
  __syncthreads();
  for (int s = kThreads / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) scratch[threadIdx.x] = fmaxf(scratch[threadIdx.x], scratch[threadIdx.x + s]);
    __syncthreads();
  }
  const float r = scratch[0];
  __syncthreads();
  return r;
}

// One block per signal b: its mel block is mel[frame_offset[b] * M, frame_offset[b+1] * M).
__global__ void power_to_db_kernel(float* db, const float* mel, const int64_t* frame_offset, int n_mels, double amin,
                                   double top_db) {
  __shared__ float scratch[kThreads];
  const int b = blockIdx.x;
  const int64_t begin = frame_offset[b] * n_mels, end = frame_offset[b + 1] * n_mels;
  float s_max = -FLT_MAX;
  for (int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) s_max = fmaxf(s_max, mel[i]);
  s_max = block_max(s_max, scratch);
  // Reference term in float64, rounded to float32 (numpy semantics, README step 7).
  const float ref_db = static_cast<float>(10.0 * log10(fmax(amin, static_cast<double>(s_max))));
  const float amin_f = static_cast<float>(amin);
  float db_max = -FLT_MAX;
  for (int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) {
    const float v = __fsub_rn(__fmul_rn(10.0f, log10f(fmaxf(amin_f, mel[i]))), ref_db);
    db[i] = v;
    db_max = fmaxf(db_max, v);
  }
  db_max = block_max(db_max, scratch);
  const float floor_db = static_cast<float>(static_cast<double>(db_max) - top_db);
  for (int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) db[i] = fmaxf(db[i], floor_db);
}

// Source index pair and weight of output index i along one axis (TF half-pixel centres).
__device__ void resize_source(int i, int in_size, int out_size, int& lo, int& hi, float& lerp) {
  const float scale = __fdiv_rn(static_cast<float>(in_size), static_cast<float>(out_size));
  const float src = __fsub_rn(__fmul_rn(__fadd_rn(static_cast<float>(i), 0.5f), scale), 0.5f);
  const float fl = floorf(src);
  lo = max(static_cast<int>(fl), 0);
  hi = min(static_cast<int>(ceilf(src)), in_size - 1);
  lerp = __fsub_rn(src, fl);
}

__device__ float lerp_rn(float a, float b, float w) { return __fadd_rn(a, __fmul_rn(__fsub_rn(b, a), w)); }

// One thread per output pixel (b, y, x) of images (B, out_h, out_w).
__global__ void resize_kernel(float* images, const float* db, const int64_t* frame_offset, int batch, int n_mels,
                              int out_h, int out_w) {
  const int64_t count = int64_t(batch) * out_h * out_w;
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < count; e += int64_t(blockDim.x) * gridDim.x) {
    const int b = static_cast<int>(e / (int64_t(out_h) * out_w));
    const int y = static_cast<int>((e / out_w) % out_h), x = static_cast<int>(e % out_w);
    const int frames = static_cast<int>(frame_offset[b + 1] - frame_offset[b]);
    const float* in = db + frame_offset[b] * n_mels;  // in(m, t) = in[t * M + m]
    if (n_mels == out_h && frames == out_w) {         // TF copies the input unchanged
      images[e] = in[int64_t(x) * n_mels + y];
      continue;
    }
    int y0, y1, x0, x1;
    float wy, wx;
    resize_source(y, n_mels, out_h, y0, y1, wy);
    resize_source(x, frames, out_w, x0, x1, wx);
    const float top = lerp_rn(in[int64_t(x0) * n_mels + y0], in[int64_t(x1) * n_mels + y0], wx);
    const float bottom = lerp_rn(in[int64_t(x0) * n_mels + y1], in[int64_t(x1) * n_mels + y1], wx);
    images[e] = lerp_rn(top, bottom, wy);
  }
}

}  // namespace

void logmel_frame_window(float* frames, const float* signal, const int64_t* signal_offset,
                         const int64_t* signal_length, const int64_t* frame_offset, const int* frame_signal,
                         int64_t total_frames, int n_fft, int hop, const float* window, cudaStream_t stream) {
  if (total_frames <= 0) return;
  frame_window_kernel<<<blocks_for(total_frames * n_fft), kThreads, 0, stream>>>(
      frames, signal, signal_offset, signal_length, frame_offset, frame_signal, total_frames, n_fft, hop, window);
  SER_CHECK_LAUNCH();
}

void logmel_power(float* power, const float2* spectrum, int64_t count, cudaStream_t stream) {
  if (count <= 0) return;
  power_kernel<<<blocks_for(count), kThreads, 0, stream>>>(power, spectrum, count);
  SER_CHECK_LAUNCH();
}

void logmel_power_to_db(float* db, const float* mel, const int64_t* frame_offset, int batch, int n_mels,
                        double amin, double top_db, cudaStream_t stream) {
  if (batch <= 0) return;
  power_to_db_kernel<<<batch, kThreads, 0, stream>>>(db, mel, frame_offset, n_mels, amin, top_db);
  SER_CHECK_LAUNCH();
}

void logmel_resize(float* images, const float* db, const int64_t* frame_offset, int batch, int n_mels,
                   int out_h, int out_w, cudaStream_t stream) {
  if (batch <= 0) return;
  resize_kernel<<<blocks_for(int64_t(batch) * out_h * out_w), kThreads, 0, stream>>>(images, db, frame_offset, batch,
                                                                                      n_mels, out_h, out_w);
  SER_CHECK_LAUNCH();
}

}  // namespace ser::kernels
