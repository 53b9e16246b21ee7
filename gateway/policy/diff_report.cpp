// The reports of a policy diff: text for a reviewer (write_diff_text) and
// JSON for tools (write_diff_json), both rendered from a PolicyDiff.
#include <ostream>

#include <fmt/format.h>
#include <fmt/ostream.h>

#include "gateway/model/json_value.hpp"
#include "gateway/policy/diff.hpp"

namespace icegate::policy {

// ---- Reports ----------------------------------------------------------------

namespace {

std::string_view state_code(FlowState state) {
  switch (state) {
    case FlowState::withheld: return "withheld";
    case FlowState::occasional: return "occasional";
    case FlowState::released: return "released";
    case FlowState::held_occasional: return "held-occasional";
    case FlowState::held: return "held";
  }
  return "unknown";
}

std::string rule_list(const std::vector<std::string>& rules) {
  std::vector<std::string> shown;
  for (const std::string& rule : rules) shown.push_back(rule.empty() ? "(default deny)" : rule);
  return fmt::format("{}", fmt::join(shown, ", "));
}

std::string purpose_text(const ChangeGroup& group) {
  if (group.all_purposes) return "any purpose";
  std::vector<std::string> shown;
  for (const std::string& purpose : group.purposes) shown.push_back(purpose.empty() ? "(no purpose)" : purpose);
  return fmt::format("{}", fmt::join(shown, ", "));
}

std::string side_text(FlowState state, const std::string& rule, const std::string& handling,
                      const std::string& detail) {
  std::string text(release_level(state) == 0 ? "withheld" : to_string(state));
  if (!rule.empty()) text += handling.empty() ? fmt::format(" ({})", rule) : fmt::format(" ({}; {})", rule, handling);
  if (!detail.empty()) text += ": " + detail;
  return text;
}

constexpr ChangeKind kKinds[] = {ChangeKind::opened, ChangeKind::closed, ChangeKind::hold_added,
                                 ChangeKind::hold_removed, ChangeKind::handling_changed};

boost::json::array json_labels(const std::vector<Label>& labels) {
  boost::json::array texts;
  for (const Label& label : labels) texts.emplace_back(label_text(label));
  return texts;
}

}  // namespace

void write_diff_text(std::ostream& out, const PolicyDiff& diff, std::size_t limit) {
  fmt::print(out, "policy diff: {} -> {}\n", diff.old_file, diff.new_file);
  const std::size_t pairs = diff.nodes.size() * (diff.nodes.size() > 0 ? diff.nodes.size() - 1 : 0);
  fmt::print(out,
             "compared: {} nodes ({} ordered pairs) x {} information categories x {} purposes and no purpose x "
             "{} labels{}, with and without an occasional release\n",
             diff.nodes.size(), pairs, diff.categories.size(), diff.purposes.size() - 1, diff.labels.size(),
             diff.labels_truncated ? " (label space truncated)" : "");
  fmt::print(out, "folded into {} sender and {} recipient classes; {} decide() calls in {:.3f} s\n",
             diff.sender_classes, diff.recipient_classes, diff.decide_calls, diff.seconds);
  auto only = [&out](std::string_view what, const std::vector<std::string>& names) {
    if (!names.empty()) fmt::print(out, "{}: {}\n", what, fmt::join(names, ", "));
  };
  only("nodes only in OLD", diff.nodes_only_old);
  only("nodes only in NEW", diff.nodes_only_new);
  only("information categories only in OLD", diff.categories_only_old);
  only("information categories only in NEW", diff.categories_only_new);
  only("purposes only in OLD", diff.purposes_only_old);
  only("purposes only in NEW", diff.purposes_only_new);
  if (!diff.label_validity.empty()) {
    std::vector<std::string> old_only, new_only;
    for (const LabelValidityChange& change : diff.label_validity) {
      (change.valid_in_old ? old_only : new_only).push_back(label_text(change.label));
    }
    only("labels valid only in OLD", old_only);
    only("labels valid only in NEW", new_only);
  }
  only("peers only in OLD", diff.peers_only_old);
  only("peers only in NEW", diff.peers_only_new);
  for (const PeerChange& change : diff.peers_changed) {
    fmt::print(out, "peer {} changed: {}\n", change.peer, fmt::join(change.changes, "; "));
  }
  if (diff.equivalent()) {
    fmt::print(out, "\nequivalent: no decision differs\n");
    return;
  }
  for (ChangeKind kind : kKinds) {
    const std::size_t total = diff.count(kind);
    if (total == 0) continue;
    fmt::print(out, "\n{} ({} {})\n", heading(kind), total, total == 1 ? "group" : "groups");
    std::size_t shown = 0;
    for (const ChangeGroup& group : diff.groups) {
      if (group.kind != kind) continue;
      if (limit > 0 && shown == limit) {
        fmt::print(out, "  ... and {} more (--limit)\n", total - shown);
        break;
      }
      ++shown;
      const std::string range = group.lowest_classification == group.highest_classification
                                    ? group.lowest_classification
                                    : group.lowest_classification + " to " + group.highest_classification;
      fmt::print(out, "  {} -> {}: {}, {}\n", group.sender, group.recipient, group.category, purpose_text(group));
      fmt::print(out, "    {} -> {}; {} ({} {}); {} node {}\n", to_string(group.old_state), to_string(group.new_state),
                 range, group.labels.size(), group.labels.size() == 1 ? "label" : "labels", group.node_pairs,
                 group.node_pairs == 1 ? "pair" : "pairs");
      fmt::print(out, "    rules: {} -> {}\n", rule_list(group.old_rules), rule_list(group.new_rules));
      const ChangeExample& example = group.example;
      fmt::print(out, "    e.g. {} -> {}, {} for {}, label {}{}\n", example.sender, example.recipient, example.category,
                 example.purpose.empty() ? "(no purpose)" : example.purpose, label_text(example.label),
                 example.occasional_available ? ", occasional release available" : "");
      fmt::print(out, "      old: {}\n",
                 side_text(group.old_state, example.old_rule, example.old_handling, example.old_detail));
      fmt::print(out, "      new: {}\n",
                 side_text(group.new_state, example.new_rule, example.new_handling, example.new_detail));
    }
  }
  fmt::print(out, "\n{} flows opened, {} closed, {} holds added, {} removed, {} handling changes (groups)\n",
             diff.count(ChangeKind::opened), diff.count(ChangeKind::closed), diff.count(ChangeKind::hold_added),
             diff.count(ChangeKind::hold_removed), diff.count(ChangeKind::handling_changed));
}

void write_diff_json(std::ostream& out, const PolicyDiff& diff, std::size_t limit) {
  boost::json::object json{{"old", diff.old_file}, {"new", diff.new_file}, {"equivalent", diff.equivalent()}};
  json.emplace("compared", boost::json::object{{"nodes", diff.nodes.size()},
                                               {"categories", json::strings(diff.categories)},
                                               {"purposes", json::strings(diff.purposes)},
                                               {"labels", json_labels(diff.labels)},
                                               {"labels_truncated", diff.labels_truncated},
                                               {"sender_classes", diff.sender_classes},
                                               {"recipient_classes", diff.recipient_classes},
                                               {"decide_calls", diff.decide_calls},
                                               {"seconds", diff.seconds}});
  std::vector<Label> labels_old, labels_new;
  for (const LabelValidityChange& change : diff.label_validity) {
    (change.valid_in_old ? labels_old : labels_new).push_back(change.label);
  }
  json.emplace("only_old", boost::json::object{{"nodes", json::strings(diff.nodes_only_old)},
                                               {"categories", json::strings(diff.categories_only_old)},
                                               {"purposes", json::strings(diff.purposes_only_old)},
                                               {"valid_labels", json_labels(labels_old)},
                                               {"peers", json::strings(diff.peers_only_old)}});
  json.emplace("only_new", boost::json::object{{"nodes", json::strings(diff.nodes_only_new)},
                                               {"categories", json::strings(diff.categories_only_new)},
                                               {"purposes", json::strings(diff.purposes_only_new)},
                                               {"valid_labels", json_labels(labels_new)},
                                               {"peers", json::strings(diff.peers_only_new)}});
  boost::json::array peers_changed;
  for (const PeerChange& change : diff.peers_changed) {
    peers_changed.emplace_back(boost::json::object{{"peer", change.peer}, {"changes", json::strings(change.changes)}});
  }
  json.emplace("peers_changed", std::move(peers_changed));
  json.emplace("counts", boost::json::object{{"opened", diff.count(ChangeKind::opened)},
                                             {"closed", diff.count(ChangeKind::closed)},
                                             {"hold_added", diff.count(ChangeKind::hold_added)},
                                             {"hold_removed", diff.count(ChangeKind::hold_removed)},
                                             {"handling_changed", diff.count(ChangeKind::handling_changed)}});
  boost::json::array groups;
  std::map<ChangeKind, std::size_t> shown;
  for (const ChangeGroup& group : diff.groups) {
    if (limit > 0 && shown[group.kind]++ >= limit) continue;
    const ChangeExample& example = group.example;
    groups.emplace_back(boost::json::object{
        {"kind", to_string(group.kind)},
        {"old_state", state_code(group.old_state)},
        {"new_state", state_code(group.new_state)},
        {"sender", group.sender},
        {"recipient", group.recipient},
        {"category", group.category},
        {"purposes", json::strings(group.purposes)},
        {"all_purposes", group.all_purposes},
        {"lowest_classification", group.lowest_classification},
        {"highest_classification", group.highest_classification},
        {"labels", json_labels(group.labels)},
        {"node_pairs", group.node_pairs},
        {"points", group.points},
        {"old_rules", json::strings(group.old_rules)},
        {"new_rules", json::strings(group.new_rules)},
        {"example", boost::json::object{{"from", example.sender},
                                        {"to", example.recipient},
                                        {"category", example.category},
                                        {"purpose", example.purpose},
                                        {"label", label_text(example.label)},
                                        {"occasional_available", example.occasional_available},
                                        {"old_rule", example.old_rule},
                                        {"new_rule", example.new_rule},
                                        {"old_detail", example.old_detail},
                                        {"new_detail", example.new_detail},
                                        {"old_handling", example.old_handling},
                                        {"new_handling", example.new_handling}}}});
  }
  json.emplace("groups", std::move(groups));
  out << json::serialize(json) << "\n";
}

}  // namespace icegate::policy
