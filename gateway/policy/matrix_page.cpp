// The policy matrix page: its view model (matrix_page.hpp) and its rendering
// from templates/matrix.html.mustache. The only translation unit of the policy
// library that includes the mustache library.
#include "gateway/policy/matrix_page.hpp"

#include <ostream>
#include <stdexcept>
#include <string_view>

#include <fmt/format.h>
#include <kainjow/mustache.hpp>

#include "gateway/model/html.hpp"
#include "gateway/policy/templates.hpp"

namespace icegate::policy {
namespace {

struct DecisionStyle {
  CellDecision decision;
  std::string_view css_class;
  std::string_view meaning;
};

constexpr DecisionStyle kDecisionStyles[] = {
    {CellDecision::release, "release", "released to the recipient"},
    {CellDecision::hold, "hold", "released once a critical reader has approved it (review_by)"},
    {CellDecision::occasional, "occasional", "released only under the recipient's occasional allowance"},
    {CellDecision::redacted, "redacted",
     "this portion is withheld (redacted by portion); lower-labelled portions of the category get through"},
    {CellDecision::deny, "deny", "nothing of this category reaches the recipient at any label shown"},
    {CellDecision::mixed, "mixed", "the nodes in the row get different decisions"},
    {CellDecision::none, "none", "no sender to consider"},
};

std::string_view css_class(CellDecision decision) {
  for (const DecisionStyle& style : kDecisionStyles) {
    if (style.decision == decision) return style.css_class;
  }
  return "none";
}

// A cell's tooltip: the column, the decision, and the example that makes it.
std::string cell_title(const MatrixColumn& column, const MatrixCell& cell) {
  std::string title = fmt::format("{} to {}: {}", column.category, label_text(column.label), to_string(cell.decision));
  if (!cell.sender.empty()) title += " from " + cell.sender;
  if (!cell.sender.empty()) title += cell.purpose.empty() ? " for no purpose" : " for " + cell.purpose;
  if (!cell.rule.empty()) title += " (" + cell.rule + ")";
  if (!cell.detail.empty()) title += "; " + cell.detail;
  if (cell.decision == CellDecision::mixed) title += "; " + matrix_cell_text(cell);
  return title;
}

std::string_view template_text(std::string_view name) {
  for (const templates::Asset& asset : templates::embedded_assets()) {
    if (asset.name == name) return asset.body;
  }
  throw std::logic_error(fmt::format("no embedded template {} (gateway/policy/templates/)", name));
}

namespace mustache = kainjow::mustache;

mustache::data list_data() { return mustache::data(mustache::data::type::list); }

mustache::data to_data(const MatrixPage& page) {
  mustache::data legend = list_data();
  for (const MatrixPage::LegendEntry& entry : page.legend) {
    mustache::data item;
    item.set("css_class", entry.css_class);
    item.set("decision", entry.decision);
    item.set("meaning", entry.meaning);
    legend.push_back(item);
  }
  mustache::data categories = list_data();
  for (const MatrixPage::Category& category : page.categories) {
    mustache::data item;
    item.set("name", category.name);
    item.set("span", std::to_string(category.span));
    categories.push_back(item);
  }
  mustache::data labels = list_data();
  for (const MatrixPage::LabelHeading& heading : page.labels) {
    mustache::data item;
    item.set("has_style", !heading.style.empty());
    item.set("style", heading.style);
    item.set("label", heading.label);
    item.set("marking", heading.marking);
    labels.push_back(item);
  }
  mustache::data rows = list_data();
  for (const MatrixPage::Row& row : page.rows) {
    mustache::data cells = list_data();
    for (const MatrixPage::Cell& cell : row.cells) {
      mustache::data item;
      item.set("css_class", cell.css_class);
      item.set("title", cell.title);
      item.set("decision", cell.decision);
      cells.push_back(item);
    }
    mustache::data item;
    item.set("organisation", row.organisation);
    item.set("organisation_name", row.organisation_name);
    item.set("kind", row.kind);
    item.set("role", row.role);
    item.set("role_name", row.role_name);
    item.set("level", row.level);
    item.set("nodes", row.nodes);
    item.set("cells", cells);
    rows.push_back(item);
  }
  mustache::data data;
  data.set("policy", page.policy);
  data.set("file", page.file);
  data.set("version", page.version);
  data.set("scheme", page.scheme);
  data.set("sender", page.sender);
  data.set("purpose", page.purpose);
  data.set("legend", legend);
  data.set("categories", categories);
  data.set("labels", labels);
  data.set("rows", rows);
  return data;
}

}  // namespace

MatrixPage matrix_page(const PolicyMatrix& matrix) {
  MatrixPage page;
  page.policy = matrix.policy;
  page.file = matrix.file;
  page.version = matrix.version;
  page.scheme = matrix.scheme;
  page.sender = matrix.from.empty()
                    ? "from the most permissive sender (any node some permit rule allows to send the category)"
                    : "from " + matrix.from;
  page.purpose =
      matrix.purpose.empty() ? "for the most permissive purpose (any purpose, or none)" : "for " + matrix.purpose;
  for (const DecisionStyle& style : kDecisionStyles) {
    page.legend.push_back(
        {std::string(style.css_class), std::string(to_string(style.decision)), std::string(style.meaning)});
  }
  for (const MatrixColumn& column : matrix.columns) {
    if (page.categories.empty() || page.categories.back().name != column.category) {
      page.categories.push_back({column.category, 0});
    }
    ++page.categories.back().span;
    std::string style;
    if (!column.colour.empty()) style += "background:" + column.colour + ";";
    if (!column.text_colour.empty()) style += "color:" + column.text_colour + ";";
    page.labels.push_back({std::move(style), label_text(column.label), column.marking});
  }
  for (const MatrixRow& row : matrix.rows) {
    MatrixPage::Row page_row{row.organisation, row.organisation_name, row.kind, row.role, row.role_name, row.level,
                             fmt::format("{}", fmt::join(row.nodes, " ")), {}};
    for (std::size_t c = 0; c < row.cells.size() && c < matrix.columns.size(); ++c) {
      const MatrixCell& cell = row.cells[c];
      page_row.cells.push_back({std::string(css_class(cell.decision)), cell_title(matrix.columns[c], cell),
                                std::string(to_string(cell.decision))});
    }
    page.rows.push_back(std::move(page_row));
  }
  return page;
}

void write_matrix_html(std::ostream& out, const PolicyMatrix& matrix) {
  mustache::mustache page_template{std::string(template_text("matrix.html.mustache"))};
  if (!page_template.is_valid()) {
    throw std::logic_error("gateway/policy/templates/matrix.html.mustache: " + page_template.error_message());
  }
  // The project's one HTML escaper (& < > " ' as html::escape writes them),
  // not the library's own, so that every page escapes alike.
  page_template.set_custom_escape([](const std::string& text) { return html::escape(text); });
  out << page_template.render(to_data(matrix_page(matrix)));
}

}  // namespace icegate::policy
