// Well-formedness checks for the SVG the app writes, without an XML library: tags nest
// and close, attributes are quoted, '&' starts an entity, one root element. And, where
// python3 is installed, the same document through Python's xml.etree parser.
#pragma once

#include <string>

namespace ser::test {

struct XmlSummary {
  std::string root;   // name of the root element
  std::string error;  // empty when well-formed
  int elements = 0;
};

XmlSummary check_xml(const std::string& text);

// Elements <tag ...> whose start tag contains `attribute_text`.
int count_elements(const std::string& text, const std::string& tag, const std::string& attribute_text);

// Parses `text` with python3's xml.etree.ElementTree (CHECKs that it parses); prints a
// skip line and returns false where python3 is not installed.
bool check_xml_with_python(const std::string& text);

}  // namespace ser::test
