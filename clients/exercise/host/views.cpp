#include "clients/exercise/host/views.hpp"

#include <cctype>

#include <fmt/format.h>

#include "gateway/model/json.hpp"
#include "gateway/policy/engine.hpp"

namespace icegate::exercise::host {

namespace {

std::string number(double value) { return fmt::format("{}", value); }

// "release_redacted", as docs/HOSTING.md writes decisions (the wire's names, lower case).
std::string decision_text(Decision decision) {
  std::string text(to_string(decision));
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

struct Style {
  std::string marking, colour, text_colour;
};

Style style_of(const policy::CompiledPolicy* policy, const Label& label) {
  if (!policy) return {to_string(label), "", ""};
  const auto colours = policy->classification_colours(label.classification);
  return {policy->display_marking(label), std::string(colours.colour), std::string(colours.text_colour)};
}

std::string_view tag_set_kind(const policy::LabelScheme& scheme, const std::string& tag_set) {
  for (const auto& set : scheme.tag_sets)
    if (set.name == tag_set) switch (set.type) {
        case policy::TagSetType::restrictive: return "restrictive";
        case policy::TagSetType::permissive: return "permissive";
        case policy::TagSetType::informative: return "informative";
      }
  return "";
}

std::string me_json(const policy::CompiledPolicy* policy, const std::string& node_id) {
  json::Object me;
  me.add("node", node_id);
  const policy::Node* node = policy ? policy->find_node(node_id) : nullptr;
  if (!node) return me.str();
  me.add("name", node->name);
  json::Object organisation, role;
  organisation.add("id", node->organisation);
  for (const auto& o : policy->source().organisations)
    if (o.id == node->organisation) organisation.add("name", o.name).add("kind", o.kind);
  role.add("id", node->role);
  for (const auto& r : policy->source().roles)
    if (r.id == node->role) role.add("name", r.name).add("level", r.level);
  me.add_raw("organisation", organisation.str()).add_raw("role", role.str()).add("vetting", node->vetting)
      .add("categories", node->categories);
  return me.str();
}

std::string message_portions_json(const policy::CompiledPolicy* policy, const Message& message) {
  std::vector<std::string> portions;
  for (const auto& portion : message.portions) portions.push_back(portion_json(policy, portion));
  return json_array(portions);
}

}  // namespace

std::string directory_json(const policy::CompiledPolicy* policy) {
  std::vector<std::string> nodes, roles, lists, organisations;
  if (policy) {
    const auto& p = policy->source();
    for (const auto& n : p.nodes)
      nodes.push_back(json::Object().add("id", n.id).add("name", n.name).add("organisation", n.organisation).str());
    for (const auto& r : p.roles) roles.push_back(json::Object().add("id", r.id).add("name", r.name).str());
    for (const auto& l : p.lists) lists.push_back(json::Object().add("id", l.id).add("name", l.name).str());
    for (const auto& o : p.organisations) organisations.push_back(json::Object().add("id", o.id).add("name", o.name).str());
    // Across gateways: what each peer speaks for, addressed as if local and
    // decided again at every hop (docs/FEDERATION.md, "Addressing and routing").
    for (const auto& peer : p.peers) {
      auto remote = [&](std::vector<std::string>& into, const std::vector<std::string>& ids) {
        for (const auto& id : ids) into.push_back(json::Object().add("id", id).add("name", id).add("gateway", peer.id).str());
      };
      remote(nodes, peer.speaks_for.nodes);
      remote(roles, peer.speaks_for.roles);
      remote(organisations, peer.speaks_for.organisations);
    }
  }
  return json::Object()
      .add_raw("nodes", json_array(nodes))
      .add_raw("roles", json_array(roles))
      .add_raw("lists", json_array(lists))
      .add_raw("organisations", json_array(organisations))
      .str();
}

std::string scheme_json(const policy::CompiledPolicy* policy) {
  std::vector<std::string> classifications, categories;
  if (policy) {
    const auto& scheme = policy->source().scheme;
    for (const auto& c : scheme.classifications)
      classifications.push_back(json::Object()
                                    .add("name", c.name)
                                    .add("marking", c.marking.empty() ? c.name : c.marking)
                                    .add("colour", c.colour)
                                    .add("text_colour", c.text_colour)
                                    .str());
    for (const auto& c : scheme.categories)
      categories.push_back(json::Object().add("name", c.name).add("kind", tag_set_kind(scheme, c.tag_set)).str());
  }
  return json::Object().add_raw("classifications", json_array(classifications)).add_raw("categories", json_array(categories)).str();
}

std::string json_array(const std::vector<std::string>& values) { return fmt::format("[{}]", fmt::join(values, ",")); }

std::string label_json(const Label& label) {
  return json::Object().add("classification", label.classification).add("categories", label.categories).str();
}

std::string clock_json(const TableStatus& status) {
  json::Object clock;
  clock.add("state", status.state)
      .add("scenario_time", format_scenario_time(status.now))
      .add("unix_ms", static_cast<std::int64_t>(status.t0_unix_ms + status.now.count()))
      .add_raw("speed", number(status.speed));
  if (status.next) clock.add("next", format_scenario_time(*status.next));
  if (!status.last_item.empty()) clock.add("last_item", status.last_item);
  return clock.str();
}

std::string portion_json(const policy::CompiledPolicy* policy, const Portion& portion) {
  const Style style = style_of(policy, portion.label);
  return json::Object()
      .add("id", portion.id)
      .add_raw("label", label_json(portion.label))
      .add("marking", style.marking)
      .add("colour", style.colour)
      .add("text_colour", style.text_colour)
      .add("body", portion.body)
      .str();
}

std::string withheld_json(const policy::CompiledPolicy* policy, const WithheldPortion& withheld) {
  const Style style = style_of(policy, withheld.label);
  return json::Object()
      .add("portion_id", withheld.portion_id)
      .add_raw("label", label_json(withheld.label))
      .add("marking", style.marking)
      .add("colour", style.colour)
      .add("text_colour", style.text_colour)
      .add("reason", withheld.reason)
      .add("rules", withheld.rule_ids)
      .str();
}

std::string outcome_json(const ActionOutcome& outcome, const std::string& gateway) {
  json::Object object;
  object.add("node", outcome.node);
  if (!gateway.empty()) object.add("gateway", gateway);
  return object
      .add("decision", decision_text(outcome.decision))
      .add("released", outcome.released_labels)
      .add("withheld", outcome.withheld_labels)
      .add("reason", outcome.reason)
      .add("rules", outcome.rules)
      .add("follow_up", outcome.follow_up)
      .str();
}

std::string media_json(const MediaRelease& media) {
  return json::Object()
      .add("id", media.id)
      .add("at", format_scenario_time(media.at))
      .add("kind", media.kind)
      .add("source", media.source)
      .add("headline", media.headline)
      .add("body", media.body)
      .str();
}

std::string seat_view_json(const SeatViewInput& in) {
  const policy::CompiledPolicy* policy = in.policy;
  std::vector<std::string> inbox, receipts, reviews, sent, media, may_trigger;
  for (const auto& d : in.seat.inbox) {
    std::vector<std::string> withheld;
    for (const auto& w : d.withheld) withheld.push_back(withheld_json(policy, w));
    inbox.push_back(json::Object()
                        .add("seq", static_cast<std::int64_t>(d.seq))
                        .add("at", format_scenario_time(d.at))
                        .add("message_id", d.message.id)
                        .add("from", d.message.originator)
                        .add("title", d.message.title)
                        .add("category", d.message.category)
                        .add("purpose", d.message.purpose)
                        .add("decision", decision_text(d.decision))
                        .add("reason", d.reason)
                        .add("rules", d.rules)
                        .add("inject", d.inject)
                        .add_raw("label", label_json(d.message.label))
                        .add_raw("portions", message_portions_json(policy, d.message))
                        .add_raw("withheld", json_array(withheld))
                        .str());
  }
  for (const auto& r : in.seat.receipts) {
    std::vector<std::string> outcomes;
    for (const auto& o : r.outcomes) outcomes.push_back(outcome_json(o, in.gateway_of ? in.gateway_of(o.node) : ""));
    receipts.push_back(json::Object()
                           .add("at", format_scenario_time(r.at))
                           .add("message_id", r.message_id)
                           .add("title", r.title)
                           .add("follow_up", r.follow_up)
                           .add("unresolved", r.unresolved)
                           .add_raw("outcomes", json_array(outcomes))
                           .str());
  }
  for (const auto& r : in.seat.reviews) {
    std::vector<std::string> not_shown;
    for (const auto& w : r.not_shown) not_shown.push_back(withheld_json(policy, w));
    const std::string message = json::Object()
                                    .add("message_id", r.message.id)
                                    .add("title", r.message.title)
                                    .add("from", r.message.originator)
                                    .add("category", r.message.category)
                                    .add_raw("label", label_json(r.message.label))
                                    .add_raw("portions", message_portions_json(policy, r.message))
                                    .add_raw("not_shown", json_array(not_shown))
                                    .str();
    reviews.push_back(json::Object()
                          .add("hold_id", r.hold_id)
                          .add("consent", r.consent)
                          .add("at", format_scenario_time(r.at))
                          .add_raw("message", message)
                          .add("recipients", r.recipients)
                          .add("reason", r.reason)
                          .add("rules", r.rules)
                          .add("answer", r.answer)
                          .str());
  }
  for (const auto& s : in.seat.sent)
    sent.push_back(json::Object()
                       .add("at", format_scenario_time(s.at))
                       .add("what", s.what)
                       .add("message_id", s.message_id)
                       .add("title", s.title)
                       .add("state", s.state)
                       .add("error", s.error)
                       .str());
  for (const auto& m : in.seat.media) media.push_back(media_json(m));
  std::vector<std::string> categories, purposes;
  if (policy) {
    for (const auto& e : policy->source().events)
      if (policy->may_trigger(in.node, e.id))
        may_trigger.push_back(json::Object().add("id", e.id).add("description", e.description).str());
    categories = policy->source().information_categories;
    purposes = policy->source().purposes;
  }
  json::Object view;
  view.add("version", static_cast<std::int64_t>(in.version)).add("table", in.table);
  if (!in.gateway.empty()) view.add("gateway", in.gateway);
  return view
      .add_raw("me", me_json(policy, in.node))
      .add_raw("clock", clock_json(in.status))
      .add_raw("inbox", json_array(inbox))
      .add_raw("receipts", json_array(receipts))
      .add_raw("reviews", json_array(reviews))
      .add_raw("sent", json_array(sent))
      .add_raw("media", json_array(media))
      .add_raw("may_trigger", json_array(may_trigger))
      .add_raw("directory", directory_json(policy))
      .add("categories", categories)
      .add("purposes", purposes)
      .add_raw("scheme", scheme_json(policy))
      .add("connected", in.seat.connected)
      .add("pages_open", static_cast<std::int64_t>(in.pages_open))
      .str();
}

}  // namespace icegate::exercise::host
