// The node client library: one authenticated connection from a node to the
// gateway. The connection runs as coroutines on the client's own io_context
// thread, or on an io_context the caller gives it (NodeOptions::io), so that
// thousands of simulated nodes share a few threads. The public methods are
// thread-safe and block only where they say so, so the CLI, the tests and
// simulated agencies can all drive it from ordinary code.
//
// It acknowledges every Deliver and drops duplicate deliveries by message id
// (delivery is at-least-once on the wire, exactly-once for the application).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "gateway/model/message.hpp"
#include "gateway/model/route.hpp"
#include "gateway/transport/tls.hpp"
#include "gateway/wire/framing.hpp"
#include "icegate/v1/icegate.pb.h"

namespace boost::asio {
class io_context;
}

namespace icegate::node {

struct NodeEvent;

struct NodeOptions {
  std::string node_id;
  transport::ClientCredentials credentials;  // see transport::node_credentials
  std::string host = "127.0.0.1";
  std::uint16_t port = 7443;
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds heartbeat_interval{15'000};
  std::uint32_t max_frame_bytes = wire::default_max_frame_bytes;
  // After a lost connection, connect again by itself (exponential backoff
  // with jitter between these bounds), resending unacknowledged Submits.
  bool reconnect = false;
  std::chrono::milliseconds reconnect_min{100};
  std::chrono::milliseconds reconnect_max{5'000};
  // Where events go: when set, every event is handed to this function (on the
  // client's io thread) instead of the next_event() queue. An exercise runner
  // with thousands of nodes gathers them all into one queue this way.
  std::function<void(const std::string& node_id, NodeEvent event)> sink;
  // The node id said in Hello; empty means node_id. Tests set it to check
  // that the gateway refuses a Hello that disagrees with the certificate.
  std::string hello_node_id;
  // Run the connection on this io_context instead of a thread of the client's
  // own. The caller runs it on exactly one thread (the connection's state is
  // not guarded otherwise) until the client is closed; many clients may share
  // it. See IoThreads (io_threads.hpp).
  boost::asio::io_context* io = nullptr;
};

// A version of a message this node was given.
struct Delivery {
  Message message;
  Decision decision = Decision::release;
  std::vector<WithheldPortion> withheld;
  std::vector<std::string> rule_ids;
  std::string reason;
  std::string policy_version;
};

struct ReceiptOutcome {
  RecipientDecision decision;
  bool delivered = false;
};

// To the originator: who received which version of a message.
struct Receipt {
  std::string message_id;
  std::vector<ReceiptOutcome> outcomes;
  std::string policy_version;
  std::vector<std::string> unresolved_addressees;
  bool follow_up = false;  // a later Receipt: what became of held recipients, or what a later gateway decided
  // What each gateway on the way to remote recipients decided
  // (docs/FEDERATION.md, "The originator's Receipt, hop by hop"): the
  // origin's in the first Receipt, a later gateway's in a follow-up.
  std::vector<HopStep> hops;
};

struct Acknowledgement {
  std::string message_id;
  bool ok = false;
};

struct ErrorNotice {
  std::string code;  // "ORIGINATOR_MISMATCH", ...
  std::string text;
  std::string message_id;
  bool fatal = false;
};

struct Disconnected {
  std::string reason;
  bool reconnecting = false;  // with NodeOptions::reconnect: it is trying again
};

// The gateway asks this node to act on a hold: a critical reader's review, or
// an originator's consent to onward release.
struct ReviewRequest {
  std::string hold_id;
  bool consent = false;  // originator consent rather than a critical reader's review
  Message message;       // what would be released, as far as this node may see it
  std::vector<std::string> recipients;
  std::string reason;
  std::vector<std::string> rule_ids;
  std::vector<WithheldPortion> not_shown;
};

enum class Verdict { approve, refuse, approve_redacted };

// The gateway echoed a Heartbeat this node sent with request_echo(tag). The
// gateway writes on a connection in order, so every frame it had written to
// this node before it read the Heartbeat has arrived before this event.
struct Echo {
  std::int64_t tag = 0;
};

struct NodeEvent {
  std::variant<Delivery, Receipt, Acknowledgement, ErrorNotice, Disconnected, ReviewRequest, Echo> payload;
  v1::Frame frame;  // the frame as received, for traces and JSON output
};

// Connecting failed: the TLS handshake was refused, or the gateway answered
// Hello with an Error. what() says which, in words.
class ConnectError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

std::string error_code_name(v1::ErrorCode code);

class NodeClient {
 public:
  // Connects, completes the TLS handshake, says Hello and waits for Welcome.
  explicit NodeClient(NodeOptions options);
  ~NodeClient();
  NodeClient(const NodeClient&) = delete;
  NodeClient& operator=(const NodeClient&) = delete;

  const std::string& node_id() const { return options_.node_id; }
  const v1::Welcome& welcome() const { return welcome_; }

  // Queues a Submit; the answer arrives as events (Ack, Receipt, or Error).
  // An Error INTERNAL naming it (the gateway could not store it) and the
  // Ack{ok: false} after it mean "not accepted, send it again later": the
  // Submit stays unacknowledged, so it goes again after a reconnection, and
  // submitting the same message again sends it now.
  void submit(const Message& message);
  // The same, for a Submit frame already encoded (a worker process relays
  // one it was given): `frame` holds the frame's bytes, `message_id` its id.
  void submit_encoded(std::string message_id, std::string frame);
  // Answers a ReviewRequest; the gateway Acks (message_id = hold id) or sends an Error.
  void review(const std::string& hold_id, Verdict verdict, const std::vector<std::string>& withhold_portion_ids = {},
              const std::string& comment = {});
  // Says that a named event has happened (who may is up to the policy).
  void trigger(const std::string& event);
  // Sends a Heartbeat carrying `tag` and makes the gateway's echo of it an
  // Echo event (other echoes are no event): a barrier behind what the gateway
  // has written to this node so far.
  void request_echo(std::int64_t tag);
  // Queues any frame, or raw bytes: for tests of hostile input and for trainers.
  void send_frame(const v1::Frame& frame);
  void send_raw(std::string bytes);

  // The next event, waiting up to `timeout`.
  std::optional<NodeEvent> next_event(std::chrono::milliseconds timeout);
  bool connected() const;
  // Submits sent but not yet acknowledged by the gateway (resent after a reconnection).
  std::size_t unacknowledged() const;
  // Closes the connection (TLS close_notify) and stops the thread (or, on a
  // shared io_context, waits until the connection's coroutines have ended).
  // Idempotent.
  void close();

 private:
  struct Connection;
  void push(NodeEvent event);

  NodeOptions options_;
  v1::Welcome welcome_;
  std::shared_ptr<Connection> connection_;
  std::thread thread_;  // none when the connection runs on NodeOptions::io
  bool closed_ = false;

  mutable std::mutex mutex_;  // guards events_
  std::condition_variable events_changed_;
  std::deque<NodeEvent> events_;
};

// Domain views of the frames a node receives.
Delivery to_delivery(const v1::Deliver& deliver);
Receipt to_receipt(const v1::Receipt& receipt);
ReviewRequest to_review_request(const v1::ReviewRequest& request);
// The event a received (or, for a settled duplicate, made-up Ack) frame is:
// how a process that relays a node's frames gives its events back. Nothing
// for a frame that is no event (a heartbeat).
std::optional<NodeEvent> to_event(v1::Frame frame);

// The frames NodeClient::review and NodeClient::trigger send.
v1::Frame review_frame(const std::string& hold_id, Verdict verdict, const std::vector<std::string>& withhold_portion_ids,
                       const std::string& comment);
v1::Frame trigger_frame(const std::string& event);

}  // namespace icegate::node
