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

// Strict FP32 is CUBLAS_DEFAULT_MATH: for SGEMM it never uses TF32 (only
// CUBLAS_TF32_TENSOR_OP_MATH does), while PEDANTIC is documented as a slower debugging mode.
// A change of mode bumps the memory generation: a captured graph keeps the math (cuBLAS
// kernels, cuDNN algorithms) of its capture, so it must be captured again.
void CudaContext::set_math_mode(MathMode mode) {
  if (cublas_math_set_ && mode == math_mode_) return;
  CUBLAS_CHECK(cublasSetMathMode(cublas_, mode == MathMode::AllowTf32 ? CUBLAS_TF32_TENSOR_OP_MATH
                                                                       : CUBLAS_DEFAULT_MATH));
  if (cublas_math_set_) note_reallocation();
  math_mode_ = mode;
  cublas_math_set_ = true;
}

void* CudaContext::workspace(std::size_t bytes) {
  if (bytes > workspace_bytes_) {
    check_not_capturing("the shared workspace grows");
    CUDA_CHECK(cudaStreamSynchronize(stream_));  // the old buffer may still be in use
    // The old buffer is gone from here on, even if the new allocation fails: graphs that
    // captured it are stale either way.
    note_reallocation();
    if (workspace_) CUDA_CHECK(cudaFree(workspace_));
    workspace_ = nullptr;
    workspace_bytes_ = 0;
    CUDA_CHECK(cudaMalloc(&workspace_, bytes));
    workspace_bytes_ = bytes;
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
