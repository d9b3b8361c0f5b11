// NumPy .npy files (format versions 1.0, 2.0, 3.0): read and write float32, float64 and
// int64 arrays in C order, little-endian. Anything else (Fortran order, big-endian,
// other dtypes, object arrays, truncated data) is a clear ser::Error naming the file.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "engine/io/array.h"

namespace ser {

Array read_npy(const std::filesystem::path& path);
// Parses an in-memory .npy image; `name` is used in error messages (fuzz entry point).
Array parse_npy(const unsigned char* data, std::size_t size, const std::string& name);

// The format 1.0 preamble (magic, version, length, dict, '\n') of an array of `dtype` and
// `shape`, padded with spaces to a multiple of 64 bytes and to at least `at_least` bytes
// (a writer that learns the shape at the end reserves room for the final header).
std::string npy_header(DType dtype, const std::vector<int64_t>& shape, std::size_t at_least = 0);

// Writes format 1.0 (header padded to a multiple of 64 bytes), atomically.
void write_npy(const std::filesystem::path& path, const Array& array);
std::string serialize_npy(const Array& array);

// Convenience: a float32 tensor to / from .npy.
inline Tensor read_npy_tensor(const std::filesystem::path& path) { return read_npy(path).to_tensor(); }
inline void write_npy(const std::filesystem::path& path, const Tensor& t) { write_npy(path, Array::from_tensor(t)); }

}  // namespace ser
