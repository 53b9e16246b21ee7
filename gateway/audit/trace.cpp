#include "gateway/audit/trace.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>

#include <boost/json/value.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "gateway/model/json_value.hpp"

namespace icegate::audit {
namespace {

namespace bj = boost::json;

// The detail object of a record, or null when it is not one.
bj::value detail_of(const AuditRecord& record) {
  auto parsed = json::parse(record.detail);
  return parsed.error.empty() ? std::move(parsed.value) : bj::value();
}

std::string text_of(const bj::value& object, std::string_view key) {
  const bj::value* value = json::member(object, key);
  return value && value->is_string() ? std::string(value->get_string()) : std::string();
}

std::vector<std::string> strings_of(const bj::value& object, std::string_view key) {
  std::vector<std::string> out;
  const bj::value* value = json::member(object, key);
  if (!value || !value->is_array()) return out;
  for (const bj::value& item : value->get_array())
    if (item.is_string()) out.emplace_back(item.get_string());
  return out;
}

bool is(const StoredRecord& stored, std::string_view kind) { return stored.record.kind == kind; }

// Where the trail of gateway `id` is, or -1.
int find_gateway(const std::vector<TraceGateway>& gateways, std::string_view id) {
  if (id.empty()) return -1;
  for (std::size_t i = 0; i < gateways.size(); ++i)
    if (gateways[i].id == id) return static_cast<int>(i);
  return -1;
}

// The record of `kind` in `gateway`'s trail whose node is `peer` (the
// gateway it came from), or null.
const StoredRecord* from_peer(const TraceGateway& gateway, std::string_view kind, std::string_view peer) {
  for (const StoredRecord& stored : gateway.records)
    if (is(stored, kind) && stored.record.node == peer) return &stored;
  return nullptr;
}

std::string joined(const std::vector<std::string>& values) {
  return values.empty() ? std::string("none") : fmt::format("{}", fmt::join(values, ", "));
}

}  // namespace

Trace trace(std::string_view message_id, const std::vector<TraceInput>& trails) {
  Trace result;
  result.message_id = std::string(message_id);
  std::vector<TraceGateway> gateways;
  for (const TraceInput& input : trails) {
    TraceGateway gateway;
    gateway.id = input.gateway;
    gateway.dir = input.dir;
    try {
      gateway.chain = verify(input.dir);
      gateway.records = query(input.dir, {.message_id = std::string(message_id)});
    } catch (const std::exception& error) {
      throw std::runtime_error(fmt::format("{}: {}", input.dir.string(), error.what()));
    }
    gateway.origin = std::any_of(gateway.records.begin(), gateway.records.end(),
                                 [](const StoredRecord& stored) { return is(stored, "submit"); });
    // The origin's forwards name it (their "origin" is the gateway that wrote them).
    if (gateway.id.empty() && gateway.origin)
      for (const StoredRecord& stored : gateway.records)
        if (is(stored, "peer_forward"))
          if (std::string origin = text_of(detail_of(stored.record), "origin"); !origin.empty()) {
            gateway.id = origin;
            break;
          }
    gateways.push_back(std::move(gateway));
  }

  // A trail unnamed so far is the gateway a named one forwarded to, when it
  // records receiving (or refusing) the message from that one; repeated until
  // nothing more is learnt, so a chain is named hop by hop.
  for (bool learnt = true; learnt;) {
    learnt = false;
    for (std::size_t sender = 0; sender < gateways.size(); ++sender) {
      if (gateways[sender].id.empty()) continue;
      for (const StoredRecord& forward : gateways[sender].records) {
        if (!is(forward, "peer_forward") || find_gateway(gateways, forward.record.node) >= 0) continue;
        std::vector<std::size_t> candidates;
        for (std::size_t receiver = 0; receiver < gateways.size(); ++receiver) {
          if (!gateways[receiver].id.empty()) continue;
          if (from_peer(gateways[receiver], "peer_receive", gateways[sender].id) ||
              from_peer(gateways[receiver], "peer_refused", gateways[sender].id))
            candidates.push_back(receiver);
        }
        if (candidates.size() != 1) continue;  // none, or ambiguous: left unnamed
        gateways[candidates[0]].id = forward.record.node;
        learnt = true;
      }
    }
  }

  for (const TraceGateway& gateway : gateways) {
    const std::string who = gateway.id.empty() ? gateway.dir.string() : gateway.id;
    for (const VerifyProblem& problem : gateway.chain.problems)
      result.problems.push_back({gateway.id, fmt::format("{}'s trail: seq {}: {}: {}", who, problem.seq,
                                                         to_string(problem.kind), problem.text)});
    if (gateway.records.empty())
      result.notes.push_back({gateway.id, fmt::format("{}'s trail has no record of the message", who)});
    if (gateway.id.empty() && !gateway.records.empty())
      result.notes.push_back({"", fmt::format("the trail in {} could not be matched to a gateway: name it as "
                                              "GATEWAY=DIR",
                                              gateway.dir.string())});
  }
  const auto origins = std::count_if(gateways.begin(), gateways.end(), [](const TraceGateway& g) { return g.origin; });
  if (origins > 1)
    result.problems.push_back({"", fmt::format("{} trails hold a submit of the message: a message id is accepted "
                                               "once, at its origin",
                                               origins)});
  if (origins == 0 && std::any_of(gateways.begin(), gateways.end(), [](const TraceGateway& g) {
        return !g.records.empty();
      }))
    result.notes.push_back({"", "the origin's trail (the one holding the submit) is not among those given"});
  if (std::all_of(gateways.begin(), gateways.end(), [](const TraceGateway& g) { return g.records.empty(); }))
    throw std::runtime_error(fmt::format("message {} is in none of the trails given", message_id));

  // The path: the origin first (or, without it, whichever trail starts one),
  // then each gateway as a forward reaches it.
  std::vector<std::size_t> order;
  std::set<std::size_t> placed;
  auto place = [&](std::size_t index) {
    if (placed.insert(index).second) order.push_back(index);
  };
  for (std::size_t i = 0; i < gateways.size(); ++i)
    if (gateways[i].origin) place(i);
  for (std::size_t at = 0; at < gateways.size(); ++at) {
    if (at == order.size()) {  // nothing reaches the rest: start from the next one given
      for (std::size_t i = 0; i < gateways.size(); ++i)
        if (!placed.contains(i) && !gateways[i].records.empty()) {
          place(i);
          break;
        }
      if (at == order.size()) break;
    }
    const TraceGateway& sender = gateways[order[at]];
    for (const StoredRecord& forward : sender.records) {
      if (!is(forward, "peer_forward")) continue;
      const bj::value detail = detail_of(forward.record);
      TraceHop hop;
      hop.from = sender.id;
      hop.to = forward.record.node;
      hop.decision = forward.record.decision;
      hop.forwarded = strings_of(detail, "forwarded");
      hop.reason = text_of(detail, "reason");
      if (const bj::value* withheld = json::member(detail, "withheld"); withheld && withheld->is_array())
        for (const bj::value& item : withheld->get_array())
          hop.withheld.push_back(fmt::format("{}: {}: {}", text_of(item, "portion"), text_of(item, "reason"),
                                             text_of(item, "detail")));
      const int receiver = find_gateway(gateways, hop.to);
      if (receiver < 0) {
        result.notes.push_back({hop.to, fmt::format("{} forwarded it to {}, whose trail was not given", sender.id,
                                                    hop.to)});
      } else {
        place(static_cast<std::size_t>(receiver));
        const TraceGateway& next = gateways[static_cast<std::size_t>(receiver)];
        hop.receiver_trail = true;
        if (const StoredRecord* receipt = from_peer(next, "peer_receive", sender.id)) {
          hop.received = true;
          hop.received_portions = strings_of(detail_of(receipt->record), "portions");
        }
        if (const StoredRecord* refusal = from_peer(next, "peer_refused", sender.id)) {
          const bj::value why = detail_of(refusal->record);
          hop.refused = fmt::format("{}: {}", text_of(why, "reason"), text_of(why, "detail"));
        }
        if (hop.decision == "DENY" && hop.received) {
          result.problems.push_back({next.id, fmt::format("{} recorded receiving the message from {}, which "
                                                          "recorded not sending it",
                                                          next.id, sender.id)});
        } else if (hop.received) {
          std::vector<std::string> unsent;
          for (const std::string& portion : hop.received_portions)
            if (std::find(hop.forwarded.begin(), hop.forwarded.end(), portion) == hop.forwarded.end())
              unsent.push_back(portion);
          if (!unsent.empty())
            result.problems.push_back(
                {next.id, fmt::format("{} recorded receiving portion(s) {} from {}, whose trail does not say it "
                                      "forwarded them (it forwarded {})",
                                      next.id, joined(unsent), sender.id, joined(hop.forwarded))});
        } else if (hop.decision != "DENY" && hop.refused.empty()) {
          result.notes.push_back({next.id, fmt::format("{} forwarded it to {}, whose trail has no record of "
                                                       "receiving it: still owed, or lost",
                                                       sender.id, next.id)});
        }
      }
      result.hops.push_back(std::move(hop));
    }
  }
  // A receipt with no forward behind it, in a sender's trail that was given.
  for (const TraceGateway& gateway : gateways)
    for (const StoredRecord& receipt : gateway.records) {
      if (!is(receipt, "peer_receive")) continue;
      const int sender = find_gateway(gateways, receipt.record.node);
      if (sender < 0) {
        if (!std::any_of(result.notes.begin(), result.notes.end(), [&](const TraceFinding& note) {
              return note.gateway == receipt.record.node;
            }))
          result.notes.push_back({receipt.record.node, fmt::format("{} received it from {}, whose trail was not given",
                                                                   gateway.id.empty() ? gateway.dir.string()
                                                                                      : gateway.id,
                                                                   receipt.record.node)});
        continue;
      }
      const bool forwarded = std::any_of(gateways[static_cast<std::size_t>(sender)].records.begin(),
                                         gateways[static_cast<std::size_t>(sender)].records.end(),
                                         [&](const StoredRecord& stored) {
                                           return is(stored, "peer_forward") && stored.record.node == gateway.id;
                                         });
      if (!forwarded)
        result.problems.push_back({gateway.id, fmt::format("{} recorded receiving the message from {}, whose trail "
                                                           "has no forward of it to {}",
                                                           gateway.id, receipt.record.node, gateway.id)});
    }
  for (std::size_t i = 0; i < gateways.size(); ++i) place(i);
  for (std::size_t index : order) result.gateways.push_back(std::move(gateways[index]));
  return result;
}

void write_trace_text(std::ostream& out, const Trace& trace) {
  out << fmt::format("message {}: {} trail(s), {} hop(s)\n", trace.message_id, trace.gateways.size(),
                     trace.hops.size());
  for (const TraceGateway& gateway : trace.gateways) {
    out << fmt::format("\n{}{}  {}  chain {}, {} records\n", gateway.id.empty() ? "(unnamed)" : gateway.id,
                       gateway.origin ? " (origin)" : "", gateway.dir.string(),
                       gateway.chain.intact() ? "intact" : "NOT INTACT", gateway.chain.records);
    std::ostringstream records;
    write_text(records, gateway.records);
    std::istringstream lines(records.str());
    for (std::string line; std::getline(lines, line);) out << "  " << line << '\n';
  }
  if (!trace.hops.empty()) out << "\nhops\n";
  for (const TraceHop& hop : trace.hops) {
    std::string line = fmt::format("  {} -> {}: {}", hop.from, hop.to, hop.decision);
    if (hop.decision == "DENY") line += fmt::format(", not sent: {}", hop.reason);
    else line += fmt::format(", forwarded {}", joined(hop.forwarded));
    for (const std::string& withheld : hop.withheld) line += fmt::format("; withheld {}", withheld);
    if (!hop.receiver_trail) line += "; receiver's trail not given";
    else if (!hop.refused.empty()) line += fmt::format("; REFUSED by {}: {}", hop.to, hop.refused);
    else if (hop.received) line += fmt::format("; received {}", joined(hop.received_portions));
    else if (hop.decision != "DENY") line += "; no receipt in its trail";
    out << line << '\n';
  }
  if (!trace.notes.empty()) out << "\nnotes\n";
  for (const TraceFinding& note : trace.notes) out << "  " << note.text << '\n';
  if (!trace.problems.empty()) out << "\nproblems\n";
  for (const TraceFinding& problem : trace.problems) out << "  " << problem.text << '\n';
  out << (trace.consistent() ? "\nconsistent: every trail intact, and the trails agree on every hop\n"
                             : fmt::format("\nNOT CONSISTENT: {} problem(s)\n", trace.problems.size()));
}

std::string trace_json(const Trace& trace) {
  bj::array gateways;
  for (const TraceGateway& gateway : trace.gateways) {
    std::ostringstream records;
    write_jsonl(records, gateway.records);
    bj::array parsed;
    std::istringstream lines(records.str());
    for (std::string line; std::getline(lines, line);)
      if (auto record = json::parse(line); record.error.empty()) parsed.push_back(std::move(record.value));
    bj::array problems;
    for (const VerifyProblem& problem : gateway.chain.problems)
      problems.push_back(bj::value{{"seq", problem.seq}, {"kind", to_string(problem.kind)}, {"text", problem.text}});
    gateways.push_back(bj::value{{"id", gateway.id},
                                 {"dir", gateway.dir.string()},
                                 {"origin", gateway.origin},
                                 {"chain",
                                  {{"intact", gateway.chain.intact()},
                                   {"records", gateway.chain.records},
                                   {"head", gateway.chain.head_hash},
                                   {"problems", std::move(problems)}}},
                                 {"records", std::move(parsed)}});
  }
  bj::array hops;
  for (const TraceHop& hop : trace.hops)
    hops.push_back(bj::value{{"from", hop.from},
                             {"to", hop.to},
                             {"decision", hop.decision},
                             {"forwarded", json::strings(hop.forwarded)},
                             {"withheld", json::strings(hop.withheld)},
                             {"reason", hop.reason},
                             {"receiver_trail", hop.receiver_trail},
                             {"received", hop.received},
                             {"received_portions", json::strings(hop.received_portions)},
                             {"refused", hop.refused}});
  auto findings = [](const std::vector<TraceFinding>& list) {
    bj::array out;
    for (const TraceFinding& finding : list) out.push_back(bj::value{{"gateway", finding.gateway}, {"text", finding.text}});
    return out;
  };
  const bj::value whole{{"message_id", trace.message_id},
                        {"consistent", trace.consistent()},
                        {"gateways", std::move(gateways)},
                        {"hops", std::move(hops)},
                        {"problems", findings(trace.problems)},
                        {"notes", findings(trace.notes)}};
  return json::pretty(whole) + "\n";
}

}  // namespace icegate::audit
