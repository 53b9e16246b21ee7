// The policy matrix page's view model: what matrix.html.mustache shows, as
// plain text (the template escapes every value), built from a PolicyMatrix by
// matrix_page(). Kept apart from the rendering so that what the page says can
// be tested without parsing HTML.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "gateway/policy/matrix.hpp"

namespace icegate::policy {

struct MatrixPage {
  struct LegendEntry {
    std::string css_class;  // "release", ... "none"
    std::string decision;   // to_string(CellDecision)
    std::string meaning;
  };
  struct Category {
    std::string name;
    std::size_t span = 0;  // how many label columns it heads
  };
  struct LabelHeading {
    std::string style;  // "background:...;color:...;", "" when the scheme gives no colours
    std::string label;  // label_text(label), the tooltip
    std::string marking;
  };
  struct Cell {
    std::string css_class;
    std::string title;  // "category to LABEL: DECISION from sender for purpose (rule); detail"
    std::string decision;
  };
  struct Row {
    std::string organisation, organisation_name, kind, role, role_name, level;
    std::string nodes;  // space-separated
    std::vector<Cell> cells;
  };

  std::string policy, file, version, scheme;
  std::string sender;   // "from the most permissive sender (...)" or "from NODE"
  std::string purpose;  // "for the most permissive purpose (...)" or "for PURPOSE"
  std::vector<LegendEntry> legend;
  std::vector<Category> categories;  // in column order, adjacent columns of one category merged
  std::vector<LabelHeading> labels;  // one per column
  std::vector<Row> rows;
};

MatrixPage matrix_page(const PolicyMatrix& matrix);

// A cell as the CSV writes it: the decision's name, or for a mixed cell
// "MIXED(RELEASE:2 DENY:1)" (matrix.cpp).
std::string matrix_cell_text(const MatrixCell& cell);

}  // namespace icegate::policy
