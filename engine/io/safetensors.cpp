// safetensors reader/writer with strict validation of the untrusted header: its length,
// JSON syntax, dtype names, shapes, and that every tensor's byte range lies inside the
// data section and matches its shape.
#include "engine/io/safetensors.h"

#include <nlohmann/json.hpp>

#include "engine/core/error.h"
#include "engine/io/file.h"

namespace ser {
namespace {

constexpr std::size_t kMaxHeaderBytes = 100u << 20;  // the format's own limit (100 MB)
constexpr int64_t kMaxElements = int64_t(1) << 34;

DType parse_dtype(const std::string& s, const std::string& name, const std::string& tensor) {
  if (s == "F32") return DType::F32;
  if (s == "F64") return DType::F64;
  if (s == "I64") return DType::I64;
  SER_FAIL("{}: tensor '{}' has unsupported dtype '{}' (supported: F32, F64, I64)", name, tensor, s);
}

const char* dtype_tag(DType dtype) {
  switch (dtype) {
    case DType::F32: return "F32";
    case DType::F64: return "F64";
    case DType::I64: return "I64";
  }
  return "";
}

}  // namespace

const Array& SafeTensors::at(const std::string& name, const std::string& file) const {
  auto it = tensors.find(name);
  SER_CHECK(it != tensors.end(), "{}: has no tensor named '{}'", file, name);
  return it->second;
}

SafeTensors parse_safetensors(const unsigned char* data, std::size_t size, const std::string& name) {
  SER_CHECK(size >= 8, "{}: too short to be a safetensors file ({} bytes)", name, size);
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | data[i];
  SER_CHECK(header_len <= kMaxHeaderBytes,
            "{}: not a safetensors file (its header length field reads {}, an absurd value; limit {})", name,
            header_len, kMaxHeaderBytes);
  SER_CHECK(header_len <= size - 8, "{}: safetensors header length {} runs past the end of the file ({} bytes)", name,
            header_len, size);
  const unsigned char* body = data + 8 + header_len;
  const std::size_t body_size = size - 8 - header_len;

  nlohmann::json header;
  try {
    header = nlohmann::json::parse(data + 8, data + 8 + header_len);
  } catch (const nlohmann::json::exception& e) {
    SER_FAIL("{}: safetensors header is not valid JSON ({})", name, e.what());
  }
  SER_CHECK(header.is_object(), "{}: safetensors header must be a JSON object", name);

  SafeTensors out;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& key = it.key();
    const auto& value = it.value();
    if (key == "__metadata__") {
      SER_CHECK(value.is_object(), "{}: __metadata__ must be an object of strings", name);
      for (auto m = value.begin(); m != value.end(); ++m) {
        SER_CHECK(m.value().is_string(), "{}: metadata '{}' is not a string", name, m.key());
        out.metadata[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    SER_CHECK(value.is_object() && value.contains("dtype") && value.contains("shape") &&
                  value.contains("data_offsets"),
              "{}: tensor '{}' lacks dtype, shape or data_offsets", name, key);
    const auto& jd = value["dtype"];
    const auto& js = value["shape"];
    const auto& jo = value["data_offsets"];
    SER_CHECK(jd.is_string(), "{}: tensor '{}' dtype is not a string", name, key);
    SER_CHECK(js.is_array() && js.size() <= 32, "{}: tensor '{}' shape is not a short array", name, key);
    SER_CHECK(jo.is_array() && jo.size() == 2 && jo[0].is_number_unsigned() && jo[1].is_number_unsigned(),
              "{}: tensor '{}' data_offsets must be two non-negative integers", name, key);
    Array array;
    array.dtype = parse_dtype(jd.get<std::string>(), name, key);
    for (const auto& d : js) {
      SER_CHECK(d.is_number_unsigned(), "{}: tensor '{}' shape has a non-integer or negative entry", name, key);
      array.shape.push_back(static_cast<int64_t>(std::min<uint64_t>(d.get<uint64_t>(), uint64_t(1) << 62)));
    }
    int64_t numel = 0;
    try {
      numel = checked_numel(array.shape, kMaxElements);
    } catch (const Error& e) {
      SER_FAIL("{}: tensor '{}': {}", name, key, e.what());
    }
    const uint64_t begin = jo[0].get<uint64_t>(), end = jo[1].get<uint64_t>();
    SER_CHECK(begin <= end && end <= body_size, "{}: tensor '{}' byte range [{}, {}) lies outside the data ({} bytes)",
              name, key, begin, end, body_size);
    const uint64_t expected = static_cast<uint64_t>(numel) * dtype_size(array.dtype);
    SER_CHECK(end - begin == expected, "{}: tensor '{}' has {} bytes but shape {} of {} needs {}", name, key,
              end - begin, array.shape_str(), dtype_name(array.dtype), expected);
    array.bytes.assign(body + begin, body + end);
    out.tensors.emplace(key, std::move(array));
  }
  return out;
}

SafeTensors read_safetensors(const std::filesystem::path& path) {
  const auto bytes = read_file_bytes(path);
  return parse_safetensors(bytes.data(), bytes.size(), path.string());
}

std::string serialize_safetensors(const SafeTensors& file) {
  nlohmann::json header = nlohmann::json::object();
  if (!file.metadata.empty()) header["__metadata__"] = file.metadata;
  uint64_t offset = 0;
  for (const auto& [name, array] : file.tensors) {
    SER_CHECK(static_cast<int64_t>(array.bytes.size()) == array.numel() * int64_t(dtype_size(array.dtype)),
              "serialize_safetensors: tensor '{}' has {} bytes for shape {}", name, array.bytes.size(),
              array.shape_str());
    header[name] = {{"dtype", dtype_tag(array.dtype)},
                    {"shape", array.shape},
                    {"data_offsets", {offset, offset + array.bytes.size()}}};
    offset += array.bytes.size();
  }
  std::string json = header.dump();
  json.append((8 - json.size() % 8) % 8, ' ');  // keeps the data section 8-byte aligned
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((uint64_t(json.size()) >> (8 * i)) & 0xff);
  out += json;
  for (const auto& [name, array] : file.tensors)
    out.append(reinterpret_cast<const char*>(array.bytes.data()), array.bytes.size());
  return out;
}

void write_safetensors(const std::filesystem::path& path, const SafeTensors& file) {
  const std::string bytes = serialize_safetensors(file);
  write_file_atomically(path, bytes.data(), bytes.size());
}

}  // namespace ser
