// Peers witness each other's audit trail: see head_exchange.hpp.
#include "gateway/federation/head_exchange.hpp"

#include <algorithm>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "gateway/model/json.hpp"
#include "gateway/pki/pki.hpp"
#include "gateway/wire/error_frame.hpp"

namespace icegate::federation {

namespace {

bool is_hash(std::string_view text) {
  return text.size() == 64 &&
         std::all_of(text.begin(), text.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::string short_hash(std::string_view hash) { return std::string(hash.substr(0, 16)); }

HeadRefusal refusal_of(pki::SignatureProblem problem) {
  switch (problem) {
    case pki::SignatureProblem::unreadable_certificate: return HeadRefusal::unreadable_certificate;
    case pki::SignatureProblem::not_issued_by_ca: return HeadRefusal::certificate_not_from_ca;
    case pki::SignatureProblem::not_valid_then: return HeadRefusal::certificate_not_valid_then;
    case pki::SignatureProblem::bad_signature:
    case pki::SignatureProblem::none: break;
  }
  return HeadRefusal::bad_signature;
}

}  // namespace

std::string_view to_string(HeadRefusal refusal) {
  switch (refusal) {
    case HeadRefusal::malformed: return "malformed";
    case HeadRefusal::no_peer_ca: return "no_peer_ca";
    case HeadRefusal::unreadable_certificate: return "unreadable_certificate";
    case HeadRefusal::certificate_not_from_ca: return "certificate_not_from_ca";
    case HeadRefusal::certificate_not_valid_then: return "certificate_not_valid_then";
    case HeadRefusal::bad_signature: return "bad_signature";
    case HeadRefusal::signer_not_peer: return "signer_not_peer";
    case HeadRefusal::seq_went_back: return "seq_went_back";
    case HeadRefusal::hash_changed: return "hash_changed";
  }
  return "malformed";
}

HeadExchange::HeadExchange(PeerLinks& links, Sources sources, HeadExchangeOptions options)
    : links_(links), sources_(std::move(sources)), options_(options) {}

std::size_t HeadExchange::send_due(std::int64_t now_unix_ms) {
  const audit::TrailHead head = sources_.durable_head();
  if (head.seq <= 0) return 0;
  std::size_t sent = 0;
  for (const PeerStatus& peer : links_.status()) {
    if (peer.state != LinkState::up) continue;
    const auto found = sent_.find(peer.id);
    if (found != sent_.end()) {
      const Sent& last = found->second;
      if (head.seq <= last.seq) continue;  // only a newer head
      // Growth other than this gateway's witnesses of its peers' heads.
      const std::int64_t grown = head.seq - last.seq - (witness_records_ - last.witness_records);
      if (grown <= 0) continue;
      if (grown < options_.records && now_unix_ms - last.at_unix_ms < options_.interval.count()) continue;
    }
    if (!signed_ || signed_->seq != head.seq || signed_->hash != head.hash) {
      const std::shared_ptr<const OriginGateway> signer = sources_.signer();
      if (!signer) return sent;
      try {
        signed_ = audit::sign_head(head, signer->key, signer->certificate_pem, now_unix_ms);
      } catch (const std::exception& error) {
        spdlog::error("audit head {}: cannot sign it for the peers: {}", head.seq, error.what());
        return sent;
      }
    }
    v1::Frame frame;
    v1::AuditHead& body = *frame.mutable_audit_head();
    body.set_seq(signed_->seq);
    body.set_hash(signed_->hash);
    body.set_signed_unix_ms(signed_->signed_unix_ms);
    body.set_signature(signed_->signature);
    body.set_certificate_pem(signed_->certificate_pem);
    if (!links_.send(peer.id, frame)) continue;
    sent_[peer.id] = Sent{.seq = head.seq, .witness_records = witness_records_, .at_unix_ms = now_unix_ms};
    spdlog::debug("audit head {} ({}...) sent to peer {}", head.seq, short_hash(head.hash), peer.id);
    ++sent;
  }
  return sent;
}

void HeadExchange::received(const std::string& peer_id, const v1::AuditHead& frame) {
  audit::SignedHead head;
  head.seq = frame.seq();
  head.hash = frame.hash();
  head.signed_unix_ms = frame.signed_unix_ms();
  head.signature = frame.signature();
  head.certificate_pem = frame.certificate_pem();
  if (head.seq < 0 || !is_hash(head.hash) || head.signature.empty()) {
    refuse(peer_id, head, HeadRefusal::malformed,
           head.seq < 0             ? fmt::format("seq {} is negative", head.seq)
           : !is_hash(head.hash)    ? std::string("the hash is not 64 lower-case hex digits")
                                    : std::string("the head is not signed"));
    return;
  }
  const std::string ca_file = sources_.peer_ca(peer_id);
  if (ca_file.empty()) {
    refuse(peer_id, head, HeadRefusal::no_peer_ca, fmt::format("the policy names no CA for {}", peer_id));
    return;
  }
  pki::SignatureCheck check;
  try {
    const pki::TrustedCa ca(ca_file);
    check = ca.check_signature(head.certificate_pem, audit::signed_bytes(head), head.signature, head.signed_unix_ms);
  } catch (const std::exception& error) {
    refuse(peer_id, head, HeadRefusal::no_peer_ca, fmt::format("{}'s CA cannot be read: {}", peer_id, error.what()));
    return;
  }
  if (check.problem != pki::SignatureProblem::none) {
    refuse(peer_id, head, refusal_of(check.problem), check.text);
    return;
  }
  if (check.common_name != peer_id) {
    refuse(peer_id, head, HeadRefusal::signer_not_peer,
           fmt::format("the head is signed by '{}', not by {}, the peer this link authenticated", check.common_name,
                       peer_id));
    return;
  }
  auto last = witnessed_.find(peer_id);
  if (last == witnessed_.end()) {
    if (auto kept = sources_.last_witnessed ? sources_.last_witnessed(peer_id) : std::nullopt)
      last = witnessed_.emplace(peer_id, std::move(*kept)).first;
  }
  if (last != witnessed_.end()) {
    const audit::TrailHead& before = last->second;
    if (head.seq < before.seq) {
      refuse(peer_id, head, HeadRefusal::seq_went_back,
             fmt::format("seq {} is below the head of {} records (hash {}...) witnessed before: {}'s trail is "
                         "shorter than it was",
                         head.seq, before.seq, short_hash(before.hash), peer_id));
      return;
    }
    if (head.seq == before.seq) {
      if (head.hash != before.hash) {
        refuse(peer_id, head, HeadRefusal::hash_changed,
               fmt::format("record {} was witnessed before with hash {}..., and is now {}...: {}'s trail was "
                           "rewritten",
                           head.seq, short_hash(before.hash), short_hash(head.hash), peer_id));
      }
      return;  // the same head again: nothing new to keep
    }
  }
  witnessed_[peer_id] = audit::TrailHead{head.seq, head.hash};
  ++witness_records_;
  spdlog::debug("peer {}: witnessed its audit head {} ({}...)", peer_id, head.seq, short_hash(head.hash));
  links_.audit(audit::witness_record(peer_id, head));
}

void HeadExchange::refuse(const std::string& peer_id, const audit::SignedHead& head, HeadRefusal reason,
                          const std::string& text) {
  spdlog::warn("peer {}: refused its audit head {}: {}: {}", peer_id, head.seq, to_string(reason), text);
  audit::AuditRecord record;
  record.kind = "peer_refused";
  record.node = peer_id;
  record.detail = json::Object()
                      .add("peer_gateway", true)
                      .add("peer", peer_id)
                      .add("frame", "audit_head")
                      .add("reason", to_string(reason))
                      .add("detail", text)
                      .add("seq", head.seq)
                      .add("hash", head.hash)
                      .add("signed_unix_ms", head.signed_unix_ms)
                      .str();
  links_.audit(std::move(record));
  links_.send(peer_id, wire::error_frame(v1::ERROR_CODE_NOT_PERMITTED,
                                         fmt::format("audit head {} refused: {}", head.seq, text), false));
}

}  // namespace icegate::federation
