#include "report/html.h"

#include <fmt/format.h>

namespace qmix::report {

std::string escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

namespace {
// Numbers ("5.355", "+0.012", "[-0.1, 0.2]", "95.0 %") are right-aligned; text is not.
bool looks_numeric(const std::string& cell) {
  if (cell.empty()) return false;
  const char c = cell[0] == '[' && cell.size() > 1 ? cell[1] : cell[0];
  return (c >= '0' && c <= '9') || c == '+' || c == '-' || cell == "–";
}
}  // namespace

void HtmlReport::heading(const std::string& text, const std::string& id) {
  if (id.empty())
    body_ += fmt::format("<h2>{}</h2>\n", escape(text));
  else
    body_ += fmt::format("<h2 id=\"{}\">{}</h2>\n", escape(id), escape(text));
}
void HtmlReport::paragraph(const std::string& text) {
  body_ += fmt::format("<p>{}</p>\n", escape(text));
}
void HtmlReport::raw(std::string html) { body_ += html + "\n"; }
void HtmlReport::preformatted(const std::string& text) {
  body_ += fmt::format("<pre>{}</pre>\n", escape(text));
}

void HtmlReport::collapsed(const std::string& summary, const std::string& text) {
  body_ += fmt::format("<details><summary>{}</summary><pre>{}</pre></details>\n", escape(summary),
                       escape(text));
}

void HtmlReport::table(const std::vector<std::string>& header,
                       const std::vector<std::vector<std::string>>& rows) {
  body_ += "<table>\n<tr>";
  for (const std::string& h : header) body_ += fmt::format("<th>{}</th>", escape(h));
  body_ += "</tr>\n";
  for (const auto& row : rows) {
    body_ += "<tr>";
    for (const std::string& cell : row)
      body_ +=
          fmt::format("<td{}>{}</td>", looks_numeric(cell) ? " class=\"n\"" : "", escape(cell));
    body_ += "</tr>\n";
  }
  body_ += "</table>\n";
}

std::string HtmlReport::render() const {
  constexpr const char* kStyle =
      "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}"
      "table{border-collapse:collapse;margin:1em 0;font-size:90%}"
      "td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}"
      "td.n{text-align:right;white-space:nowrap}th{background:#eef}"
      "pre{background:#f6f6f6;padding:1em;overflow-x:auto}svg{margin:0.5em 0}";
  return fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{0}</title>\n"
      "<style>{1}</style>\n</head>\n<body>\n<h1>{0}</h1>\n{2}</body>\n</html>\n",
      escape(title_), kStyle, body_);
}

}  // namespace qmix::report
