// Small inline-SVG charts for the HTML report (no scripts, no network): bars, a scatter plot
// with its Pareto front, and a heat map. Every label is escaped.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace qmix::report {

struct Bar {
  std::string label;
  double value = 0;
  std::string color = "#4878a8";
};
std::string bar_chart(const std::string& title, const std::vector<Bar>& bars,
                      const std::string& unit);

struct Point {
  double x = 0, y = 0;
  std::string label;
};
// Points lower-left are better; the front (no other point is both smaller in x and y) is joined.
std::string scatter_plot(const std::string& title, const std::string& x_label,
                         const std::string& y_label, const std::vector<Point>& points);

// cells[r][c]; colours diverge around `center` (blue below, red above); nullopt cells are grey.
std::string heat_map(const std::string& title, const std::vector<std::string>& row_labels,
                     const std::vector<std::string>& col_labels,
                     const std::vector<std::vector<std::optional<double>>>& cells, double center);

std::vector<size_t> pareto_front(const std::vector<Point>& points);  // indices, by x

}  // namespace qmix::report
