// The training report's layout (apps/report.h): the run table of report.html is the one
// the page's CSS wraps (a long path or option value cannot widen the page), and the "best"
// label of the curves chart lies inside its panel's frame, below the panel's title, whether
// the best epoch is the first, one in the middle or the last.
#include <doctest/doctest.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <vector>

#include "app/xml_check.h"
#include "apps/report.h"
#include "engine/metrics.h"
#include "support/temp_dir.h"

using namespace ser;
using namespace ser::app;
namespace fs = std::filesystem;

namespace {

// The start tags of `tag` elements whose start tag contains `marker`, in document order.
std::vector<std::string> start_tags(const std::string& svg, const std::string& tag, const std::string& marker) {
  std::vector<std::string> out;
  for (std::size_t at = svg.find("<" + tag + " "); at != std::string::npos; at = svg.find("<" + tag + " ", at + 1)) {
    const std::string element = svg.substr(at, svg.find('>', at) - at + 1);
    if (element.find(marker) != std::string::npos) out.push_back(element);
  }
  return out;
}

// The start tag of every <text> element whose content is `content`.
std::vector<std::string> texts_reading(const std::string& svg, const std::string& content) {
  std::vector<std::string> out;
  const std::string end = ">" + content + "</text>";
  for (std::size_t at = svg.find(end); at != std::string::npos; at = svg.find(end, at + 1))
    out.push_back(svg.substr(svg.rfind("<text ", at), at - svg.rfind("<text ", at) + 1));
  return out;
}

std::string attribute(const std::string& element, const std::string& name) {
  std::smatch m;
  REQUIRE_MESSAGE(std::regex_search(element, m, std::regex(" " + name + "=\"([^\"]*)\"")), element);
  return m.str(1);
}

double number(const std::string& element, const std::string& name) { return std::stod(attribute(element, name)); }

std::vector<train::EpochStats> history_of(int epochs) {
  std::vector<train::EpochStats> h;
  for (int e = 1; e <= epochs; ++e)
    h.push_back({e, 1.5 - 0.05 * e, 0.3 + 0.02 * e, 1.6 - 0.04 * e, 0.25 + 0.02 * e, 1.0, 100.0});
  return h;
}

}  // namespace

TEST_SUITE("app") {

TEST_CASE("the curves' 'best' label lies inside its panel, below the title, for an early, middle or late best") {
  for (const auto& run : std::vector<std::pair<int, int>>{{20, 1}, {20, 10}, {20, 20}, {30, 28}, {1, 1}}) {
    const int epochs = run.first, best = run.second;  // not a structured binding: CAPTURE's lambda takes it (C++17)
    CAPTURE(epochs);
    CAPTURE(best);
    const std::string svg = curves_svg(history_of(epochs), best);
    CHECK(test::check_xml(svg).error.empty());
    const auto frames = start_tags(svg, "rect", "stroke=\"#999\"");  // the two panels' frames
    const auto titles = start_tags(svg, "text", "font-weight=\"bold\"");
    const auto labels = texts_reading(svg, "best");
    REQUIRE(frames.size() == 2);
    REQUIRE(titles.size() == 2);
    REQUIRE(labels.size() == 2);
    for (std::size_t p = 0; p < 2; ++p) {
      CAPTURE(labels[p]);
      const double left = number(frames[p], "x"), top = number(frames[p], "y");
      const double right = left + number(frames[p], "width"), bottom = top + number(frames[p], "height");
      const double x = number(labels[p], "x"), y = number(labels[p], "y"), size = number(labels[p], "font-size");
      const double width = 0.6 * size * 4;  // "best" in a sans-serif face: at most 0.6 em a letter
      CHECK(y - size >= number(titles[p], "y"));  // the glyphs' top below the title's baseline
      CHECK(y - size >= top);
      CHECK(y <= bottom);
      const std::string anchor = attribute(labels[p], "text-anchor");
      const double first = anchor == "end" ? x - width : anchor == "middle" ? x - width / 2 : x;
      CHECK(first >= left);
      CHECK(first + width <= right);
    }
  }
}

TEST_CASE("report.html: the run table is class=\"run\" and the page's CSS wraps its values") {
  test::TempDir dir;
  ReportInput in;
  in.title = "a test run";
  in.class_names = {"calm", "tense"};
  in.metrics = compute_metrics({0, 1, 1}, {0, 1, 0}, 2);
  in.history = history_of(3);
  in.best_epoch = 3;
  const std::string long_value = "/data/" + std::string(300, 'x') + "/corpus";  // no space to break at
  in.run_info = {{"data", long_value}, {"seed", 42}};
  const fs::path html_file = write_report(dir.path(), in);
  std::ifstream file(html_file);
  std::stringstream ss;
  ss << file.rdbuf();
  const std::string html = ss.str();
  const std::size_t table = html.find("<table class=\"run\">");
  REQUIRE(table != std::string::npos);
  const std::string run_table = html.substr(table, html.find("</table>", table) - table);
  CHECK(run_table.find("<td>" + long_value + "</td>") != std::string::npos);
  const std::size_t style = html.find("<style>");
  REQUIRE(style != std::string::npos);
  const std::string css = html.substr(style, html.find("</style>") - style);
  CHECK(css.find("table.run td{overflow-wrap:anywhere}") != std::string::npos);
}

}  // TEST_SUITE
