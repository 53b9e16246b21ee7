// Who can see what: `icegate policy matrix`.
//
// Rows are the policy's organisations and roles (one row per (organisation,
// role) that some node holds, or per node); columns are information
// categories x labels (each classification, alone and with each restrictive
// category valid at it). A cell says what a recipient in the row gets of a
// single-portion message of that category at that label, from the most
// permissive sender: the best outcome over every sender that some permit
// rule could allow for the category (or the one sender given) and every
// purpose (or the one purpose given). Best is RELEASE, HOLD, OCCASIONAL,
// then a HOLD needing an occasional release too; under a policy whose
// occasional allowance is 0 nothing needs-an-occasional-release gets
// through, as at the gateway. policies/README.md gives the reasons.
#pragma once

#include <cstddef>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "gateway/policy/diff.hpp"
#include "gateway/policy/engine.hpp"

namespace icegate::policy {

enum class CellDecision {
  release,     // released
  hold,        // released once a critical reader approves
  occasional,  // released only under the occasional allowance
  redacted,    // this label withheld, but some other label of the category (lower or higher) gets through
  deny,        // nothing of the category reaches the recipient at any label of the matrix
  mixed,       // the row's nodes disagree (see MatrixCell::counts)
  none,        // no sender to consider (the one sender given is the row's only node)
};
// "RELEASE", "HOLD", "OCCASIONAL", "REDACTED", "DENY", "MIXED", "N/A"
std::string_view to_string(CellDecision decision);

struct MatrixCell {
  CellDecision decision = CellDecision::deny;
  // For release, hold and occasional: an example sender and purpose and the
  // permit rule that releases. For a withheld portion: why, for the example.
  std::string sender;
  std::string purpose;
  std::string rule;
  std::string detail;
  // For mixed: how many of the row's nodes get each decision, in enum order.
  std::vector<std::pair<CellDecision, std::size_t>> counts;
};

struct MatrixRow {
  std::string organisation;  // id
  std::string organisation_name;
  std::string kind;
  std::string role;  // id
  std::string role_name;
  std::string level;
  std::vector<std::string> nodes;  // the recipients in the row, in policy order
  std::vector<MatrixCell> cells;   // one per column
};

struct MatrixColumn {
  std::string category;  // information category
  Label label;
  std::string marking;  // the label's display marking
  std::string colour;   // the classification's display colours, "" when the scheme gives none
  std::string text_colour;
};

struct MatrixOptions {
  std::string from;                     // fix the sender to this node; "" for the most permissive sender set
  std::string purpose;                  // fix the purpose; "" for any purpose (including none)
  bool by_node = false;                 // a row per node instead of per (organisation, role)
  std::vector<std::string> categories;  // only these information categories; empty for all
  LabelSpaceOptions labels = {1, false, 256};
};

struct PolicyMatrix {
  std::string policy;  // name
  std::string file;
  std::string version;
  std::string scheme;
  std::string from;     // as given
  std::string purpose;  // as given
  std::vector<MatrixColumn> columns;
  std::vector<MatrixRow> rows;
  std::vector<std::string> errors;  // an unknown node, purpose or category in the options; nothing built
};

PolicyMatrix build_matrix(const CompiledPolicy& policy, const MatrixOptions& options = {});

// RFC 4180 CSV: a header row (organisation, kind, role, level, nodes, then
// one column per "category:LABEL"), then a row per matrix row; cells are the
// decision names of to_string(CellDecision).
void write_matrix_csv(std::ostream& out, const PolicyMatrix& matrix);
// A self-contained HTML page (inline CSS, no scripts, no external resources):
// label headers in the scheme's display colours, cells coloured by decision,
// a legend, and each cell's example sender, purpose and rule as its tooltip.
void write_matrix_html(std::ostream& out, const PolicyMatrix& matrix);

}  // namespace icegate::policy
