// Checked JSON number reads (see json_number.h).
#include "engine/io/json_number.h"

#include <climits>
#include <cstdint>

#include "engine/core/error.h"

namespace ser {

int json_to_int(const nlohmann::json& value, std::string_view owner, std::string_view field) {
  SER_CHECK(value.is_number_integer(), "{}: field \"{}\" must be an integer, got {}", owner, field,
            value.dump().substr(0, 100));
  // Unsigned JSON integers may exceed int64; compare them before any conversion.
  const bool in_range = value.is_number_unsigned()
                            ? value.get<uint64_t>() <= static_cast<uint64_t>(INT_MAX)
                            : value.get<int64_t>() >= INT_MIN && value.get<int64_t>() <= INT_MAX;
  SER_CHECK(in_range, "{}: field \"{}\" = {} is out of the integer range [{}, {}]", owner, field, value.dump(),
            INT_MIN, INT_MAX);
  return static_cast<int>(value.get<int64_t>());
}

uint64_t json_to_uint64(const nlohmann::json& value, std::string_view owner, std::string_view field) {
  SER_CHECK(value.is_number_integer(), "{}: field \"{}\" must be an integer, got {}", owner, field,
            value.dump().substr(0, 100));
  SER_CHECK(value.is_number_unsigned() || value.get<int64_t>() >= 0, "{}: field \"{}\" = {} must not be negative",
            owner, field, value.dump());
  return value.is_number_unsigned() ? value.get<uint64_t>() : static_cast<uint64_t>(value.get<int64_t>());
}

double json_to_double(const nlohmann::json& value, std::string_view owner, std::string_view field) {
  SER_CHECK(value.is_number(), "{}: field \"{}\" must be a number, got {}", owner, field,
            value.dump().substr(0, 100));
  return value.get<double>();
}

}  // namespace ser
