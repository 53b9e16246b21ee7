#include "clients/exercise/check.hpp"

#include <algorithm>
#include <functional>
#include <map>
#include <set>

#include <fmt/format.h>

#include "gateway/policy/checker.hpp"
#include "gateway/policy/engine.hpp"
#include "gateway/policy/peers.hpp"

namespace icegate::exercise {

std::vector<std::string> participants(const Scenario& scenario, const policy::CompiledPolicy& policy) {
  if (!scenario.nodes.empty()) return scenario.nodes;
  std::vector<std::string> nodes;
  for (const auto& node : policy.source().nodes) nodes.push_back(node.id);
  return nodes;
}

namespace {

template <typename Items>
std::vector<std::string> ids_of(const Items& items) {
  std::vector<std::string> ids;
  for (const auto& item : items) ids.push_back(item.id);
  return ids;
}

bool contains(const std::vector<std::string>& names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

class PolicyCheck {
 public:
  PolicyCheck(const Scenario& scenario, const policy::CompiledPolicy& policy)
      : scenario_(scenario), policy_(policy), source_(policy.source()) {
    const auto taking_part = participants(scenario, policy);
    participants_.insert(taking_part.begin(), taking_part.end());
    nodes_ = ids_of(source_.nodes);
    roles_ = ids_of(source_.roles);
    lists_ = ids_of(source_.lists);
    organisations_ = ids_of(source_.organisations);
    events_ = ids_of(source_.events);
    for (const auto& c : source_.scheme.classifications) classifications_.push_back(c.name);
  }

  Diagnostics run() {
    for (std::size_t i = 0; i < scenario_.nodes.size(); ++i)
      if (!policy_.has_node(scenario_.nodes[i]))
        undefined(scenario_.where[fmt::format("nodes[{}]", i)], "nodes", "node", scenario_.nodes[i], nodes_);
    for (const auto& inject : scenario_.injects) inject_known(inject, fmt::format("inject {}", inject.id));
    for (const auto& c : scenario_.contingencies)
      inject_known(c.inject, fmt::format("contingency {}'s inject {}", c.id, c.inject.id));
    for (const auto& e : scenario_.expectations) {
      const std::string what = fmt::format("expectation {}", e.id);
      if (!e.node.empty()) node_known(e.node, e.where["node"], what);
      if (!e.classification.empty() && policy_.classification_rank(e.classification) < 0)
        undefined(e.where["classification"], what, "classification", e.classification, classifications_);
      if (e.kind == ExpectationKind::sends) {
        if (!e.category.empty() && !contains(source_.information_categories, e.category))
          undefined(e.where["category"], what, "information category", e.category, source_.information_categories);
        for (std::size_t i = 0; i < e.to.size(); ++i)
          addressee_known(e.to[i], e.node, e.where[fmt::format("to[{}]", i)], what);
      }
    }
    // People play only nodes that take part; a media item is shown only to seats that do.
    for (std::size_t i = 0; i < scenario_.players.size(); ++i)
      node_known(scenario_.players[i], scenario_.where[fmt::format("players[{}]", i)], "players");
    for (const auto& m : scenario_.media)
      for (std::size_t i = 0; i < m.seats.size(); ++i)
        node_known(m.seats[i], m.where[fmt::format("seats[{}]", i)], fmt::format("media item {}", m.id));
    for (const auto& r : scenario_.responses) response_known(r);
    return std::move(diagnostics_);
  }

 private:
  void undefined(const SourceLocation& at, std::string_view what, std::string_view kind, const std::string& name,
                 const std::vector<std::string>& defined) {
    auto nearest = policy::closest(name, defined);
    diagnostics_.error(Code::X011, at,
                       fmt::format("{}: {} '{}' is not defined by policy {}{}", what, kind, name, source_.name,
                                   policy::suggestion_suffix(nearest)),
                       {.suggestion = nearest});
  }

  // A node that acts, or that an expectation is about, must exist and take part.
  void node_known(const std::string& node, const SourceLocation& at, std::string_view what) {
    if (!policy_.has_node(node)) {
      auto nearest = policy::closest(node, nodes_);
      diagnostics_.error(Code::X011, at,
                         fmt::format("{}: '{}' is not a node of policy {}{}", what, node, source_.name,
                                     policy::suggestion_suffix(nearest)),
                         {.suggestion = nearest});
    } else if (!participants_.contains(node)) {
      diagnostics_.error(Code::X021, at,
                         fmt::format("{}: node '{}' does not take part (it is not in the scenario's nodes)", what, node));
    }
  }

  void event_known(const std::string& event, const SourceLocation& at, std::string_view what,
                   const std::string* by = nullptr) {
    if (!policy_.has_event(event)) {
      undefined(at, what, "event", event, events_);
    } else if (by && policy_.has_node(*by) && !policy_.may_trigger(*by, event)) {
      // The gateway would refuse it at run time; say so now, with the line.
      diagnostics_.error(Code::X022, at,
                         fmt::format("{}: '{}' may not trigger event '{}' (not in its triggered_by in policy {})",
                                     what, *by, event, source_.name));
    }
  }

  void addressee_known(const Addressee& addressee, const std::string& sender, const SourceLocation& at,
                       std::string_view what) {
    const std::string text =
        addressee.kind == AddresseeKind::node ? addressee.name : fmt::format("{}:{}", to_string(addressee.kind), addressee.name);
    const std::string where = fmt::format("{}: addressee '{}'", what, text);
    // Across gateways: a name this policy does not define, which a peer
    // speaks for, is that peer's to resolve (docs/FEDERATION.md).
    if (!source_.peers.empty() && !policy::is_local(policy_, addressee) && policy::next_hop(source_, addressee))
      return;
    switch (addressee.kind) {
      case AddresseeKind::node:
        if (!policy_.has_node(addressee.name)) return undefined(at, where, "node", addressee.name, nodes_);
        break;
      case AddresseeKind::role:
        if (!contains(roles_, addressee.name)) return undefined(at, where, "role", addressee.name, roles_);
        break;
      case AddresseeKind::list:
        if (!contains(lists_, addressee.name)) return undefined(at, where, "list", addressee.name, lists_);
        break;
      case AddresseeKind::organisation:
        if (!contains(organisations_, addressee.name))
          return undefined(at, where, "organisation", addressee.name, organisations_);
        break;
    }
    const auto expansion = policy_.expand(std::span<const Addressee>(&addressee, 1), sender);
    if (!expansion.recipients.empty()) return;
    std::string why;
    if (!expansion.unresolved.empty()) {
      why = addressee.kind == AddresseeKind::role   ? "no node of the policy holds the role"
            : addressee.kind == AddresseeKind::list ? "the list has no members"
                                                    : "the organisation has no nodes";
    } else {
      why = fmt::format("it names only the sender, {}", sender);
    }
    // The gateway would drop it; a planner who misspelt a name needs to hear it.
    diagnostics_.error(Code::X020, at, fmt::format("{} resolves to nobody: {}", where, why));
  }

  void message_known(const MessageSpec& spec, const std::string& sender, std::string_view what) {
    for (std::size_t i = 0; i < spec.to.size(); ++i)
      addressee_known(spec.to[i], sender, spec.where[fmt::format("to[{}]", i)], what);
    if (!contains(source_.information_categories, spec.category))
      undefined(spec.where["category"], what, "information category", spec.category, source_.information_categories);
    if (!spec.purpose.empty() && !contains(source_.purposes, spec.purpose))
      undefined(spec.where["purpose"], what, "purpose", spec.purpose, source_.purposes);
    for (std::size_t i = 0; i < spec.portions.size(); ++i)
      for (const auto& problem : policy_.label_problems(spec.portions[i].label))
        diagnostics_.error(Code::X023, spec.where[fmt::format("portions[{}].label", i)],
                           fmt::format("{}: portion {}: {}", what, spec.portions[i].id, problem));
    if (!spec.handling.not_before_event.empty())
      event_known(spec.handling.not_before_event, spec.where["not_before_event"], what);
  }

  void inject_known(const Inject& inject, const std::string& what) {
    node_known(inject.from, inject.where["from"], what);
    if (inject.message) message_known(*inject.message, inject.from, what);
    if (!inject.trigger.empty()) event_known(inject.trigger, inject.where["trigger"], what, &inject.from);
  }

  void response_known(const Response& r) {
    const std::string what = fmt::format("response {}", r.id);
    node_known(r.node, r.where["node"], what);
    if (r.send) message_known(*r.send, r.node, what);
    if (!r.trigger.empty()) event_known(r.trigger, r.where["trigger"], what, &r.node);
    if (r.on == ResponseTrigger::receives_category && !r.on_value.empty() &&
        !contains(source_.information_categories, r.on_value))
      undefined(r.where["on"], what, "information category", r.on_value, source_.information_categories);
    if (r.on == ResponseTrigger::event && !r.on_value.empty()) event_known(r.on_value, r.where["on"], what);
  }

  const Scenario& scenario_;
  const policy::CompiledPolicy& policy_;
  const policy::Policy& source_;
  std::set<std::string> participants_;
  std::vector<std::string> nodes_, roles_, lists_, organisations_, events_, classifications_;
  Diagnostics diagnostics_;
};

}  // namespace

Diagnostics check_against_policy(const Scenario& scenario, const policy::CompiledPolicy& policy) {
  return PolicyCheck(scenario, policy).run();
}

std::vector<std::string> gateway_participants(const ScenarioGateway& gateway, const policy::CompiledPolicy& policy) {
  if (!gateway.nodes.empty()) return gateway.nodes;
  std::vector<std::string> nodes;
  for (const auto& node : policy.source().nodes) nodes.push_back(node.id);
  return nodes;
}

std::vector<std::string> participants(const Scenario& scenario, const GatewayPolicies& policies) {
  std::vector<std::string> nodes;
  for (std::size_t i = 0; i < scenario.gateways.size() && i < policies.size(); ++i)
    for (auto& node : gateway_participants(scenario.gateways[i], *policies[i])) nodes.push_back(std::move(node));
  return nodes;
}

namespace {

// Keeps the entries of `names` that `keep` accepts, moving their locations
// ("FIELD[i]") in `where` to their new places.
std::vector<std::string> keep_names(const std::vector<std::string>& names, std::string_view field, Locations& where,
                                    const std::function<bool(const std::string&)>& keep) {
  std::vector<std::string> kept;
  std::map<std::string, SourceLocation, std::less<>> moved;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (!keep(names[i])) continue;
    if (auto it = where.fields.find(fmt::format("{}[{}]", field, i)); it != where.fields.end())
      moved.emplace(fmt::format("{}[{}]", field, kept.size()), it->second);
    kept.push_back(names[i]);
  }
  for (auto it = where.fields.begin(); it != where.fields.end();)
    it = it->first.starts_with(std::string(field) + "[") ? where.fields.erase(it) : std::next(it);
  where.fields.merge(moved);
  return kept;
}

}  // namespace

Scenario scenario_at(const Scenario& scenario, std::size_t gateway, const policy::CompiledPolicy& policy) {
  const ScenarioGateway& g = scenario.gateways.at(gateway);
  Scenario part = scenario;
  part.gateways.clear();
  part.policy = g.policy;
  part.nodes = gateway_participants(g, policy);
  const std::set<std::string> own(part.nodes.begin(), part.nodes.end());
  const auto local = [&](const std::string& node) { return own.contains(node); };
  // The gateway's nodes are where its `nodes` were written.
  for (auto it = part.where.fields.begin(); it != part.where.fields.end();)
    it = it->first.starts_with("nodes[") ? part.where.fields.erase(it) : std::next(it);
  for (const auto& [field, at] : g.where.fields)
    if (field.starts_with("nodes[")) part.where.fields.emplace(field, at);
  std::erase_if(part.injects, [&](const Inject& i) { return !local(i.from); });
  std::erase_if(part.contingencies, [&](const Contingency& c) { return !local(c.inject.from); });
  std::erase_if(part.responses, [&](const Response& r) { return !local(r.node); });
  std::erase_if(part.expectations, [&](const Expectation& e) { return !local(e.node); });
  part.players = keep_names(scenario.players, "players", part.where, local);
  for (auto& m : part.media) m.seats = keep_names(m.seats, "seats", m.where, local);
  std::erase_if(part.media, [&](const MediaItem& m) { return m.seats.empty(); });
  return part;
}

Diagnostics check_against_gateways(const Scenario& scenario, const GatewayPolicies& policies) {
  Diagnostics diagnostics;
  const auto everyone = participants(scenario, policies);
  const std::set<std::string> taking_part(everyone.begin(), everyone.end());
  for (std::size_t i = 0; i < scenario.gateways.size() && i < policies.size(); ++i)
    diagnostics.append(check_against_policy(scenario_at(scenario, i, *policies[i]), *policies[i]));

  // A node no gateway has: its part would be played by nobody.
  const auto gateway_ids = ids_of(scenario.gateways);
  auto some_gateways = [&](const std::string& node, const SourceLocation& at, std::string_view what) {
    if (node.empty() || taking_part.contains(node)) return;
    auto nearest = policy::closest(node, everyone);
    diagnostics.error(Code::X021, at,
                      fmt::format("{}: node '{}' is not a node of any gateway of the scenario ({}){}", what, node,
                                  fmt::join(gateway_ids, ", "), policy::suggestion_suffix(nearest)),
                      {.suggestion = nearest});
  };
  for (const auto& inject : scenario.injects) some_gateways(inject.from, inject.where["from"], "inject " + inject.id);
  for (const auto& c : scenario.contingencies)
    some_gateways(c.inject.from, c.inject.where["from"], "contingency " + c.id);
  for (const auto& r : scenario.responses) some_gateways(r.node, r.where["node"], "response " + r.id);
  for (const auto& e : scenario.expectations) some_gateways(e.node, e.where["node"], "expectation " + e.id);
  for (std::size_t i = 0; i < scenario.players.size(); ++i)
    some_gateways(scenario.players[i], scenario.where[fmt::format("players[{}]", i)], "players");
  for (const auto& m : scenario.media)
    for (std::size_t i = 0; i < m.seats.size(); ++i)
      some_gateways(m.seats[i], m.where[fmt::format("seats[{}]", i)], "media item " + m.id);

  // The gateways peer: a link needs both policies to name each other.
  for (std::size_t i = 0; i < scenario.gateways.size() && i < policies.size(); ++i) {
    const ScenarioGateway& g = scenario.gateways[i];
    const auto& source = policies[i]->source();
    const SourceLocation& at = g.where["policy"];
    bool names_one = false;
    for (const auto& peer : source.peers) {
      const auto other = std::find(gateway_ids.begin(), gateway_ids.end(), peer.id);
      if (other == gateway_ids.end()) {
        diagnostics.error(Code::X024, at,
                          fmt::format("gateway {}: policy {} names peer {}, which is not a gateway of the scenario "
                                      "({}): the run cannot give it an address or a CA",
                                      g.id, source.name, peer.id, fmt::join(gateway_ids, ", ")));
        continue;
      }
      names_one = true;
      const auto j = static_cast<std::size_t>(other - gateway_ids.begin());
      if (j < policies.size() && !policy::find_peer(policies[j]->source(), g.id))
        diagnostics.error(Code::X024, at,
                          fmt::format("gateway {}: policy {} names {} as a peer, but {}'s policy {} does not name {}: "
                                      "{} would refuse the link",
                                      g.id, source.name, peer.id, peer.id, policies[j]->source().name, g.id, peer.id));
    }
    if (!names_one && scenario.gateways.size() > 1)
      diagnostics.error(Code::X024, at,
                        fmt::format("gateway {}: policy {} names none of the scenario's other gateways among its "
                                    "peers: nothing could reach it",
                                    g.id, source.name));
  }
  return diagnostics;
}

}  // namespace icegate::exercise
