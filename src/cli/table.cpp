#include "cli/table.h"

#include <algorithm>

#include "core/error.h"

namespace qmix::cli {

size_t display_width(std::string_view text) {
  // Count every byte that does not continue a UTF-8 sequence (0b10xxxxxx).
  return static_cast<size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

void TextTable::add_row(std::vector<std::string> cells) {
  QMIX_CHECK(cells.size() == columns_.size());
  rows_.push_back(std::move(cells));
}

void TextTable::add_separator() { rows_.emplace_back(); }

std::string TextTable::render() const {
  std::vector<size_t> widths;
  for (const auto& c : columns_) widths.push_back(display_width(c.header));
  for (const auto& row : rows_)
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], display_width(row[i]));

  std::string out;
  const auto append_row = [&](const std::vector<std::string>& cells) {
    std::string line;
    for (size_t i = 0; i < cells.size(); ++i) {
      const std::string pad(widths[i] - display_width(cells[i]), ' ');
      if (i) line += "  ";
      line += columns_[i].align == Align::kRight ? pad + cells[i] : cells[i] + pad;
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + '\n';
  };
  const auto append_rule = [&] {
    size_t total = 0;
    for (size_t w : widths) total += w;
    out += std::string(total + 2 * (widths.empty() ? 0 : widths.size() - 1), '-') + '\n';
  };

  std::vector<std::string> headers;
  for (const auto& c : columns_) headers.push_back(c.header);
  append_row(headers);
  append_rule();
  for (const auto& row : rows_) {
    if (row.empty())
      append_rule();
    else
      append_row(row);
  }
  return out;
}

}  // namespace qmix::cli
