// CudaContext: stream, cuDNN / cuBLAS handles, shared workspace, generator.
#include "engine/cuda/check.h"
#include "engine/cuda/context.h"

namespace ser::cuda {

CudaContext::CudaContext(uint64_t seed, int device) : device_(device), generator_(seed) {
  CUDA_CHECK(cudaSetDevice(device_));
  CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  CUDNN_CHECK(cudnnCreate(&cudnn_));
  CUDNN_CHECK(cudnnSetStream(cudnn_, stream_));
  CUBLAS_CHECK(cublasCreate(&cublas_));
  CUBLAS_CHECK(cublasSetStream(cublas_, stream_));
  set_math_mode(MathMode::StrictFp32);
}

CudaContext::~CudaContext() {
  if (workspace_) cudaFree(workspace_);
  if (cublas_) cublasDestroy(cublas_);
  if (cudnn_) cudnnDestroy(cudnn_);
  if (stream_) cudaStreamDestroy(stream_);
}

void CudaContext::set_math_mode(MathMode mode) {
  math_mode_ = mode;
  CUBLAS_CHECK(cublasSetMathMode(cublas_, mode == MathMode::AllowTf32 ? CUBLAS_TF32_TENSOR_OP_MATH
                                                                       : CUBLAS_PEDANTIC_MATH));
}

void* CudaContext::workspace(std::size_t bytes) {
  if (bytes > workspace_bytes_) {
    CUDA_CHECK(cudaStreamSynchronize(stream_));  // the old buffer may still be in use
    if (workspace_) CUDA_CHECK(cudaFree(workspace_));
    workspace_ = nullptr;
    workspace_bytes_ = 0;
    CUDA_CHECK(cudaMalloc(&workspace_, bytes));
    workspace_bytes_ = bytes;
  }
  return workspace_;
}

void CudaContext::synchronize() const { CUDA_CHECK(cudaStreamSynchronize(stream_)); }

}  // namespace ser::cuda
