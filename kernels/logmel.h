// Host entry points of the log-mel kernels (kernels/logmel.cu), the GPU twin of the CPU
// reference in features/logmel.cpp. They work on a BATCH of signals of different lengths
// laid end to end: signal b has N_b samples starting at signal_offset[b] and T_b = 1 + N_b/hop
// frames starting at global frame frame_offset[b] (frame_offset has B + 1 entries, the
// last = total frames). All pointers are device pointers; work is queued on `stream`.
//
// Layouts (row-major):
//   frames   (total_frames, n_fft)     centred, zero-padded, Hann-windowed (float32)
//   spectrum (total_frames, F) float2  cuFFT R2C output, F = n_fft/2 + 1
//   power    (total_frames, F)         |X|^2 (float32, same |X| formula as the CPU path)
//   mel, db  (total_frames, M)         frame-major (the CPU path stores (M, T))
//   images   (B, H, W)                 bilinear resize of each signal's (M, T_b) dB map
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace ser::kernels {

// frames[f, i] = window[i] * x_b[hop * t - n_fft/2 + i] (zero outside the signal), where
// b = frame_signal[f] and t = f - frame_offset[b].
void logmel_frame_window(float* frames, const float* signal, const int64_t* signal_offset,
                         const int64_t* signal_length, const int64_t* frame_offset, const int* frame_signal,
                         int64_t total_frames, int n_fft, int hop, const float* window, cudaStream_t stream);

// power[i] = |spectrum[i]|^2 for i in [0, count), |X| computed as features/logmel.cpp does.
void logmel_power(float* power, const float2* spectrum, int64_t count, cudaStream_t stream);

// power_to_db(ref = max, amin, top_db) of each signal's mel block in place-free form:
// db = 10 log10(max(amin, mel)) - float32(10 log10(max(amin, max_b mel))) then floored at
// max_b(db) - top_db. One thread block per signal.
void logmel_power_to_db(float* db, const float* mel, const int64_t* frame_offset, int batch, int n_mels,
                        double amin, double top_db, cudaStream_t stream);

// TF bilinear resize (half-pixel centres, float32, no FMA) of each signal's dB map, read as
// an (M, T_b) image from the frame-major db buffer, to (out_h, out_w).
void logmel_resize(float* images, const float* db, const int64_t* frame_offset, int batch, int n_mels,
                   int out_h, int out_w, cudaStream_t stream);

}  // namespace ser::kernels
