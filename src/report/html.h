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
  // Starts a section; `id` (optional) becomes the heading's anchor ("#variants").
  void heading(const std::string& text, const std::string& id = "");
  void paragraph(const std::string& text);
  void raw(std::string html);  // trusted markup (our SVG)
  void table(const std::vector<std::string>& header,
             const std::vector<std::vector<std::string>>& rows);
  void preformatted(const std::string& text);
  // A collapsed block (<details>) holding preformatted text.
  void collapsed(const std::string& summary, const std::string& text);
  std::string render() const;

 private:
  std::string title_;
  std::string body_;
};

}  // namespace qmix::report
