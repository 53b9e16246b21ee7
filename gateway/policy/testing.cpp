#include "gateway/policy/testing.hpp"

#include <algorithm>
#include <array>
#include <map>

#include <fmt/format.h>

#include "gateway/policy/checker.hpp"
#include "gateway/policy/parser.hpp"

namespace icegate::policy {
namespace {

constexpr std::string_view kFileKeys[] = {"policy", "description", "tests"};
constexpr std::string_view kCaseKeys[] = {"name", "description", "request", "expect", "each"};
constexpr std::string_view kRequestKeys[] = {"from",     "to",       "category",
                                             "purpose", "portions", "occasional_available"};
// A row of a table (`each:`): its own name, the request fields it overrides, and its expectations.
constexpr std::string_view kRowKeys[] = {"name",     "description", "from",     "to",
                                         "category", "purpose",     "portions", "occasional_available",
                                         "expect"};
constexpr std::string_view kPortionKeys[] = {"id", "label"};
constexpr std::string_view kLabelKeys[] = {"classification", "categories"};
constexpr std::string_view kExpectKeys[] = {"decision",           "withheld",          "released",
                                            "rules",              "review_roles",      "originator_control",
                                            "no_onward_sharing", "occasional",        "reason_contains"};

constexpr std::array<Decision, 4> kDecisions = {Decision::release, Decision::release_redacted, Decision::hold,
                                                Decision::deny};

// "[1, 2]"
std::string bracketed(const std::vector<std::string>& items) {
  return fmt::format("[{}]", fmt::join(items, ", "));
}

std::string_view yes_no(bool value) { return value ? "true" : "false"; }

// A request as far as one mapping states it. A plain case's `request:` states
// all of it; in a table, the case's `request:` states what the rows share and
// each row the rest, so both are read into parts and merged, row over case.
struct RequestParts {
  std::optional<PolicyTestName> from;
  std::optional<PolicyTestName> to;
  std::optional<PolicyTestName> category;
  std::optional<PolicyTestName> purpose;
  std::optional<std::vector<PolicyTestPortion>> portions;  // only when every portion read cleanly
  bool portions_given = false;
  std::vector<std::string> portion_ids;  // every portion's id, a portion with a bad label too
  std::optional<bool> occasional_available;
  SourceLocation occasional_location;

  // Fields `over` states replace these.
  void override_with(const RequestParts& over) {
    if (over.from) from = over.from;
    if (over.to) to = over.to;
    if (over.category) category = over.category;
    if (over.purpose) purpose = over.purpose;
    if (over.portions_given) {
      portions = over.portions;
      portions_given = true;
      portion_ids = over.portion_ids;
    }
    if (over.occasional_available) {
      occasional_available = over.occasional_available;
      occasional_location = over.occasional_location;
    }
  }
};

// An expectation as far as one mapping states it; a row's fields replace the
// case's one by one.
struct ExpectationParts {
  std::optional<Decision> decision;
  std::optional<std::vector<LocatedString>> withheld;
  std::optional<std::vector<LocatedString>> released;
  std::optional<std::vector<PolicyTestName>> rules;
  std::optional<std::vector<PolicyTestName>> review_roles;
  std::optional<bool> originator_control;
  std::optional<bool> no_onward_sharing;
  std::optional<bool> occasional;
  std::optional<std::string> reason_contains;

  void override_with(const ExpectationParts& over) {
    if (over.decision) decision = over.decision;
    if (over.withheld) withheld = over.withheld;
    if (over.released) released = over.released;
    if (over.rules) rules = over.rules;
    if (over.review_roles) review_roles = over.review_roles;
    if (over.originator_control) originator_control = over.originator_control;
    if (over.no_onward_sharing) no_onward_sharing = over.no_onward_sharing;
    if (over.occasional) occasional = over.occasional;
    if (over.reason_contains) reason_contains = over.reason_contains;
  }
};

// Reads one test file's syntax tree into cases.
class TestFileReader {
 public:
  explicit TestFileReader(PolicyTestFile& out) : out_(out), check_(out.diagnostics, 'T') {}

  void read(const SyntaxNode& root, bool require_policy = true) {
    if (!check_.expect_mapping(root, "a policy test file")) return;
    check_.check_keys(root, "the test file", kFileKeys);
    if (auto policy = require_policy ? check_.read_required_string(root, "policy", "the test file")
                                     : check_.read_optional_string(root, "policy", "'policy'")) {
      out_.policy = (out_.file.parent_path() / policy->value).lexically_normal();
      out_.policy_location = policy->location;
    }
    if (auto description = check_.read_optional_string(root, "description", "'description'")) {
      out_.description = description->value;
    }
    const SyntaxNode* tests = check_.require(root, "tests", "the test file");
    if (!tests) return;
    if (tests->is_sequence() && tests->items.empty()) {
      check_.diagnostics().error(Code::T005, tests->location, "'tests' has no cases");
    }
    const std::vector<const SyntaxNode*> entries = check_.read_entries(*tests, "tests");
    for (const SyntaxNode* entry : entries) read_case(*entry);
    // Entries that are not a case at all (T003) and cases or rows with a
    // problem are left out; the others still run.
    if (tests->is_sequence()) {
      out_.cases_not_run = (tests->items.size() - entries.size()) + (runnable_ - out_.cases.size());
    }
  }

  // A request mapping on its own (`icegate policy explain --request FILE`).
  bool read_request_only(const SyntaxNode& root, PolicyTestRequest& request) {
    if (!check_.expect_mapping(root, "'request'")) return false;
    check_.check_keys(root, "'request'", kRequestKeys);
    RequestParts parts;
    const bool ok = read_request_parts(root, parts, true);
    return ok && complete_request(parts, request);
  }

 private:
  void read_case(const SyntaxNode& entry) {
    check_.check_keys(entry, "test", kCaseKeys);
    PolicyTestCase test;
    test.location = entry.location;
    auto name = check_.read_required_string(entry, "name", "test");
    bool ok = name.has_value();
    if (name) {
      test.name = name->value;
      ok = names_.define(*name, check_.diagnostics(), Code::T010, "name") && ok;
    }
    const std::string owner = describe_entry("test", name);
    if (auto description = check_.read_optional_string(entry, "description", "'description'")) {
      test.description = description->value;
    }
    if (const SyntaxNode* each = entry.find("each")) {
      read_table(entry, *each, std::move(test), ok);
      return;
    }
    ++runnable_;
    RequestParts request;
    const SyntaxNode* request_node = check_.require(entry, "request", owner);
    if (request_node && check_.expect_mapping(*request_node, "'request'")) {
      check_.check_keys(*request_node, "'request'", kRequestKeys);
      ok = read_request_parts(*request_node, request, true) && complete_request(request, test.request) && ok;
    } else {
      ok = false;
    }
    ExpectationParts expect;
    const SyntaxNode* expect_node = check_.require(entry, "expect", owner);
    if (expect_node && check_.expect_mapping(*expect_node, "'expect'")) {
      bool read = read_expectation_parts(*expect_node, expect, true);
      read = check_portion_ids(expect, request.portion_ids, "the request") && read;
      ok = read && complete_expectation(expect, test.expect) && ok;
    } else {
      ok = false;
    }
    if (ok) out_.cases.push_back(std::move(test));
  }

  // A table-driven case: `request` and `expect` hold what its rows share, and
  // each row of `each` runs as a case of its own, named "<case>[<row>]".
  void read_table(const SyntaxNode& entry, const SyntaxNode& each, PolicyTestCase table, bool ok) {
    if (!each.is_sequence()) {
      check_.wrong_type(each, "'each'", "a list of rows (mappings)");
      ++runnable_;
      return;
    }
    if (each.items.empty()) {
      check_.diagnostics().error(Code::T005, each.location, "'each' has no rows");
      ++runnable_;
      return;
    }
    // What the rows share is read once, so that its problems are reported once.
    RequestParts shared_request;
    if (const SyntaxNode* node = entry.find("request")) {
      if (check_.expect_mapping(*node, "'request'")) {
        check_.check_keys(*node, "'request'", kRequestKeys);
        ok = read_request_parts(*node, shared_request, false) && ok;
      } else {
        ok = false;
      }
    }
    ExpectationParts shared_expect;
    if (const SyntaxNode* node = entry.find("expect")) {
      ok = check_.expect_mapping(*node, "'expect'") && read_expectation_parts(*node, shared_expect, false) && ok;
    }
    for (std::size_t i = 0; i < each.items.size(); ++i) {
      ++runnable_;
      const SyntaxNode& row = each.items[i];
      if (!row.is_mapping()) {
        check_.wrong_type(row, "each entry of 'each'", "a mapping (a row)");
        continue;
      }
      read_row(row, i, table, shared_request, shared_expect, ok);
    }
  }

  void read_row(const SyntaxNode& row, std::size_t position, const PolicyTestCase& table,
                const RequestParts& shared_request, const ExpectationParts& shared_expect, bool table_ok) {
    check_.check_keys(row, "row", kRowKeys);
    PolicyTestCase test;
    test.location = row.location;
    test.table = table.name;
    test.description = table.description;
    test.row = std::to_string(position + 1);
    bool ok = table_ok;
    if (auto name = check_.read_optional_string(row, "name", "'name'")) {
      test.row = name->value;
    } else if (row.find("name")) {
      ok = false;
    }
    test.name = fmt::format("{}[{}]", table.name, test.row);
    if (auto description = check_.read_optional_string(row, "description", "'description'")) {
      test.description = description->value;
    }
    // The full name is a test name like any other: unique within the file.
    if (!table.name.empty()) {
      const SyntaxNode* name_node = row.find("name");
      ok = names_.define({test.name, name_node ? name_node->location : row.location}, check_.diagnostics(),
                         Code::T010, "name") &&
           ok;
    }

    RequestParts request = shared_request;
    RequestParts own_request;
    ok = read_request_parts(row, own_request, false) && ok;
    request.override_with(own_request);
    ExpectationParts expect = shared_expect;
    if (const SyntaxNode* node = row.find("expect")) {
      ExpectationParts own_expect;
      ok = check_.expect_mapping(*node, "'expect'") && read_expectation_parts(*node, own_expect, false) && ok;
      expect.override_with(own_expect);
    }
    // What the case and the row state together must be a whole case; a row
    // whose case has a problem was reported with it.
    if (table_ok) {
      const std::string subject = fmt::format("row '{}'", test.name);
      for (auto [field, present] : {std::pair{"from", request.from.has_value()},
                                    std::pair{"to", request.to.has_value()},
                                    std::pair{"category", request.category.has_value()},
                                    std::pair{"portions", request.portions_given}}) {
        if (present) continue;
        check_.diagnostics().error(Code::T004, row.location,
                                   fmt::format("{} has no '{}': give it in the row or in the case's 'request'",
                                               subject, field));
        ok = false;
      }
      if (!expect.decision) {
        check_.diagnostics().error(Code::T004, row.location,
                                   fmt::format("{} has no 'decision': give it in the row's 'expect' or in the "
                                               "case's 'expect'",
                                               subject));
        ok = false;
      }
      ok = check_portion_ids(expect, request.portion_ids, fmt::format("the request of '{}'", test.name)) && ok;
    }
    ok = ok && complete_request(request, test.request) && complete_expectation(expect, test.expect);
    if (ok) out_.cases.push_back(std::move(test));
  }

  std::optional<PolicyTestName> read_name(const SyntaxNode& mapping, std::string_view key, bool required,
                                          bool& ok) {
    auto value = required ? check_.read_required_string(mapping, key, "'request'")
                          : check_.read_optional_string(mapping, key, fmt::format("'{}'", key));
    if (!value) {
      if (required || mapping.find(key)) ok = false;
      return std::nullopt;
    }
    return PolicyTestName{value->value, value->location};
  }

  // The request fields of `node`; `required` reports the missing ones (a
  // whole request), else they are left unset (a table's shared part, a row).
  bool read_request_parts(const SyntaxNode& node, RequestParts& request, bool required) {
    bool ok = true;
    request.from = read_name(node, "from", required, ok);
    request.to = read_name(node, "to", required, ok);
    request.category = read_name(node, "category", required, ok);
    // No purpose is a request a node may make: only rules naming no purpose
    // apply to it. An empty purpose is still a mistake (T005).
    request.purpose = read_name(node, "purpose", false, ok);
    if (const SyntaxNode* flag = node.find("occasional_available")) {
      auto value = check_.read_bool(*flag, "'occasional_available'");
      ok = value.has_value() && ok;
      request.occasional_available = value.value_or(false);
      request.occasional_location = flag->location;
    }
    const SyntaxNode* portions = required ? check_.require(node, "portions", "'request'") : node.find("portions");
    if (!portions) return ok && !required;
    request.portions_given = true;
    if (!portions->is_sequence()) {
      check_.wrong_type(*portions, "'portions'", "a list of labels or {id, label} mappings");
      return false;
    }
    Names ids("portion");
    std::vector<PolicyTestPortion> read_portions;
    bool portions_ok = true;
    for (std::size_t i = 0; i < portions->items.size(); ++i) {
      PolicyTestPortion portion;
      const bool read = read_portion(portions->items[i], i, portion);
      // A portion with a bad label still has its id, for the checks of `expect`.
      request.portion_ids.push_back(portion.id);
      const bool unique = ids.define({portion.id, portion.location}, check_.diagnostics(), Code::T010);
      portions_ok = read && unique && portions_ok;
      if (read) read_portions.push_back(std::move(portion));
    }
    if (portions_ok) request.portions = std::move(read_portions);
    return portions_ok && ok;
  }

  // The request, once every required field is known (reported before).
  static bool complete_request(const RequestParts& parts, PolicyTestRequest& request) {
    if (!parts.from || !parts.to || !parts.category || !parts.portions) return false;
    request.from = *parts.from;
    request.to = *parts.to;
    request.category = *parts.category;
    if (parts.purpose) request.purpose = *parts.purpose;
    request.portions = *parts.portions;
    request.occasional_available = parts.occasional_available.value_or(false);
    request.occasional_location = parts.occasional_location;
    return true;
  }

  // A portion is a label ("SECRET/UK EYES ONLY", or a mapping with a
  // `classification`), or {id, label}.
  bool read_portion(const SyntaxNode& node, std::size_t position, PolicyTestPortion& portion) {
    portion.id = std::to_string(position + 1);
    portion.location = node.location;
    if (node.is_scalar() || (node.is_mapping() && node.find("classification"))) return read_label(node, portion.label);
    if (!node.is_mapping()) {
      check_.wrong_type(node, "each entry of 'portions'", "a label or an {id, label} mapping");
      return false;
    }
    check_.check_keys(node, "portion", kPortionKeys);
    bool ok = true;
    if (const SyntaxNode* id = node.find("id")) {
      auto value = check_.read_string(*id, "'id'");
      ok = value.has_value();
      if (value) portion.id = value->value;
    }
    const SyntaxNode* label = check_.require(node, "label", "portion");
    return label && read_label(*label, portion.label) && ok;
  }

  // "CLASSIFICATION/CATEGORY/CATEGORY", or {classification, categories}.
  bool read_label(const SyntaxNode& node, Label& label) {
    if (node.is_mapping()) {
      check_.check_keys(node, "label", kLabelKeys);
      auto classification = check_.read_required_string(node, "classification", "label");
      bool ok = classification.has_value();
      if (classification) label.classification = classification->value;
      if (const SyntaxNode* categories = node.find("categories")) {
        ok = categories->is_sequence() && ok;
        label.categories = values(check_.read_string_list(*categories, "'categories'"));
      }
      normalise(label);
      return ok;
    }
    auto text = check_.read_string(node, "a label");
    if (!text) return false;
    std::string error;
    auto parsed = parse_test_label(text->value, error);
    if (!parsed) {
      check_.diagnostics().error(Code::T005, text->location, error);
      return false;
    }
    label = std::move(*parsed);
    return true;
  }

  std::optional<std::vector<PolicyTestName>> read_names(const SyntaxNode& node, std::string_view key) {
    auto items = check_.read_string_list(node, fmt::format("'{}'", key));
    if (!node.is_sequence()) return std::nullopt;
    std::vector<PolicyTestName> result;
    for (const LocatedString& item : items) result.push_back(PolicyTestName{item.value, item.location});
    return result;
  }

  std::optional<std::vector<LocatedString>> read_ids(const SyntaxNode& node, std::string_view key, bool& ok) {
    auto items = check_.read_string_list(node, fmt::format("'{}'", key));
    if (!node.is_sequence()) {
      ok = false;
      return std::nullopt;
    }
    return items;
  }

  // Portion ids an expectation names must be ids of the request's portions
  // (`subject` names the request in the message).
  bool check_portion_ids(const ExpectationParts& expect, const std::vector<std::string>& portion_ids,
                         std::string_view subject) {
    std::vector<std::string> known;
    for (const std::string& id : portion_ids) {
      if (std::find(known.begin(), known.end(), id) == known.end()) known.push_back(id);
    }
    bool ok = true;
    for (auto [key, ids] : {std::pair{"withheld", &expect.withheld}, std::pair{"released", &expect.released}}) {
      if (!*ids) continue;
      for (const LocatedString& item : **ids) {
        if (std::find(known.begin(), known.end(), item.value) != known.end()) continue;
        check_.diagnostics().error(Code::T013, item.location,
                                   fmt::format("'{}' names portion '{}', which {} does not have (its portions are "
                                               "{}){}",
                                               key, item.value, subject, bracketed(known),
                                               suggestion_suffix(closest(item.value, known))),
                                   {.suggestion = closest(item.value, known)});
        ok = false;
      }
    }
    return ok;
  }

  std::optional<bool> read_flag(const SyntaxNode& node, std::string_view key, bool& ok) {
    const SyntaxNode* value = node.find(key);
    if (!value) return std::nullopt;
    auto flag = check_.read_bool(*value, fmt::format("'{}'", key));
    ok = flag.has_value() && ok;
    return flag;
  }

  // The expectation fields of `node`; `required`: `decision` must be there.
  bool read_expectation_parts(const SyntaxNode& node, ExpectationParts& expect, bool required) {
    check_.check_keys(node, "'expect'", kExpectKeys);
    bool ok = true;
    auto decision = required ? check_.read_required_string(node, "decision", "'expect'")
                             : check_.read_optional_string(node, "decision", "'decision'");
    if (decision) {
      auto known = std::find_if(kDecisions.begin(), kDecisions.end(),
                                [&](Decision d) { return to_string(d) == decision->value; });
      if (known != kDecisions.end()) {
        expect.decision = *known;
      } else {
        std::vector<std::string> names;
        for (Decision d : kDecisions) names.emplace_back(to_string(d));
        check_.diagnostics().error(
            Code::T005, decision->location,
            fmt::format("invalid decision '{}': expected RELEASE, RELEASE_REDACTED, HOLD or DENY{}",
                        decision->value, suggestion_suffix(closest(decision->value, names))),
            {.suggestion = closest(decision->value, names)});
        ok = false;
      }
    } else if (required || node.find("decision")) {
      ok = false;
    }
    if (const SyntaxNode* v = node.find("withheld")) expect.withheld = read_ids(*v, "withheld", ok);
    if (const SyntaxNode* v = node.find("released")) expect.released = read_ids(*v, "released", ok);
    if (const SyntaxNode* v = node.find("rules")) {
      expect.rules = read_names(*v, "rules");
      ok = expect.rules.has_value() && ok;
    }
    if (const SyntaxNode* v = node.find("review_roles")) {
      expect.review_roles = read_names(*v, "review_roles");
      ok = expect.review_roles.has_value() && ok;
    }
    expect.originator_control = read_flag(node, "originator_control", ok);
    expect.no_onward_sharing = read_flag(node, "no_onward_sharing", ok);
    expect.occasional = read_flag(node, "occasional", ok);
    if (auto reason = check_.read_optional_string(node, "reason_contains", "'reason_contains'")) {
      expect.reason_contains = reason->value;
    } else if (node.find("reason_contains")) {
      ok = false;
    }
    return ok;
  }

  // The expectation, once its decision is known (reported before when not).
  static bool complete_expectation(const ExpectationParts& parts, PolicyTestExpectation& expect) {
    if (!parts.decision) return false;
    expect.decision = *parts.decision;
    if (parts.withheld) expect.withheld = values(*parts.withheld);
    if (parts.released) expect.released = values(*parts.released);
    expect.rules = parts.rules;
    expect.review_roles = parts.review_roles;
    expect.originator_control = parts.originator_control;
    expect.no_onward_sharing = parts.no_onward_sharing;
    expect.occasional = parts.occasional;
    expect.reason_contains = parts.reason_contains;
    return true;
  }

  PolicyTestFile& out_;
  Checker check_;
  Names names_{"test"};
  std::size_t runnable_ = 0;  // cases and table rows met so far, each meant to run
};

// The names a policy defines, for "undefined node 'x'; did you mean 'y'?".
struct PolicyNames {
  Names nodes{"node"};
  Names categories{"information category"};
  Names purposes{"purpose"};
  Names rules{"rule"};
  Names roles{"role"};

  explicit PolicyNames(const Policy& policy) {
    Diagnostics ignored;  // a validated policy has no duplicates to report
    for (const Node& node : policy.nodes) nodes.define({node.id, node.location}, ignored);
    for (const std::string& category : policy.information_categories) categories.define({category, {}}, ignored);
    for (const std::string& purpose : policy.purposes) purposes.define({purpose, {}}, ignored);
    for (const Rule& rule : policy.rules) rules.define({rule.id, rule.location}, ignored);
    for (const Role& role : policy.roles) roles.define({role.id, role.location}, ignored);
  }
};

// Checks that a case names only what the policy defines. Each problem goes to
// `diagnostics` (located) and to the case's differences (prefixed with the field).
void check_names(const CompiledPolicy& policy, const PolicyNames& names, const PolicyTestCase& test,
                 Diagnostics& diagnostics, std::vector<std::string>& differences) {
  Diagnostics found;
  Checker check(found, 'T');
  auto reference = [&](const Names& defined, const PolicyTestName& name, std::string_view field) {
    const std::size_t before = found.all().size();
    if (check.reference(defined, LocatedString{name.value, name.location})) return;
    differences.push_back(fmt::format("{}: {}", field, found.all()[before].message));
  };
  const PolicyTestRequest& request = test.request;
  reference(names.nodes, request.from, "from");
  reference(names.nodes, request.to, "to");
  reference(names.categories, request.category, "category");
  if (!request.purpose.value.empty()) reference(names.purposes, request.purpose, "purpose");
  if (request.occasional_available && policy.source().occasional.releases <= 0) {
    // The gateway's ledger never grants one (router.cpp), so the case would
    // pass or fail on a decision that cannot happen.
    std::string message = fmt::format(
        "'occasional_available' is true, but policy {} allows no occasional releases (occasional_allowance "
        "releases: {}): the gateway never has one to give",
        policy.source().name, policy.source().occasional.releases);
    differences.push_back(fmt::format("occasional_available: {}", message));
    found.error(Code::T014, request.occasional_location, std::move(message));
  }
  for (const PolicyTestPortion& portion : request.portions) {
    std::vector<std::string> problems = policy.label_problems(portion.label);
    if (problems.empty()) continue;
    std::string message = fmt::format("invalid label '{}': {}", to_string(portion.label), fmt::join(problems, "; "));
    differences.push_back(fmt::format("portion {}: {}", portion.id, message));
    found.error(Code::T012, portion.location, std::move(message));
  }
  if (test.expect.rules) {
    for (const PolicyTestName& rule : *test.expect.rules) reference(names.rules, rule, "rules");
  }
  if (test.expect.review_roles) {
    for (const PolicyTestName& role : *test.expect.review_roles) reference(names.roles, role, "review_roles");
  }
  // The rows of a table share what its case states: a typo there fails every
  // row, but is one mistake, reported once.
  for (const Diagnostic& diagnostic : found.all()) {
    const bool seen = std::any_of(diagnostics.all().begin(), diagnostics.all().end(), [&](const Diagnostic& d) {
      return d.code == diagnostic.code && d.location == diagnostic.location && d.message == diagnostic.message;
    });
    if (!seen) diagnostics.add(diagnostic);
  }
}

// Rule ids in file order; names the policy does not define keep their written order, last.
std::vector<std::string> rule_ids_in_file_order(const CompiledPolicy& policy, std::vector<std::string> ids) {
  const std::vector<Rule>& rules = policy.source().rules;
  auto position = [&rules](const std::string& id) {
    auto it = std::find_if(rules.begin(), rules.end(), [&id](const Rule& rule) { return rule.id == id; });
    return it - rules.begin();
  };
  std::stable_sort(ids.begin(), ids.end(),
                   [&](const std::string& a, const std::string& b) { return position(a) < position(b); });
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

// Portion ids in the request's order.
std::vector<std::string> portion_ids_in_order(const PolicyTestRequest& request, const std::vector<std::string>& ids) {
  std::vector<std::string> result;
  for (const PolicyTestPortion& portion : request.portions) {
    if (std::find(ids.begin(), ids.end(), portion.id) != ids.end()) result.push_back(portion.id);
  }
  return result;
}

std::vector<std::string> sorted_unique(std::vector<std::string> items) {
  std::sort(items.begin(), items.end());
  items.erase(std::unique(items.begin(), items.end()), items.end());
  return items;
}

std::vector<std::string> name_values(const std::vector<PolicyTestName>& names) {
  std::vector<std::string> result;
  for (const PolicyTestName& name : names) result.push_back(name.value);
  return result;
}

void compare(const PolicyTestExpectation& expect, const PolicyTestRequest& request, const PolicyDecision& got,
             const CompiledPolicy& policy, std::vector<std::string>& differences) {
  auto differ = [&differences](std::string_view field, const auto& expected, const auto& actual) {
    differences.push_back(fmt::format("{}: expected {}, got {}", field, expected, actual));
  };
  if (got.decision != expect.decision) differ("decision", to_string(expect.decision), to_string(got.decision));

  std::vector<std::string> released;
  std::vector<std::string> withheld;
  for (std::size_t i = 0; i < request.portions.size() && i < got.portions.size(); ++i) {
    (got.portions[i].released ? released : withheld).push_back(request.portions[i].id);
  }
  if (expect.withheld) {
    std::vector<std::string> expected = portion_ids_in_order(request, *expect.withheld);
    if (expected != withheld) differ("withheld", bracketed(expected), bracketed(withheld));
  }
  if (expect.released) {
    std::vector<std::string> expected = portion_ids_in_order(request, *expect.released);
    if (expected != released) differ("released", bracketed(expected), bracketed(released));
  }
  if (expect.rules) {
    std::vector<std::string> actual;
    for (int rule : got.rules) actual.push_back(policy.rule(rule).id);
    std::vector<std::string> expected = rule_ids_in_file_order(policy, name_values(*expect.rules));
    if (sorted_unique(expected) != sorted_unique(actual)) differ("rules", bracketed(expected), bracketed(actual));
  }
  if (expect.review_roles) {
    std::vector<std::string> expected = sorted_unique(name_values(*expect.review_roles));
    if (expected != got.review_roles) differ("review_roles", bracketed(expected), bracketed(got.review_roles));
  }
  if (expect.originator_control && *expect.originator_control != got.originator_control) {
    differ("originator_control", yes_no(*expect.originator_control), yes_no(got.originator_control));
  }
  if (expect.no_onward_sharing && *expect.no_onward_sharing != got.no_onward_sharing) {
    differ("no_onward_sharing", yes_no(*expect.no_onward_sharing), yes_no(got.no_onward_sharing));
  }
  if (expect.occasional && *expect.occasional != got.used_occasional) {
    differ("occasional", yes_no(*expect.occasional), yes_no(got.used_occasional));
  }
  if (expect.reason_contains && got.reason.find(*expect.reason_contains) == std::string::npos) {
    differences.push_back(fmt::format("reason: expected to contain \"{}\", got \"{}\"", *expect.reason_contains,
                                      got.reason));
  }
}

}  // namespace

std::optional<Label> parse_test_label(std::string_view text, std::string& error) {
  auto label = parse_label_text(text);
  if (!label) {
    error = fmt::format("invalid label '{}': expected CLASSIFICATION or CLASSIFICATION/CATEGORY/..., with no "
                        "empty part",
                        text);
  }
  return label;
}

namespace {

// `text` parsed as YAML, the parser's problems added to `diagnostics` under
// the test file codes. The parser speaks in policy codes; its four (P001 YAML
// syntax, P003 a key that is not a string, P006 duplicate key, P008 nesting or
// alias expansion beyond the limits) have the same numbers here.
std::optional<SyntaxNode> parse_test_yaml(std::string_view text, const std::filesystem::path& file,
                                          Diagnostics& diagnostics) {
  ParseResult parsed = parse_policy_file(text, file.string());
  for (const Diagnostic& diagnostic : parsed.diagnostics.all()) {
    Diagnostic renumbered = diagnostic;
    renumbered.code = with_letter(diagnostic.code, 'T');
    diagnostics.add(std::move(renumbered));
  }
  return std::move(parsed.root);
}

}  // namespace

PolicyTestRequestFile load_policy_test_request_text(std::string_view text, const std::filesystem::path& file) {
  PolicyTestRequestFile result;
  result.file = file;
  const std::optional<SyntaxNode> root = parse_test_yaml(text, file, result.diagnostics);
  if (!root) return result;
  PolicyTestFile scratch;  // the reader's home; only its diagnostics are kept
  scratch.file = file;
  TestFileReader reader(scratch);
  const bool ok = reader.read_request_only(*root, result.request);
  result.diagnostics.append(scratch.diagnostics);
  result.ok = ok && !result.diagnostics.has_errors();
  return result;
}

PolicyTestRequestFile load_policy_test_request(const std::filesystem::path& file) {
  std::string error;
  auto text = read_text_file(file, error);
  if (!text) {
    PolicyTestRequestFile result;
    result.file = file;
    result.diagnostics.error(Code::T007, SourceLocation{file.string(), 0, 0},
                             fmt::format("cannot read request file: {}", error));
    return result;
  }
  return load_policy_test_request_text(*text, file);
}

PolicyTestFile load_policy_tests_text(std::string_view text, const std::filesystem::path& file,
                                      bool require_policy) {
  PolicyTestFile result;
  result.file = file;
  const std::optional<SyntaxNode> root = parse_test_yaml(text, file, result.diagnostics);
  if (!root) return result;
  TestFileReader(result).read(*root, require_policy);
  return result;
}

PolicyTestFile load_policy_tests(const std::filesystem::path& file, bool require_policy) {
  std::string error;
  auto text = read_text_file(file, error);
  if (!text) {
    PolicyTestFile result;
    result.file = file;
    result.diagnostics.error(Code::T007, SourceLocation{file.string(), 0, 0},
                             fmt::format("cannot read policy test file: {}", error));
    return result;
  }
  return load_policy_tests_text(*text, file, require_policy);
}

std::size_t PolicyTestRun::passed() const {
  return static_cast<std::size_t>(
      std::count_if(results.begin(), results.end(), [](const PolicyTestResult& result) { return result.passed; }));
}

std::size_t PolicyTestRun::failed() const { return results.size() - passed(); }

std::vector<int> PolicyTestRun::covered_rules() const {
  std::vector<int> result;
  for (std::size_t r = 0; r < rule_cases.size(); ++r) {
    if (rule_cases[r] > 0) result.push_back(static_cast<int>(r));
  }
  return result;
}

std::vector<int> PolicyTestRun::uncovered_rules() const {
  std::vector<int> result;
  for (std::size_t r = 0; r < rule_cases.size(); ++r) {
    if (rule_cases[r] == 0) result.push_back(static_cast<int>(r));
  }
  return result;
}

PolicyDecision decide(const CompiledPolicy& policy, const PolicyTestRequest& request) {
  std::vector<Label> labels;
  for (const PolicyTestPortion& portion : request.portions) labels.push_back(portion.label);
  DecisionRequest decision;
  decision.sender = request.from.value;
  decision.recipient = request.to.value;
  decision.category = request.category.value;
  decision.purpose = request.purpose.value;
  decision.portion_labels = labels;
  decision.occasional_available = request.occasional_available;
  return policy.decide(decision);
}

double PolicyTestRun::coverage() const {
  if (rule_cases.empty()) return 1.0;
  return static_cast<double>(covered_rules().size()) / static_cast<double>(rule_cases.size());
}

PolicyTestRun run_policy_tests(const CompiledPolicy& policy, std::span<const PolicyTestCase> cases) {
  PolicyTestRun run;
  run.rule_cases.assign(policy.source().rules.size(), 0);
  const PolicyNames names(policy.source());
  for (const PolicyTestCase& test : cases) {
    PolicyTestResult result;
    result.name = test.name;
    result.location = test.location;
    result.table = test.table;
    result.row = test.row;
    check_names(policy, names, test, run.diagnostics, result.differences);

    result.decision = decide(policy, test.request);
    result.rules = result.decision.rules;
    for (int rule : result.rules) ++run.rule_cases[static_cast<std::size_t>(rule)];

    compare(test.expect, test.request, result.decision, policy, result.differences);
    result.passed = result.differences.empty();
    run.results.push_back(std::move(result));
  }
  return run;
}

}  // namespace icegate::policy
