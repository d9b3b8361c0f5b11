// Adam (Keras 3 formula) over flat float arenas; see adam.h.
// Launch: grid-stride loop, 256 threads per block, over float4 groups when aligned.
// Memory-bound: 4 floats read (w, g, m, v) and 3 written (w, m, v) per parameter, 28 B;
// the 5.24 M-parameter seed net moves 147 MB per step (~50 us at 3 TB/s).
// The arithmetic uses __fmul_rn/__fadd_rn/__fsub_rn so nvcc does not contract it into
// FMAs: the device then rounds exactly like the plain C++ float formula on the CPU.
// AdamW's decay is one more multiply-subtract per element before the update (w -= w*decay,
// the CPU's separate pass fused into the same read of w: each element is independent).
// This file is compiled with --fmad=false (kernels/CMakeLists.txt): the device-counter
// kernel evaluates nn::LrSchedule::lr_at in double, and a contracted a*b + c there would
// round differently from the host's evaluation of the same expression.
#include <cmath>

#include "engine/cuda/check.h"
#include "kernels/adam.h"
#include "kernels/launch.cuh"

namespace ser::kernels {
namespace {

constexpr unsigned kThreads = 256;

// The float constants of one step, all rounded from double on the host (or once per block).
struct AdamCoefficients {
  float one_minus_beta1;
  float one_minus_beta2;
  float epsilon;
};

AdamCoefficients coefficients_of(const AdamHyper& hyper) {
  return {static_cast<float>(1.0 - hyper.beta1), static_cast<float>(1.0 - hyper.beta2),
          static_cast<float>(hyper.epsilon)};
}

__device__ inline void adam_update(float& w, float g, float& m, float& v, float alpha, const AdamCoefficients& c) {
  m = __fadd_rn(m, __fmul_rn(__fsub_rn(g, m), c.one_minus_beta1));
  v = __fadd_rn(v, __fmul_rn(__fsub_rn(__fmul_rn(g, g), v), c.one_minus_beta2));
  w = __fsub_rn(w, __fdiv_rn(__fmul_rn(m, alpha), __fadd_rn(__fsqrt_rn(v), c.epsilon)));
}

// AdamW's decoupled decay (cpu::adam_step: w -= w * decay), then the Adam update.
__device__ inline void adamw_update(float& w, float g, float& m, float& v, float alpha, float decay, bool decays,
                                    const AdamCoefficients& c) {
  if (decays) w = __fsub_rn(w, __fmul_rn(w, decay));
  adam_update(w, g, m, v, alpha, c);
}

__device__ inline void adam_update4(float4& w, float4 g, float4& m, float4& v, float alpha, float decay, bool decays,
                                    const AdamCoefficients& c) {
  adamw_update(w.x, g.x, m.x, v.x, alpha, decay, decays, c);
  adamw_update(w.y, g.y, m.y, v.y, alpha, decay, decays, c);
  adamw_update(w.z, g.z, m.z, v.z, alpha, decay, decays, c);
  adamw_update(w.w, g.w, m.w, v.w, alpha, decay, decays, c);
}

// Body shared by both kernels. w, g, m, v: (n). vectorised: pointers 16-byte aligned.
// decays: weight_decay != 0 (decided on the host, as the CPU's `if`).
__device__ inline void adam_arena(float* __restrict__ w, const float* __restrict__ g, float* __restrict__ m,
                                  float* __restrict__ v, int64_t n, bool vectorised, float alpha, float decay,
                                  bool decays, const AdamCoefficients& c) {
  const int64_t first = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t stride = int64_t(blockDim.x) * gridDim.x;
  int64_t scalar_begin = 0;
  if (vectorised) {
    const int64_t groups = n / 4;  // (n/4) float4
    float4* w4 = reinterpret_cast<float4*>(w);
    const float4* g4 = reinterpret_cast<const float4*>(g);
    float4* m4 = reinterpret_cast<float4*>(m);
    float4* v4 = reinterpret_cast<float4*>(v);
    for (int64_t i = first; i < groups; i += stride) {
      float4 wi = w4[i], mi = m4[i], vi = v4[i];
      adam_update4(wi, g4[i], mi, vi, alpha, decay, decays, c);
      w4[i] = wi;
      m4[i] = mi;
      v4[i] = vi;
    }
    scalar_begin = groups * 4;
  }
  for (int64_t i = scalar_begin + first; i < n; i += stride) {
    float wi = w[i], mi = m[i], vi = v[i];
    adamw_update(wi, g[i], mi, vi, alpha, decay, decays, c);
    w[i] = wi;
    m[i] = mi;
    v[i] = vi;
  }
}

__global__ void adam_kernel(float* w, const float* g, float* m, float* v, int64_t n, bool vectorised, float alpha,
                            float decay, bool decays, AdamCoefficients c) {
  adam_arena(w, g, m, v, n, vectorised, alpha, decay, decays, c);
}

// step: (1), already incremented to t by advance_step_kernel. hyper by value: the same
// for every replay of a captured graph; lr_t, alpha_t and decay_t follow t.
__global__ void adam_device_counter_kernel(float* w, const float* g, float* m, float* v, int64_t n, bool vectorised,
                                           const int64_t* __restrict__ step, AdamHyper hyper, bool decays,
                                           AdamCoefficients c) {
  __shared__ float alpha, decay;
  if (threadIdx.x == 0) {
    const int64_t t_int = *step;
    const double t = static_cast<double>(t_int);
    const double lr = hyper.rate_of_step(t_int);
    alpha = static_cast<float>(lr * sqrt(1.0 - pow(hyper.beta2, t)) / (1.0 - pow(hyper.beta1, t)));
    decay = static_cast<float>(lr * hyper.weight_decay);
  }
  __syncthreads();
  adam_arena(w, g, m, v, n, vectorised, alpha, decay, decays, c);
}

__global__ void advance_step_kernel(int64_t* step) { *step += 1; }

bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

void check_adam_arguments(int64_t n, const AdamHyper& h, const char* entry) {
  SER_CHECK(n >= 0, "{}: arena size n = {} is negative", entry, n);
  SER_CHECK(h.learning_rate > 0, "{}: learning rate {} must be > 0", entry, h.learning_rate);
  SER_CHECK(h.beta1 >= 0 && h.beta1 < 1, "{}: beta1 = {} must be in [0, 1)", entry, h.beta1);
  SER_CHECK(h.beta2 >= 0 && h.beta2 < 1, "{}: beta2 = {} must be in [0, 1)", entry, h.beta2);
  SER_CHECK(h.epsilon > 0, "{}: epsilon {} must be > 0", entry, h.epsilon);
  SER_CHECK(h.weight_decay >= 0 && h.weight_decay < 1, "{}: weight decay {} must be in [0, 1)", entry,
            h.weight_decay);
  const nn::LrSchedule& s = h.schedule;
  SER_CHECK(s.kind == nn::LrScheduleKind::Constant ||
                (s.kind == nn::LrScheduleKind::OneCycle && s.total_steps >= 0 && s.pct_start > 0 &&
                 s.pct_start <= 1 && s.div_factor > 0 && s.final_div_factor > 0),
            "{}: invalid learning-rate schedule (kind {}, total steps {}, pct_start {}, div factors {} and {})", entry,
            static_cast<int>(s.kind), s.total_steps, s.pct_start, s.div_factor, s.final_div_factor);
}

}  // namespace

float adam_alpha(const AdamHyper& hyper, int64_t step) {
  SER_CHECK(step >= 1, "adam_alpha: step t = {} must be >= 1", step);
  const double t = static_cast<double>(step);
  return static_cast<float>(hyper.rate_of_step(step) * std::sqrt(1.0 - std::pow(hyper.beta2, t)) /
                            (1.0 - std::pow(hyper.beta1, t)));
}

float adamw_decay(const AdamHyper& hyper, int64_t step) {
  SER_CHECK(step >= 1, "adamw_decay: step t = {} must be >= 1", step);
  return static_cast<float>(hyper.rate_of_step(step) * hyper.weight_decay);
}

void adam_step(float* params, const float* grads, float* m, float* v, int64_t n, const AdamHyper& hyper,
               int64_t step, cudaStream_t stream) {
  check_adam_arguments(n, hyper, "adam_step");
  const float alpha = adam_alpha(hyper, step);
  const float decay = adamw_decay(hyper, step);
  if (n == 0) return;
  const bool vectorised = aligned16(params) && aligned16(grads) && aligned16(m) && aligned16(v);
  const unsigned blocks = detail::grid_stride_blocks(vectorised ? (n + 3) / 4 : n, kThreads);
  adam_kernel<<<blocks, kThreads, 0, stream>>>(params, grads, m, v, n, vectorised, alpha, decay,
                                               hyper.weight_decay != 0.0, coefficients_of(hyper));
  SER_CHECK_LAUNCH();
}

void adam_step_device_counter(float* params, const float* grads, float* m, float* v, int64_t n,
                              const AdamHyper& hyper, int64_t* step, cudaStream_t stream) {
  check_adam_arguments(n, hyper, "adam_step_device_counter");
  SER_CHECK(step != nullptr, "adam_step_device_counter: step counter pointer is null");
  advance_step_kernel<<<1, 1, 0, stream>>>(step);
  SER_CHECK_LAUNCH();
  if (n == 0) return;
  const bool vectorised = aligned16(params) && aligned16(grads) && aligned16(m) && aligned16(v);
  const unsigned blocks = detail::grid_stride_blocks(vectorised ? (n + 3) / 4 : n, kThreads);
  adam_device_counter_kernel<<<blocks, kThreads, 0, stream>>>(params, grads, m, v, n, vectorised, step, hyper,
                                                              hyper.weight_decay != 0.0, coefficients_of(hyper));
  SER_CHECK_LAUNCH();
}

}  // namespace ser::kernels
