// libFuzzer target for parse_safetensors (engine/io/safetensors.h): arbitrary bytes as a
// model or checkpoint image. Accepted files must round-trip through serialize_safetensors
// with the same metadata and tensors (dtype, shape, bytes).
#include <cstddef>
#include <cstdint>

#include "engine/io/safetensors.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  ser::fuzz::expect_value_or_ser_error([&] {
    const ser::SafeTensors f = ser::parse_safetensors(data, size, "fuzz.safetensors");
    for (const auto& [name, a] : f.tensors)
      ser::fuzz::require(a.bytes.size() == static_cast<std::size_t>(a.numel()) * ser::dtype_size(a.dtype),
                         "safetensors: byte count matches shape");
    const std::string again = ser::serialize_safetensors(f);
    const ser::SafeTensors g = ser::parse_safetensors(reinterpret_cast<const unsigned char*>(again.data()),
                                                      again.size(), "round-trip.safetensors");
    ser::fuzz::require(g.metadata == f.metadata && g.tensors.size() == f.tensors.size(), "safetensors: round trip");
    for (const auto& [name, a] : f.tensors) {
      const ser::Array& b = g.at(name, "round-trip.safetensors");
      ser::fuzz::require(b.dtype == a.dtype && b.shape == a.shape && b.bytes == a.bytes,
                         "safetensors: tensor round trip");
    }
  });
  return 0;
}
