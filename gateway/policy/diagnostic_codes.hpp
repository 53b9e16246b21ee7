// Every diagnostic code, in one table: its code, its severity and a short
// title. The codes are a contract: each is documented (policies/README.md for
// P, W, F, T, S and V; scenarios/README.md for X), a code's meaning never
// changes, and a retired code is not reused. A test reads both READMEs and
// checks that they and this table agree.
//
// The letter says which file a problem is in: P a policy or scheme, W a
// warning from `policy check`'s analysis, F `policy fmt`, T a policy test
// file, S a SPIF being imported, V a properties file, X a scenario.
// The shape codes shared by the YAML formats keep their numbers across
// letters (P003, T003, V003 and X003 are each "wrong type").
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <span>
#include <string_view>

namespace icegate::policy {

enum class Severity { error, warning };

// X(code, severity, title)
#define ICEGATE_DIAGNOSTIC_CODES(X)                                                              \
  X(P001, error, "YAML syntax error")                                                            \
  X(P002, error, "unknown key")                                                                  \
  X(P003, error, "wrong type")                                                                   \
  X(P004, error, "missing required key")                                                         \
  X(P005, error, "bad value")                                                                    \
  X(P006, error, "duplicate key in one mapping")                                                 \
  X(P007, error, "file cannot be read")                                                          \
  X(P008, error, "document nested too deep or expands too far")                                  \
  X(P009, error, "file is not UTF-8 text")                                                       \
  X(P010, error, "duplicate id or name")                                                         \
  X(P011, error, "undefined reference")                                                          \
  X(P012, error, "invalid ordering")                                                             \
  X(P013, error, "deny rule has handling")                                                       \
  X(P014, error, "review_by role that no node holds")                                            \
  X(P020, error, "scheme defines no classifications")                                            \
  X(P021, error, "duplicate classification name")                                                \
  X(P022, error, "duplicate tag set name")                                                       \
  X(P023, error, "duplicate category name")                                                      \
  X(P024, error, "excluded_at names an undefined classification")                                \
  X(P025, error, "requires or excludes names an undefined category")                             \
  X(P026, error, "colour is not #rrggbb")                                                        \
  X(P027, error, "category requires or excludes itself")                                         \
  X(P028, error, "name contains '/'")                                                            \
  X(P040, error, "equivalence names the scheme itself or a scheme twice")                        \
  X(P041, error, "equivalence mapping names no classification or category of this scheme")       \
  X(P042, error, "mapped twice in one equivalence")                                              \
  X(P043, error, "mapping needs exactly one of to, one_of and none")                             \
  X(P044, warning, "no mapping in an equivalence")                                               \
  X(P045, error, "mapping names what the other scheme does not define")                          \
  X(P046, error, "accept_schemes entry cannot be accepted")                                      \
  X(P050, error, "peer id is also a node id")                                                    \
  X(P051, error, "two peers speak for the same name")                                            \
  X(P052, error, "peer speaks for a name this policy defines")                                   \
  X(P053, error, "peer address is not host:port")                                                \
  X(P054, error, "peer CA file cannot be read")                                                  \
  X(P055, error, "peer CA file is not a PEM certificate")                                        \
  X(P056, error, "peers in a matcher other than a rule's from, or beside other keys")            \
  X(W001, warning, "rule never applies")                                                         \
  X(W002, warning, "rule is shadowed")                                                           \
  X(W003, warning, "role no node holds")                                                         \
  X(W004, warning, "distribution list with no members")                                          \
  X(W005, warning, "information category can never be released")                                \
  X(W006, warning, "vetting level no node holds")                                                \
  X(W007, warning, "permit rule can never release anything")                                     \
  X(W008, warning, "category can never appear on a valid label")                                 \
  X(W009, warning, "categories require each other")                                              \
  X(W010, warning, "node holds a category no label it is cleared for can carry")                 \
  X(W011, warning, "event no node may trigger")                                                  \
  X(W012, warning, "peer can receive nothing")                                                   \
  X(F001, error, "file left alone: formatting would not keep it")                                \
  X(T001, error, "YAML syntax error")                                                            \
  X(T002, error, "unknown key")                                                                  \
  X(T003, error, "wrong type")                                                                   \
  X(T004, error, "missing required key")                                                         \
  X(T005, error, "bad value")                                                                    \
  X(T006, error, "duplicate key in one mapping")                                                 \
  X(T007, error, "test file cannot be read")                                                     \
  X(T008, error, "document nested too deep or expands too far")                                  \
  X(T009, error, "file is not UTF-8 text")                                                       \
  X(T010, error, "duplicate test name or portion id")                                            \
  X(T011, error, "name the policy does not define")                                              \
  X(T012, error, "label invalid under the policy's scheme")                                      \
  X(T013, error, "names a portion the request does not have")                                    \
  X(T014, error, "occasional release under a policy that allows none")                           \
  X(S001, error, "XML not well-formed or nested too deep")                                       \
  X(S002, error, "root element is not a SPIF")                                                   \
  X(S003, error, "required attribute or element missing")                                        \
  X(S004, error, "bad value")                                                                    \
  X(S005, error, "SPIF defines no classifications")                                              \
  X(S006, error, "duplicate name")                                                               \
  X(S007, error, "duplicate lacv")                                                               \
  X(S008, error, "two classifications at the same hierarchy")                                    \
  X(S009, error, "undefined reference")                                                          \
  X(S010, error, "file cannot be read or is too large")                                          \
  X(S011, error, "name contains '/'")                                                            \
  X(S020, error, "converted scheme is not valid")                                                \
  X(S030, error, "equivalence names no equivalent policy, or this policy")                       \
  X(S031, error, "equivalent lacv names nothing in the equivalent SPIF")                         \
  X(S101, warning, "SPIF rule the scheme format cannot express, left out")                       \
  X(S102, warning, "colour not understood, left out")                                            \
  X(S103, warning, "policy-wide qualifier left out")                                             \
  X(S104, warning, "obsolete classification or category imported")                              \
  X(S110, warning, "equivalences to a SPIF not given, left out")                                 \
  X(S111, warning, "equivalent applied=\"decrypt\" left out")                                   \
  X(V001, error, "YAML syntax error")                                                            \
  X(V002, error, "unknown key")                                                                  \
  X(V003, error, "wrong type")                                                                   \
  X(V004, error, "missing required key")                                                         \
  X(V005, error, "bad value")                                                                    \
  X(V006, error, "duplicate key in one mapping")                                                 \
  X(V007, error, "file cannot be read")                                                          \
  X(V008, error, "document nested too deep or expands too far")                                  \
  X(V009, error, "file is not UTF-8 text")                                                       \
  X(V010, error, "duplicate property name")                                                      \
  X(V011, error, "name the policy does not define")                                              \
  X(V012, error, "min_classification above max_classification")                                 \
  X(V013, error, "property states no kind, or more than one")                                    \
  X(V014, error, "slice selects no point of the decision space")                                 \
  X(V015, error, "internal error: explain and the prover disagree")                              \
  X(V016, error, "implied policy is invalid")                                                    \
  X(X001, error, "YAML or CSV syntax error")                                                     \
  X(X002, error, "unknown key or column")                                                        \
  X(X003, error, "wrong type")                                                                   \
  X(X004, error, "missing required key, column or cell")                                         \
  X(X005, error, "bad value")                                                                    \
  X(X007, error, "scenario or CSV cannot be read")                                               \
  X(X010, error, "id or name used twice")                                                        \
  X(X011, error, "name that is not defined")                                                     \
  X(X012, error, "after the end, or end not after start")                                        \
  X(X013, error, "node under two gateways, or two gateways on one address")                      \
  X(X020, error, "addressee resolves to nobody")                                                 \
  X(X021, error, "node does not take part")                                                      \
  X(X022, error, "node may not trigger the event")                                               \
  X(X023, error, "label invalid under the policy's scheme")                                      \
  X(X024, error, "scenario gateways whose policies do not peer")

// Named by the code itself: the code is what the READMEs, the rendered
// diagnostics and the analysts use, so a test asserting Code::P011 reads
// against the documentation directly.
enum class Code : std::uint8_t {
#define ICEGATE_DIAGNOSTIC_ENUM(code, severity, title) code,
  ICEGATE_DIAGNOSTIC_CODES(ICEGATE_DIAGNOSTIC_ENUM)
#undef ICEGATE_DIAGNOSTIC_ENUM
};

struct CodeInfo {
  Code code;
  std::string_view name;  // "P011"
  Severity severity;
  std::string_view title;  // "undefined reference"
};

// The whole table, in the order above.
std::span<const CodeInfo> all_codes();
const CodeInfo& info(Code code);
// "P011"
std::string_view to_string(Code code);
std::ostream& operator<<(std::ostream& out, Code code);  // "P011", so test failures read
std::string_view to_string(Severity severity);
Severity severity_of(Code code);
// Code::P011 for "P011"; nothing for a code the table does not have.
std::optional<Code> code_from_string(std::string_view name);
// The code with the same number under another letter: P003 -> T003 for a
// test file, V003 for a properties file. The shape codes are shared this way.
// Throws std::logic_error if the table has no such code (a programming error).
Code with_letter(Code code, char letter);

}  // namespace icegate::policy
