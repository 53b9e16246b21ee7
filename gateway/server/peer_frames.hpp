// What a peer gateway sends, into the router (docs/FEDERATION.md, "A decision
// at every hop"): the gateway's federation::PeerFrameHandler.
//
//   Forward  --> decoded (wire::decode, the node's limits) --> Router::forwarded
//   HopReport --> decoded --> Router::hop_reported (steps back towards the originator)
//   Ack      --> Router::peer_answered (the peer holds, or refused, a Forward or a HopReport)
//   link up / down --> Router::peer_up / peer_down (its lane of owed frames)
//   anything else  --> refused with an Error naming it (refuse_peer_frame)
//
// One job: turning frames into the router's calls. Deciding is the hop's
// (federation::Hop), storing and sending the router's.
//
// Guard: called on PeerLinks' executor, the decision thread, as the router is.
#pragma once

#include <string>

#include "gateway/federation/peer_link.hpp"
#include "gateway/wire/codec.hpp"

namespace icegate::server {

class Router;

class PeerFrames final : public federation::PeerFrameHandler {
 public:
  PeerFrames(Router& router, wire::ForwardLimits limits) : router_(router), limits_(std::move(limits)) {}

  void received(const std::string& peer_id, const v1::Frame& frame, federation::PeerLinks& links) override;
  void link_up(const std::string& peer_id) override;
  void link_down(const std::string& peer_id) override;

 private:
  Router& router_;
  wire::ForwardLimits limits_;
};

}  // namespace icegate::server
