// The reporters of `icegate policy replay`: text for people, one JSON object
// for tools. Both show the same groups, in the same order, as policy diff's.
#include <map>

#include <fmt/format.h>
#include <fmt/ostream.h>

#include "gateway/model/clock.hpp"
#include "gateway/model/json_value.hpp"
#include "gateway/policy/replay.hpp"

namespace icegate::policy {
namespace {

constexpr ChangeKind reported_kinds[] = {ChangeKind::opened, ChangeKind::closed, ChangeKind::hold_added,
                                         ChangeKind::hold_removed};

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
  boost::json::object json;
  json["data"] = report.data_dir;
  json["policy"] = report.policy_file;
  json["policy_name"] = report.policy_name;
  json["policy_version"] = report.policy_version;
  json["unchanged"] = report.unchanged();
  boost::json::object versions;
  for (const auto& [version, count] : report.recorded_versions) versions[version] = count;
  json["replayed"] = {{"submissions", report.submissions},
                      {"decided_again", report.replayed},
                      {"decisions", report.decisions},
                      {"portions", report.portions},
                      {"recorded_versions", std::move(versions)}};
  auto skipped_list = [](const std::vector<SkippedSubmission>& list) {
    boost::json::array items;
    for (const auto& s : list)
      items.push_back({{"seq", s.seq}, {"message_id", s.message_id}, {"sender", s.sender}, {"reason", s.reason}});
    return items;
  };
  json["undecidable"] = skipped_list(report.undecidable);
  json["refused"] = skipped_list(report.refused);
  auto counts = [&](auto count) {
    return boost::json::object{{"opened", count(ChangeKind::opened)},
                               {"closed", count(ChangeKind::closed)},
                               {"hold_added", count(ChangeKind::hold_added)},
                               {"hold_removed", count(ChangeKind::hold_removed)}};
  };
  json["counts"] = counts([&](ChangeKind kind) { return report.count(kind); });
  json["portion_counts"] = counts([&](ChangeKind kind) { return report.portion_count(kind); });
  boost::json::array& groups = json["groups"].emplace_array();
  std::map<ChangeKind, std::size_t> shown;
  for (const ReplayGroup& group : report.groups) {
    if (limit > 0 && shown[group.kind]++ >= limit) continue;
    const ReplayExample& e = group.example;
    groups.push_back({{"kind", to_string(group.kind)},
                      {"old_state", state_code(group.old_state)},
                      {"new_state", state_code(group.new_state)},
                      {"sender", group.sender},
                      {"recipient", group.recipient},
                      {"categories", json::strings(group.categories)},
                      {"submissions", group.submissions},
                      {"portions", group.portions},
                      {"example",
                       {{"seq", e.seq},
                        {"time", format_utc(e.time_unix_ms)},
                        {"message_id", e.message_id},
                        {"category", e.category},
                        {"purpose", e.purpose},
                        {"portion", e.portion},
                        {"label", label_text(e.label)},
                        {"old_rules", json::strings(e.old_rules)},
                        {"new_rules", json::strings(e.new_rules)},
                        {"old_detail", e.old_detail},
                        {"new_detail", e.new_detail},
                        {"old_occasional", e.old_occasional},
                        {"new_occasional", e.new_occasional}}}});
  }
  out << json::serialize(json) << '\n';
}

}  // namespace icegate::policy
