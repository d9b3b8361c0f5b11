// The float32 CUDA layer entries in the CPU-only build (the CUDA build defines them in
// engine/cuda/layers_*.cu): each throws a clear error. Unreachable in practice, since
// CUDA tensors cannot exist without the backend, but the declarations in layers.h need a
// definition in every build.
#include "engine/core/error.h"
#include "engine/nn/layers.h"

namespace ser::nn {

#define SER_NO_CUDA_LAYER(L)                                                                              \
  template <>                                                                                             \
  void L<float>::forward_cuda(const float*, float*, Mode) {                                               \
    SER_FAIL("layer {} ({}): ser was built without the CUDA backend", this->name(), kind());              \
  }                                                                                                       \
  template <>                                                                                             \
  void L<float>::backward_cuda(const float*, float*) {                                                    \
    SER_FAIL("layer {} ({}): ser was built without the CUDA backend", this->name(), kind());              \
  }
SER_NO_CUDA_LAYER(Conv2d)
SER_NO_CUDA_LAYER(BatchNorm2d)
SER_NO_CUDA_LAYER(ReLU)
SER_NO_CUDA_LAYER(MaxPool2d)
SER_NO_CUDA_LAYER(Flatten)
SER_NO_CUDA_LAYER(GlobalAvgPool2d)
SER_NO_CUDA_LAYER(Dense)
SER_NO_CUDA_LAYER(Dropout)
#undef SER_NO_CUDA_LAYER

}  // namespace ser::nn
