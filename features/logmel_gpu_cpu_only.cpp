// CPU-only build: the GPU log-mel extractor exists as a type but every entry throws a
// clear error (never a silent CPU fallback).
#include "engine/core/error.h"
#include "features/logmel_gpu.h"

namespace ser::features {

struct GpuLogMelExtractor::Impl {};

GpuLogMelExtractor::GpuLogMelExtractor(const LogMelConfig&) {
  SER_FAIL("GpuLogMelExtractor: this binary was built without CUDA; use Device::CPU");
}
GpuLogMelExtractor::~GpuLogMelExtractor() = default;
GpuLogMelExtractor::Ticket GpuLogMelExtractor::submit(const std::vector<std::vector<float>>&, Device) {
  SER_FAIL("GpuLogMelExtractor: built without CUDA");
}
Tensor GpuLogMelExtractor::collect(const Ticket&) { SER_FAIL("GpuLogMelExtractor: built without CUDA"); }
int GpuLogMelExtractor::in_flight() const { return 0; }
Tensor GpuLogMelExtractor::images(const std::vector<std::vector<float>>&, Device) {
  SER_FAIL("GpuLogMelExtractor: built without CUDA");
}
std::vector<LogMelStages> GpuLogMelExtractor::stages(const std::vector<std::vector<float>>&) {
  SER_FAIL("GpuLogMelExtractor: built without CUDA");
}

}  // namespace ser::features
