#include "gateway/policy/replay_trail.hpp"

#include <map>
#include <string>

#include <fmt/format.h>

#include "gateway/audit/audit.hpp"
#include "gateway/model/json_value.hpp"

namespace icegate::policy {
namespace {

// A record's detail is JSON (an empty detail reads as null).
boost::json::value parse_detail(const audit::StoredRecord& stored, std::string& error) {
  if (stored.record.detail.find_first_not_of(" \t\r\n") == std::string::npos) return nullptr;
  json::ParseResult parsed = json::parse(stored.record.detail);
  if (!parsed.error.empty())
    error = fmt::format("its {} record (seq {}) has a detail that is not JSON: {}", stored.record.kind, stored.seq,
                        parsed.error);
  return std::move(parsed.value);
}

// A member that is a string, number or boolean, as text; otherwise "".
std::string text(const boost::json::value& node, const char* key) {
  const boost::json::value* value = json::member(node, key);
  if (!value) return {};
  if (const boost::json::string* string = value->if_string()) return std::string(*string);
  if (value->is_number() || value->is_bool()) return json::serialize(*value);
  return {};
}

std::vector<std::string> texts(const boost::json::value& node, const char* key) {
  std::vector<std::string> values;
  const boost::json::value* list = json::member(node, key);
  if (!list || !list->is_array()) return values;
  for (const boost::json::value& item : list->get_array())
    if (const boost::json::string* string = item.if_string()) values.emplace_back(*string);
  return values;
}

// The items of a member that is an array; none when it is absent or not one.
const boost::json::array& items(const boost::json::value& node, const char* key) {
  static const boost::json::array none;
  const boost::json::value* list = json::member(node, key);
  return list && list->is_array() ? list->get_array() : none;
}

RecordedSubmission read_submit(const audit::StoredRecord& stored) {
  RecordedSubmission submission;
  submission.seq = stored.seq;
  submission.time_unix_ms = stored.record.time_unix_ms;
  submission.message_id = stored.record.message_id;
  submission.sender = stored.record.node;
  submission.policy_version = stored.record.policy_version;
  std::string error;
  const boost::json::value detail = parse_detail(stored, error);
  if (!error.empty()) {
    submission.undecidable = error;
    return submission;
  }
  submission.category = text(detail, "category");
  submission.purpose = text(detail, "purpose");
  submission.recipients = texts(detail, "recipients");
  if (const boost::json::value* handling = json::member(detail, "handling"); handling && handling->is_object())
    submission.embargo_event = text(*handling, "not_before_event");
  const boost::json::value* portions = json::member(detail, "portion_labels");
  if (!portions || !portions->is_array()) {
    submission.undecidable = fmt::format(
        "its submit record (seq {}) does not name the portions' labels: the trail was written by an icegate older "
        "than policy replay, which records them from then on",
        stored.seq);
    return submission;
  }
  for (const boost::json::value& portion : portions->get_array()) {
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
  const boost::json::value detail = parse_detail(stored, error);
  if (!error.empty()) return false;
  decision.seq = stored.seq;
  decision.recipient = stored.record.recipient;
  decision.decision = stored.record.decision;
  decision.rules = stored.record.rules;
  decision.state = text(detail, "state");
  decision.reason = text(detail, "reason");
  const boost::json::value* occasional = json::member(detail, "occasional");
  decision.occasional = occasional && occasional->is_bool() && occasional->get_bool();
  for (const boost::json::value& released : items(detail, "released")) decision.released.push_back(text(released, "portion"));
  for (const boost::json::value& withheld : items(detail, "withheld")) {
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
