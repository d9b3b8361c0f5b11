// Error checks for the CUDA runtime and libraries. Each macro throws ser::Error with
// file:line, the failing call as written, and the library's own message string.
// SER_CHECK_LAUNCH() goes after every kernel launch.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>
#include <cufft.h>

#include "engine/core/error.h"

namespace ser::cuda {
const char* cufft_error_string(cufftResult status);
}

#define CUDA_CHECK(call)                                                                        \
  do {                                                                                          \
    cudaError_t ser_status_ = (call);                                                           \
    if (ser_status_ != cudaSuccess)                                                             \
      ::ser::throw_error(__FILE__, __LINE__, fmt::format("{} failed: {} ({})", #call,           \
                                                         cudaGetErrorString(ser_status_),      \
                                                         cudaGetErrorName(ser_status_)));      \
  } while (0)

#define CUDNN_CHECK(call)                                                                       \
  do {                                                                                          \
    cudnnStatus_t ser_status_ = (call);                                                         \
    if (ser_status_ != CUDNN_STATUS_SUCCESS)                                                    \
      ::ser::throw_error(__FILE__, __LINE__,                                                    \
                         fmt::format("{} failed: {}", #call, cudnnGetErrorString(ser_status_))); \
  } while (0)

#define CUBLAS_CHECK(call)                                                                       \
  do {                                                                                           \
    cublasStatus_t ser_status_ = (call);                                                         \
    if (ser_status_ != CUBLAS_STATUS_SUCCESS)                                                    \
      ::ser::throw_error(__FILE__, __LINE__,                                                     \
                         fmt::format("{} failed: {}", #call, cublasGetStatusString(ser_status_))); \
  } while (0)

#define CUFFT_CHECK(call)                                                                         \
  do {                                                                                            \
    cufftResult ser_status_ = (call);                                                             \
    if (ser_status_ != CUFFT_SUCCESS)                                                             \
      ::ser::throw_error(__FILE__, __LINE__, fmt::format("{} failed: {}", #call,                  \
                                                         ::ser::cuda::cufft_error_string(ser_status_))); \
  } while (0)

// After a kernel launch: reports a bad launch configuration at once (asynchronous
// faults surface at the next synchronising CUDA_CHECK).
#define SER_CHECK_LAUNCH() CUDA_CHECK(cudaGetLastError())
