// The links between this gateway and its peer gateways (docs/FEDERATION.md,
// "The peer link"): one mutual-TLS connection per pair of gateways, carrying
// the same frames as a node's connection.
//
// PeerLinks keeps, for each peer of the policy in force, its state (down,
// connecting, up; since when; the last error) and its live link, whichever
// side opened it. It dials each peer whose `address` the policy gives, keeps
// the link up (reconnecting with capped, jittered backoff, the reason for each
// failure logged), and takes the links peers open to this gateway, which the
// gateway's sessions hand it once the peer is authenticated
// (transport/identity.hpp). Every frame a peer sends goes to one
// PeerFrameHandler; nothing a peer sends ever reaches the router or a node.
//
// One link per pair of gateways. A gateway dials a peer when its policy gives
// the peer's address and no link with the peer is up. If both policies give
// addresses, both may dial; when two links with the same peer are up at once,
// the one dialled by the gateway whose id is smaller (byte order) is kept and
// the other is closed with SUPERSEDED, so both sides keep the same link. A
// peer that connects again while its link is up (it restarted, and the old
// connection is not yet known to be dead) supersedes its old accepted link,
// as a node's new session does.
//
// Threads: everything here runs on the executor it is given (the gateway's
// decision thread), except status() and what LinkEnd says of itself.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include "gateway/audit/audit.hpp"
#include "gateway/wire/framing.hpp"
#include "icegate/v1/icegate.pb.h"

namespace icegate::federation {

using FrameBytes = std::shared_ptr<const std::string>;

enum class LinkState { down, connecting, up };
std::string_view to_string(LinkState state);

// What /healthz shows of a peer.
struct PeerStatus {
  std::string id;
  std::string address;       // where this gateway dials it; "" when it dials us
  LinkState state = LinkState::down;
  std::int64_t since_unix_ms = 0;  // when it entered `state`
  std::string direction;     // "dialled" or "accepted" while up
  std::string last_error;    // why the link last failed or ended ("" if never)
};

// One end of a live link, as PeerLinks sees it: the session that accepted the
// peer's connection, or the connection this gateway dialled. Both may be
// called from any thread.
class LinkEnd {
 public:
  virtual ~LinkEnd() = default;
  virtual void send(FrameBytes bytes) = 0;
  // Sends a fatal Error and closes.
  virtual void close(v1::ErrorCode code, std::string text) = 0;
};

class PeerLinks;

// Receives every frame a peer sends but heartbeats and Errors, and hears when
// a peer's link comes up or goes down (the gateway's is server::PeerFrames,
// which hands them to the router). Called on PeerLinks' executor; it answers
// through PeerLinks::send.
class PeerFrameHandler {
 public:
  virtual ~PeerFrameHandler() = default;
  virtual void received(const std::string& peer_id, const v1::Frame& frame, PeerLinks& links) = 0;
  // A link with the peer is up: a new one each time, whichever side opened it
  // (one that supersedes a live link is up again). Frames sent before it may
  // or may not have arrived.
  virtual void link_up(const std::string& /*peer_id*/) {}
  // The peer's link is down (no link with it is up).
  virtual void link_down(const std::string& /*peer_id*/) {}
};

// The handler of a gateway that forwards nothing (PeerLinks without a
// handler, as in tests of the link alone): a Forward is answered with an
// Error saying that forwarding is not enabled on this gateway, and any other
// frame with an Error naming it (refuse_peer_frame); each refusal is audited
// as `peer_frame_refused`. The link stays up.
class ForwardingNotEnabled final : public PeerFrameHandler {
 public:
  void received(const std::string& peer_id, const v1::Frame& frame, PeerLinks& links) override;
};

// A frame no gateway takes from a peer (anything a node sends but an Ack):
// answered with an Error naming it, audited as `peer_frame_refused`.
void refuse_peer_frame(const std::string& peer_id, const v1::Frame& frame, PeerLinks& links);

// A peer as the policy in force has it.
struct PeerEntry {
  std::string id;
  std::string host;  // "" (and port 0): this gateway does not dial it
  std::uint16_t port = 0;
  std::filesystem::path ca;  // the peer's CA: the only one its server certificate may chain to
  std::string address() const;
};

struct PeerLinkOptions {
  std::string gateway_id;
  std::filesystem::path pki_dir;  // this gateway's gateway.crt and gateway.key, presented when dialling
  // The address links are dialled from (the gateway's listen address, so
  // that a peer sees the same host it dials); empty or unspecified: any.
  std::string local_address;
  std::chrono::milliseconds handshake_timeout{10'000};  // connect, TLS, Hello and Welcome
  std::chrono::milliseconds idle_timeout{60'000};       // no frame for this long: the link is dead
  std::chrono::milliseconds frame_timeout{10'000};
  std::chrono::milliseconds write_timeout{10'000};
  std::uint32_t max_frame_bytes = wire::default_max_frame_bytes;
  // Redial after a failure: the first wait, doubled after each failure up to
  // the cap, each drawn between half and all of it (jitter, so that gateways
  // that lost each other at once do not redial in step).
  std::chrono::milliseconds backoff_initial{250};
  std::chrono::milliseconds backoff_max{30'000};
  // Appends a record to this gateway's audit trail (on the executor).
  std::function<void(audit::AuditRecord)> audit;
  // Takes every AuditHead frame a peer sends, before the PeerFrameHandler
  // (HeadExchange::received: docs/FEDERATION.md, "Peers witness each other's
  // audit trail"); on the executor. Unset: the handler gets it, as any frame.
  std::function<void(const std::string& peer_id, const v1::AuditHead& head)> on_audit_head;
};

class PeerLinks {
 public:
  PeerLinks(boost::asio::io_context& io, PeerLinkOptions options);
  ~PeerLinks();
  PeerLinks(const PeerLinks&) = delete;
  PeerLinks& operator=(const PeerLinks&) = delete;

  // Null: ForwardingNotEnabled. The handler must outlive this.
  void set_handler(PeerFrameHandler* handler);

  // The peers of the policy in force. New peers with an address are dialled;
  // a peer no longer listed stops being dialled and its link is closed, as is
  // the link of a peer in `ca_changed` (its certificate was verified against
  // a CA the policy no longer names; it is dialled again, under the new one).
  void update(std::vector<PeerEntry> peers, const std::vector<std::string>& ca_changed = {});

  // A peer authenticated on an accepted connection, after its Hello. Returns
  // nullopt when its link is up, or why it is refused (the peer is not in the
  // policy, or a link this gateway dialled is kept: see the rule above).
  std::optional<std::string> admit(const std::string& peer_id, std::shared_ptr<LinkEnd> end);
  // The accepted link `end` has ended.
  void lost(const std::string& peer_id, const LinkEnd* end, const std::string& reason);
  // A frame from a peer's link (heartbeats and Errors are the link's own).
  void received(const std::string& peer_id, const v1::Frame& frame);

  // Sends a frame on the peer's link; false when no link with it is up.
  bool send(const std::string& peer_id, const v1::Frame& frame);
  bool send(const std::string& peer_id, FrameBytes bytes);
  // Whether a link with the peer is up.
  bool up(const std::string& peer_id) const;
  // Closes the peer's link with a fatal Error (a dialled link is dialled again).
  void close(const std::string& peer_id, v1::ErrorCode code, std::string text);
  void audit(audit::AuditRecord record);

  // Each peer of the policy, in its order. Any thread.
  std::vector<PeerStatus> status() const;
  std::optional<PeerStatus> status(const std::string& peer_id) const;

  // Stops dialling and closes every link this gateway dialled (accepted
  // links end with their sessions). Returns at once; the dialling coroutines
  // end soon after, leaving no work on the executor.
  void stop();

  const PeerLinkOptions& options() const { return options_; }

 private:
  struct Dialler;
  struct Peer {
    PeerEntry entry;
    PeerStatus status;
    std::shared_ptr<LinkEnd> link;  // the live link, either direction
    bool dialled = false;           // `link` is the one this gateway dialled
    std::shared_ptr<Dialler> dialler;
  };
  class DialledLink;

  boost::asio::awaitable<void> dial_loop(std::string peer_id, std::shared_ptr<Dialler> dialler);
  // One attempt: returns why it failed or, once up, why it ended.
  boost::asio::awaitable<std::string> dial_once(const PeerEntry& entry, const std::shared_ptr<Dialler>& dialler);
  // The dialled link is up: registers it unless the rule keeps an accepted one.
  std::optional<std::string> attach_dialled(const std::string& peer_id, const std::shared_ptr<LinkEnd>& end);
  void went_down(Peer& peer, const std::string& reason);
  void set_state(Peer& peer, LinkState state, std::string direction = {});
  PeerFrameHandler& handler();
  void start_dialling(Peer& peer);

  boost::asio::io_context& io_;
  PeerLinkOptions options_;
  PeerFrameHandler* handler_ = nullptr;
  ForwardingNotEnabled not_enabled_;
  std::vector<std::string> order_;        // the policy's order, for status()
  std::map<std::string, Peer> peers_;     // guarded by: the executor for links; mutex_ for status
  mutable std::mutex mutex_;
  bool stopped_ = false;
};

}  // namespace icegate::federation
