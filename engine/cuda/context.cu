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
  // cuBLAS's own workspace, set explicitly: its default pool may allocate on first use of a
  // kernel, which a CUDA-graph capture cannot contain. 32 MiB is NVIDIA's advice for Hopper.
  constexpr std::size_t kCublasWorkspaceBytes = std::size_t(32) << 20;
  CUDA_CHECK(cudaMalloc(&cublas_workspace_, kCublasWorkspaceBytes));
  CUBLAS_CHECK(cublasSetWorkspace(cublas_, cublas_workspace_, kCublasWorkspaceBytes));
  set_math_mode(MathMode::StrictFp32);
}

CudaContext::~CudaContext() {
  if (workspace_) cudaFree(workspace_);
  if (cublas_) cublasDestroy(cublas_);
  if (cublas_workspace_) cudaFree(cublas_workspace_);
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
    check_not_capturing("the shared workspace grows");
    CUDA_CHECK(cudaStreamSynchronize(stream_));  // the old buffer may still be in use
    if (workspace_) CUDA_CHECK(cudaFree(workspace_));
    workspace_ = nullptr;
    workspace_bytes_ = 0;
    CUDA_CHECK(cudaMalloc(&workspace_, bytes));
    workspace_bytes_ = bytes;
    note_reallocation();
  }
  return workspace_;
}

void CudaContext::synchronize() const { CUDA_CHECK(cudaStreamSynchronize(stream_)); }

void CudaContext::check_not_capturing(const char* what) const {
  cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
  CUDA_CHECK(cudaStreamIsCapturing(stream_, &status));
  SER_CHECK(status == cudaStreamCaptureStatusNone,
            "internal error: {} while the training step is being captured into a CUDA graph (every shape must run "
            "once eagerly before capture)", what);
}

}  // namespace ser::cuda
