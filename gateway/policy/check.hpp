// `icegate policy check`: everything wrong with a policy, and everything
// legal but suspicious.
//
//   check_policy(file) --> errors (the loader's P0xx, every one) and, when the
//                          policy loads, warnings (W0xx) from analysing it
//
// The analysis is exact over the policy's finite decision space: every
// sender and recipient node (a node never sends to itself), information
// category, purpose and classification. Rules are compared as sets of the
// requests they apply to, so "shadowed" means "never decides a portion",
// whatever mix of earlier rules and denies covers it. Each warning code is
// documented in policies/README.md ("Warnings"); codes are stable.
//
// Like the other stages, nothing here throws for bad input, and the result
// is a value: diagnostics sorted by file, line and column.
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "gateway/model/json.hpp"
#include "gateway/policy/diagnostics.hpp"
#include "gateway/policy/engine.hpp"

namespace icegate::policy {

struct PolicyCheckResult {
  // Null when the policy does not load. A policy that loads may still have
  // errors here: a peer's CA file that cannot be read or is no certificate
  // (P054, P055), which the loader does not read.
  std::shared_ptr<const CompiledPolicy> policy;
  Diagnostics diagnostics;                       // errors and warnings; see sorted()

  std::size_t error_count() const { return diagnostics.error_count(); }
  std::size_t warning_count() const { return diagnostics.all().size() - diagnostics.error_count(); }
};

// Loads the policy (every P0xx error) and, if it loads, analyses it (W0xx
// warnings) and reads its peers' CA files (P054, P055).
PolicyCheckResult check_policy(const std::filesystem::path& file);
// Same, from text in memory; `file` names it and is the base for the scheme path.
PolicyCheckResult check_policy_text(std::string_view text, const std::filesystem::path& file);

// The warnings alone, for a policy that loaded. `policy_text` is the policy
// file's text, used only to point at the exact key or list entry a warning is
// about (without it, warnings point at the enclosing entry).
Diagnostics analyse_policy(const CompiledPolicy& policy, std::string_view policy_text = {});

// ---- JSON, shared by the policy tools' --json output ---------------------------------
// Built with Boost.JSON (gateway/model/json_value.hpp); written by json::serialize.

// A JSON string literal, quotes included.
std::string json_string(std::string_view text);
// {"file":..,"line":..,"column":..}
boost::json::object json_value(const SourceLocation& location);
// {"severity":"warning","code":"W002","title":"rule is shadowed","file":..,"line":..,"column":..,
//  "message":.., and when the diagnostic has them: "suggestion":.., "rule":.., "related":{location}}
boost::json::object json_value(const Diagnostic& diagnostic);
// The diagnostics, sorted, each as above.
boost::json::array json_value(const Diagnostics& diagnostics);
// The same as compact JSON text.
std::string to_json(const SourceLocation& location);
std::string to_json(const Diagnostic& diagnostic);

}  // namespace icegate::policy
