// Deciding recorded submissions again under another policy: `icegate policy
// replay` (a gateway's audit trail, after the fact) and the gateway's shadow
// policy (`serve --shadow-policy`, as each submission arrives).
//
// Where `policy diff` compares two policies over the whole decision space,
// these compare what did happen (or is happening) with what another policy
// would have done, for the same sender, recipients, category, purpose and
// portion labels. They speak diff's vocabulary: a portion's outcome for one
// recipient is withheld, released, or held for review (released once a
// critical reader approves), and a change is a flow opened or closed, or a
// hold added or removed. (Handling changes are not compared: the trail does
// not record which rule's handling applied.)
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/model/message.hpp"
#include "gateway/policy/diff.hpp"
#include "gateway/policy/engine.hpp"

namespace icegate::policy {

// ---- Comparing two outcomes -------------------------------------------------

// What each portion of a message came to for one recipient (FlowState::
// withheld, released or held; never the occasional states, which describe the
// whole space), by portion index.
using PortionStates = std::vector<FlowState>;

// From a decide() result: released portions are held when the decision is HOLD.
PortionStates portion_states(const PolicyDecision& decision);
// From a recipient's decision as the gateway made it (released_portion_ids;
// HOLD for a critical reader's review), for `message`'s portions.
PortionStates portion_states(const Message& message, const RecipientDecision& decision);

struct PortionChange {
  std::size_t portion = 0;  // index into the message's portions
  ChangeKind kind = ChangeKind::opened;
  FlowState old_state = FlowState::withheld;
  FlowState new_state = FlowState::withheld;
};

// Every portion whose outcome differs, in portion order: opened when it now
// goes where it did not, closed the other way round, hold added or removed
// when it is released either way but a review now applies or no longer does.
// Both must have one state per portion.
std::vector<PortionChange> compare_states(const PortionStates& old_states, const PortionStates& new_states);

// Why `policy` would refuse a Submit with these fields outright, as the
// gateway checks before deciding anything ("" when it would not): a sender
// that is not one of its nodes, an information category, purpose or embargo
// event it does not define, a portion label its scheme does not allow.
std::string submission_refusal(const CompiledPolicy& policy, std::string_view sender, std::string_view category,
                               std::string_view purpose, std::string_view embargo_event,
                               const std::vector<Label>& portion_labels);

// The occasional-release allowance of one policy, per recipient: how many
// releases are left in the sliding window at a given time. The gateway keeps
// one for the policy it enforces; replay and the shadow keep their own.
class OccasionalLedger {
 public:
  bool available(const CompiledPolicy& policy, const std::string& node, std::int64_t now_unix_ms);
  void use(const std::string& node, std::int64_t now_unix_ms);

 private:
  std::map<std::string, std::vector<std::int64_t>, std::less<>> uses_;  // oldest first
};

// ---- Replay -----------------------------------------------------------------

struct RecordedPortion {
  std::string id;
  Label label;
};

// One recipient's decision at submission, as its first decision record says.
struct RecordedDecision {
  std::int64_t seq = 0;
  std::string recipient;
  std::string decision;  // RELEASE, RELEASE_REDACTED, HOLD, DENY
  std::string state;     // "delivered", "held for review", "embargoed", ...
  std::vector<std::string> released;  // portion ids
  std::vector<std::string> withheld;
  std::map<std::string, std::string> withheld_reasons;  // portion id -> reason
  std::vector<std::string> rules;
  std::string reason;
  bool occasional = false;
};

// One accepted submission read back from a trail.
struct RecordedSubmission {
  std::int64_t seq = 0;  // of its submit record
  std::int64_t time_unix_ms = 0;
  std::string message_id;
  std::string sender;
  std::string category;
  std::string purpose;
  std::string embargo_event;
  std::string policy_version;  // the policy that decided it
  std::vector<std::string> recipients;
  std::vector<RecordedPortion> portions;
  std::vector<RecordedDecision> decisions;  // one per recipient, in recipient order
  // Why it cannot be decided again ("" when it can): an older trail without
  // portion labels, a label that does not parse, a recipient with no decision.
  std::string undecidable;
};

// One concrete portion showing a change, with both sides.
struct ReplayExample {
  std::int64_t seq = 0;
  std::int64_t time_unix_ms = 0;
  std::string message_id;
  std::string category;
  std::string purpose;
  std::string portion;
  Label label;
  std::vector<std::string> old_rules;  // the recorded decision's rules
  std::vector<std::string> new_rules;  // the rule that decided this portion under the new policy
  std::string old_detail;              // why it was withheld, or the decision's reason
  std::string new_detail;
  bool old_occasional = false;  // the decision used an occasional release
  bool new_occasional = false;
};

// Every change of one kind between the same two states for one node pair.
struct ReplayGroup {
  ChangeKind kind = ChangeKind::opened;
  FlowState old_state = FlowState::withheld;
  FlowState new_state = FlowState::withheld;
  std::string sender;
  std::string recipient;
  std::vector<std::string> categories;  // in first-seen order
  std::size_t submissions = 0;          // distinct messages
  std::size_t portions = 0;             // portions changed, over all of them
  ReplayExample example;                // the first in the trail
};

struct SkippedSubmission {
  std::int64_t seq = 0;
  std::string message_id;
  std::string sender;
  std::string reason;
};

struct ReplayReport {
  std::string data_dir;
  std::string policy_file;
  std::string policy_name;
  std::string policy_version;
  std::size_t submissions = 0;  // accepted submissions in the trail
  std::size_t replayed = 0;     // decided again
  std::size_t decisions = 0;    // recipient decisions compared
  std::size_t portions = 0;     // portion outcomes compared
  std::map<std::string, std::size_t> recorded_versions;  // policy version -> submissions it decided
  std::vector<SkippedSubmission> undecidable;  // could not be decided again, and why
  std::vector<SkippedSubmission> refused;      // the new policy would refuse them outright
  std::vector<ReplayGroup> groups;             // by kind, then sender, recipient, states
  std::size_t count(ChangeKind kind) const;    // groups of that kind
  std::size_t portion_count(ChangeKind kind) const;
  bool unchanged() const { return groups.empty(); }
};

// Decides every decidable submission again under `policy`, in trail order
// (the occasional allowance is spent as the gateway would have spent it, by
// each submission's time), and compares each recipient's outcome with the
// recorded one.
ReplayReport replay_submissions(const std::vector<RecordedSubmission>& submissions, const CompiledPolicy& policy);

// The report for people: a summary, then each group with its example.
// `limit` caps the groups printed per kind (0: all).
void write_replay_text(std::ostream& out, const ReplayReport& report, std::size_t limit = 0);
// The same as one JSON object.
void write_replay_json(std::ostream& out, const ReplayReport& report, std::size_t limit = 0);

}  // namespace icegate::policy
