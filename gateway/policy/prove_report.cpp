// The reports of `icegate policy prove` (prove.hpp), separate from the prover:
// text for people and one JSON object for programs, saying the same things.
#include <cstdint>

#include <fmt/format.h>
#include <fmt/ostream.h>

#include "gateway/model/json_value.hpp"
#include "gateway/policy/check.hpp"
#include "gateway/policy/prove.hpp"

namespace icegate::policy {
namespace {

std::string_view heading(PropertyStatus status) {
  switch (status) {
    case PropertyStatus::holds: return "HOLDS";
    case PropertyStatus::fails: return "FAILS";
    case PropertyStatus::not_proved: return "NOT PROVED";
  }
  return "";
}

std::string purpose_text(const std::string& purpose) { return purpose.empty() ? "(no purpose)" : purpose; }

// "DENY (no-ct-material-outside-policing): denied by ...", "RELEASE (x)",
// "DENY (default deny): no rule permits ..."
std::string side_text(const CounterexampleSide& side) {
  std::string text(to_string(side.decision));
  text += fmt::format(" ({})", side.rule.empty() ? "default deny" : side.rule);
  if (!side.detail.empty()) text += ": " + side.detail;
  return text;
}

std::string json_side(const CounterexampleSide& side) {
  return json::Object()
      .add("policy", side.policy_file)
      .add("decision", to_string(side.decision))
      .add("rule", side.rule)
      .add("detail", side.detail)
      .add("occasional_available", side.occasional_available)
      .add("explain", side.explain_command)
      .add("explain_arguments", side.explain_arguments)
      .add("explain_agrees", side.explain_agrees)
      .str();
}

std::int64_t count(std::size_t value) { return static_cast<std::int64_t>(value); }

}  // namespace

void write_proof_text(std::ostream& out, const ProofRun& run) {
  fmt::print(out, "policy prove: {}, properties {}\n", run.policy_file, run.properties_file);
  const std::size_t pairs = run.nodes * (run.nodes > 0 ? run.nodes - 1 : 0);
  fmt::print(out,
             "space: {} nodes ({} ordered pairs) x {} information categories x {} purposes and no purpose x {} "
             "labels{}, {}\n",
             run.nodes, pairs, run.categories, run.purposes, run.labels,
             run.labels_truncated
                 ? " (label space TRUNCATED: not every valid label was searched)"
                 : fmt::format(" (every valid label: {} valid, {} that decide differently)", run.valid_labels,
                               run.labels),
             run.occasional ? "with and without an occasional release" : "no occasional releases (the policy allows none)");
  fmt::print(out, "folded into {} sender and {} recipient classes; {} decide() calls in {:.3f} s\n",
             run.sender_classes, run.recipient_classes, run.decide_calls, run.seconds);
  for (const PropertyResult& result : run.results) {
    fmt::print(out, "\n{:<10}  {} ({}, {})\n", heading(result.status), result.name, to_string(result.kind),
               to_string(result.location));
    fmt::print(out, "            {}\n", result.message);
    for (const DeadRule& dead : result.dead_rules) {
      fmt::print(out, "            dead: {} ({}): {}\n", dead.id, to_string(dead.location),
                 dead.decided_points == 0
                     ? std::string("decides no point (overridden, out of bounds, or never applies)")
                     : fmt::format("decides {} points, all withheld by clearance or categories", dead.decided_points));
    }
    if (!result.counterexample) continue;
    const Counterexample& example = *result.counterexample;
    fmt::print(out, "            counterexample: {} -> {}, {} for {}, label {}\n", example.sender, example.recipient,
               example.category, purpose_text(example.purpose), label_text(example.label));
    if (example.other) {
      fmt::print(out, "              under this policy: {}\n", side_text(example.decided));
      fmt::print(out, "                {}\n", example.decided.explain_command);
      fmt::print(out, "              under {}: {}\n", example.other->policy_file, side_text(*example.other));
      fmt::print(out, "                {}\n", example.other->explain_command);
    } else {
      fmt::print(out, "              {}\n", side_text(example.decided));
      fmt::print(out, "              {}\n", example.decided.explain_command);
    }
  }
  for (const Diagnostic& diagnostic : run.diagnostics.sorted()) fmt::print(out, "\n{}", to_string(diagnostic));
  if (!run.diagnostics.empty()) fmt::print(out, "\n");
  fmt::print(out, "\n{} {}: {} {}, {} {}, {} not proved\n", run.results.size(),
             run.results.size() == 1 ? "property" : "properties", run.count(PropertyStatus::holds),
             run.count(PropertyStatus::holds) == 1 ? "holds" : "hold", run.count(PropertyStatus::fails),
             run.count(PropertyStatus::fails) == 1 ? "fails" : "fail", run.count(PropertyStatus::not_proved));
}

void write_proof_json(std::ostream& out, const ProofRun& run) {
  boost::json::array results;
  for (const PropertyResult& result : run.results) {
    json::Object object;
    object.add("name", result.name)
        .add("kind", to_string(result.kind))
        .add("status", to_string(result.status))
        .add("location", boost::json::value(json_value(result.location)))
        .add("message", result.message)
        .add("points", count(result.points))
        .add("failing_points", count(result.failing_points));
    if (result.kind == PropertyKind::no_dead_rules) {
      boost::json::array dead;
      for (const auto& rule : result.dead_rules) {
        dead.push_back(json::Object()
                           .add("id", rule.id)
                           .add("location", boost::json::value(json_value(rule.location)))
                           .add("decided_points", count(rule.decided_points))
                           .native());
      }
      object.add("dead_rules", boost::json::value(std::move(dead)));
    }
    if (result.counterexample) {
      const Counterexample& example = *result.counterexample;
      json::Object counterexample;
      counterexample.add("from", example.sender)
          .add("to", example.recipient)
          .add("category", example.category)
          .add("purpose", example.purpose)
          .add("label", label_text(example.label))
          .add_raw("decided", json_side(example.decided));
      if (example.other) counterexample.add_raw("other", json_side(*example.other));
      object.add("counterexample", counterexample);
    } else {
      object.add("counterexample", boost::json::value(nullptr));
    }
    results.push_back(object.native());
  }
  const std::string space = json::Object()
                                .add("nodes", count(run.nodes))
                                .add("categories", count(run.categories))
                                .add("purposes", count(run.purposes))
                                .add("labels", count(run.labels))
                                .add("valid_labels", count(run.valid_labels))
                                .add("labels_complete", !run.labels_truncated)
                                .add("occasional", run.occasional)
                                .add("sender_classes", count(run.sender_classes))
                                .add("recipient_classes", count(run.recipient_classes))
                                .add("decide_calls", count(run.decide_calls))
                                .add_raw("seconds", fmt::format("{:.6f}", run.seconds))
                                .str();
  const std::string counts = json::Object()
                                 .add("holds", count(run.count(PropertyStatus::holds)))
                                 .add("fails", count(run.count(PropertyStatus::fails)))
                                 .add("not_proved", count(run.count(PropertyStatus::not_proved)))
                                 .str();
  out << json::Object()
             .add("policy", run.policy_file)
             .add("properties", run.properties_file)
             .add("all_hold", run.all_hold())
             .add_raw("counts", counts)
             .add_raw("space", space)
             .add("diagnostics", boost::json::value(json_value(run.diagnostics)))
             .add("results", boost::json::value(std::move(results)))
             .str()
      << "\n";
}

}  // namespace icegate::policy
