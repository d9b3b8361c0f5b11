// Batch gather at a device cursor and the per-step counter update; see train_step.h.
// Launch of the gather: grid (B, chunks), as kernels/gather.cu: blockIdx.x picks the row
// (position and index read once per block), the threads stride over its D floats.
#include <algorithm>
#include <cmath>

#include "engine/cuda/check.h"
#include "kernels/train_step.h"

namespace ser::kernels {
namespace {

constexpr unsigned kThreads = 256;
constexpr int64_t kMaxChunksPerRow = 64;

// x: (B, units), images: (M, units); T = float or float4 (units = D or D / 4).
template <typename T>
__global__ void gather_at_cursor_kernel(T* __restrict__ x, int32_t* __restrict__ labels_out,
                                        const T* __restrict__ images, const int32_t* __restrict__ labels,
                                        int64_t m, int64_t units, const int64_t* __restrict__ order,
                                        const TrainStepCounters* __restrict__ counters, T nan_value) {
  const int64_t row = blockIdx.x;
  const int64_t position = counters->cursor + row;
  const int64_t index = position >= 0 && position < m ? order[position] : -1;
  const bool valid = index >= 0 && index < m;
  T* out = x + row * units;
  const T* in = images + (valid ? index : 0) * units;
  for (int64_t i = int64_t(blockIdx.y) * blockDim.x + threadIdx.x; i < units; i += int64_t(blockDim.x) * gridDim.y)
    out[i] = valid ? in[i] : nan_value;
  if (blockIdx.y == 0 && threadIdx.x == 0) labels_out[row] = valid ? labels[index] : -1;
}

__global__ void finish_step_kernel(TrainStepCounters* counters, const StepLoss* step, int64_t b,
                                   uint64_t streams_per_step) {
  counters->loss_sum += static_cast<double>(step->loss_sum);
  counters->correct += step->correct;
  counters->cursor += b;
  counters->dropout_stream += streams_per_step;
}

bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

}  // namespace

void gather_batch_at_cursor(float* x, int32_t* labels_out, const float* images, const int32_t* labels, int64_t m,
                            int64_t d, const int64_t* order, const TrainStepCounters* counters, int64_t b,
                            cudaStream_t stream) {
  SER_CHECK(m >= 0 && d > 0 && b >= 0, "gather_batch_at_cursor: bad sizes (M, D, B) = ({}, {}, {})", m, d, b);
  SER_CHECK(b <= INT32_MAX, "gather_batch_at_cursor: batch B = {} is too large for one launch", b);
  if (b == 0) return;
  const bool vectorised = d % 4 == 0 && aligned16(x) && aligned16(images);
  const int64_t units = vectorised ? d / 4 : d;
  const dim3 grid(static_cast<unsigned>(b),
                  static_cast<unsigned>(std::min<int64_t>((units + kThreads - 1) / kThreads, kMaxChunksPerRow)));
  if (vectorised)
    gather_at_cursor_kernel<float4><<<grid, kThreads, 0, stream>>>(
        reinterpret_cast<float4*>(x), labels_out, reinterpret_cast<const float4*>(images), labels, m, units, order,
        counters, make_float4(NAN, NAN, NAN, NAN));
  else
    gather_at_cursor_kernel<float><<<grid, kThreads, 0, stream>>>(x, labels_out, images, labels, m, units, order,
                                                                  counters, NAN);
  SER_CHECK_LAUNCH();
}

void finish_training_step(TrainStepCounters* counters, const StepLoss* step, int64_t b, uint64_t streams_per_step,
                          cudaStream_t stream) {
  finish_step_kernel<<<1, 1, 0, stream>>>(counters, step, b, streams_per_step);
  SER_CHECK_LAUNCH();
}

}  // namespace ser::kernels
