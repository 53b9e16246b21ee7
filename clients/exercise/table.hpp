// A table: one run of a scenario with people at some of its seats. The runner
// and the exercise's web host (clients/exercise/host) share it:
//
//   runner  -> table : what each played node received (put in as it arrives),
//                      where the run stands, the live expectations board;
//   host    -> table : what people ask their nodes to do, and what the
//                      facilitator and evaluators do;
//   runner <-  table : the commands, taken on the runner's thread and carried
//                      out through the seat's own node client (mutual TLS, as
//                      that node), so the gateway decides exactly as for any node.
//
// A page never sees anything that did not pass through the table, and the
// table holds for a seat only what the gateway delivered to that seat's node.
//
// Thread-safe: every member takes the table's lock; views are copies.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "clients/exercise/results.hpp"
#include "clients/exercise/scenario.hpp"
#include "gateway/model/message.hpp"

namespace icegate::policy {
class CompiledPolicy;
}

namespace icegate::exercise {

// ---- what a seat holds ----------------------------------------------------------

// A version of a message the gateway delivered to this seat's node.
struct SeatDelivery {
  std::uint64_t seq = 0;  // per table, increasing: the page's key
  Offset at{0};
  Message message;        // the released version: released portions only, with their bodies
  Decision decision = Decision::release;
  std::vector<WithheldPortion> withheld;  // labels and reasons: never a body
  std::vector<std::string> rules;
  std::string reason;
  std::string inject;     // the inject or response that sent it, if scripted
};

// To the seat as originator: who received which version of its message.
struct SeatReceipt {
  Offset at{0};
  std::string message_id;
  std::string title;
  std::vector<ActionOutcome> outcomes;
  std::vector<std::string> unresolved;  // addressees that named nobody
  bool follow_up = false;
};

// A hold this seat must act on: a critical reader's review, or the originator's consent.
struct SeatReview {
  Offset at{0};
  std::string hold_id;
  bool consent = false;
  Message message;  // as far as this seat may see it
  std::vector<std::string> recipients;
  std::string reason;
  std::vector<std::string> rules;
  std::vector<WithheldPortion> not_shown;
  std::string answer;  // "" while waiting; "approve", "refuse", "redact" once answered
};

// What became of something this seat asked for.
struct SeatSent {
  Offset at{0};
  std::string message_id;  // send, reply; for a review, the hold id; for a trigger, the event
  std::string what;        // "send", "reply", "review", "trigger"
  std::string title;
  std::string state;       // "queued", "sent" (the gateway acknowledged), "refused"
  std::string error;       // refused: "CODE: text" as the gateway said it
};

struct SeatView {
  std::string node;
  bool connected = false;  // the seat's node is connected to the gateway
  std::uint64_t version = 0;
  std::vector<SeatDelivery> inbox;   // oldest first
  std::vector<SeatReceipt> receipts;
  std::vector<SeatReview> reviews;
  std::vector<SeatSent> sent;
  std::vector<MediaRelease> media;   // what was shown to this seat
  std::optional<Offset> last_action;
};

// ---- where the run stands -----------------------------------------------------

struct TableStatus {
  std::string state = "starting";  // "starting", "running", "paused", "finished", "stopped"
  Offset now{0};
  std::int64_t t0_unix_ms = 0;
  double speed = 0;                // scenario seconds per real second
  std::optional<Offset> next;      // the next scheduled item
  std::string last_item;           // "inject I03"
  friend bool operator==(const TableStatus&, const TableStatus&) = default;
};

// One expectation on the facilitator's live board.
struct LiveExpectation {
  std::string id;
  std::string description;
  std::string kind;
  std::string state = "pending";  // "pending", "met", "unmet"
  std::string evidence;
};

// ---- what people ask for ---------------------------------------------------------

struct SendCommand {  // a seat sends (or replies with) a message from its node
  std::string node;
  Message message;     // id and originator already set by Table::send
};
struct ReviewCommand {
  std::string node;
  std::string hold_id;
  std::string verdict;  // "approve", "refuse", "redact"
  std::vector<std::string> withhold_portions;  // redact: portion ids
  std::string comment;
};
struct TriggerCommand {
  std::string node;
  std::string event;
};
struct FireInjectCommand {  // the facilitator: a prepared inject or contingency, now
  std::string inject;
};
struct FireMessageCommand {  // the facilitator: a message written on the spot, from a scripted node
  std::string from;
  MessageSpec spec;
  std::string synopsis;
};
struct ReleaseMediaCommand {  // a scheduled media item now, or one written on the spot
  std::string media_id;          // a scenario media item, or...
  std::optional<MediaItem> item; // ...this one
};
using Command = std::variant<SendCommand, ReviewCommand, TriggerCommand, FireInjectCommand, FireMessageCommand,
                             ReleaseMediaCommand>;

// A gateway of a table played across several (`gateways:`): its policy, and
// the nodes it decides for. A seat composes, and is shown, under its own
// gateway's policy.
struct TableGateway {
  std::string id;
  std::shared_ptr<const policy::CompiledPolicy> policy;
  std::vector<std::string> nodes;
};

class Table {
 public:
  // `name`: "" for a single table; else what tells two tables apart ("need-to-know").
  Table(std::string name, std::vector<std::string> played);
  Table(const Table&) = delete;
  Table& operator=(const Table&) = delete;

  const std::string& name() const { return name_; }
  const std::vector<std::string>& played() const { return played_; }
  bool plays(const std::string& node) const;

  // ---- the runner ----
  void set_policy(std::shared_ptr<const policy::CompiledPolicy> policy);
  // Several gateways: each, in the scenario's order (policy() is then the first's).
  void set_gateways(std::vector<TableGateway> gateways);
  void set_status(TableStatus status);
  void set_expectations(std::vector<LiveExpectation> board);
  void set_connected(const std::string& node, bool connected);
  // Each returns false (and keeps nothing) for a node nobody plays.
  bool add_delivery(const std::string& node, SeatDelivery delivery);  // seq assigned here
  bool add_receipt(const std::string& node, SeatReceipt receipt);
  bool add_review(const std::string& node, SeatReview review);
  // What became of a command: `id` is SeatSent::message_id.
  void update_sent(const std::string& node, const std::string& id, std::string state, std::string error = {});
  void mark_review_answered(const std::string& node, const std::string& hold_id, std::string answer);
  void add_media(MediaRelease release);  // shown to its seats (every seat when it names none)
  // What people have done so far, with the gateway's outcomes as receipts
  // arrive (the same as RunResult::human_actions), for the facilitator's and
  // the evaluators' pages; and the injects and contingencies fired so far
  // (scheduled, by hand, or found unmet), by id (a contingency by its own id
  // and by its inject's).
  void set_human_actions(std::vector<HumanAction> actions);
  void note_fired(const std::string& id);
  // The commands asked for since the last call, in order.
  std::vector<Command> take_commands();
  // Called whenever a command is queued (send, review, trigger, facilitate),
  // so the runner need not look for them: on the asking thread, with the
  // table's lock held (it must not call the table; it may signal a thread
  // that then does). Empty: nobody is told. Reset it before the callee goes.
  void set_command_watch(std::function<void()> watch);

  // ---- the pages (the host) ----
  // A person sends from their seat: the id and originator are set here, and
  // the message is queued; returns the message id. The gateway decides the rest.
  std::string send(const std::string& node, Message message, std::string what = "send");
  void review(const std::string& node, ReviewCommand command);
  void trigger(const std::string& node, const std::string& event);
  void facilitate(Command command);  // FireInject, FireMessage, ReleaseMedia
  void observe(Observation observation);
  void rate(ObjectiveRating rating);   // replaces the same evaluator's rating of the same objective
  void set_improvement_plan(std::vector<ImprovementItem> plan);

  // ---- reading ----
  std::shared_ptr<const policy::CompiledPolicy> policy() const;
  std::vector<TableGateway> gateways() const;  // empty: one gateway
  // The gateway `node` is at ("" with one gateway, or a node of none), and
  // the policy it composes and is decided for under: its gateway's, else policy().
  std::string gateway_of(const std::string& node) const;
  std::shared_ptr<const policy::CompiledPolicy> policy_for(const std::string& node) const;
  TableStatus status() const;
  std::vector<LiveExpectation> expectations() const;
  SeatView seat(const std::string& node) const;  // an empty view for a node nobody plays
  std::uint64_t version() const;                 // bumped on every change, any seat
  std::vector<Observation> observations() const;
  std::vector<ObjectiveRating> ratings() const;
  std::vector<ImprovementItem> improvement_plan() const;
  std::vector<MediaRelease> media() const;
  std::vector<HumanAction> human_actions() const;
  std::set<std::string> fired() const;

 private:
  void changed(SeatView* seat);  // lock held
  void queue(Command command);   // lock held: tells the command watch
  const TableGateway* gateway_for(const std::string& node) const;  // lock held: the node's gateway, if any

  std::string name_;
  std::vector<std::string> played_;
  mutable std::mutex mutex_;
  std::shared_ptr<const policy::CompiledPolicy> policy_;
  std::vector<TableGateway> gateways_;
  TableStatus status_;
  std::vector<LiveExpectation> board_;
  std::map<std::string, SeatView> seats_;
  std::vector<Command> commands_;
  std::function<void()> command_watch_;
  std::vector<Observation> observations_;
  std::vector<ObjectiveRating> ratings_;
  std::vector<ImprovementItem> plan_;
  std::vector<MediaRelease> media_;
  std::vector<HumanAction> human_actions_;
  std::set<std::string> fired_;
  std::uint64_t version_ = 0;
  std::uint64_t delivery_seq_ = 0;
};

}  // namespace icegate::exercise
