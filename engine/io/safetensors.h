// safetensors files: an 8-byte little-endian header length N, N bytes of JSON
//   {"__metadata__": {"key": "value", ...},
//    "name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...}
// then the raw little-endian tensor bytes. Used for models and checkpoints; PyTorch's
// `safetensors` package reads our files as they are. Supported dtypes: F32, F64, I64.
#pragma once

#include <cstddef>
#include <filesystem>
#include <map>
#include <string>

#include "engine/io/array.h"

namespace ser {

struct SafeTensors {
  std::map<std::string, std::string> metadata;  // free-form strings (architecture, classes, ...)
  std::map<std::string, Array> tensors;

  const Array& at(const std::string& name, const std::string& file) const;  // throws naming file and tensor
};

SafeTensors read_safetensors(const std::filesystem::path& path);
// Parses an in-memory image; `name` is used in error messages (fuzz entry point).
SafeTensors parse_safetensors(const unsigned char* data, std::size_t size, const std::string& name);

std::string serialize_safetensors(const SafeTensors& file);
// Atomic write: an existing file is only replaced once the new one is complete.
void write_safetensors(const std::filesystem::path& path, const SafeTensors& file);

}  // namespace ser
