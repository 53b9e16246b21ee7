// build_matrix on the folded decision space of diff.hpp, and its CSV and
// HTML renderings.
#include "gateway/policy/matrix.hpp"

#include <algorithm>
#include <map>

#include <fmt/format.h>
#include <fmt/ostream.h>

#include "gateway/model/html.hpp"

namespace icegate::policy {
namespace {

template <typename Values, typename Value>
bool contains(const Values& values, const Value& value) {
  return std::find(values.begin(), values.end(), value) != values.end();
}

// How good an outcome is for the recipient; the best over senders and
// purposes is what a cell shows. First by what the recipient's clearance
// allows (released within the regular ceiling, or only under the occasional
// allowance), then by review (none before a critical reader's):
// policies/README.md, `policy matrix`. Whether a label needs an occasional
// release depends only on the recipient, so the order decides between held
// and unheld releases of one kind.
int score(FlowState state) {
  switch (state) {
    case FlowState::released: return 4;
    case FlowState::held: return 3;
    case FlowState::occasional: return 2;
    case FlowState::held_occasional: return 1;
    case FlowState::withheld: return 0;
  }
  return 0;
}

// The best outcome seen for one label, and where.
struct Best {
  bool evaluated = false;  // some permit rule could apply
  PortionOutcome outcome;
  int sender_class = -1;
  int purpose = -1;
};

void improve(Best& best, const PortionOutcome& outcome, int sender_class, int purpose) {
  if (best.evaluated && score(outcome.state) <= score(best.outcome.state)) return;
  best.evaluated = true;
  best.outcome = outcome;
  best.sender_class = sender_class;
  best.purpose = purpose;
}

CellDecision decision_of(FlowState state) {
  switch (state) {
    case FlowState::released: return CellDecision::release;
    case FlowState::held:
    case FlowState::held_occasional: return CellDecision::hold;
    case FlowState::occasional: return CellDecision::occasional;
    case FlowState::withheld: return CellDecision::deny;
  }
  return CellDecision::deny;
}

std::string reason_text(PortionReason reason) {
  switch (reason) {
    case PortionReason::none: return "released";
    case PortionReason::no_rule_permits: return "no rule permits it";
    case PortionReason::denied_by_rule: return "denied by a rule";
    case PortionReason::above_clearance: return "above the recipient's clearance";
    // Only under a policy that allows no occasional releases (portion_outcome
    // in diff.cpp): the matrix decides with one available otherwise.
    case PortionReason::occasional_unavailable: return "needs an occasional release, and the policy allows none";
    case PortionReason::missing_category: return "the recipient lacks a category of the label";
    case PortionReason::invalid_label: return "invalid label";
  }
  return "";
}

}  // namespace

std::string_view to_string(CellDecision decision) {
  switch (decision) {
    case CellDecision::release: return "RELEASE";
    case CellDecision::hold: return "HOLD";
    case CellDecision::occasional: return "OCCASIONAL";
    case CellDecision::redacted: return "REDACTED";
    case CellDecision::deny: return "DENY";
    case CellDecision::mixed: return "MIXED";
    case CellDecision::none: return "N/A";
  }
  return "?";
}

PolicyMatrix build_matrix(const CompiledPolicy& policy, const MatrixOptions& options) {
  const Policy& source = policy.source();
  PolicyMatrix matrix;
  matrix.policy = source.name;
  matrix.file = source.file;
  matrix.version = source.version;
  matrix.scheme = source.scheme.name;
  matrix.from = options.from;
  matrix.purpose = options.purpose;

  // Check every option before any work.
  if (!options.from.empty() && !policy.has_node(options.from)) {
    matrix.errors.push_back(fmt::format("'{}' is not a node of policy {}", options.from, source.name));
  }
  std::vector<std::string> purposes;
  if (!options.purpose.empty()) {
    if (contains(source.purposes, options.purpose)) {
      purposes.push_back(options.purpose);
    } else {
      matrix.errors.push_back(fmt::format("'{}' is not a purpose of policy {}", options.purpose, source.name));
    }
  } else {
    purposes = source.purposes;
    purposes.push_back("");
  }
  std::vector<std::string> categories;
  for (const std::string& category : options.categories) {
    if (!contains(source.information_categories, category)) {
      matrix.errors.push_back(fmt::format("'{}' is not an information category of policy {}", category, source.name));
    } else if (!contains(categories, category)) {
      categories.push_back(category);
    }
  }
  if (options.categories.empty()) categories = source.information_categories;
  if (!matrix.errors.empty()) return matrix;

  const std::vector<Label> labels = enumerate_labels(policy, options.labels).labels;
  std::vector<std::string> node_ids;
  for (const Node& node : source.nodes) node_ids.push_back(node.id);
  const int from = options.from.empty()
                       ? -1
                       : static_cast<int>(std::find(node_ids.begin(), node_ids.end(), options.from) - node_ids.begin());
  DecisionSpace space({&policy}, node_ids, categories, purposes, labels);
  const auto& sender_classes = space.sender_classes();
  const auto& recipient_classes = space.recipient_classes();

  // best[node][category][label]: the best outcome for each recipient node.
  const std::size_t label_count = labels.size();
  std::vector<std::vector<std::vector<Best>>> best(
      node_ids.size(), std::vector<std::vector<Best>>(categories.size(), std::vector<Best>(label_count)));
  std::vector<Best> by_class(label_count);
  for (std::size_t rc = 0; rc < recipient_classes.size(); ++rc) {
    const std::vector<int>& recipients = recipient_classes[rc];
    for (std::size_t c = 0; c < categories.size(); ++c) {
      for (std::size_t sc = 0; sc < sender_classes.size(); ++sc) {
        const std::vector<int>& senders = sender_classes[sc];
        int sender = -1;
        if (from >= 0) {
          if (space.sender_class_of(from) != static_cast<int>(sc)) continue;
          sender = from;
        } else {
          if (!space.may_send(0, senders.front(), static_cast<int>(c))) continue;
        }
        // A distinct (sender, recipient) pair stands for the two classes.
        int recipient = -1;
        for (int s : (from >= 0 ? std::vector<int>{from} : senders)) {
          for (int r : recipients) {
            if (r != s) {
              sender = s;
              recipient = r;
              break;
            }
          }
          if (recipient >= 0) break;
        }
        if (recipient < 0) continue;
        std::fill(by_class.begin(), by_class.end(), Best{});
        for (std::size_t p = 0; p < purposes.size(); ++p) {
          if (!space.any_permit(static_cast<int>(sc), static_cast<int>(rc), static_cast<int>(c), static_cast<int>(p))) {
            continue;
          }
          const auto& outcomes = space.outcomes(sender, recipient, static_cast<int>(c), static_cast<int>(p))[0];
          for (std::size_t l = 0; l < label_count; ++l) {
            improve(by_class[l], outcomes[l], static_cast<int>(sc), static_cast<int>(p));
          }
        }
        // Every recipient of the class gets it, except from itself.
        for (int r : recipients) {
          const bool only_itself = from >= 0 ? r == from : (senders.size() == 1 && senders.front() == r);
          if (only_itself) continue;
          for (std::size_t l = 0; l < label_count; ++l) {
            if (by_class[l].evaluated)
              improve(best[static_cast<std::size_t>(r)][c][l], by_class[l].outcome, by_class[l].sender_class,
                      by_class[l].purpose);
          }
        }
      }
    }
  }

  // Cells for each recipient node.
  auto cell_for = [&](int node, std::size_t c, std::size_t l) {
    MatrixCell cell;
    if (from >= 0 && node == from) {
      cell.decision = CellDecision::none;
      cell.detail = "the sender is never its own recipient";
      return cell;
    }
    const Best& b = best[static_cast<std::size_t>(node)][c][l];
    if (b.evaluated) {
      // An example sender from the class other than the node itself.
      for (int s : sender_classes[static_cast<std::size_t>(b.sender_class)]) {
        if (s != node && (from < 0 || s == from)) {
          cell.sender = node_ids[static_cast<std::size_t>(s)];
          break;
        }
      }
      cell.purpose = purposes[static_cast<std::size_t>(b.purpose)];
      if (b.outcome.rule >= 0) cell.rule = policy.rule(b.outcome.rule).id;
    }
    if (b.evaluated && b.outcome.state != FlowState::withheld) {
      cell.decision = decision_of(b.outcome.state);
      if (b.outcome.state == FlowState::held_occasional) cell.detail = "needs an occasional release";
      return cell;
    }
    const auto& row = best[static_cast<std::size_t>(node)][c];
    const bool some_released = std::any_of(row.begin(), row.end(), [](const Best& other) {
      return other.evaluated && other.outcome.state != FlowState::withheld;
    });
    cell.decision = some_released ? CellDecision::redacted : CellDecision::deny;
    cell.detail = b.evaluated ? reason_text(b.outcome.reason) : "no permit rule covers it";
    return cell;
  };

  // Columns.
  for (const std::string& category : categories) {
    for (const Label& label : labels) {
      MatrixColumn column;
      column.category = category;
      column.label = label;
      column.marking = policy.display_marking(label);
      for (const Classification& classification : source.scheme.classifications) {
        if (classification.name == label.classification) {
          column.colour = classification.colour;
          column.text_colour = classification.text_colour;
        }
      }
      matrix.columns.push_back(std::move(column));
    }
  }

  // Rows: one per (organisation, role) held by some node, in node order, or one per node.
  std::map<std::string, const Organisation*> organisations;
  for (const Organisation& organisation : source.organisations) organisations.emplace(organisation.id, &organisation);
  std::map<std::string, const Role*> roles;
  for (const Role& role : source.roles) roles.emplace(role.id, &role);
  std::map<std::pair<std::string, std::string>, std::size_t> row_of;
  std::vector<std::vector<int>> row_nodes;
  for (std::size_t n = 0; n < source.nodes.size(); ++n) {
    const Node& node = source.nodes[n];
    std::size_t index = matrix.rows.size();
    if (!options.by_node) {
      auto [it, inserted] = row_of.emplace(std::make_pair(node.organisation, node.role), index);
      if (!inserted) {
        matrix.rows[it->second].nodes.push_back(node.id);
        row_nodes[it->second].push_back(static_cast<int>(n));
        continue;
      }
    }
    MatrixRow row;
    row.organisation = node.organisation;
    if (auto it = organisations.find(node.organisation); it != organisations.end()) {
      row.organisation_name = it->second->name;
      row.kind = it->second->kind;
    }
    row.role = node.role;
    if (auto it = roles.find(node.role); it != roles.end()) {
      row.role_name = it->second->name;
      row.level = it->second->level;
    }
    row.nodes.push_back(node.id);
    matrix.rows.push_back(std::move(row));
    row_nodes.push_back({static_cast<int>(n)});
  }
  for (std::size_t r = 0; r < matrix.rows.size(); ++r) {
    MatrixRow& row = matrix.rows[r];
    for (std::size_t c = 0; c < categories.size(); ++c) {
      for (std::size_t l = 0; l < label_count; ++l) {
        std::vector<MatrixCell> cells;
        for (int node : row_nodes[r]) {
          MatrixCell cell = cell_for(node, c, l);
          if (cell.decision != CellDecision::none || row_nodes[r].size() == 1) cells.push_back(std::move(cell));
        }
        if (cells.empty()) cells.push_back(cell_for(row_nodes[r].front(), c, l));
        const bool agree = std::all_of(cells.begin(), cells.end(), [&cells](const MatrixCell& cell) {
          return cell.decision == cells.front().decision;
        });
        if (agree) {
          row.cells.push_back(std::move(cells.front()));
          continue;
        }
        MatrixCell mixed;
        mixed.decision = CellDecision::mixed;
        std::map<CellDecision, std::size_t> counts;
        for (const MatrixCell& cell : cells) ++counts[cell.decision];
        mixed.counts.assign(counts.begin(), counts.end());
        row.cells.push_back(std::move(mixed));
      }
    }
  }
  return matrix;
}

// ---- CSV --------------------------------------------------------------------

namespace {

std::string csv_field(std::string_view text) {
  const bool quote = text.find_first_of(",\"\r\n") != std::string_view::npos ||
                     (!text.empty() && (text.front() == ' ' || text.back() == ' '));
  if (!quote) return std::string(text);
  std::string result = "\"";
  for (char c : text) {
    if (c == '"') result += '"';
    result += c;
  }
  return result + "\"";
}

std::string cell_text(const MatrixCell& cell) {
  if (cell.decision != CellDecision::mixed) return std::string(to_string(cell.decision));
  std::vector<std::string> parts;
  for (const auto& [decision, count] : cell.counts) parts.push_back(fmt::format("{}:{}", to_string(decision), count));
  return fmt::format("MIXED({})", fmt::join(parts, " "));
}

}  // namespace

void write_matrix_csv(std::ostream& out, const PolicyMatrix& matrix) {
  std::string text = "organisation,kind,role,level,nodes";
  for (const MatrixColumn& column : matrix.columns) {
    text += "," + csv_field(column.category + ":" + label_text(column.label));
  }
  text += "\r\n";
  for (const MatrixRow& row : matrix.rows) {
    text += csv_field(row.organisation) + "," + csv_field(row.kind) + "," + csv_field(row.role) + "," +
            csv_field(row.level) + "," + csv_field(fmt::format("{}", fmt::join(row.nodes, " ")));
    for (const MatrixCell& cell : row.cells) text += "," + csv_field(cell_text(cell));
    text += "\r\n";
  }
  out << text;
}

// ---- HTML -------------------------------------------------------------------

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

constexpr std::string_view kStyle = R"(
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #1a1a1a; }
h1 { font-size: 1.4em; }
p.meta { color: #444; }
table { border-collapse: collapse; }
th, td { border: 1px solid #999; padding: 0.2em 0.4em; font-size: 0.8em; }
th.category { background: #eeeeee; }
th.label { white-space: nowrap; }
th.row { text-align: left; background: #f7f7f7; white-space: nowrap; }
td { text-align: center; white-space: nowrap; }
.release { background: #a5d6a7; }
.hold { background: #ffe082; }
.occasional { background: #90caf9; }
.redacted { background: repeating-linear-gradient(45deg, #e0e0e0, #e0e0e0 4px, #f5f5f5 4px, #f5f5f5 8px); }
.deny { background: #ef9a9a; }
.mixed { background: #ce93d8; }
.none { background: #ffffff; color: #888; }
table.legend { margin: 1em 0; }
table.legend td { text-align: left; white-space: normal; }
)";

}  // namespace

void write_matrix_html(std::ostream& out, const PolicyMatrix& matrix) {
  std::string html;
  html += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  html += fmt::format("<title>Who can see what: {}</title>\n<style>{}</style>\n</head>\n<body>\n",
                      html::escape(matrix.policy), kStyle);
  html += fmt::format("<h1>Who can see what under {}</h1>\n", html::escape(matrix.policy));
  html += fmt::format("<p class=\"meta\">Policy file {}, version {}, label scheme {}.<br>\n", html::escape(matrix.file),
                      html::escape(matrix.version), html::escape(matrix.scheme));
  html += fmt::format(
      "Each cell: what a recipient in the row gets of a single-portion message of the column's information category "
      "at the column's label, {}, {}.</p>\n",
      matrix.from.empty() ? "from the most permissive sender (any node some permit rule allows to send the category)"
                          : "from " + html::escape(matrix.from),
      matrix.purpose.empty() ? "for the most permissive purpose (any purpose, or none)"
                             : "for " + html::escape(matrix.purpose));
  html += "<table class=\"legend\">\n<tr><th>decision</th><th>meaning</th></tr>\n";
  for (const DecisionStyle& style : kDecisionStyles) {
    html += fmt::format("<tr><td class=\"{}\">{}</td><td>{}</td></tr>\n", style.css_class, to_string(style.decision),
                        html::escape(style.meaning));
  }
  html += "</table>\n";

  // Two header rows: information categories spanning their labels, then the labels.
  html +=
      "<table class=\"matrix\">\n<thead>\n<tr><th rowspan=\"2\">organisation</th><th rowspan=\"2\">kind</th>"
      "<th rowspan=\"2\">role</th><th rowspan=\"2\">level</th><th rowspan=\"2\">nodes</th>";
  for (std::size_t i = 0; i < matrix.columns.size();) {
    std::size_t span = 1;
    while (i + span < matrix.columns.size() && matrix.columns[i + span].category == matrix.columns[i].category) ++span;
    html += fmt::format("<th class=\"category\" colspan=\"{}\">{}</th>", span, html::escape(matrix.columns[i].category));
    i += span;
  }
  html += "</tr>\n<tr>";
  for (const MatrixColumn& column : matrix.columns) {
    std::string style;
    if (!column.colour.empty()) style += "background:" + column.colour + ";";
    if (!column.text_colour.empty()) style += "color:" + column.text_colour + ";";
    html += fmt::format("<th class=\"label\"{} title=\"{}\">{}</th>",
                        style.empty() ? "" : fmt::format(" style=\"{}\"", style), html::escape(label_text(column.label)),
                        html::escape(column.marking));
  }
  html += "</tr>\n</thead>\n<tbody>\n";
  for (const MatrixRow& row : matrix.rows) {
    html += fmt::format(
        "<tr><th class=\"row\" title=\"{}\">{}</th><th class=\"row\">{}</th><th class=\"row\" title=\"{}\">{}</th>"
        "<th class=\"row\">{}</th><th class=\"row\">{}</th>",
        html::escape(row.organisation_name), html::escape(row.organisation), html::escape(row.kind),
        html::escape(row.role_name), html::escape(row.role), html::escape(row.level),
        html::escape(fmt::format("{}", fmt::join(row.nodes, " "))));
    for (std::size_t c = 0; c < row.cells.size(); ++c) {
      const MatrixCell& cell = row.cells[c];
      std::string title = fmt::format("{} to {}: {}", matrix.columns[c].category, label_text(matrix.columns[c].label),
                                      to_string(cell.decision));
      if (!cell.sender.empty()) title += " from " + cell.sender;
      if (!cell.sender.empty()) title += cell.purpose.empty() ? " for no purpose" : " for " + cell.purpose;
      if (!cell.rule.empty()) title += " (" + cell.rule + ")";
      if (!cell.detail.empty()) title += "; " + cell.detail;
      if (cell.decision == CellDecision::mixed) title += "; " + cell_text(cell);
      html += fmt::format("<td class=\"{}\" title=\"{}\">{}</td>", css_class(cell.decision), html::escape(title),
                          to_string(cell.decision));
    }
    html += "</tr>\n";
  }
  html += "</tbody>\n</table>\n</body>\n</html>\n";
  out << html;
}

}  // namespace icegate::policy
