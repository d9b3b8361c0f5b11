// The CUDA half of the memory primitives in the CPU-only build: every request throws a
// clear error. Compiled only when the CUDA backend is not built.
#include "engine/core/device.h"
#include "engine/core/error.h"

namespace ser {

bool built_with_cuda() { return false; }
bool cuda_device_available() { return false; }
std::string cuda_device_description() { return "none: this binary was built without the CUDA backend"; }

namespace detail {
void* cuda_allocate(std::size_t bytes) {
  SER_FAIL("cannot allocate {} bytes of CUDA memory: ser was built without the CUDA backend", bytes);
}
void cuda_release(void*) noexcept {}
void cuda_copy(void*, Device, const void*, Device, std::size_t) {
  SER_FAIL("cannot copy to or from CUDA memory: ser was built without the CUDA backend");
}
}  // namespace detail
}  // namespace ser
