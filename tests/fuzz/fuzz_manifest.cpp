// libFuzzer target for parse_manifest (data/manifest.h): arbitrary bytes as a manifest
// TSV. Accepted entries must have a non-empty path, a non-negative label, no tab or
// newline in any field, and one name per label.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "data/manifest.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  ser::fuzz::expect_value_or_ser_error([&] {
    const auto entries = ser::data::parse_manifest(std::string(reinterpret_cast<const char*>(data), size), "fuzz.tsv");
    std::map<int, std::string> names;
    for (const auto& e : entries) {
      ser::fuzz::require(!e.path.empty() && e.label >= 0, "manifest: path and label");
      for (const std::string* field : {&e.corpus, &e.speaker, &e.label_name})
        ser::fuzz::require(field->find_first_of("\t\n") == std::string::npos, "manifest: field without tab/newline");
      const auto [it, inserted] = names.emplace(e.label, e.label_name);
      ser::fuzz::require(inserted || it->second == e.label_name, "manifest: one name per label");
    }
  });
  return 0;
}
