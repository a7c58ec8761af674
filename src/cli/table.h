// Plain-text tables for human output: columns padded to their widest cell, numbers right-aligned.
//
//   TextTable t({{"type"}, {"tensors", Align::kRight}});
//   t.add_row({"Q4_K", "258"});
//   std::fputs(t.render().c_str(), stdout);
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace qmix::cli {

enum class Align { kLeft, kRight };

struct TableColumn {
  std::string header;
  Align align = Align::kLeft;
};

class TextTable {
 public:
  explicit TextTable(std::vector<TableColumn> columns) : columns_(std::move(columns)) {}

  // A row has exactly one cell per column (checked).
  void add_row(std::vector<std::string> cells);
  // A dashed line before the next row (e.g. above a total).
  void add_separator();
  size_t rows() const { return rows_.size(); }

  // Header, dashed rule, rows; two spaces between columns; no trailing spaces.
  std::string render() const;

 private:
  std::vector<TableColumn> columns_;
  std::vector<std::vector<std::string>> rows_;  // an empty row is a separator
};

// Width in terminal cells of UTF-8 text (one per code point; enough for our labels).
size_t display_width(std::string_view text);

}  // namespace qmix::cli
