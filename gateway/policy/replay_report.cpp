// The reporters of `icegate policy replay`: text for people, one JSON object
// for tools. Both show the same groups, in the same order, as policy diff's.
#include <map>

#include <fmt/format.h>
#include <fmt/ostream.h>

#include "gateway/model/clock.hpp"
#include "gateway/policy/replay.hpp"

namespace icegate::policy {
namespace {

constexpr ChangeKind reported_kinds[] = {ChangeKind::opened, ChangeKind::closed, ChangeKind::hold_added,
                                         ChangeKind::hold_removed};

std::string_view heading(ChangeKind kind) {
  switch (kind) {
    case ChangeKind::opened: return "FLOWS OPENED";
    case ChangeKind::closed: return "FLOWS CLOSED";
    case ChangeKind::hold_added: return "HOLDS ADDED";
    case ChangeKind::hold_removed: return "HOLDS REMOVED";
    case ChangeKind::handling_changed: return "HANDLING CHANGED";
  }
  return "CHANGED";
}

std::string_view state_code(FlowState state) {
  switch (state) {
    case FlowState::withheld: return "withheld";
    case FlowState::released:
    case FlowState::occasional: return "released";
    case FlowState::held:
    case FlowState::held_occasional: return "held";
  }
  return "withheld";
}

std::string plural(std::size_t n, std::string_view one, std::string_view many) {
  return fmt::format("{} {}", n, n == 1 ? one : many);
}

std::string json_list(const std::vector<std::string>& values) {
  std::string json = "[";
  for (const auto& value : values) json += (json.size() > 1 ? "," : "") + json_quote(value);
  return json + "]";
}

// "(rule-a, rule-b)", or "(default deny)" when no rule decided.
std::string rules_text(const std::vector<std::string>& rules) {
  return rules.empty() ? "(default deny)" : fmt::format("({})", fmt::join(rules, ", "));
}

std::string side(FlowState state, const std::vector<std::string>& rules, bool occasional, const std::string& detail) {
  std::string text = fmt::format("{} {}", to_string(state), rules_text(rules));
  if (occasional && state != FlowState::withheld) text += ", using an occasional release";
  if (!detail.empty()) text += ": " + detail;
  return text;
}

std::string versions_text(const std::map<std::string, std::size_t>& versions) {
  std::vector<std::string> parts;
  for (const auto& [version, count] : versions)
    parts.push_back(fmt::format("{} ({})", version.empty() ? "(unknown)" : version, plural(count, "submission", "submissions")));
  return fmt::format("{}", fmt::join(parts, ", "));
}

}  // namespace

void write_replay_text(std::ostream& out, const ReplayReport& report, std::size_t limit) {
  fmt::print(out, "policy replay: the audit trail in {} under {} ({}, version {})\n", report.data_dir,
             report.policy_file, report.policy_name, report.policy_version);
  fmt::print(out, "replayed: {} of {} ({} recipient decisions, {} portions); decided then under {}\n", report.replayed,
             plural(report.submissions, "submission", "submissions"), report.decisions, report.portions,
             report.recorded_versions.empty() ? "nothing" : versions_text(report.recorded_versions));
  if (!report.undecidable.empty()) {
    fmt::print(out, "\nCANNOT BE DECIDED AGAIN ({})\n", plural(report.undecidable.size(), "submission", "submissions"));
    for (const auto& skipped : report.undecidable)
      fmt::print(out, "  seq {} message {} from {}: {}\n", skipped.seq, skipped.message_id, skipped.sender,
                 skipped.reason);
  }
  if (!report.refused.empty()) {
    fmt::print(out, "\nWOULD BE REFUSED ({}; every portion withheld below)\n",
               plural(report.refused.size(), "submission", "submissions"));
    for (const auto& refused : report.refused)
      fmt::print(out, "  seq {} message {} from {}: {}\n", refused.seq, refused.message_id, refused.sender,
                 refused.reason);
  }
  for (ChangeKind kind : reported_kinds) {
    const std::size_t groups = report.count(kind);
    if (groups == 0) continue;
    fmt::print(out, "\n{} ({}, {})\n", heading(kind), plural(groups, "node pair", "node pairs"),
               plural(report.portion_count(kind), "portion", "portions"));
    std::size_t shown = 0;
    for (const ReplayGroup& group : report.groups) {
      if (group.kind != kind) continue;
      if (limit > 0 && shown++ >= limit) {
        continue;
      }
      const ReplayExample& e = group.example;
      fmt::print(out, "  {} -> {}: {}\n", group.sender, group.recipient, fmt::join(group.categories, ", "));
      fmt::print(out, "    {} -> {}; {} in {}\n", to_string(group.old_state), to_string(group.new_state),
                 plural(group.portions, "portion", "portions"), plural(group.submissions, "submission", "submissions"));
      fmt::print(out, "    e.g. seq {} message {} at {}, {}{}, portion {} label {}\n", e.seq, e.message_id,
                 format_utc(e.time_unix_ms), e.category, e.purpose.empty() ? "" : " for " + e.purpose, e.portion,
                 label_text(e.label));
      fmt::print(out, "      old: {}\n", side(group.old_state, e.old_rules, e.old_occasional, e.old_detail));
      fmt::print(out, "      new: {}\n", side(group.new_state, e.new_rules, e.new_occasional, e.new_detail));
    }
    if (limit > 0 && groups > limit) fmt::print(out, "  ... and {} more\n", groups - limit);
  }
  if (report.unchanged()) {
    fmt::print(out, "\nno change: every decision replayed is the same under {}\n", report.policy_file);
    return;
  }
  fmt::print(out, "\n{} flows opened, {} closed, {} holds added, {} removed (node pairs)\n",
             report.count(ChangeKind::opened), report.count(ChangeKind::closed), report.count(ChangeKind::hold_added),
             report.count(ChangeKind::hold_removed));
}

void write_replay_json(std::ostream& out, const ReplayReport& report, std::size_t limit) {
  std::string json = "{";
  json += fmt::format("\"data\":{},\"policy\":{},\"policy_name\":{},\"policy_version\":{},\"unchanged\":{},",
                      json_quote(report.data_dir), json_quote(report.policy_file), json_quote(report.policy_name),
                      json_quote(report.policy_version), report.unchanged());
  std::string versions = "{";
  for (const auto& [version, count] : report.recorded_versions)
    versions += fmt::format("{}{}:{}", versions.size() > 1 ? "," : "", json_quote(version), count);
  versions += "}";
  json += fmt::format(
      "\"replayed\":{{\"submissions\":{},\"decided_again\":{},\"decisions\":{},\"portions\":{},"
      "\"recorded_versions\":{}}},",
      report.submissions, report.replayed, report.decisions, report.portions, versions);
  auto skipped_list = [](const std::vector<SkippedSubmission>& list) {
    std::string text = "[";
    for (const auto& s : list)
      text += fmt::format("{}{{\"seq\":{},\"message_id\":{},\"sender\":{},\"reason\":{}}}", text.size() > 1 ? "," : "",
                          s.seq, json_quote(s.message_id), json_quote(s.sender), json_quote(s.reason));
    return text + "]";
  };
  json += fmt::format("\"undecidable\":{},\"refused\":{},", skipped_list(report.undecidable),
                      skipped_list(report.refused));
  json += fmt::format(
      "\"counts\":{{\"opened\":{},\"closed\":{},\"hold_added\":{},\"hold_removed\":{}}},"
      "\"portion_counts\":{{\"opened\":{},\"closed\":{},\"hold_added\":{},\"hold_removed\":{}}},",
      report.count(ChangeKind::opened), report.count(ChangeKind::closed), report.count(ChangeKind::hold_added),
      report.count(ChangeKind::hold_removed), report.portion_count(ChangeKind::opened),
      report.portion_count(ChangeKind::closed), report.portion_count(ChangeKind::hold_added),
      report.portion_count(ChangeKind::hold_removed));
  json += "\"groups\":[";
  std::map<ChangeKind, std::size_t> shown;
  bool first = true;
  for (const ReplayGroup& group : report.groups) {
    if (limit > 0 && shown[group.kind]++ >= limit) continue;
    const ReplayExample& e = group.example;
    json += first ? "" : ",";
    first = false;
    json += fmt::format(
        "{{\"kind\":\"{}\",\"old_state\":\"{}\",\"new_state\":\"{}\",\"sender\":{},\"recipient\":{},"
        "\"categories\":{},\"submissions\":{},\"portions\":{},\"example\":{{\"seq\":{},\"time\":{},"
        "\"message_id\":{},\"category\":{},\"purpose\":{},\"portion\":{},\"label\":{},\"old_rules\":{},"
        "\"new_rules\":{},\"old_detail\":{},\"new_detail\":{},\"old_occasional\":{},\"new_occasional\":{}}}}}",
        to_string(group.kind), state_code(group.old_state), state_code(group.new_state), json_quote(group.sender),
        json_quote(group.recipient), json_list(group.categories), group.submissions, group.portions, e.seq,
        json_quote(format_utc(e.time_unix_ms)), json_quote(e.message_id), json_quote(e.category),
        json_quote(e.purpose), json_quote(e.portion), json_quote(label_text(e.label)), json_list(e.old_rules),
        json_list(e.new_rules), json_quote(e.old_detail), json_quote(e.new_detail), e.old_occasional,
        e.new_occasional);
  }
  json += "]}\n";
  out << json;
}

}  // namespace icegate::policy
