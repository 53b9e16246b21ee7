// build_matrix on the folded decision space of diff.hpp, and its CSV
// rendering (the HTML page is matrix_page.cpp's).
#include "gateway/policy/matrix.hpp"

#include <algorithm>
#include <map>

#include <fmt/format.h>
#include <fmt/ostream.h>

#include "gateway/policy/matrix_page.hpp"

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

}  // namespace

std::string matrix_cell_text(const MatrixCell& cell) {
  if (cell.decision != CellDecision::mixed) return std::string(to_string(cell.decision));
  std::vector<std::string> parts;
  for (const auto& [decision, count] : cell.counts) parts.push_back(fmt::format("{}:{}", to_string(decision), count));
  return fmt::format("MIXED({})", fmt::join(parts, " "));
}

void write_matrix_csv(std::ostream& out, const PolicyMatrix& matrix) {
  std::string text = "organisation,kind,role,level,nodes";
  for (const MatrixColumn& column : matrix.columns) {
    text += "," + csv_field(column.category + ":" + label_text(column.label));
  }
  text += "\r\n";
  for (const MatrixRow& row : matrix.rows) {
    text += csv_field(row.organisation) + "," + csv_field(row.kind) + "," + csv_field(row.role) + "," +
            csv_field(row.level) + "," + csv_field(fmt::format("{}", fmt::join(row.nodes, " ")));
    for (const MatrixCell& cell : row.cells) text += "," + csv_field(matrix_cell_text(cell));
    text += "\r\n";
  }
  out << text;
}

}  // namespace icegate::policy
