#include "gateway/server/peer_frames.hpp"

#include <spdlog/spdlog.h>

#include "gateway/server/router.hpp"

namespace icegate::server {

void PeerFrames::received(const std::string& peer_id, const v1::Frame& frame, federation::PeerLinks& links) {
  switch (frame.body_case()) {
    case v1::Frame::kForward: {
      wire::DecodeProblem problem;
      auto forwarded = wire::decode(frame.forward(), limits_, problem);
      if (!forwarded) {
        router_.forward_malformed(peer_id, frame.forward().message().id(), wire::to_string(problem));
        return;
      }
      router_.forwarded(peer_id, std::move(*forwarded));
      return;
    }
    case v1::Frame::kHopReport: {
      wire::DecodeProblem problem;
      auto report = wire::decode(frame.hop_report(), limits_, problem);
      if (!report) {
        router_.refuse_hop_report(peer_id, frame.hop_report().report_id(), wire::to_string(problem));
        return;
      }
      router_.hop_reported(peer_id, std::move(*report));
      return;
    }
    case v1::Frame::kAck:
      if (!router_.peer_answered(peer_id, frame.ack().message_id(), frame.ack().ok()))
        spdlog::info("peer={} answered message={}, which was not awaiting its answer (a repeat)", peer_id,
                     frame.ack().message_id());
      return;
    default:
      federation::refuse_peer_frame(peer_id, frame, links);
  }
}

void PeerFrames::link_up(const std::string& peer_id) { router_.peer_up(peer_id); }

void PeerFrames::link_down(const std::string& peer_id) { router_.peer_down(peer_id); }

}  // namespace icegate::server
