// Per-channel operations over NCHW activations (spatial dims flattened to HW; a dense
// layer's (N, C) rows are the case HW = 1): the bias of a convolution or dense layer, and
// batch normalisation with Keras semantics, mirroring engine/cpu/batchnorm.h:
//   train: mu = mean(x), var = mean((x - mu)^2) (BIASED, two passes), both accumulated in
//          double; y = x*scale + shift with scale = gamma/sqrt(var + eps) and
//          shift = beta - mu*scale in double; moving = m*moving + (1 - m)*batch with the
//          same BIASED var. (cuDNN's BN would update the moving var with the UNBIASED
//          M/(M-1) variance; owning the kernel keeps Keras' rule exactly, no rescaling.)
//   eval:  the same affine map from the moving statistics.
// Reductions: grid (C, S) blocks, block (c, s) sums a fixed slice of the batch in double
// with a fixed tree, then one thread per channel adds the S partials in order.
// Deterministic (no atomics), same accumulation precision as the CPU.
// Gradient semantics: dbias, dgamma, dbeta ACCUMULATE (+=); dx is OVERWRITTEN (=).
// All pointers are device pointers; work is queued on `stream` without synchronising.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace ser::kernels {

// Doubles of scratch the functions below need for a batch of n and c channels.
int64_t channel_ops_workspace_doubles(int64_t n, int64_t c);

// y: (N, C, HW) += bias[c]; bias: (C).
void bias_add(float* y, const float* bias, int64_t n, int64_t c, int64_t hw, cudaStream_t stream);
// dbias: (C) += sum over N and HW of dy (N, C, HW).
void bias_backward(float* dbias, const float* dy, int64_t n, int64_t c, int64_t hw, double* workspace,
                   cudaStream_t stream);

// x, y: (N, C, HW); gamma, beta, moving_mean, moving_var: (C). Writes batch_mean and the
// biased batch_var (C, rounded to float as the CPU layer keeps them) and updates the moving
// statistics in place.
void batchnorm_forward_train(float* y, float* batch_mean, float* batch_var, float* moving_mean, float* moving_var,
                             const float* x, const float* gamma, const float* beta, int64_t n, int64_t c,
                             int64_t hw, double epsilon, double momentum, double* workspace, cudaStream_t stream);

// y = gamma*(x - mean)/sqrt(var + eps) + beta with the given (moving) statistics (C).
void batchnorm_forward_eval(float* y, const float* x, const float* gamma, const float* beta, const float* mean,
                            const float* var, int64_t n, int64_t c, int64_t hw, double epsilon, double* workspace,
                            cudaStream_t stream);

// batch_statistics = true: the train-mode backward through mean/var (the batch statistics
// the forward wrote); false: eval mode (mean/var are constants, dx = gamma/sqrt(var+eps)*dy).
// dx may be null (parameter gradients only).
void batchnorm_backward(float* dx, float* dgamma, float* dbeta, const float* dy, const float* x, const float* gamma,
                        const float* mean, const float* var, int64_t n, int64_t c, int64_t hw, double epsilon,
                        bool batch_statistics, double* workspace, cudaStream_t stream);

}  // namespace ser::kernels
