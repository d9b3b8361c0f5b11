// libFuzzer target for parse_npy (engine/io/npy.h): arbitrary bytes as a .npy image.
// Accepted arrays must hold exactly numel * dtype_size bytes and survive a serialise /
// parse round trip unchanged (same dtype, shape and bytes).
#include <cstddef>
#include <cstdint>

#include "engine/io/npy.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  ser::fuzz::expect_value_or_ser_error([&] {
    const ser::Array a = ser::parse_npy(data, size, "fuzz.npy");
    ser::fuzz::require(a.bytes.size() == static_cast<std::size_t>(a.numel()) * ser::dtype_size(a.dtype),
                       "npy: byte count matches shape");
    const std::string again = ser::serialize_npy(a);
    const ser::Array b =
        ser::parse_npy(reinterpret_cast<const unsigned char*>(again.data()), again.size(), "round-trip.npy");
    ser::fuzz::require(b.dtype == a.dtype && b.shape == a.shape && b.bytes == a.bytes, "npy: round trip");
  });
  return 0;
}
