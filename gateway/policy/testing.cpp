#include "gateway/policy/testing.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <map>

#include <fmt/format.h>

#include "gateway/policy/checker.hpp"
#include "gateway/policy/parser.hpp"

namespace icegate::policy {
namespace {

constexpr std::string_view kFileKeys[] = {"policy", "description", "tests"};
constexpr std::string_view kCaseKeys[] = {"name", "description", "request", "expect"};
constexpr std::string_view kRequestKeys[] = {"from",     "to",       "category",
                                             "purpose", "portions", "occasional_available"};
constexpr std::string_view kPortionKeys[] = {"id", "label"};
constexpr std::string_view kLabelKeys[] = {"classification", "categories"};
constexpr std::string_view kExpectKeys[] = {"decision",           "withheld",          "released",
                                            "rules",              "review_roles",      "originator_control",
                                            "no_onward_sharing", "occasional",        "reason_contains"};

constexpr std::array<Decision, 4> kDecisions = {Decision::release, Decision::release_redacted, Decision::hold,
                                                Decision::deny};

std::string trim(std::string_view text) {
  std::size_t first = 0;
  std::size_t last = text.size();
  while (first < last && std::isspace(static_cast<unsigned char>(text[first]))) ++first;
  while (last > first && std::isspace(static_cast<unsigned char>(text[last - 1]))) --last;
  return std::string(text.substr(first, last - first));
}

// "[1, 2]"
std::string bracketed(const std::vector<std::string>& items) {
  return fmt::format("[{}]", fmt::join(items, ", "));
}

std::string_view yes_no(bool value) { return value ? "true" : "false"; }

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
      check_.diagnostics().error(check_.code("005"), tests->location, "'tests' has no cases");
    }
    for (const SyntaxNode* entry : check_.read_entries(*tests, "tests")) read_case(*entry);
    // Entries that are not a case at all (T003) and cases with a problem are
    // left out; the others still run.
    if (tests->is_sequence()) out_.cases_not_run = tests->items.size() - out_.cases.size();
  }

  // A request mapping on its own (`icegate policy explain --request FILE`).
  bool read_request_only(const SyntaxNode& root, PolicyTestRequest& request) {
    portion_ids_.clear();
    return read_request(root, request);
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
      ok = names_.define(*name, check_.diagnostics(), check_.code("010"), "name") && ok;
    }
    const std::string owner = describe_entry("test", name);
    if (auto description = check_.read_optional_string(entry, "description", "'description'")) {
      test.description = description->value;
    }
    portion_ids_.clear();
    const SyntaxNode* request = check_.require(entry, "request", owner);
    ok = request && read_request(*request, test.request) && ok;
    const SyntaxNode* expect = check_.require(entry, "expect", owner);
    ok = expect && read_expectation(*expect, test.expect) && ok;
    if (ok) out_.cases.push_back(std::move(test));
  }

  bool read_name(const SyntaxNode& mapping, std::string_view key, PolicyTestName& out) {
    auto value = check_.read_required_string(mapping, key, "'request'");
    if (!value) return false;
    out = PolicyTestName{value->value, value->location};
    return true;
  }

  bool read_request(const SyntaxNode& node, PolicyTestRequest& request) {
    if (!check_.expect_mapping(node, "'request'")) return false;
    check_.check_keys(node, "'request'", kRequestKeys);
    bool ok = read_name(node, "from", request.from);
    ok = read_name(node, "to", request.to) && ok;
    ok = read_name(node, "category", request.category) && ok;
    // No purpose is a request a node may make: only rules naming no purpose
    // apply to it. An empty purpose is still a mistake (T005).
    if (node.find("purpose")) ok = read_name(node, "purpose", request.purpose) && ok;
    if (const SyntaxNode* flag = node.find("occasional_available")) {
      auto value = check_.read_bool(*flag, "'occasional_available'");
      ok = value.has_value() && ok;
      request.occasional_available = value.value_or(false);
      request.occasional_location = flag->location;
    }
    const SyntaxNode* portions = check_.require(node, "portions", "'request'");
    if (!portions) return false;
    if (!portions->is_sequence()) {
      check_.wrong_type(*portions, "'portions'", "a list of labels or {id, label} mappings");
      return false;
    }
    Names ids("portion");
    portion_ids_.clear();
    for (std::size_t i = 0; i < portions->items.size(); ++i) {
      PolicyTestPortion portion;
      const bool read = read_portion(portions->items[i], i, portion);
      // A portion with a bad label still has its id, for the checks below.
      portion_ids_.push_back(portion.id);
      const bool unique = ids.define({portion.id, portion.location}, check_.diagnostics(), check_.code("010"));
      ok = read && unique && ok;
      if (read) request.portions.push_back(std::move(portion));
    }
    return ok;
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
      check_.diagnostics().error(check_.code("005"), text->location, error);
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

  // Portion ids an expectation names must be ids of the request's portions.
  std::optional<std::vector<std::string>> read_portion_ids(const SyntaxNode& node, std::string_view key, bool& ok) {
    auto items = check_.read_string_list(node, fmt::format("'{}'", key));
    if (!node.is_sequence()) {
      ok = false;
      return std::nullopt;
    }
    std::vector<std::string> known;
    for (const std::string& id : portion_ids_) {
      if (std::find(known.begin(), known.end(), id) == known.end()) known.push_back(id);
    }
    for (const LocatedString& item : items) {
      if (std::find(known.begin(), known.end(), item.value) != known.end()) continue;
      check_.diagnostics().error(check_.code("013"), item.location,
                                 fmt::format("'{}' names portion '{}', which the request does not have (its "
                                             "portions are {}){}",
                                             key, item.value, bracketed(known),
                                             suggestion_suffix(closest(item.value, known))));
      ok = false;
    }
    return values(items);
  }

  std::optional<bool> read_flag(const SyntaxNode& node, std::string_view key, bool& ok) {
    const SyntaxNode* value = node.find(key);
    if (!value) return std::nullopt;
    auto flag = check_.read_bool(*value, fmt::format("'{}'", key));
    ok = flag.has_value() && ok;
    return flag;
  }

  bool read_expectation(const SyntaxNode& node, PolicyTestExpectation& expect) {
    if (!check_.expect_mapping(node, "'expect'")) return false;
    check_.check_keys(node, "'expect'", kExpectKeys);
    bool ok = true;
    if (auto decision = check_.read_required_string(node, "decision", "'expect'")) {
      auto known = std::find_if(kDecisions.begin(), kDecisions.end(),
                                [&](Decision d) { return to_string(d) == decision->value; });
      if (known != kDecisions.end()) {
        expect.decision = *known;
      } else {
        std::vector<std::string> names;
        for (Decision d : kDecisions) names.emplace_back(to_string(d));
        check_.diagnostics().error(
            check_.code("005"), decision->location,
            fmt::format("invalid decision '{}': expected RELEASE, RELEASE_REDACTED, HOLD or DENY{}",
                        decision->value, suggestion_suffix(closest(decision->value, names))));
        ok = false;
      }
    } else {
      ok = false;
    }
    if (const SyntaxNode* v = node.find("withheld")) expect.withheld = read_portion_ids(*v, "withheld", ok);
    if (const SyntaxNode* v = node.find("released")) expect.released = read_portion_ids(*v, "released", ok);
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

  PolicyTestFile& out_;
  Checker check_;
  Names names_{"test"};
  std::vector<std::string> portion_ids_;  // of the case being read, as written or by position
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
    found.error("T014", request.occasional_location, std::move(message));
  }
  for (const PolicyTestPortion& portion : request.portions) {
    std::vector<std::string> problems = policy.label_problems(portion.label);
    if (problems.empty()) continue;
    std::string message = fmt::format("invalid label '{}': {}", to_string(portion.label), fmt::join(problems, "; "));
    differences.push_back(fmt::format("portion {}: {}", portion.id, message));
    found.error("T012", portion.location, std::move(message));
  }
  if (test.expect.rules) {
    for (const PolicyTestName& rule : *test.expect.rules) reference(names.rules, rule, "rules");
  }
  if (test.expect.review_roles) {
    for (const PolicyTestName& role : *test.expect.review_roles) reference(names.roles, role, "review_roles");
  }
  diagnostics.append(found);
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
  std::vector<std::string> parts;
  std::string_view rest = text;
  while (true) {
    std::size_t slash = rest.find('/');
    parts.push_back(trim(rest.substr(0, slash)));
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  if (std::any_of(parts.begin(), parts.end(), [](const std::string& part) { return part.empty(); })) {
    error = fmt::format("invalid label '{}': expected CLASSIFICATION or CLASSIFICATION/CATEGORY/..., with no "
                        "empty part",
                        text);
    return std::nullopt;
  }
  Label label;
  label.classification = parts.front();
  label.categories.assign(parts.begin() + 1, parts.end());
  normalise(label);
  return label;
}

PolicyTestRequestFile load_policy_test_request_text(std::string_view text, const std::filesystem::path& file) {
  PolicyTestRequestFile result;
  result.file = file;
  ParseResult parsed = parse_policy_file(text, file.string());
  for (const Diagnostic& diagnostic : parsed.diagnostics.all()) {
    std::string code = diagnostic.code;
    if (!code.empty() && code.front() == 'P') code.front() = 'T';
    result.diagnostics.error(std::move(code), diagnostic.location, diagnostic.message);
  }
  if (!parsed.root) return result;
  PolicyTestFile scratch;  // the reader's home; only its diagnostics are kept
  scratch.file = file;
  TestFileReader reader(scratch);
  const bool ok = reader.read_request_only(*parsed.root, result.request);
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
    result.diagnostics.error("T007", SourceLocation{file.string(), 0, 0},
                             fmt::format("cannot read request file: {}", error));
    return result;
  }
  return load_policy_test_request_text(*text, file);
}

PolicyTestFile load_policy_tests_text(std::string_view text, const std::filesystem::path& file,
                                      bool require_policy) {
  PolicyTestFile result;
  result.file = file;
  ParseResult parsed = parse_policy_file(text, file.string());
  // The parser speaks in policy codes; its four (P001 YAML syntax, P003 a
  // key that is not a string, P006 duplicate key, P008 nesting or alias
  // expansion beyond the limits) have the same numbers here.
  for (const Diagnostic& diagnostic : parsed.diagnostics.all()) {
    std::string code = diagnostic.code;
    if (!code.empty() && code.front() == 'P') code.front() = 'T';
    result.diagnostics.error(std::move(code), diagnostic.location, diagnostic.message);
  }
  if (!parsed.root) return result;
  TestFileReader(result).read(*parsed.root, require_policy);
  return result;
}

PolicyTestFile load_policy_tests(const std::filesystem::path& file, bool require_policy) {
  std::string error;
  auto text = read_text_file(file, error);
  if (!text) {
    PolicyTestFile result;
    result.file = file;
    result.diagnostics.error("T007", SourceLocation{file.string(), 0, 0},
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
    check_names(policy, names, test, run.diagnostics, result.differences);

    std::vector<Label> labels;
    for (const PolicyTestPortion& portion : test.request.portions) labels.push_back(portion.label);
    DecisionRequest request;
    request.sender = test.request.from.value;
    request.recipient = test.request.to.value;
    request.category = test.request.category.value;
    request.purpose = test.request.purpose.value;
    request.portion_labels = labels;
    request.occasional_available = test.request.occasional_available;
    result.decision = policy.decide(request);
    result.rules = result.decision.rules;
    for (int rule : result.rules) ++run.rule_cases[static_cast<std::size_t>(rule)];

    compare(test.expect, test.request, result.decision, policy, result.differences);
    result.passed = result.differences.empty();
    run.results.push_back(std::move(result));
  }
  return run;
}

}  // namespace icegate::policy
