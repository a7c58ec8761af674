// A self-contained HTML document (inline CSS and SVG only) built section by section.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace qmix::report {

std::string escape(std::string_view text);

class HtmlReport {
 public:
  explicit HtmlReport(std::string title) : title_(std::move(title)) {}
  void heading(const std::string& text);  // starts a section
  void paragraph(const std::string& text);
  void raw(std::string html);  // trusted markup (our SVG)
  void table(const std::vector<std::string>& header,
             const std::vector<std::vector<std::string>>& rows);
  void preformatted(const std::string& text);
  std::string render() const;

 private:
  std::string title_;
  std::string body_;
};

}  // namespace qmix::report
