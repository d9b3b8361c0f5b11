// .npy reader/writer. The header is a Python dict literal such as
//   {'descr': '<f4', 'fortran_order': False, 'shape': (128, 1025), }
// which is parsed by a small, strict scanner (no eval), then the data size is checked
// against the shape exactly.
#include "engine/io/npy.h"

#include <cctype>
#include <cstring>
#include <optional>

#include "engine/core/error.h"
#include "engine/io/file.h"

namespace ser {
namespace {

constexpr unsigned char kMagic[] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
constexpr int64_t kMaxElements = int64_t(1) << 34;  // 64 GiB of float32: beyond anything real

// Scans the header dict. Keys and values are limited to what NumPy writes.
class HeaderParser {
 public:
  HeaderParser(const std::string& text, const std::string& name) : s_(text), name_(name) {}

  void parse(std::string& descr, bool& fortran, std::vector<int64_t>& shape) {
    bool have_descr = false, have_fortran = false, have_shape = false;
    expect('{');
    while (true) {
      skip_space();
      if (peek() == '}') break;
      const std::string key = quoted();
      expect(':');
      if (key == "descr") {
        descr = quoted();
        have_descr = true;
      } else if (key == "fortran_order") {
        fortran = boolean();
        have_fortran = true;
      } else if (key == "shape") {
        shape = tuple();
        have_shape = true;
      } else {
        fail("unknown header key '" + key + "'");
      }
      skip_space();
      if (peek() == ',') ++pos_;
    }
    if (!have_descr || !have_fortran || !have_shape) fail("header lacks descr, fortran_order or shape");
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    SER_FAIL("{}: not a valid .npy header ({}): {}", name_, what, s_.substr(0, 200));
  }
  void skip_space() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  char peek() {
    skip_space();
    if (pos_ >= s_.size()) fail("unexpected end");
    return s_[pos_];
  }
  void expect(char c) {
    if (peek() != c) fail(std::string("expected '") + c + "'");
    ++pos_;
  }
  std::string quoted() {
    const char q = peek();
    if (q != '\'' && q != '"') fail("expected a quoted string");
    const std::size_t end = s_.find(q, pos_ + 1);
    if (end == std::string::npos) fail("unterminated string");
    std::string out = s_.substr(pos_ + 1, end - pos_ - 1);
    pos_ = end + 1;
    return out;
  }
  bool boolean() {
    skip_space();
    if (s_.compare(pos_, 4, "True") == 0) return pos_ += 4, true;
    if (s_.compare(pos_, 5, "False") == 0) return pos_ += 5, false;
    fail("expected True or False");
  }
  std::vector<int64_t> tuple() {
    std::vector<int64_t> dims;
    expect('(');
    while (peek() != ')') {
      if (!std::isdigit(static_cast<unsigned char>(s_[pos_]))) fail("shape entries must be non-negative integers");
      int64_t v = 0;
      while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) {
        if (v > (int64_t(1) << 50)) fail("absurd dimension in shape");
        v = v * 10 + (s_[pos_++] - '0');
      }
      dims.push_back(v);
      if (peek() == ',') ++pos_;
      if (dims.size() > 32) fail("too many dimensions");
    }
    ++pos_;
    return dims;
  }

  const std::string& s_;
  const std::string& name_;
  std::size_t pos_ = 0;
};

DType parse_descr(const std::string& descr, const std::string& name) {
  if (descr == "<f4") return DType::F32;
  if (descr == "<f8") return DType::F64;
  if (descr == "<i8") return DType::I64;
  SER_FAIL("{}: unsupported .npy dtype '{}' (supported: <f4 float32, <f8 float64, <i8 int64)", name, descr);
}

const char* descr_of(DType dtype) {
  switch (dtype) {
    case DType::F32: return "<f4";
    case DType::F64: return "<f8";
    case DType::I64: return "<i8";
  }
  return "";
}

}  // namespace

Array parse_npy(const unsigned char* data, std::size_t size, const std::string& name) {
  SER_CHECK(size >= 10, "{}: too short to be a .npy file ({} bytes)", name, size);
  SER_CHECK(std::memcmp(data, kMagic, sizeof kMagic) == 0, "{}: not a .npy file (wrong magic)", name);
  const int major = data[6];
  std::size_t header_len = 0, header_start = 0;
  if (major == 1) {
    header_len = data[8] | (std::size_t(data[9]) << 8);
    header_start = 10;
  } else if (major == 2 || major == 3) {
    SER_CHECK(size >= 12, "{}: truncated .npy header", name);
    header_len = data[8] | (std::size_t(data[9]) << 8) | (std::size_t(data[10]) << 16) | (std::size_t(data[11]) << 24);
    header_start = 12;
  } else {
    SER_FAIL("{}: unsupported .npy format version {}.{}", name, major, int(data[7]));
  }
  SER_CHECK(header_len <= size - header_start, "{}: .npy header length {} runs past the end of the file ({} bytes)",
            name, header_len, size);
  const std::string header(reinterpret_cast<const char*>(data + header_start), header_len);

  std::string descr;
  bool fortran = false;
  Array array;
  HeaderParser(header, name).parse(descr, fortran, array.shape);
  array.dtype = parse_descr(descr, name);
  SER_CHECK(!fortran, "{}: Fortran-ordered .npy arrays are not supported (save with C order)", name);

  int64_t numel = 0;
  try {
    numel = checked_numel(array.shape, kMaxElements);
  } catch (const Error& e) {
    SER_FAIL("{}: {}", name, e.what());
  }
  const std::size_t expected = static_cast<std::size_t>(numel) * dtype_size(array.dtype);
  const std::size_t available = size - header_start - header_len;
  SER_CHECK(available == expected, "{}: .npy data is {} bytes but shape {} of {} needs {} ({})", name, available,
            array.shape_str(), dtype_name(array.dtype), expected, available < expected ? "truncated" : "trailing bytes");
  array.bytes.assign(data + header_start + header_len, data + size);
  return array;
}

Array read_npy(const std::filesystem::path& path) {
  const auto bytes = read_file_bytes(path);
  return parse_npy(bytes.data(), bytes.size(), path.string());
}

std::string npy_header(DType dtype, const std::vector<int64_t>& shape_extents, std::size_t at_least) {
  std::string shape = "(";
  for (std::size_t i = 0; i < shape_extents.size(); ++i) shape += std::to_string(shape_extents[i]) + ", ";
  if (shape_extents.size() > 1) shape.resize(shape.size() - 2);
  if (shape_extents.size() == 1) shape.resize(shape.size() - 1);  // "(5,)"
  shape += ")";
  std::string header =
      std::string("{'descr': '") + descr_of(dtype) + "', 'fortran_order': False, 'shape': " + shape + ", }";
  const std::size_t unpadded = 10 + header.size() + 1;
  std::size_t total = unpadded + (64 - unpadded % 64) % 64;
  if (at_least > total) total = at_least + (64 - at_least % 64) % 64;
  SER_CHECK(total - 10 <= 0xffff, "npy_header: header of {} bytes does not fit format 1.0", total);
  header.append(total - unpadded, ' ');
  header += '\n';
  std::string out(reinterpret_cast<const char*>(kMagic), sizeof kMagic);
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>((header.size() >> 8) & 0xff);
  return out + header;
}

std::string serialize_npy(const Array& array) {
  SER_CHECK(static_cast<int64_t>(array.bytes.size()) == array.numel() * int64_t(dtype_size(array.dtype)),
            "serialize_npy: {} bytes do not match shape {}", array.bytes.size(), array.shape_str());
  std::string out = npy_header(array.dtype, array.shape);
  out.append(reinterpret_cast<const char*>(array.bytes.data()), array.bytes.size());
  return out;
}

void write_npy(const std::filesystem::path& path, const Array& array) {
  const std::string bytes = serialize_npy(array);
  write_file_atomically(path, bytes.data(), bytes.size());
}

}  // namespace ser
