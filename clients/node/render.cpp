#include "clients/node/render.hpp"

#include <fmt/format.h>
#include <fmt/ostream.h>

#include "gateway/model/json.hpp"
#include "gateway/wire/proto_json.hpp"

namespace icegate::node {

namespace {

std::string marking(const Label& label) {
  if (label.classification.empty()) return "[unmarked]";
  if (label.categories.empty()) return fmt::format("[{}]", label.classification);
  return fmt::format("[{} | {}]", label.classification, fmt::join(label.categories, " | "));
}

std::string short_id(const std::string& id) { return id.size() > 8 ? id.substr(0, 8) : id; }

void indent_body(std::ostream& out, const std::string& body) {
  std::size_t start = 0;
  while (start <= body.size()) {
    auto end = body.find('\n', start);
    if (end == std::string::npos) end = body.size();
    if (end > start || end < body.size()) fmt::print(out, "      {}\n", body.substr(start, end - start));
    start = end + 1;
  }
}

}  // namespace

void render(std::ostream& out, const Delivery& delivery) {
  const Message& m = delivery.message;
  fmt::print(out, "DELIVERY {} from {}: {}\n", short_id(m.id), m.originator, m.title.empty() ? "(untitled)" : m.title);
  fmt::print(out, "  category {} / purpose {}   label {}\n", m.category, m.purpose.empty() ? "-" : m.purpose,
             marking(m.label));
  fmt::print(out, "  decision {}  rules [{}]\n", to_string(delivery.decision), fmt::join(delivery.rule_ids, ", "));
  if (!delivery.reason.empty()) fmt::print(out, "  reason   {}\n", delivery.reason);
  for (const auto& portion : m.portions) {
    fmt::print(out, "  portion {} {}\n", portion.id, marking(portion.label));
    indent_body(out, portion.body);
  }
  for (const auto& withheld : delivery.withheld) {
    fmt::print(out, "  WITHHELD portion {} {}: {}{}\n", withheld.portion_id, marking(withheld.label), withheld.reason,
               withheld.rule_ids.empty() ? "" : fmt::format(" (rule {})", fmt::join(withheld.rule_ids, ", ")));
  }
}

void render(std::ostream& out, const Receipt& receipt) {
  fmt::print(out, "{} for {} (policy {})\n", receipt.follow_up ? "RECEIPT (follow-up)" : "RECEIPT",
             short_id(receipt.message_id), receipt.policy_version.substr(0, 19));
  if (receipt.outcomes.empty() && receipt.hops.empty()) fmt::print(out, "  no recipient\n");
  for (const auto& outcome : receipt.outcomes) {
    const auto& d = outcome.decision;
    const char* state = d.decision == Decision::deny ? "not sent" : (outcome.delivered ? "delivered" : "queued");
    if (d.decision == Decision::hold) state = "held";
    fmt::print(out, "  {:<18} {:<17} {:<9} rules [{}]\n", d.node_id, to_string(d.decision), state,
               fmt::join(d.rule_ids, ", "));
    if (d.decision == Decision::hold)
      fmt::print(out, "      hold {} waits for {}\n", d.hold_id, d.held_for);
    if (d.occasional) fmt::print(out, "      released under the occasional-access allowance\n");
    if (!d.released_portion_ids.empty())
      fmt::print(out, "      released portions {} as {}\n", fmt::join(d.released_portion_ids, ", "),
                 marking(d.released_label));
    for (const auto& withheld : d.withheld)
      fmt::print(out, "      withheld portion {} {}: {}\n", withheld.portion_id, marking(withheld.label), withheld.reason);
    if ((d.decision == Decision::deny || receipt.follow_up) && !d.reason.empty())
      fmt::print(out, "      reason: {}\n", d.reason);
  }
  for (const auto& name : receipt.unresolved_addressees) fmt::print(out, "  unresolved addressee {}\n", name);
  // Hop by hop: "hop 1 gw-wm-ctu -> gw-birmingham RELEASE_REDACTED for organisation:birmingham-cc".
  for (const auto& step : receipt.hops) {
    std::string where = step.gateway;
    if (!step.next_peer.empty()) where += " -> " + step.next_peer;
    std::string what(to_string(step.decision));
    if (!step.refusal.empty()) what += " (refused: " + step.refusal + ")";
    if (step.recipients > 0) what += fmt::format(" to {}", step.recipients);
    fmt::print(out, "  hop {} {} {} for {}\n", step.hop, where, what, fmt::join(step.addressees, ", "));
    for (const auto& withheld : step.withheld)
      fmt::print(out, "      withheld portion {}{}: {}\n", withheld.portion_id,
                 withheld.label.classification.empty() ? "" : " " + marking(withheld.label), withheld.reason);
    if (!step.reason.empty()) fmt::print(out, "      reason: {}\n", step.reason);
  }
}

void render(std::ostream& out, const ErrorNotice& error) {
  fmt::print(out, "ERROR {}{}: {}{}\n", error.code, error.fatal ? " (connection closed)" : "", error.text,
             error.message_id.empty() ? "" : fmt::format(" [message {}]", short_id(error.message_id)));
}

void render(std::ostream& out, const Acknowledgement& ack) {
  fmt::print(out, "ACK {} {}\n", short_id(ack.message_id), ack.ok ? "accepted" : "refused");
}

void render(std::ostream& out, const ReviewRequest& request) {
  const Message& m = request.message;
  fmt::print(out, "{} REQUESTED hold {} for message {} from {}: {}\n", request.consent ? "CONSENT" : "REVIEW",
             request.hold_id, short_id(m.id), m.originator, m.title.empty() ? "(untitled)" : m.title);
  fmt::print(out, "  to be released to [{}]  rules [{}]\n", fmt::join(request.recipients, ", "),
             fmt::join(request.rule_ids, ", "));
  if (!request.reason.empty()) fmt::print(out, "  reason   {}\n", request.reason);
  for (const auto& portion : m.portions) {
    fmt::print(out, "  portion {} {}\n", portion.id, marking(portion.label));
    indent_body(out, portion.body);
  }
  for (const auto& hidden : request.not_shown)
    fmt::print(out, "  NOT SHOWN portion {} {}: {}\n", hidden.portion_id, marking(hidden.label), hidden.reason);
  fmt::print(out, "  answer with: approve {} | refuse {} | redact {} PORTION[,PORTION]\n", request.hold_id,
             request.hold_id, request.hold_id);
}

void render(std::ostream& out, const NodeEvent& event) {
  std::visit(
      [&](const auto& payload) {
        using T = std::decay_t<decltype(payload)>;
        if constexpr (std::is_same_v<T, Disconnected>)
          fmt::print(out, "DISCONNECTED: {}\n", payload.reason);
        else if constexpr (std::is_same_v<T, Echo>)
          fmt::print(out, "ECHO {}\n", payload.tag);
        else
          render(out, payload);
      },
      event.payload);
}

std::string to_json(const v1::Frame& frame) { return json::serialize(wire::proto_json(frame)); }

}  // namespace icegate::node
