// CudaContext: everything one GPU's work needs, created once and shared by every layer
// and kernel of a run — the stream all work is queued on, the cuDNN and cuBLAS handles
// bound to it, one growable workspace shared by cuDNN/cuBLAS calls, and the seeded
// Philox generator (the same one a CPU run would use, so masks match across devices).
// Only compiled in the CUDA build.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include <cstddef>

#include "engine/core/random.h"

namespace ser::cuda {

enum class MathMode { StrictFp32, AllowTf32 };

class CudaContext {
 public:
  explicit CudaContext(uint64_t seed = 42, int device = 0);
  ~CudaContext();
  CudaContext(const CudaContext&) = delete;
  CudaContext& operator=(const CudaContext&) = delete;

  cudaStream_t stream() const { return stream_; }
  cudnnHandle_t cudnn() const { return cudnn_; }
  cublasHandle_t cublas() const { return cublas_; }
  Generator& generator() { return generator_; }

  // Strict FP32 (parity tests) or TF32 tensor-core math for cuBLAS / cuDNN.
  void set_math_mode(MathMode mode);
  MathMode math_mode() const { return math_mode_; }

  // A device buffer of at least `bytes` (grown, never shrunk; contents not preserved).
  void* workspace(std::size_t bytes);
  std::size_t workspace_size() const { return workspace_bytes_; }

  void synchronize() const;

  // Memory generation: bumped whenever a buffer that queued work may use is reallocated (the
  // shared workspace, the network's activation buffers, layer scratch), and when the math
  // mode changes. A CUDA graph records the generation it was captured at and is stale once
  // it changes.
  uint64_t memory_generation() const { return memory_generation_; }
  void note_reallocation() { ++memory_generation_; }
  // Throws a clear internal error when the stream is being captured into a CUDA graph
  // (`what` names the operation that would break the capture: an allocation, a sync).
  void check_not_capturing(const char* what) const;

 private:
  int device_ = 0;
  cudaStream_t stream_ = nullptr;
  cudnnHandle_t cudnn_ = nullptr;
  cublasHandle_t cublas_ = nullptr;
  void* workspace_ = nullptr;
  std::size_t workspace_bytes_ = 0;
  void* cublas_workspace_ = nullptr;  // fixed, so cuBLAS never allocates inside a graph capture
  uint64_t memory_generation_ = 0;
  MathMode math_mode_ = MathMode::StrictFp32;
  bool cublas_math_set_ = false;  // set_math_mode has configured the cuBLAS handle
  Generator generator_;
};

}  // namespace ser::cuda
