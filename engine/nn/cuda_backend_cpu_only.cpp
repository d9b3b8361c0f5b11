// engine/nn/cuda_backend.h in the CPU-only build: every entry throws a clear error.
#include "engine/core/error.h"
#include "engine/nn/cuda_backend.h"

namespace ser::cuda {

namespace {
[[noreturn]] void no_cuda(const char* what) {
  SER_FAIL("{}: ser was built without the CUDA backend (configure with a CUDA toolkit and cuDNN)", what);
}
}  // namespace

CudaContext& default_context() { no_cuda("the CUDA context"); }
void wait_for_legacy_stream(CudaContext&) { no_cuda("wait_for_legacy_stream"); }
void synchronize(CudaContext&) { no_cuda("synchronize"); }
void copy_device_to_device(CudaContext&, void*, const void*, std::size_t) { no_cuda("a device copy"); }
void copy_host_to_device(CudaContext&, void*, const void*, std::size_t) { no_cuda("a device copy"); }
void fill_zero(CudaContext&, void*, std::size_t) { no_cuda("fill_zero"); }
double softmax_cross_entropy(CudaContext&, const float*, const int32_t*, int64_t, int, float*, float*, int32_t*) {
  no_cuda("the CUDA loss");
}
void softmax_cross_entropy_accumulate(CudaContext&, const float*, const int32_t*, int64_t, int, float*, float*, int*) {
  no_cuda("the CUDA loss");
}
double softmax_cross_entropy_soft(CudaContext&, const float*, const int32_t*, const int32_t*, const float*, double,
                                  int64_t, int, float*, float*, int32_t*) {
  no_cuda("the CUDA loss");
}
void softmax_cross_entropy_soft_accumulate(CudaContext&, const float*, const int32_t*, const int32_t*, const float*,
                                           double, int64_t, int, float*, float*, int*) {
  no_cuda("the CUDA loss");
}
void set_allow_tf32(CudaContext&, bool) { no_cuda("set_allow_tf32"); }
void note_reallocation(CudaContext&) { no_cuda("note_reallocation"); }
void check_not_capturing(CudaContext&, const char*) { no_cuda("check_not_capturing"); }
void adam_step(CudaContext&, float*, const float*, float*, float*, int64_t, double, double, double, double, double,
               const nn::LrSchedule&, int64_t) {
  no_cuda("the CUDA Adam step");
}

}  // namespace ser::cuda
