// The small policy and test file the `icegate policy test` tests share
// (cli_policy_test, policy_test_runner_test, policy_test_report_test).
#pragma once

#include <string_view>

namespace icegate::testing {

// Two nodes, a rule each way; b is vetted for LOW only.
inline constexpr std::string_view kSmallPolicy = R"(policy: small
scheme:
  scheme: s
  classifications: [{name: LOW}, {name: HIGH}]
vetting: [{name: low, regular: LOW}, {name: high, regular: HIGH}]
organisations: [{id: o, kind: k}]
roles: [{id: r}]
nodes:
  - {id: a, organisation: o, role: r, vetting: high}
  - {id: b, organisation: o, role: r, vetting: low}
information_categories: [info]
purposes: [p]
rules:
  - {id: a-to-b, effect: permit, from: {nodes: [a]}, to: {nodes: [b]}}
  - {id: b-to-a, effect: permit, from: {nodes: [b]}, to: {nodes: [a]}}
)";

// Tests of kSmallPolicy, as small.yaml: one case passes, one fails (HIGH is
// above b's vetting).
inline constexpr std::string_view kSmallTests = R"(policy: small.yaml
tests:
  - name: a tells b
    request: {from: a, to: b, category: info, purpose: p, portions: [LOW]}
    expect: {decision: RELEASE, rules: [a-to-b]}
  - name: a tells b something too high
    request: {from: a, to: b, category: info, purpose: p, portions: [HIGH]}
    expect: {decision: RELEASE}
)";

}  // namespace icegate::testing
