// The reports of a policy diff: text for a reviewer (write_diff_text) and
// JSON for tools (write_diff_json), both rendered from a PolicyDiff.
#include <ostream>

#include <fmt/format.h>
#include <fmt/ostream.h>

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

std::string_view heading(ChangeKind kind) {
  switch (kind) {
    case ChangeKind::opened: return "FLOWS OPENED";
    case ChangeKind::closed: return "FLOWS CLOSED";
    case ChangeKind::hold_added: return "HOLDS ADDED";
    case ChangeKind::hold_removed: return "HOLDS REMOVED";
    case ChangeKind::handling_changed: return "HANDLING CHANGED";
  }
  return "";
}

std::string json_list(const std::vector<std::string>& values) {
  std::string text = "[";
  for (std::size_t i = 0; i < values.size(); ++i) text += (i ? "," : "") + json_quote(values[i]);
  return text + "]";
}

std::string json_labels(const std::vector<Label>& labels) {
  std::vector<std::string> texts;
  for (const Label& label : labels) texts.push_back(label_text(label));
  return json_list(texts);
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
  std::vector<std::string> purposes = diff.purposes;
  std::string json = "{";
  json += fmt::format("\"old\":{},\"new\":{},\"equivalent\":{},", json_quote(diff.old_file), json_quote(diff.new_file),
                      diff.equivalent());
  json += fmt::format(
      "\"compared\":{{\"nodes\":{},\"categories\":{},\"purposes\":{},\"labels\":{},\"labels_truncated\":{},"
      "\"sender_classes\":{},\"recipient_classes\":{},\"decide_calls\":{},\"seconds\":{:.6f}}},",
      diff.nodes.size(), json_list(diff.categories), json_list(purposes), json_labels(diff.labels),
      diff.labels_truncated, diff.sender_classes, diff.recipient_classes, diff.decide_calls, diff.seconds);
  std::vector<std::string> labels_old, labels_new;
  for (const LabelValidityChange& change : diff.label_validity) {
    (change.valid_in_old ? labels_old : labels_new).push_back(label_text(change.label));
  }
  json += fmt::format("\"only_old\":{{\"nodes\":{},\"categories\":{},\"purposes\":{},\"valid_labels\":{}}},",
                      json_list(diff.nodes_only_old), json_list(diff.categories_only_old),
                      json_list(diff.purposes_only_old), json_list(labels_old));
  json += fmt::format("\"only_new\":{{\"nodes\":{},\"categories\":{},\"purposes\":{},\"valid_labels\":{}}},",
                      json_list(diff.nodes_only_new), json_list(diff.categories_only_new),
                      json_list(diff.purposes_only_new), json_list(labels_new));
  json += fmt::format(
      "\"counts\":{{\"opened\":{},\"closed\":{},\"hold_added\":{},\"hold_removed\":{},"
      "\"handling_changed\":{}}},",
      diff.count(ChangeKind::opened), diff.count(ChangeKind::closed), diff.count(ChangeKind::hold_added),
      diff.count(ChangeKind::hold_removed), diff.count(ChangeKind::handling_changed));
  json += "\"groups\":[";
  std::map<ChangeKind, std::size_t> shown;
  bool first = true;
  for (const ChangeGroup& group : diff.groups) {
    if (limit > 0 && shown[group.kind]++ >= limit) continue;
    const ChangeExample& example = group.example;
    json += first ? "" : ",";
    first = false;
    json += fmt::format(
        "{{\"kind\":\"{}\",\"old_state\":\"{}\",\"new_state\":\"{}\",\"sender\":{},\"recipient\":{},"
        "\"category\":{},\"purposes\":{},\"all_purposes\":{},\"lowest_classification\":{},"
        "\"highest_classification\":{},\"labels\":{},\"node_pairs\":{},\"points\":{},\"old_rules\":{},"
        "\"new_rules\":{},\"example\":{{\"from\":{},\"to\":{},\"category\":{},\"purpose\":{},\"label\":{},"
        "\"occasional_available\":{},\"old_rule\":{},\"new_rule\":{},\"old_detail\":{},\"new_detail\":{},"
        "\"old_handling\":{},\"new_handling\":{}}}}}",
        to_string(group.kind), state_code(group.old_state), state_code(group.new_state), json_quote(group.sender),
        json_quote(group.recipient), json_quote(group.category), json_list(group.purposes), group.all_purposes,
        json_quote(group.lowest_classification), json_quote(group.highest_classification), json_labels(group.labels),
        group.node_pairs, group.points, json_list(group.old_rules), json_list(group.new_rules),
        json_quote(example.sender), json_quote(example.recipient), json_quote(example.category),
        json_quote(example.purpose), json_quote(label_text(example.label)), example.occasional_available,
        json_quote(example.old_rule), json_quote(example.new_rule), json_quote(example.old_detail),
        json_quote(example.new_detail), json_quote(example.old_handling), json_quote(example.new_handling));
  }
  json += "]}\n";
  out << json;
}

}  // namespace icegate::policy
