// Internal: shape checks on a syntax tree, shared by the policy validator and
// the policy test file loader.
//
// A Checker reads strings, lists, booleans and mappings out of a SyntaxNode
// and reports what is wrong with them, located, into a Diagnostics. The codes
// it uses are the "shape" codes both file formats share, under the format's
// own letter: P002/T002 unknown key, P003/T003 wrong type, P004/T004 missing
// key, P005/T005 bad value, P010/T010 duplicate name, P011/T011 undefined name.
#pragma once

#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/policy/diagnostics.hpp"
#include "gateway/policy/syntax.hpp"

namespace icegate::policy {

using Keys = std::span<const std::string_view>;

struct LocatedString {
  std::string value;
  SourceLocation location;
};

// Edit distance (optimal string alignment, case-insensitive) used for
// "did you mean" suggestions.
int edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `word` within edit distance 2, if any ("did you mean").
template <typename Range>
std::optional<std::string> closest(std::string_view word, const Range& candidates) {
  std::optional<std::string> best;
  int best_distance = 3;
  for (const auto& candidate : candidates) {
    std::string_view c(candidate);
    if (c == word) continue;
    int distance = edit_distance(word, c);
    if (distance < best_distance) {
      best_distance = distance;
      best = std::string(c);
    }
  }
  return best;
}

// "; did you mean 'x'?" or nothing.
std::string suggestion_suffix(const std::optional<std::string>& suggestion);

// One namespace of defined names (node ids, role ids, classification names...).
class Names {
 public:
  explicit Names(std::string kind) : kind_(std::move(kind)) {}

  // Defines `name`; a second definition is reported (`code`) and ignored.
  bool define(const LocatedString& name, Diagnostics& diagnostics, Code code = Code::P010,
              std::string_view noun = "id");
  bool contains(std::string_view name) const { return where_.find(name) != where_.end(); }
  const std::vector<std::string>& in_order() const { return order_; }
  const std::string& kind() const { return kind_; }

 private:
  std::string kind_;
  std::map<std::string, SourceLocation, std::less<>> where_;
  std::vector<std::string> order_;
};

class Checker {
 public:
  // `letter` is the letter of every code the checker reports itself: 'P' for
  // policy and scheme files, 'T' for policy test files, 'V' for properties files.
  explicit Checker(Diagnostics& diagnostics, char letter = 'P') : diagnostics_(diagnostics), letter_(letter) {}

  Diagnostics& diagnostics() { return diagnostics_; }
  // The checker's own twin of a policy shape code: code(Code::P005) is P005 in
  // a policy checker, T005 in a test file checker.
  Code code(Code policy_code) const { return with_letter(policy_code, letter_); }

  void wrong_type(const SyntaxNode& node, std::string_view what, std::string_view expected);
  bool expect_mapping(const SyntaxNode& node, std::string_view what);
  // Reports every key of `mapping` that is not in `allowed`.
  void check_keys(const SyntaxNode& mapping, std::string_view what, Keys allowed);
  const SyntaxNode* require(const SyntaxNode& mapping, std::string_view key, std::string_view what);

  // A non-empty string. `what` names the value: "'organisation' of node 'x'".
  std::optional<LocatedString> read_string(const SyntaxNode& node, std::string_view what);
  std::optional<LocatedString> read_optional_string(const SyntaxNode& mapping, std::string_view key,
                                                    std::string_view what);
  std::optional<LocatedString> read_required_string(const SyntaxNode& mapping, std::string_view key,
                                                    std::string_view owner);
  // A list of non-empty strings; items of the wrong type are reported and left out.
  std::vector<LocatedString> read_string_list(const SyntaxNode& node, std::string_view what);
  std::optional<bool> read_bool(const SyntaxNode& node, std::string_view what);
  // The mapping entries of a list section such as `nodes:`; non-mappings are reported.
  std::vector<const SyntaxNode*> read_entries(const SyntaxNode& node, std::string_view section);

  // Reports `name` (code 011 under the checker's letter unless `code` is
  // given) unless `names` defines it, suggesting the nearest defined name.
  bool reference(const Names& names, const LocatedString& name, std::optional<Code> code = std::nullopt);

 private:
  Diagnostics& diagnostics_;
  char letter_;
};

// The values of `located`, duplicates dropped, in first-seen order.
std::vector<std::string> values(const std::vector<LocatedString>& located);

// "rule 'x'" or just "rule" when the id could not be read.
std::string describe_entry(std::string_view kind, const std::optional<LocatedString>& id);

}  // namespace icegate::policy
