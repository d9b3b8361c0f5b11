// Row gather dst[b, :] = src[indices[b], :]; see gather.h.
// Launch: grid (B, chunks): blockIdx.x picks the batch row (its index read once per
// block), blockIdx.y and the threads stride over the row in float4 (or float) units.
// A seed-net sample is 128*128 floats = 64 KiB, so a batch of 16 is 1 MiB read + 1 MiB
// written: memory-bound, and at that size close to launch-latency bound.
#include <algorithm>
#include <cmath>

#include "engine/cuda/check.h"
#include "kernels/gather.h"

namespace ser::kernels {
namespace {

constexpr unsigned kThreads = 256;
constexpr int64_t kMaxChunksPerRow = 64;

// dst: (B, units); src: (M, units); T = float or float4.
template <typename T>
__global__ void gather_rows_kernel(T* __restrict__ dst, const T* __restrict__ src, int64_t m, int64_t units,
                                   const int64_t* __restrict__ indices, T nan_value) {
  const int64_t row = blockIdx.x;
  const int64_t index = indices[row];
  T* out = dst + row * units;
  const bool valid = index >= 0 && index < m;
  const T* in = src + (valid ? index : 0) * units;
  for (int64_t i = int64_t(blockIdx.y) * blockDim.x + threadIdx.x; i < units; i += int64_t(blockDim.x) * gridDim.y)
    out[i] = valid ? in[i] : nan_value;
}

bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

}  // namespace

void gather_rows(float* dst, const float* src, int64_t m, int64_t d, const int64_t* indices, int64_t b,
                 cudaStream_t stream) {
  SER_CHECK(m >= 0 && d >= 0 && b >= 0, "gather_rows: negative size (M, D, B) = ({}, {}, {})", m, d, b);
  SER_CHECK(b <= INT32_MAX, "gather_rows: batch B = {} is too large for one launch", b);
  if (b == 0 || d == 0) return;
  const bool vectorised = d % 4 == 0 && aligned16(dst) && aligned16(src);
  const int64_t units = vectorised ? d / 4 : d;
  const dim3 grid(static_cast<unsigned>(b),
                  static_cast<unsigned>(std::min<int64_t>((units + kThreads - 1) / kThreads, kMaxChunksPerRow)));
  if (vectorised) {
    const float4 nan4 = make_float4(NAN, NAN, NAN, NAN);
    gather_rows_kernel<float4><<<grid, kThreads, 0, stream>>>(reinterpret_cast<float4*>(dst),
                                                              reinterpret_cast<const float4*>(src), m, units,
                                                              indices, nan4);
  } else {
    gather_rows_kernel<float><<<grid, kThreads, 0, stream>>>(dst, src, m, units, indices, NAN);
  }
  SER_CHECK_LAUNCH();
}

}  // namespace ser::kernels
