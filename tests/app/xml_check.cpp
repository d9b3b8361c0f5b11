// A minimal XML well-formedness checker (see xml_check.h).
#include "app/xml_check.h"

#include <doctest/doctest.h>

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <vector>

#include "support/gpu.h"
#include "support/temp_dir.h"

namespace ser::test {
namespace {

bool name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == ':' || c == '.'; }

// Checks the entities of character data or an attribute value.
std::string check_text(const std::string& s) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '<') return "'<' in text";
    if (s[i] != '&') continue;
    const std::size_t end = s.find(';', i);
    if (end == std::string::npos) return "'&' without ';'";
    const std::string entity = s.substr(i + 1, end - i - 1);
    if (entity != "lt" && entity != "gt" && entity != "amp" && entity != "quot" && entity != "apos" &&
        (entity.empty() || entity[0] != '#'))
      return "unknown entity &" + entity + ";";
  }
  return "";
}

}  // namespace

XmlSummary check_xml(const std::string& text) {
  XmlSummary out;
  std::vector<std::string> open;
  std::size_t i = 0;
  auto fail = [&](const std::string& why) {
    out.error = why + " at byte " + std::to_string(i);
    return out;
  };
  while (i < text.size()) {
    const std::size_t lt = text.find('<', i);
    const std::string chars = text.substr(i, lt == std::string::npos ? std::string::npos : lt - i);
    if (const std::string e = check_text(chars); !e.empty()) return fail(e);
    if (open.empty() && chars.find_first_not_of(" \t\r\n") != std::string::npos) return fail("text outside the root");
    if (lt == std::string::npos) break;
    i = lt;
    if (text.compare(i, 4, "<!--") == 0 || text.compare(i, 2, "<?") == 0) {
      const std::size_t end = text.find(text[i + 1] == '!' ? "-->" : "?>", i);
      if (end == std::string::npos) return fail("unterminated comment or declaration");
      i = end + 2;
      continue;
    }
    const bool closing = text.compare(i, 2, "</") == 0;
    std::size_t p = i + (closing ? 2 : 1);
    const std::size_t name_begin = p;
    while (p < text.size() && name_char(text[p])) ++p;
    const std::string name = text.substr(name_begin, p - name_begin);
    if (name.empty()) return fail("a tag without a name");
    if (closing) {
      while (p < text.size() && std::isspace(static_cast<unsigned char>(text[p]))) ++p;
      if (p >= text.size() || text[p] != '>') return fail("malformed end tag </" + name);
      if (open.empty() || open.back() != name) return fail("</" + name + "> closes " + (open.empty() ? "nothing" : "<" + open.back() + ">"));
      open.pop_back();
      i = p + 1;
      continue;
    }
    if (out.root.empty()) {
      out.root = name;
    } else if (open.empty()) {
      return fail("a second root element <" + name + ">");
    }
    ++out.elements;
    for (;;) {  // attributes up to '>' or '/>'
      while (p < text.size() && std::isspace(static_cast<unsigned char>(text[p]))) ++p;
      if (p >= text.size()) return fail("unterminated tag <" + name);
      if (text[p] == '>' || text.compare(p, 2, "/>") == 0) break;
      const std::size_t attr_begin = p;
      while (p < text.size() && name_char(text[p])) ++p;
      if (p == attr_begin || p >= text.size() || text[p] != '=') return fail("malformed attribute in <" + name);
      const char quote = text[p + 1];
      if (quote != '"' && quote != '\'') return fail("unquoted attribute in <" + name);
      const std::size_t close = text.find(quote, p + 2);
      if (close == std::string::npos) return fail("unterminated attribute in <" + name);
      if (const std::string e = check_text(text.substr(p + 2, close - p - 2)); !e.empty()) return fail(e);
      p = close + 1;
    }
    if (text[p] == '>') {
      open.push_back(name);
      i = p + 1;
    } else {
      i = p + 2;
    }
  }
  if (!open.empty()) return fail("<" + open.back() + "> never closed");
  if (out.root.empty()) return fail("no element");
  return out;
}

int count_elements(const std::string& text, const std::string& tag, const std::string& attribute_text) {
  int n = 0;
  for (std::size_t i = text.find("<" + tag + " "); i != std::string::npos; i = text.find("<" + tag + " ", i + 1)) {
    const std::size_t end = text.find('>', i);
    if (text.substr(i, end - i).find(attribute_text) != std::string::npos) ++n;
  }
  return n;
}

bool check_xml_with_python(const std::string& text) {
  if (std::system("python3 -c 'import xml.etree.ElementTree' > /dev/null 2>&1") != 0) {
    note_skip("python3 is not installed: the SVG was checked by the test's own XML reader only");
    return false;
  }
  TempDir dir;
  std::ofstream(dir / "doc.svg") << text;
  const std::string cmd = "python3 -c 'import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])' " +
                          (dir / "doc.svg").string() + " 2>&1";
  CHECK_MESSAGE(std::system(cmd.c_str()) == 0, "python3's XML parser refused the SVG");
  return true;
}

}  // namespace ser::test
