// Per-channel bias and batch-norm kernels; see channel_ops.h for the maths and layouts.
// Launch shapes:
//   channel_partials: grid (C, S), 256 threads; block (c, s) walks samples
//     [s*ceil(N/S), (s+1)*ceil(N/S)) x HW as one flat range, so HW = 1 (dense) still
//     spreads over the threads. S = min(N, ceil(264 / C)) gives ~2 waves on 132 SMs.
//   finalize_*: one thread per channel (C <= a few hundred: negligible).
//   channel_affine: grid-stride over N*C*HW, y = x*a[c] + dy*b[c] + c0[c] in double.
// Workspace (doubles): part_a (C*S), part_b (C*S), coef (3*C).
#include <algorithm>

#include "engine/cuda/check.h"
#include "kernels/channel_ops.h"
#include "kernels/launch.cuh"
#include "kernels/reduce.cuh"

namespace ser::kernels {
namespace {

constexpr unsigned kThreads = 256;

int64_t splits(int64_t n, int64_t c) { return std::max<int64_t>(1, std::min<int64_t>(n, (264 + c - 1) / c)); }

struct Workspace {
  double *part_a, *part_b, *coef_a, *coef_b, *coef_c;  // (C*S), (C*S), (C) x 3
};

Workspace carve(double* w, int64_t c, int64_t s) {
  return {w, w + c * s, w + 2 * c * s, w + 2 * c * s + c, w + 2 * c * s + 2 * c};
}

enum class Sum { Values, SquaredDeviation, GradAndGradCentered };

// part_a[c*S + s] (and part_b for GradAndGradCentered) = the block's sums:
//   Values:              a = sum x
//   SquaredDeviation:    a = sum (x - mean[c])^2
//   GradAndGradCentered: a = sum dy, b = sum dy*(x - mean[c])
// x, dy: (N, C, HW); mean: (C) double or null.
template <Sum kind>
__global__ void channel_partials(const float* x, const float* dy, const double* mean_d, const float* mean_f,
                                 int64_t n, int64_t c, int64_t hw, int64_t s_count, double* part_a,
                                 double* part_b) {
  __shared__ double shared[32];
  const int64_t ch = blockIdx.x, s = blockIdx.y;
  const int64_t per_split = (n + s_count - 1) / s_count;
  const int64_t n0 = s * per_split, n1 = min(n, n0 + per_split);
  const double mu = kind == Sum::Values ? 0.0 : (mean_d != nullptr ? mean_d[ch] : double(mean_f[ch]));
  double a = 0.0, b = 0.0;
  const int64_t count = n1 > n0 ? (n1 - n0) * hw : 0;
  for (int64_t j = threadIdx.x; j < count; j += blockDim.x) {
    const int64_t sample = n0 + j / hw, i = j % hw;
    const int64_t at = (sample * c + ch) * hw + i;
    if (kind == Sum::Values) {
      a += x[at];
    } else if (kind == Sum::SquaredDeviation) {
      const double d = double(x[at]) - mu;
      a += d * d;
    } else {
      const double g = dy[at];
      a += g;
      b += g * (double(x[at]) - mu);
    }
  }
  a = detail::block_sum_double(a, shared);
  if (kind == Sum::GradAndGradCentered) b = detail::block_sum_double(b, shared);
  if (threadIdx.x == 0) {
    part_a[ch * s_count + s] = a;
    if (kind == Sum::GradAndGradCentered) part_b[ch * s_count + s] = b;
  }
}

__device__ inline double sum_partials(const double* part, int64_t ch, int64_t s_count) {
  double total = 0.0;
  for (int64_t s = 0; s < s_count; ++s) total += part[ch * s_count + s];
  return total;
}

// dbias[c] += sum of the partials.
__global__ void finalize_bias(float* dbias, const double* part_a, int64_t c, int64_t s_count) {
  const int64_t ch = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (ch < c) dbias[ch] += static_cast<float>(sum_partials(part_a, ch, s_count));
}

// mean_d[c] = sum / M.
__global__ void finalize_mean(double* mean_d, const double* part_a, int64_t c, int64_t s_count, double m) {
  const int64_t ch = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (ch < c) mean_d[ch] = sum_partials(part_a, ch, s_count) / m;
}

// Batch var, affine coefficients (scale -> coef_a, shift -> coef_c, coef_b = 0) and the
// moving-statistics update, exactly in the CPU's order of operations.
__global__ void finalize_train_statistics(float* batch_mean, float* batch_var, float* moving_mean,
                                          float* moving_var, double* coef_a, double* coef_b, double* coef_c,
                                          const double* mean_d, const double* part_a, const float* gamma,
                                          const float* beta, int64_t c, int64_t s_count, double m, double eps,
                                          double momentum) {
  const int64_t ch = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (ch >= c) return;
  const double mu = mean_d[ch], v = sum_partials(part_a, ch, s_count) / m;
  batch_mean[ch] = static_cast<float>(mu);
  batch_var[ch] = static_cast<float>(v);
  const double scale = gamma[ch] / sqrt(v + eps);
  coef_a[ch] = scale;
  coef_b[ch] = 0.0;
  coef_c[ch] = beta[ch] - mu * scale;
  // As cpu::batchnorm_update_moving: from the float-rounded batch statistics.
  moving_mean[ch] = static_cast<float>(momentum * moving_mean[ch] + (1.0 - momentum) * batch_mean[ch]);
  moving_var[ch] = static_cast<float>(momentum * moving_var[ch] + (1.0 - momentum) * batch_var[ch]);
}

__global__ void finalize_eval_affine(double* coef_a, double* coef_b, double* coef_c, const float* gamma,
                                     const float* beta, const float* mean, const float* var, int64_t c, double eps) {
  const int64_t ch = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (ch >= c) return;
  const double scale = gamma[ch] / sqrt(double(var[ch]) + eps);
  coef_a[ch] = scale;
  coef_b[ch] = 0.0;
  coef_c[ch] = beta[ch] - mean[ch] * scale;
}

// Backward: dbeta += sum dy, dgamma += sum dy*xhat, and the dx coefficients
// dx = a*dy + b*x + c0 (train: through the batch statistics; eval: a = gamma*inv_std).
__global__ void finalize_backward(float* dgamma, float* dbeta, double* coef_a, double* coef_b, double* coef_c,
                                  const double* part_a, const double* part_b, const float* gamma, const float* mean,
                                  const float* var, int64_t c, int64_t s_count, double m, double eps,
                                  bool batch_statistics) {
  const int64_t ch = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (ch >= c) return;
  const double mu = mean[ch], inv_std = 1.0 / sqrt(double(var[ch]) + eps);
  const double sum_dy = sum_partials(part_a, ch, s_count);
  const double sum_dy_xhat = sum_partials(part_b, ch, s_count) * inv_std;
  dbeta[ch] += static_cast<float>(sum_dy);
  dgamma[ch] += static_cast<float>(sum_dy_xhat);
  const double k = gamma[ch] * inv_std;
  if (batch_statistics) {
    const double mean_dy = sum_dy / m, mean_dy_xhat = sum_dy_xhat / m;
    coef_a[ch] = k;
    coef_b[ch] = -k * inv_std * mean_dy_xhat;
    coef_c[ch] = -k * mean_dy + k * inv_std * mean_dy_xhat * mu;
  } else {
    coef_a[ch] = k;
    coef_b[ch] = 0.0;
    coef_c[ch] = 0.0;
  }
}

// out = a[c]*u + b[c]*w + c0[c] in double, rounded once (u, w, out: (N, C, HW); w may be null).
__global__ void channel_affine(float* out, const float* u, const float* w, const double* coef_a,
                               const double* coef_b, const double* coef_c, int64_t total, int64_t c, int64_t hw) {
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += int64_t(blockDim.x) * gridDim.x) {
    const int64_t ch = (e / hw) % c;
    const double wv = w != nullptr ? double(w[e]) : 0.0;
    out[e] = static_cast<float>(coef_a[ch] * u[e] + coef_b[ch] * wv + coef_c[ch]);
  }
}

__global__ void bias_add_kernel(float* y, const float* bias, int64_t total, int64_t c, int64_t hw) {
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += int64_t(blockDim.x) * gridDim.x)
    y[e] += bias[(e / hw) % c];
}

void check_sizes(const char* entry, int64_t n, int64_t c, int64_t hw) {
  SER_CHECK(n >= 1 && c >= 1 && hw >= 1, "{}: invalid sizes N={} C={} HW={}", entry, n, c, hw);
}

unsigned per_channel_blocks(int64_t c) { return static_cast<unsigned>((c + kThreads - 1) / kThreads); }

template <Sum kind>
void launch_partials(const float* x, const float* dy, const double* mean_d, const float* mean_f, int64_t n,
                     int64_t c, int64_t hw, const Workspace& ws, cudaStream_t stream) {
  const int64_t s = splits(n, c);
  channel_partials<kind><<<dim3(static_cast<unsigned>(c), static_cast<unsigned>(s)), kThreads, 0, stream>>>(
      x, dy, mean_d, mean_f, n, c, hw, s, ws.part_a, ws.part_b);
  SER_CHECK_LAUNCH();
}

}  // namespace

int64_t channel_ops_workspace_doubles(int64_t n, int64_t c) { return c * (2 * splits(n, c) + 3); }

void bias_add(float* y, const float* bias, int64_t n, int64_t c, int64_t hw, cudaStream_t stream) {
  check_sizes("bias_add", n, c, hw);
  const int64_t total = n * c * hw;
  bias_add_kernel<<<detail::grid_stride_blocks(total, kThreads), kThreads, 0, stream>>>(y, bias, total, c, hw);
  SER_CHECK_LAUNCH();
}

void bias_backward(float* dbias, const float* dy, int64_t n, int64_t c, int64_t hw, double* workspace,
                   cudaStream_t stream) {
  check_sizes("bias_backward", n, c, hw);
  const Workspace ws = carve(workspace, c, splits(n, c));
  launch_partials<Sum::Values>(dy, nullptr, nullptr, nullptr, n, c, hw, ws, stream);
  finalize_bias<<<per_channel_blocks(c), kThreads, 0, stream>>>(dbias, ws.part_a, c, splits(n, c));
  SER_CHECK_LAUNCH();
}

void batchnorm_forward_train(float* y, float* batch_mean, float* batch_var, float* moving_mean, float* moving_var,
                             const float* x, const float* gamma, const float* beta, int64_t n, int64_t c,
                             int64_t hw, double epsilon, double momentum, double* workspace, cudaStream_t stream) {
  check_sizes("batchnorm_forward_train", n, c, hw);
  const int64_t s = splits(n, c), total = n * c * hw;
  const double m = static_cast<double>(n) * hw;
  const Workspace ws = carve(workspace, c, s);
  double* mean_d = ws.coef_b;  // free until the statistics are final
  launch_partials<Sum::Values>(x, nullptr, nullptr, nullptr, n, c, hw, ws, stream);
  finalize_mean<<<per_channel_blocks(c), kThreads, 0, stream>>>(mean_d, ws.part_a, c, s, m);
  SER_CHECK_LAUNCH();
  launch_partials<Sum::SquaredDeviation>(x, nullptr, mean_d, nullptr, n, c, hw, ws, stream);
  // coef_b doubles as mean_d: the finalize reads mean_d[ch] before writing coef_b[ch].
  finalize_train_statistics<<<per_channel_blocks(c), kThreads, 0, stream>>>(
      batch_mean, batch_var, moving_mean, moving_var, ws.coef_a, ws.coef_b, ws.coef_c, mean_d, ws.part_a, gamma,
      beta, c, s, m, epsilon, momentum);
  SER_CHECK_LAUNCH();
  channel_affine<<<detail::grid_stride_blocks(total, kThreads), kThreads, 0, stream>>>(
      y, x, nullptr, ws.coef_a, ws.coef_b, ws.coef_c, total, c, hw);
  SER_CHECK_LAUNCH();
}

void batchnorm_forward_eval(float* y, const float* x, const float* gamma, const float* beta, const float* mean,
                            const float* var, int64_t n, int64_t c, int64_t hw, double epsilon, double* workspace,
                            cudaStream_t stream) {
  check_sizes("batchnorm_forward_eval", n, c, hw);
  const int64_t total = n * c * hw;
  const Workspace ws = carve(workspace, c, splits(n, c));
  finalize_eval_affine<<<per_channel_blocks(c), kThreads, 0, stream>>>(ws.coef_a, ws.coef_b, ws.coef_c, gamma, beta,
                                                                        mean, var, c, epsilon);
  SER_CHECK_LAUNCH();
  channel_affine<<<detail::grid_stride_blocks(total, kThreads), kThreads, 0, stream>>>(
      y, x, nullptr, ws.coef_a, ws.coef_b, ws.coef_c, total, c, hw);
  SER_CHECK_LAUNCH();
}

void batchnorm_backward(float* dx, float* dgamma, float* dbeta, const float* dy, const float* x, const float* gamma,
                        const float* mean, const float* var, int64_t n, int64_t c, int64_t hw, double epsilon,
                        bool batch_statistics, double* workspace, cudaStream_t stream) {
  check_sizes("batchnorm_backward", n, c, hw);
  const int64_t s = splits(n, c), total = n * c * hw;
  const double m = static_cast<double>(n) * hw;
  const Workspace ws = carve(workspace, c, s);
  launch_partials<Sum::GradAndGradCentered>(x, dy, nullptr, mean, n, c, hw, ws, stream);
  finalize_backward<<<per_channel_blocks(c), kThreads, 0, stream>>>(dgamma, dbeta, ws.coef_a, ws.coef_b, ws.coef_c,
                                                                     ws.part_a, ws.part_b, gamma, mean, var, c, s, m,
                                                                     epsilon, batch_statistics);
  SER_CHECK_LAUNCH();
  if (dx == nullptr) return;
  // Eval mode has b = 0: leave x out rather than multiply it by 0 (an Inf in x would give NaN).
  channel_affine<<<detail::grid_stride_blocks(total, kThreads), kThreads, 0, stream>>>(
      dx, dy, batch_statistics ? x : nullptr, ws.coef_a, ws.coef_b, ws.coef_c, total, c, hw);
  SER_CHECK_LAUNCH();
}

}  // namespace ser::kernels
