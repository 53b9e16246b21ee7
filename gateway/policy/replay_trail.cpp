#include "gateway/policy/replay_trail.hpp"

#include <map>
#include <string>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "gateway/audit/audit.hpp"

namespace icegate::policy {
namespace {

// A record's detail is JSON, which YAML reads as it is (the exercise reports
// read their JSON the same way).
YAML::Node parse_detail(const audit::StoredRecord& stored, std::string& error) {
  try {
    return YAML::Load(stored.record.detail);
  } catch (const YAML::Exception& e) {
    error = fmt::format("its {} record (seq {}) has a detail that is not JSON: {}", stored.record.kind, stored.seq,
                        e.msg);
    return {};
  }
}

std::string text(const YAML::Node& node, const char* key) {
  const YAML::Node value = node[key];
  return value && value.IsScalar() ? value.as<std::string>() : std::string();
}

std::vector<std::string> texts(const YAML::Node& node, const char* key) {
  std::vector<std::string> values;
  const YAML::Node list = node[key];
  if (!list || !list.IsSequence()) return values;
  for (const auto& item : list)
    if (item.IsScalar()) values.push_back(item.as<std::string>());
  return values;
}

RecordedSubmission read_submit(const audit::StoredRecord& stored) {
  RecordedSubmission submission;
  submission.seq = stored.seq;
  submission.time_unix_ms = stored.record.time_unix_ms;
  submission.message_id = stored.record.message_id;
  submission.sender = stored.record.node;
  submission.policy_version = stored.record.policy_version;
  std::string error;
  const YAML::Node detail = parse_detail(stored, error);
  if (!error.empty()) {
    submission.undecidable = error;
    return submission;
  }
  submission.category = text(detail, "category");
  submission.purpose = text(detail, "purpose");
  submission.recipients = texts(detail, "recipients");
  if (const YAML::Node handling = detail["handling"]; handling && handling.IsMap())
    submission.embargo_event = text(handling, "not_before_event");
  const YAML::Node portions = detail["portion_labels"];
  if (!portions || !portions.IsSequence()) {
    submission.undecidable = fmt::format(
        "its submit record (seq {}) does not name the portions' labels: the trail was written by an icegate older "
        "than policy replay, which records them from then on",
        stored.seq);
    return submission;
  }
  for (const auto& portion : portions) {
    const std::string id = text(portion, "portion"), label = text(portion, "label");
    auto parsed = parse_label_text(label);
    if (id.empty() || !parsed) {
      submission.undecidable =
          fmt::format("its submit record (seq {}) has a portion '{}' whose label '{}' is not a label", stored.seq, id, label);
      return submission;
    }
    submission.portions.push_back({id, std::move(*parsed)});
  }
  return submission;
}

// Fills in `decision` from a decision record; false (and `error`) when its detail is unreadable.
bool read_decision(const audit::StoredRecord& stored, RecordedDecision& decision, std::string& error) {
  const YAML::Node detail = parse_detail(stored, error);
  if (!error.empty()) return false;
  decision.seq = stored.seq;
  decision.recipient = stored.record.recipient;
  decision.decision = stored.record.decision;
  decision.rules = stored.record.rules;
  decision.state = text(detail, "state");
  decision.reason = text(detail, "reason");
  decision.occasional = detail["occasional"] && detail["occasional"].IsScalar() && detail["occasional"].as<bool>();
  for (const auto& released : detail["released"]) decision.released.push_back(text(released, "portion"));
  for (const auto& withheld : detail["withheld"]) {
    decision.withheld.push_back(text(withheld, "portion"));
    decision.withheld_reasons[decision.withheld.back()] = text(withheld, "reason");
  }
  return true;
}

}  // namespace

std::vector<RecordedSubmission> read_recorded_submissions(const std::filesystem::path& data_dir) {
  audit::QueryFilter submits;
  submits.kind = "submit";
  std::vector<RecordedSubmission> submissions;
  std::map<std::string, std::size_t> by_message;  // message id -> index
  for (const auto& stored : audit::query(data_dir, submits)) {
    by_message.emplace(stored.record.message_id, submissions.size());
    submissions.push_back(read_submit(stored));
  }
  // The first decision record for each recipient is the decision at submission.
  audit::QueryFilter decisions;
  decisions.kind = "decision";
  std::map<std::string, std::map<std::string, RecordedDecision>> first;  // message id -> recipient -> decision
  for (const auto& stored : audit::query(data_dir, decisions)) {
    auto it = by_message.find(stored.record.message_id);
    if (it == by_message.end()) continue;
    auto& recipients = first[stored.record.message_id];
    if (recipients.contains(stored.record.recipient)) continue;
    RecordedDecision decision;
    std::string error;
    if (!read_decision(stored, decision, error)) {
      auto& submission = submissions[it->second];
      if (submission.undecidable.empty()) submission.undecidable = error;
      continue;
    }
    recipients.emplace(stored.record.recipient, std::move(decision));
  }
  for (auto& submission : submissions) {
    if (!submission.undecidable.empty()) continue;
    auto& recorded = first[submission.message_id];
    for (const auto& recipient : submission.recipients) {
      auto it = recorded.find(recipient);
      if (it == recorded.end()) {
        submission.undecidable = fmt::format("no decision is recorded for its recipient {}", recipient);
        break;
      }
      submission.decisions.push_back(std::move(it->second));
    }
    if (!submission.undecidable.empty()) submission.decisions.clear();
  }
  return submissions;
}

}  // namespace icegate::policy
