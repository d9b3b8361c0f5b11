// Checked reads of numbers from untrusted JSON (model-file metadata). nlohmann's own
// get<int>() casts a double such as 1e10 to int (undefined behaviour) and wraps 4294967297
// to 1; these readers refuse both with a ser::Error naming the owner, the field and the
// value, so a hostile or corrupt file can never reach UB or a silently different value.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string_view>

namespace ser {

// `value` as an int: it must be a JSON integer (2.5, 1e10, "x", null are refused) within
// the range of int. Range checks beyond that (positive, caps) are the caller's validate().
// Errors read "<owner>: field "<field>" must be an integer ..., got <value>".
int json_to_int(const nlohmann::json& value, std::string_view owner, std::string_view field);

// `value` as a non-negative 64-bit integer (seeds, counters, offsets): a JSON integer >= 0.
uint64_t json_to_uint64(const nlohmann::json& value, std::string_view owner, std::string_view field);

// `value` as a double: it must be a JSON number (integer or floating point).
double json_to_double(const nlohmann::json& value, std::string_view owner, std::string_view field);

}  // namespace ser
