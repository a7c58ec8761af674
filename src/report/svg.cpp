#include "report/svg.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "report/html.h"

namespace qmix::report {
namespace {

constexpr int kLeft = 170, kRight = 30, kTop = 30, kBottom = 50;

std::string open_svg(int width, int height, const std::string& title) {
  return fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" "
      "viewBox=\"0 0 {0} {1}\" font-size=\"12\" font-family=\"sans-serif\">"
      "<text x=\"{2}\" y=\"18\" font-weight=\"bold\">{3}</text>",
      width, height, kLeft, escape(title));
}

std::string number(double v) { return fmt::format("{:.4g}", v); }

}  // namespace

std::string bar_chart(const std::string& title, const std::vector<Bar>& bars,
                      const std::string& unit) {
  const int row = 20, width = 760, plot = width - kLeft - kRight - 60;
  const int height = kTop + row * static_cast<int>(bars.size()) + 20;
  double max = 0;
  for (const Bar& b : bars) max = std::max(max, b.value);
  std::string s = open_svg(width, height, title);
  for (size_t i = 0; i < bars.size(); ++i) {
    const int y = kTop + row * static_cast<int>(i);
    const double w = max > 0 ? plot * bars[i].value / max : 0;
    s += fmt::format(
        "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>"
        "<rect x=\"{}\" y=\"{}\" width=\"{:.1f}\" height=\"{}\" fill=\"{}\"/>"
        "<text x=\"{:.1f}\" y=\"{}\">{} {}</text>",
        kLeft - 6, y + 14, escape(bars[i].label), kLeft, y + 3, w, row - 6, escape(bars[i].color),
        kLeft + w + 4, y + 14, number(bars[i].value), escape(unit));
  }
  return s + "</svg>";
}

std::vector<size_t> pareto_front(const std::vector<Point>& points) {
  std::vector<size_t> order(points.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return points[a].x != points[b].x ? points[a].x < points[b].x : points[a].y < points[b].y;
  });
  std::vector<size_t> front;
  double best = INFINITY;
  for (size_t i : order)
    if (points[i].y < best) {  // strictly better than every smaller-x point
      front.push_back(i);
      best = points[i].y;
    }
  return front;
}

std::string scatter_plot(const std::string& title, const std::string& x_label,
                         const std::string& y_label, const std::vector<Point>& points) {
  const int width = 760, height = 380, pw = width - kLeft - kRight, ph = height - kTop - kBottom;
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  for (const Point& p : points) {
    x0 = std::min(x0, p.x), x1 = std::max(x1, p.x), y0 = std::min(y0, p.y), y1 = std::max(y1, p.y);
  }
  if (points.empty()) x0 = y0 = 0, x1 = y1 = 1;
  const double dx = x1 > x0 ? x1 - x0 : 1, dy = y1 > y0 ? y1 - y0 : 1;
  x0 -= 0.05 * dx, x1 += 0.05 * dx, y0 -= 0.05 * dy, y1 += 0.05 * dy;
  const auto sx = [&](double x) { return kLeft + pw * (x - x0) / (x1 - x0); };
  const auto sy = [&](double y) { return kTop + ph * (1.0 - (y - y0) / (y1 - y0)); };
  std::string s = open_svg(width, height, title);
  s += fmt::format(
      "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#888\"/>"
      "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>"
      "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>"
      "<text x=\"{}\" y=\"{}\">{}</text><text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>"
      "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
      kLeft, kTop, pw, ph, kLeft + pw / 2, height - 10, escape(x_label), kLeft - 8, kTop + ph / 2,
      escape(y_label), kLeft, kTop + ph + 16, number(x0), kLeft + pw, kTop + ph + 16, number(x1),
      kLeft - 8, kTop + 10, number(y1));
  std::string path;
  for (size_t i : pareto_front(points))
    path +=
        fmt::format("{}{:.1f},{:.1f}", path.empty() ? "M" : " L", sx(points[i].x), sy(points[i].y));
  if (!path.empty())
    s += fmt::format("<path d=\"{}\" fill=\"none\" stroke=\"#c44\" stroke-dasharray=\"4 3\"/>",
                     path);
  for (const Point& p : points)
    s += fmt::format(
        "<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"4\" fill=\"#4878a8\"/>"
        "<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"10\">{}</text>",
        sx(p.x), sy(p.y), sx(p.x) + 6, sy(p.y) - 6, escape(p.label));
  return s + "</svg>";
}

std::string heat_map(const std::string& title, const std::vector<std::string>& row_labels,
                     const std::vector<std::string>& col_labels,
                     const std::vector<std::vector<std::optional<double>>>& cells, double center) {
  const int cw = 70, ch = 18, top = kTop + 40;
  const int width = kLeft + cw * static_cast<int>(col_labels.size()) + kRight;
  const int height = top + ch * static_cast<int>(row_labels.size()) + 10;
  std::string s = open_svg(width, height, title);
  for (size_t c = 0; c < col_labels.size(); ++c)
    s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"10\">{}</text>",
                     kLeft + cw * static_cast<int>(c) + cw / 2, top - 6, escape(col_labels[c]));
  for (size_t r = 0; r < row_labels.size(); ++r) {
    const int y = top + ch * static_cast<int>(r);
    s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>", kLeft - 6, y + 13,
                     escape(row_labels[r]));
    for (size_t c = 0; c < col_labels.size() && c < cells[r].size(); ++c) {
      const std::optional<double> v = cells[r][c];
      std::string fill = "#ddd";
      if (v && *v > 0) {
        // log-ratio mapped to ±1 at ×2 / ×0.5
        const double t = std::clamp(std::log2(*v / center), -1.0, 1.0);
        const int shade = static_cast<int>(255 * (1.0 - std::fabs(t)));
        fill = t >= 0 ? fmt::format("rgb(255,{0},{0})", shade)
                      : fmt::format("rgb({0},{0},255)", shade);
      }
      s += fmt::format(
          "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\" stroke=\"#fff\"/>"
          "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"10\">{}</text>",
          kLeft + cw * static_cast<int>(c), y, cw, ch, fill,
          kLeft + cw * static_cast<int>(c) + cw / 2, y + 13, v ? fmt::format("{:.2f}", *v) : "");
    }
  }
  return s + "</svg>";
}

}  // namespace qmix::report
