// policy::build_matrix and its CSV and HTML renderings, on need-to-share and
// on a small policy whose rows mix decisions.
#include "gateway/policy/matrix.hpp"

#include "gateway/policy/matrix_page.hpp"

#include <sstream>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "tests/gateway/policy/policy_test_support.hpp"

namespace icegate::policy {
namespace {

using Table = std::vector<std::vector<std::string>>;

// An RFC 4180 reader, independent of the writer.
Table parse_csv(const std::string& text) {
  Table table;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      row.push_back(std::move(field));
      field.clear();
    } else if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
      row.push_back(std::move(field));
      field.clear();
      table.push_back(std::move(row));
      row.clear();
      ++i;
    } else {
      field += c;
    }
  }
  EXPECT_TRUE(field.empty() && row.empty()) << "the CSV does not end with CRLF";
  return table;
}

class NeedToShareMatrix : public ::testing::Test {
 protected:
  void SetUp() override {
    LoadResult result = load_policy(ICEGATE_SOURCE_DIR "/policies/need-to-share.yaml");
    ASSERT_TRUE(result.policy);
    policy_ = result.policy;
  }

  // The cell of `matrix` for the row holding `node` and the column `column`
  // ("category:LABEL"), via the CSV.
  static std::string cell(const Table& table, std::string_view node, std::string_view column) {
    const auto& header = table.front();
    const auto at = std::find(header.begin(), header.end(), column);
    EXPECT_NE(at, header.end()) << column;
    if (at == header.end()) return "";
    for (const auto& row : table) {
      if (row.size() == header.size() && row[4] == node) return row[static_cast<std::size_t>(at - header.begin())];
    }
    ADD_FAILURE() << "no row for " << node;
    return "";
  }

  Table csv(const MatrixOptions& options = {}) {
    const PolicyMatrix matrix = build_matrix(*policy_, options);
    EXPECT_TRUE(matrix.errors.empty());
    std::ostringstream out;
    write_matrix_csv(out, matrix);
    return parse_csv(out.str());
  }

  std::shared_ptr<const CompiledPolicy> policy_;
};

TEST_F(NeedToShareMatrix, RowsAndColumns) {
  const PolicyMatrix matrix = build_matrix(*policy_);
  ASSERT_TRUE(matrix.errors.empty());
  EXPECT_EQ(matrix.rows.size(), 24u);  // every node here has its own organisation and role
  // 10 information categories x (6 classifications, and UK EYES ONLY at the 4 it is allowed at).
  EXPECT_EQ(matrix.columns.size(), 10u * 10u);
  EXPECT_EQ(matrix.columns.front().category, "intelligence-report");
  EXPECT_EQ(label_text(matrix.columns.front().label), "NOT PROTECTIVELY MARKED");
  for (const MatrixRow& row : matrix.rows) EXPECT_EQ(row.cells.size(), matrix.columns.size());
  const MatrixRow& first = matrix.rows.front();
  EXPECT_EQ(first.organisation, "wm-ctu");
  EXPECT_EQ(first.kind, "ctu");
  EXPECT_EQ(first.role, "ct-analyst");
  EXPECT_EQ(first.level, "tactical");
}

TEST_F(NeedToShareMatrix, CsvCellsSayWhoSeesWhat) {
  const Table table = csv();
  ASSERT_EQ(table.size(), 25u);
  EXPECT_EQ(table.front()[0], "organisation");
  EXPECT_EQ(table.front()[4], "nodes");
  // The chief executive (BPSS) is pre-briefed: RESTRICTED outright, SECRET
  // occasionally; TOP SECRET is redacted from what reaches it.
  EXPECT_EQ(cell(table, "council-chief-exec", "operational-prebriefing:RESTRICTED"), "RELEASE");
  EXPECT_EQ(cell(table, "council-chief-exec", "operational-prebriefing:SECRET/UK EYES ONLY"), "OCCASIONAL");
  EXPECT_EQ(cell(table, "council-chief-exec", "operational-prebriefing:TOP SECRET"), "REDACTED");
  // The Gateway Protocol: heads of service get the RESTRICTED version after review.
  EXPECT_EQ(cell(table, "council-prevent", "ct-problem-profile:RESTRICTED/UK EYES ONLY"), "HOLD");
  EXPECT_EQ(cell(table, "council-prevent", "ct-problem-profile:SECRET"), "REDACTED");
  EXPECT_EQ(cell(table, "council-critical-reader", "ct-problem-profile:SECRET/UK EYES ONLY"), "RELEASE");
  // Nothing CT reaches the community; public statements do, unmarked only.
  EXPECT_EQ(cell(table, "iag-chair", "ct-problem-profile:NOT PROTECTIVELY MARKED"), "DENY");
  EXPECT_EQ(cell(table, "iag-chair", "public-statement:NOT PROTECTIVELY MARKED"), "RELEASE");
  EXPECT_EQ(cell(table, "iag-chair", "public-statement:PROTECT"), "REDACTED");
  // The street warden holds no UK EYES ONLY.
  EXPECT_EQ(cell(table, "street-warden", "feedback:RESTRICTED"), "RELEASE");
  EXPECT_EQ(cell(table, "street-warden", "feedback:RESTRICTED/UK EYES ONLY"), "REDACTED");
}

TEST_F(NeedToShareMatrix, AFixedSenderAndPurpose) {
  MatrixOptions options;
  options.from = "ctu-analyst";
  Table table = csv(options);
  // The analyst does not pre-brief; it does send the profile to the strategic leads.
  EXPECT_EQ(cell(table, "council-chief-exec", "operational-prebriefing:RESTRICTED"), "DENY");
  EXPECT_EQ(cell(table, "council-chief-exec", "ct-problem-profile:RESTRICTED"), "HOLD");
  EXPECT_EQ(cell(table, "ctu-analyst", "ct-problem-profile:RESTRICTED"), "N/A");
  options.purpose = "safeguarding";  // the strategic leads' rule is for prevent only
  table = csv(options);
  EXPECT_EQ(cell(table, "council-chief-exec", "ct-problem-profile:RESTRICTED"), "DENY");
  EXPECT_EQ(cell(table, "council-prevent", "ct-problem-profile:RESTRICTED"), "HOLD");
}

TEST_F(NeedToShareMatrix, OnlySomeCategories) {
  MatrixOptions options;
  options.categories = {"feedback"};
  const PolicyMatrix matrix = build_matrix(*policy_, options);
  ASSERT_TRUE(matrix.errors.empty());
  EXPECT_EQ(matrix.columns.size(), 10u);
  for (const MatrixColumn& column : matrix.columns) EXPECT_EQ(column.category, "feedback");
}

TEST_F(NeedToShareMatrix, UnknownOptionsAreErrors) {
  MatrixOptions options;
  options.from = "nobody";
  options.purpose = "gossip";
  options.categories = {"rumour"};
  const PolicyMatrix matrix = build_matrix(*policy_, options);
  ASSERT_EQ(matrix.errors.size(), 3u);
  EXPECT_NE(matrix.errors[0].find("'nobody' is not a node"), std::string::npos);
  EXPECT_NE(matrix.errors[1].find("'gossip' is not a purpose"), std::string::npos);
  EXPECT_NE(matrix.errors[2].find("'rumour' is not an information category"), std::string::npos);
  EXPECT_TRUE(matrix.rows.empty());
}

TEST_F(NeedToShareMatrix, HtmlIsSelfContainedAndColouredByTheScheme) {
  const PolicyMatrix matrix = build_matrix(*policy_);
  std::ostringstream out;
  write_matrix_html(out, matrix);
  const std::string html = out.str();
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  for (std::string_view external : {"http:", "https:", "//", "<link", "<script", "src=", "href=", "url(", "@import"}) {
    EXPECT_EQ(html.find(external), std::string::npos) << external;
  }
  for (const MatrixColumn& column : matrix.columns) {
    EXPECT_NE(html.find(">" + column.marking + "</th>"), std::string::npos) << column.marking;
    EXPECT_NE(html.find("background:" + column.colour + ";color:" + column.text_colour), std::string::npos)
        << column.marking;
  }
  EXPECT_NE(html.find("background:#ef6c00;color:#000000;\" title=\"SECRET/UK EYES ONLY\">SECRET UK EYES ONLY</th>"),
            std::string::npos);
  for (std::string_view decision : {"RELEASE", "HOLD", "OCCASIONAL", "REDACTED", "DENY"}) {
    EXPECT_NE(html.find(fmt::format(">{}</td><td>", decision)), std::string::npos) << decision;  // the legend
  }
  EXPECT_NE(html.find("title=\"operational-prebriefing to SECRET: OCCASIONAL from ctu-sio for "
                      "consequence-management (prebriefing-to-strategic-leads)\""),
            std::string::npos);
}

// The view model says what the page shows, before any HTML: a category heading
// spans its labels, a label heading carries the scheme's colours, and a cell's
// tooltip names the example sender, purpose and rule.
TEST_F(NeedToShareMatrix, ThePageModelFollowsTheMatrix) {
  const PolicyMatrix matrix = build_matrix(*policy_);
  const MatrixPage page = matrix_page(matrix);
  EXPECT_EQ(page.policy, matrix.policy);
  ASSERT_EQ(page.legend.size(), 7u);
  EXPECT_EQ(page.legend.front().decision, "RELEASE");
  EXPECT_EQ(page.legend.back().decision, "N/A");
  std::size_t spanned = 0;
  for (const MatrixPage::Category& category : page.categories) spanned += category.span;
  EXPECT_EQ(spanned, matrix.columns.size());
  EXPECT_EQ(page.categories.size(), policy_->source().information_categories.size());
  ASSERT_EQ(page.labels.size(), matrix.columns.size());
  for (std::size_t c = 0; c < matrix.columns.size(); ++c) {
    EXPECT_EQ(page.labels[c].style,
              "background:" + matrix.columns[c].colour + ";color:" + matrix.columns[c].text_colour + ";");
  }
  ASSERT_EQ(page.rows.size(), matrix.rows.size());
  bool found = false;
  for (const MatrixPage::Row& row : page.rows) {
    ASSERT_EQ(row.cells.size(), matrix.columns.size());
    for (const MatrixPage::Cell& cell : row.cells) {
      if (cell.title == "operational-prebriefing to SECRET: OCCASIONAL from ctu-sio for consequence-management "
                        "(prebriefing-to-strategic-leads)") {
        found = true;
        EXPECT_EQ(cell.css_class, "occasional");
        EXPECT_EQ(cell.decision, "OCCASIONAL");
      }
    }
  }
  EXPECT_TRUE(found);
  EXPECT_EQ(page.sender.rfind("from the most permissive sender", 0), 0u);
  MatrixOptions options;
  options.from = "ctu-sio";
  EXPECT_EQ(matrix_page(build_matrix(*policy_, options)).sender, "from ctu-sio");
}

// Names come from policy files, which anyone may write: each appears in the
// page escaped exactly once, never raw and never twice-escaped.
TEST(PolicyMatrixTest, HostileNamesAreEscapedExactlyOnce) {
  const std::string hostile = "<script>alert(\"x\" & 'y')</script>";
  const std::string escaped = "&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)&lt;/script&gt;";
  PolicyMatrix matrix;
  matrix.policy = hostile;
  matrix.file = "f" + hostile;
  matrix.from = "n" + hostile;
  MatrixColumn column;
  column.category = "c" + hostile;
  column.label.classification = "SECRET";
  column.marking = "m" + hostile;
  matrix.columns.push_back(column);
  MatrixRow row;
  row.organisation = "o" + hostile;
  row.nodes = {"n" + hostile};
  MatrixCell cell;
  cell.decision = CellDecision::release;
  cell.sender = "s" + hostile;
  row.cells.push_back(cell);
  matrix.rows.push_back(row);
  std::ostringstream out;
  write_matrix_html(out, matrix);
  const std::string html = out.str();
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("&amp;lt;"), std::string::npos);
  EXPECT_EQ(html.find("&amp;amp;"), std::string::npos);
  EXPECT_EQ(html.find("&apos;"), std::string::npos);  // the library's own escaper is not used
  for (const std::string& expected :
       {"<title>Who can see what: " + escaped + "</title>", "Policy file f" + escaped + ",", "from n" + escaped + ",",
        "<th class=\"category\" colspan=\"1\">c" + escaped + "</th>", ">m" + escaped + "</th>",
        "<th class=\"row\">n" + escaped + "</th>", "<th class=\"row\" title=\"\">o" + escaped + "</th>",
        " from s" + escaped + " for no purpose\">RELEASE</td>"}) {
    EXPECT_NE(html.find(expected), std::string::npos) << expected;
  }
}

TEST(PolicyMatrixTest, RowsWhoseNodesDisagreeAreMixed) {
  auto policy = testing::load_inline(R"(
vetting:
  - {name: low, regular: LOW}
  - {name: high, regular: HIGH}
organisations:
  - {id: police, kind: police}
  - {id: council, kind: council}
roles:
  - {id: officer}
  - {id: lead}
nodes:
  - {id: p1, organisation: police, role: officer, vetting: high}
  - {id: c1, organisation: council, role: lead, vetting: high}
  - {id: c2, organisation: council, role: lead, vetting: low}
information_categories: [report]
purposes: [prevent]
rules:
  - id: police-to-council
    effect: permit
    from: {organisation_kinds: [police]}
    to: {organisation_kinds: [council]}
)");
  ASSERT_TRUE(policy);
  const PolicyMatrix by_role = build_matrix(*policy);
  ASSERT_EQ(by_role.rows.size(), 2u);
  const MatrixRow& council = by_role.rows[1];
  EXPECT_EQ(council.nodes, (std::vector<std::string>{"c1", "c2"}));
  // Columns: report x LOW, LOW/EARS, MID, MID/EYES, MID/EARS, HIGH, ...
  EXPECT_EQ(council.cells[0].decision, CellDecision::release);  // LOW: both
  EXPECT_EQ(council.cells[2].decision, CellDecision::mixed);    // MID: c1 yes, c2 no
  EXPECT_EQ(council.cells[2].counts, (std::vector<std::pair<CellDecision, std::size_t>>{{CellDecision::release, 1},
                                                                                        {CellDecision::redacted, 1}}));
  std::ostringstream out;
  write_matrix_csv(out, by_role);
  EXPECT_NE(out.str().find("MIXED(RELEASE:1 REDACTED:1)"), std::string::npos) << out.str();
  // The police officer receives nothing: no rule sends to police.
  EXPECT_EQ(by_role.rows[0].cells[0].decision, CellDecision::deny);

  MatrixOptions options;
  options.by_node = true;
  const PolicyMatrix by_node = build_matrix(*policy, options);
  ASSERT_EQ(by_node.rows.size(), 3u);
  EXPECT_EQ(by_node.rows[1].cells[2].decision, CellDecision::release);
  EXPECT_EQ(by_node.rows[2].cells[2].decision, CellDecision::redacted);
  EXPECT_EQ(by_node.rows[2].cells[2].detail, "above the recipient's clearance");
}

// The cell of `matrix` for recipient node `node` (a --by-node matrix) at
// category `category` and label `label`.
const MatrixCell& cell_at(const PolicyMatrix& matrix, std::string_view node, std::string_view category,
                          const Label& label) {
  std::size_t column = 0;
  while (column < matrix.columns.size() &&
         !(matrix.columns[column].category == category && matrix.columns[column].label == label)) {
    ++column;
  }
  EXPECT_LT(column, matrix.columns.size()) << label_text(label);
  for (const MatrixRow& row : matrix.rows) {
    if (row.nodes == std::vector<std::string>{std::string(node)} && column < row.cells.size()) return row.cells[column];
  }
  ADD_FAILURE() << "no row for " << node;
  static const MatrixCell none;
  return none;
}

// Issue 13 (16), a design choice (policies/README.md, `policy matrix`): a
// withheld label is REDACTED when any other label of the same category gets
// through to the recipient, higher or lower, since a product carrying both
// reaches the recipient redacted by portion; DENY only when no label does.
TEST(PolicyMatrixTest, RedactedMeansSomeOtherLabelOfTheCategoryGetsThrough) {
  auto policy = testing::load_inline(R"(vetting:
  - {name: high, regular: HIGH}
organisations:
  - {id: o, kind: k}
roles:
  - {id: r}
nodes:
  - {id: sender, organisation: o, role: r, vetting: high}
  - {id: recipient, organisation: o, role: r, vetting: high}
information_categories: [report, other]
purposes: [p]
rules:
  - {id: only-high, effect: permit, categories: [report], from: {nodes: [sender]}, to: {nodes: [recipient]},
     min_classification: HIGH}
)");
  ASSERT_TRUE(policy);
  MatrixOptions options;
  options.by_node = true;
  const PolicyMatrix matrix = build_matrix(*policy, options);
  EXPECT_EQ(cell_at(matrix, "recipient", "report", Label{"HIGH", {}}).decision, CellDecision::release);
  // Only a higher label gets through: still REDACTED.
  EXPECT_EQ(cell_at(matrix, "recipient", "report", Label{"LOW", {}}).decision, CellDecision::redacted);
  EXPECT_EQ(cell_at(matrix, "recipient", "report", Label{"MID", {}}).decision, CellDecision::redacted);
  // Nothing of the category gets through: DENY.
  EXPECT_EQ(cell_at(matrix, "recipient", "other", Label{"HIGH", {}}).decision, CellDecision::deny);
  EXPECT_EQ(cell_at(matrix, "sender", "report", Label{"HIGH", {}}).decision, CellDecision::deny);
}

// Issue 13 (16), a design choice (policies/README.md, `policy matrix`): the
// most permissive outcome is the best by what the recipient's clearance
// allows first (regular ceiling, then occasional allowance), and without
// review before with it: RELEASE, HOLD, OCCASIONAL, then a HOLD that needs
// an occasional release too. So where one sender's release is held for
// review and needs an occasional release, and another's only needs the
// occasional release, the cell is OCCASIONAL.
TEST(PolicyMatrixTest, TheMostPermissiveSenderRanksClearanceThenReview) {
  auto policy = testing::load_inline(R"(vetting:
  - {name: low, regular: LOW, occasional: HIGH}
occasional_allowance: {releases: 1, window: 30d}
organisations:
  - {id: o, kind: k}
roles:
  - {id: r}
  - {id: reader}
nodes:
  - {id: reviewed-sender, organisation: o, role: r, vetting: low}
  - {id: plain-sender, organisation: o, role: r, vetting: low}
  - {id: recipient, organisation: o, role: r, vetting: low}
  - {id: critical-reader, organisation: o, role: reader, vetting: low}
information_categories: [report]
purposes: [p]
rules:
  - {id: reviewed, effect: permit, from: {nodes: [reviewed-sender]}, to: {nodes: [recipient]},
     handling: {review_by: [reader]}}
  - {id: plain-from-mid, effect: permit, from: {nodes: [plain-sender]}, to: {nodes: [recipient]},
     min_classification: MID}
)");
  ASSERT_TRUE(policy);
  MatrixOptions options;
  options.by_node = true;
  const PolicyMatrix matrix = build_matrix(*policy, options);
  const MatrixCell& low = cell_at(matrix, "recipient", "report", Label{"LOW", {}});
  EXPECT_EQ(low.decision, CellDecision::hold);  // only the reviewed sender: within the regular ceiling
  EXPECT_EQ(low.rule, "reviewed");
  const MatrixCell& high = cell_at(matrix, "recipient", "report", Label{"HIGH", {}});
  EXPECT_EQ(high.decision, CellDecision::occasional);  // beats a held occasional release
  EXPECT_EQ(high.sender, "plain-sender");
  EXPECT_EQ(high.rule, "plain-from-mid");

  // From the reviewed sender alone, HIGH is held and needs an occasional release too.
  options.from = "reviewed-sender";
  const PolicyMatrix reviewed = build_matrix(*policy, options);
  const MatrixCell& held = cell_at(reviewed, "recipient", "report", Label{"HIGH", {}});
  EXPECT_EQ(held.decision, CellDecision::hold);
  EXPECT_EQ(held.detail, "needs an occasional release");
}

// Issue 13 (17): under an occasional allowance of 0 the gateway never makes
// an occasional release, so the matrix shows none.
TEST(PolicyMatrixTest, NoOccasionalCellsWhenTheAllowanceIsZero) {
  auto policy = testing::load_inline(R"(vetting:
  - {name: low, regular: LOW, occasional: HIGH}
occasional_allowance: {releases: 0, window: 30d}
organisations:
  - {id: o, kind: k}
roles:
  - {id: r}
nodes:
  - {id: sender, organisation: o, role: r, vetting: low}
  - {id: recipient, organisation: o, role: r, vetting: low}
information_categories: [report]
purposes: [p]
rules:
  - {id: all, effect: permit}
)");
  ASSERT_TRUE(policy);
  MatrixOptions options;
  options.by_node = true;
  const PolicyMatrix matrix = build_matrix(*policy, options);
  EXPECT_EQ(cell_at(matrix, "recipient", "report", Label{"LOW", {}}).decision, CellDecision::release);
  const MatrixCell& high = cell_at(matrix, "recipient", "report", Label{"HIGH", {}});
  EXPECT_EQ(high.decision, CellDecision::redacted);
  EXPECT_EQ(high.detail, "needs an occasional release, and the policy allows none");
}

}  // namespace
}  // namespace icegate::policy
