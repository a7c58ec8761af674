// HTML escaping, the Pareto front, and charts that are well-formed SVG without scripts.
#include <gtest/gtest.h>

#include "report/html.h"
#include "report/svg.h"

namespace qmix::report {
namespace {

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

TEST(Report, EscapesMarkup) {
  EXPECT_EQ(escape("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
}

TEST(Report, ParetoFrontKeepsUndominatedPoints) {
  const std::vector<Point> pts{
      {4.0, 0.10, "a"}, {5.0, 0.05, "b"}, {5.5, 0.08, "c"}, {3.0, 0.30, "d"}};
  EXPECT_EQ(pareto_front(pts), (std::vector<size_t>{3, 0, 1}));
}

TEST(Report, ChartsAreClosedSvgWithEscapedLabels) {
  const std::string bars = bar_chart("types", {{"q4_K<", 3.0}, {"f32", 1.0}}, "MiB");
  const std::string scatter = scatter_plot("t", "x", "y", {{1, 2, "v1"}, {2, 1, "v2"}});
  const std::string heat = heat_map("h", {"blk.0"}, {"attn_q"}, {{1.3}}, 1.0);
  for (const std::string& s : {bars, scatter, heat}) {
    EXPECT_EQ(count(s, "<svg"), 1u);
    EXPECT_EQ(count(s, "</svg>"), 1u);
    EXPECT_EQ(s.find("<script"), std::string::npos);
  }
  EXPECT_NE(bars.find("q4_K&lt;"), std::string::npos);
  EXPECT_NE(heat.find("rgb(255,"), std::string::npos);  // ratio > 1 is red
}

TEST(Report, DocumentIsSelfContained) {
  HtmlReport r("qmix <test>");
  r.heading("Variants");
  r.table({"model", "PPL"}, {{"a.gguf", "1.0"}});
  const std::string html = r.render();
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(html.find("<title>qmix &lt;test&gt;</title>"), std::string::npos);
  EXPECT_EQ(html.find("http://"), std::string::npos);  // no external resources
  EXPECT_EQ(count(html, "<table>"), count(html, "</table>"));
}

}  // namespace
}  // namespace qmix::report
