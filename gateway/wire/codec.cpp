#include "gateway/wire/codec.hpp"

#include <algorithm>
#include <set>

#include <fmt/format.h>

namespace icegate::wire {

std::string to_string(const DecodeProblem& problem) {
  return fmt::format("{}: {}", problem.field, problem.problem);
}

namespace {

std::optional<AddresseeKind> decode_kind(v1::AddresseeKind kind) {
  switch (kind) {
    case v1::ADDRESSEE_KIND_NODE: return AddresseeKind::node;
    case v1::ADDRESSEE_KIND_ROLE: return AddresseeKind::role;
    case v1::ADDRESSEE_KIND_LIST: return AddresseeKind::list;
    case v1::ADDRESSEE_KIND_ORGANISATION: return AddresseeKind::organisation;
    default: return std::nullopt;  // UNSPECIFIED, or a value from a newer schema
  }
}

v1::AddresseeKind encode_kind(AddresseeKind kind) {
  switch (kind) {
    case AddresseeKind::node: return v1::ADDRESSEE_KIND_NODE;
    case AddresseeKind::role: return v1::ADDRESSEE_KIND_ROLE;
    case AddresseeKind::list: return v1::ADDRESSEE_KIND_LIST;
    case AddresseeKind::organisation: return v1::ADDRESSEE_KIND_ORGANISATION;
  }
  return v1::ADDRESSEE_KIND_UNSPECIFIED;
}

// Collects the first problem found; later checks are skipped once one is set.
class Checker {
 public:
  Checker(const MessageLimits& limits, DecodeProblem& problem) : limits_(limits), problem_(problem) {}

  bool ok() const { return !failed_; }

  void fail(std::string field, std::string problem) {
    if (failed_) return;
    failed_ = true;
    problem_ = {std::move(field), std::move(problem)};
  }

  void text(const std::string& field, const std::string& value, bool required) {
    if (required && value.empty()) fail(field, "is required");
    else if (value.size() > limits_.max_text_bytes)
      fail(field, fmt::format("is {} bytes, more than the limit of {}", value.size(), limits_.max_text_bytes));
  }

  void count(const std::string& field, std::size_t n, std::size_t max) {
    if (n > max) fail(field, fmt::format("has {} entries, more than the limit of {}", n, max));
  }

  std::optional<Label> label(const std::string& field, const v1::Label& proto, bool required) {
    text(field + ".classification", proto.classification(), required);
    count(field + ".categories", static_cast<std::size_t>(proto.categories_size()), limits_.max_categories);
    for (int i = 0; i < proto.categories_size(); ++i)
      text(fmt::format("{}.categories[{}]", field, i), proto.categories(i), true);
    if (!ok()) return std::nullopt;
    return decode(proto);
  }

 private:
  const MessageLimits& limits_;
  DecodeProblem& problem_;
  bool failed_ = false;
};

}  // namespace

Label decode(const v1::Label& proto) {
  Label label{proto.classification(), {proto.categories().begin(), proto.categories().end()}};
  normalise(label);
  return label;
}

void encode(const Label& label, v1::Label& proto) {
  proto.set_classification(label.classification);
  proto.clear_categories();
  for (const auto& category : label.categories) proto.add_categories(category);
}

std::optional<Message> decode(const v1::Message& proto, const MessageLimits& limits,
                              DecodeProblem& problem) {
  Checker check(limits, problem);
  Message message;
  if (proto.id().empty()) check.fail("id", "is required");
  else if (!looks_like_uuid(proto.id())) check.fail("id", fmt::format("'{}' is not a UUID", proto.id()));
  check.text("originator", proto.originator(), true);
  check.text("category", proto.category(), true);
  check.text("purpose", proto.purpose(), false);
  check.text("title", proto.title(), false);
  check.count("addressees", static_cast<std::size_t>(proto.addressees_size()), limits.max_addressees);
  check.count("portions", static_cast<std::size_t>(proto.portions_size()), limits.max_portions);
  if (proto.addressees_size() == 0) check.fail("addressees", "must name at least one recipient");
  if (proto.portions_size() == 0) check.fail("portions", "a message needs at least one portion");
  if (!check.ok()) return std::nullopt;

  message.id = proto.id();
  message.originator = proto.originator();
  message.created_unix_ms = proto.created_unix_ms();
  message.category = proto.category();
  message.purpose = proto.purpose();
  message.title = proto.title();
  message.derived_from = proto.derived_from();
  message.label_scheme = proto.label_scheme();
  message.original_scheme = proto.original_scheme();
  message.handling = decode(proto.handling());
  check.text("derived_from", message.derived_from, false);
  check.text("label_scheme", message.label_scheme, false);
  check.text("original_scheme", message.original_scheme, false);
  check.text("handling.not_before_event", message.handling.not_before_event, false);
  if (message.handling.not_after_unix_ms != 0 && message.handling.not_before_unix_ms > message.handling.not_after_unix_ms)
    check.fail("handling.not_after_unix_ms", "is before not_before_unix_ms: the message could never be released");

  for (int i = 0; i < proto.addressees_size() && check.ok(); ++i) {
    const auto& addressee = proto.addressees(i);
    const std::string field = fmt::format("addressees[{}]", i);
    auto kind = decode_kind(addressee.kind());
    if (!kind) check.fail(field + ".kind", fmt::format("unknown addressee kind {}", static_cast<int>(addressee.kind())));
    check.text(field + ".name", addressee.name(), true);
    if (check.ok()) message.addressees.push_back({*kind, addressee.name()});
  }

  if (proto.has_label() && !proto.label().classification().empty()) {
    if (auto label = check.label("label", proto.label(), true)) message.label = std::move(*label);
  }
  if (proto.has_original_label() && !proto.original_label().classification().empty()) {
    if (auto label = check.label("original_label", proto.original_label(), true))
      message.original_label = std::move(*label);
  }

  std::set<std::string, std::less<>> portion_ids;
  for (int i = 0; i < proto.portions_size() && check.ok(); ++i) {
    const auto& portion = proto.portions(i);
    const std::string field = fmt::format("portions[{}]", i);
    std::string id = portion.id().empty() ? std::to_string(i + 1) : portion.id();
    check.text(field + ".id", id, true);
    if (!portion_ids.insert(id).second) check.fail(field + ".id", fmt::format("'{}' is used twice", id));
    if (!portion.has_label()) check.fail(field + ".label", "is required");
    auto label = check.label(field + ".label", portion.label(), true);
    std::optional<Label> original;
    if (portion.has_original_label() && !portion.original_label().classification().empty())
      original = check.label(field + ".original_label", portion.original_label(), true);
    if (!portion.salt().empty() && portion.salt().size() != portion_salt_bytes)
      check.fail(field + ".salt", fmt::format("is {} bytes; a salt is {} bytes, or absent", portion.salt().size(),
                                              portion_salt_bytes));
    if (check.ok())
      message.portions.push_back(
          {std::move(id), std::move(*label), portion.body(), original.value_or(Label{}), portion.salt()});
  }
  if (!check.ok()) return std::nullopt;
  return message;
}

namespace {

// `message` encoded with `label` as its overall label and only the portions
// `released` keeps; `keep_original_label`: its overall original label too.
template <typename Released>
void encode_message(const Message& message, const Label& label, bool keep_original_label, Released released,
                    v1::Message& proto) {
  proto.set_id(message.id);
  proto.set_originator(message.originator);
  proto.set_created_unix_ms(message.created_unix_ms);
  proto.set_category(message.category);
  proto.set_purpose(message.purpose);
  proto.set_title(message.title);
  proto.set_derived_from(message.derived_from);
  proto.set_label_scheme(message.label_scheme);
  proto.set_original_scheme(message.original_scheme);
  if (keep_original_label && !message.original_label.classification.empty())
    encode(message.original_label, *proto.mutable_original_label());
  if (message.handling != Handling{}) encode(message.handling, *proto.mutable_handling());
  proto.clear_addressees();
  for (const auto& addressee : message.addressees) {
    auto* out = proto.add_addressees();
    out->set_kind(encode_kind(addressee.kind));
    out->set_name(addressee.name);
  }
  if (!label.classification.empty()) encode(label, *proto.mutable_label());
  proto.clear_portions();
  for (const auto& portion : message.portions) {
    if (!released(portion)) continue;
    auto* out = proto.add_portions();
    out->set_id(portion.id);
    encode(portion.label, *out->mutable_label());
    if (!portion.original_label.classification.empty()) encode(portion.original_label, *out->mutable_original_label());
    out->set_body(portion.body);
    if (!portion.salt.empty()) out->set_salt(portion.salt);
  }
}

}  // namespace

void encode(const Message& message, v1::Message& proto) {
  encode_message(message, message.label, true, [](const Portion&) { return true; }, proto);
}

void encode(const Message& message, const RecipientDecision& decision, v1::Message& proto) {
  const auto& released = decision.released_portion_ids;
  const auto releases = [&](const Portion& portion) {
    return std::find(released.begin(), released.end(), portion.id) != released.end();
  };
  // A translated message's overall original label describes the whole; a
  // redacted version keeps only its portions' own original labels.
  const bool whole = std::all_of(message.portions.begin(), message.portions.end(), releases);
  encode_message(message, decision.released_label, whole, releases, proto);
}

namespace {

std::optional<Route> decode_route(const v1::Route& proto, const ForwardLimits& limits, DecodeProblem& problem) {
  Checker check(limits.message, problem);
  Route route;
  route.origin_gateway = proto.origin_gateway();
  check.text("route.origin_gateway", route.origin_gateway, true);
  if (proto.hop_count() == 0) check.fail("route.hop_count", "is required (1 on the first link)");
  else if (proto.hop_count() > limits.max_hops)
    check.fail("route.hop_count", fmt::format("is {}, more than the limit of {} hops: a routing loop, or a route "
                                              "too long",
                                              proto.hop_count(), limits.max_hops));
  else if (static_cast<std::uint32_t>(proto.via_size()) != proto.hop_count() - 1)
    check.fail("route.via", fmt::format("names {} gateways, but a hop_count of {} means {}", proto.via_size(),
                                        proto.hop_count(), proto.hop_count() - 1));
  route.hop_count = proto.hop_count();
  std::set<std::string, std::less<>> gateways{route.origin_gateway};
  for (int i = 0; i < proto.via_size() && check.ok(); ++i) {
    const std::string field = fmt::format("route.via[{}]", i);
    check.text(field, proto.via(i), true);
    if (check.ok() && !gateways.insert(proto.via(i)).second)
      check.fail(field, fmt::format("'{}' is named twice in the route: a routing loop", proto.via(i)));
    route.via.push_back(proto.via(i));
  }
  if (!check.ok()) return std::nullopt;

  if (!proto.has_binding()) {
    check.fail("route.binding", "is required");
    return std::nullopt;
  }
  const v1::LabelBinding& binding = proto.binding();
  if (binding.version() != label_binding_version)
    check.fail("route.binding.version",
               fmt::format("is {}; this gateway knows version {}", binding.version(), label_binding_version));
  BoundFields& fields = route.binding.fields;
  fields = {binding.message_id(), binding.originator(),   binding.created_unix_ms(), binding.category(),
            binding.purpose(),    binding.label_scheme(), binding.title(),           binding.derived_from(),
            binding.original_scheme(), decode(binding.handling())};
  check.text("route.binding.message_id", fields.message_id, true);
  check.text("route.binding.originator", fields.originator, true);
  check.text("route.binding.category", fields.category, true);
  check.text("route.binding.purpose", fields.purpose, false);
  check.text("route.binding.label_scheme", fields.label_scheme, false);
  check.text("route.binding.title", fields.title, false);
  check.text("route.binding.derived_from", fields.derived_from, false);
  check.text("route.binding.original_scheme", fields.original_scheme, false);
  check.text("route.binding.handling.not_before_event", fields.handling.not_before_event, false);
  if (binding.portion_digests_size() == 0)
    check.fail("route.binding.portion_digests", "must hold at least one digest");
  check.count("route.binding.portion_digests", static_cast<std::size_t>(binding.portion_digests_size()),
              limits.message.max_portions);
  for (int i = 0; i < binding.portion_digests_size() && check.ok(); ++i) {
    const std::string& digest = binding.portion_digests(i);
    Sha256Digest bytes{};
    if (digest.size() != bytes.size())
      check.fail(fmt::format("route.binding.portion_digests[{}]", i),
                 fmt::format("is {} bytes; a SHA-256 digest is {}", digest.size(), bytes.size()));
    else
      std::copy(digest.begin(), digest.end(), bytes.begin());
    route.binding.portion_digests.push_back(bytes);
  }
  if (binding.signature().empty()) check.fail("route.binding.signature", "is required");
  else if (binding.signature().size() > limits.max_signature_bytes)
    check.fail("route.binding.signature", fmt::format("is {} bytes, more than the limit of {}",
                                                      binding.signature().size(), limits.max_signature_bytes));
  if (binding.certificate_pem().empty()) check.fail("route.binding.certificate_pem", "is required");
  else if (binding.certificate_pem().size() > limits.max_certificate_bytes)
    check.fail("route.binding.certificate_pem", fmt::format("is {} bytes, more than the limit of {}",
                                                            binding.certificate_pem().size(),
                                                            limits.max_certificate_bytes));
  if (!check.ok()) return std::nullopt;
  route.binding.signed_unix_ms = binding.signed_unix_ms();
  route.binding.signature = binding.signature();
  route.binding.certificate_pem = binding.certificate_pem();
  return route;
}

}  // namespace

std::optional<ForwardedMessage> decode(const v1::Forward& proto, const ForwardLimits& limits,
                                       DecodeProblem& problem) {
  if (!proto.has_message()) {
    problem = {"message", "is required"};
    return std::nullopt;
  }
  auto message = decode(proto.message(), limits.message, problem);
  if (!message) {
    problem.field = "message." + problem.field;
    return std::nullopt;
  }
  if (!proto.has_route()) {
    problem = {"route", "is required"};
    return std::nullopt;
  }
  auto route = decode_route(proto.route(), limits, problem);
  if (!route) return std::nullopt;
  return ForwardedMessage{std::move(*message), std::move(*route)};
}

void encode(const ForwardedMessage& forwarded, v1::Forward& proto) {
  encode(forwarded.message, *proto.mutable_message());
  const Route& route = forwarded.route;
  v1::Route& out = *proto.mutable_route();
  out.set_origin_gateway(route.origin_gateway);
  out.clear_via();
  for (const auto& gateway : route.via) out.add_via(gateway);
  out.set_hop_count(route.hop_count);
  const LabelBinding& binding = route.binding;
  v1::LabelBinding& bound = *out.mutable_binding();
  bound.set_version(binding.version);
  bound.set_message_id(binding.fields.message_id);
  bound.set_originator(binding.fields.originator);
  bound.set_created_unix_ms(binding.fields.created_unix_ms);
  bound.set_category(binding.fields.category);
  bound.set_purpose(binding.fields.purpose);
  bound.set_label_scheme(binding.fields.label_scheme);
  bound.set_title(binding.fields.title);
  bound.set_derived_from(binding.fields.derived_from);
  bound.set_original_scheme(binding.fields.original_scheme);
  if (binding.fields.handling != Handling{}) encode(binding.fields.handling, *bound.mutable_handling());
  bound.clear_portion_digests();
  for (const auto& digest : binding.portion_digests)
    bound.add_portion_digests(reinterpret_cast<const char*>(digest.data()), digest.size());
  bound.set_signed_unix_ms(binding.signed_unix_ms);
  bound.set_signature(binding.signature);
  bound.set_certificate_pem(binding.certificate_pem);
}

v1::Decision encode(Decision decision) {
  switch (decision) {
    case Decision::release: return v1::DECISION_RELEASE;
    case Decision::release_redacted: return v1::DECISION_RELEASE_REDACTED;
    case Decision::hold: return v1::DECISION_HOLD;
    case Decision::deny: return v1::DECISION_DENY;
  }
  return v1::DECISION_UNSPECIFIED;
}

std::optional<Decision> decode(v1::Decision decision) {
  switch (decision) {
    case v1::DECISION_RELEASE: return Decision::release;
    case v1::DECISION_RELEASE_REDACTED: return Decision::release_redacted;
    case v1::DECISION_HOLD: return Decision::hold;
    case v1::DECISION_DENY: return Decision::deny;
    default: return std::nullopt;
  }
}

void encode(const WithheldPortion& withheld, v1::Withheld& proto) {
  proto.set_portion_id(withheld.portion_id);
  encode(withheld.label, *proto.mutable_label());
  proto.set_reason(withheld.reason);
  for (const auto& rule : withheld.rule_ids) proto.add_rule_ids(rule);
}

WithheldPortion decode(const v1::Withheld& proto) {
  return {proto.portion_id(), decode(proto.label()), proto.reason(),
          {proto.rule_ids().begin(), proto.rule_ids().end()}};
}

void encode(const RecipientDecision& decision, bool delivered, v1::RecipientOutcome& proto) {
  proto.set_node_id(decision.node_id);
  proto.set_decision(encode(decision.decision));
  for (const auto& id : decision.released_portion_ids) proto.add_released_portion_ids(id);
  if (!decision.released_label.classification.empty())
    encode(decision.released_label, *proto.mutable_released_label());
  for (const auto& withheld : decision.withheld) encode(withheld, *proto.add_withheld());
  for (const auto& rule : decision.rule_ids) proto.add_rule_ids(rule);
  proto.set_reason(decision.reason);
  proto.set_delivered(delivered);
  proto.set_hold_id(decision.hold_id);
  proto.set_held_for(decision.held_for);
  proto.set_occasional(decision.occasional);
}

RecipientDecision decode(const v1::RecipientOutcome& proto) {
  RecipientDecision decision;
  decision.node_id = proto.node_id();
  decision.decision = decode(proto.decision()).value_or(Decision::deny);
  decision.released_portion_ids.assign(proto.released_portion_ids().begin(), proto.released_portion_ids().end());
  if (proto.has_released_label()) decision.released_label = decode(proto.released_label());
  for (const auto& withheld : proto.withheld()) decision.withheld.push_back(decode(withheld));
  decision.rule_ids.assign(proto.rule_ids().begin(), proto.rule_ids().end());
  decision.reason = proto.reason();
  decision.hold_id = proto.hold_id();
  decision.held_for = proto.held_for();
  decision.occasional = proto.occasional();
  return decision;
}

void encode(const Handling& handling, v1::Handling& proto) {
  proto.set_originator_control(handling.originator_control);
  proto.set_no_onward_sharing(handling.no_onward_sharing);
  proto.set_not_before_unix_ms(handling.not_before_unix_ms);
  proto.set_not_before_event(handling.not_before_event);
  proto.set_not_after_unix_ms(handling.not_after_unix_ms);
}

Handling decode(const v1::Handling& proto) {
  return {proto.originator_control(), proto.no_onward_sharing(), proto.not_before_unix_ms(), proto.not_before_event(),
          proto.not_after_unix_ms()};
}

void encode(const HopStep& step, v1::HopOutcome& proto) {
  proto.set_gateway(step.gateway);
  proto.set_hop(step.hop);
  proto.set_next_peer(step.next_peer);
  proto.set_decision(encode(step.decision));
  for (const auto& withheld : step.withheld) encode(withheld, *proto.add_withheld());
  proto.set_refusal(step.refusal);
  for (const auto& addressee : step.addressees) proto.add_addressees(addressee);
  proto.set_recipients(step.recipients);
  proto.set_reason(step.reason);
}

HopStep decode(const v1::HopOutcome& proto) {
  HopStep step;
  step.gateway = proto.gateway();
  step.hop = proto.hop();
  step.next_peer = proto.next_peer();
  step.decision = decode(proto.decision()).value_or(Decision::deny);
  for (const auto& withheld : proto.withheld()) step.withheld.push_back(decode(withheld));
  step.refusal = proto.refusal();
  step.addressees.assign(proto.addressees().begin(), proto.addressees().end());
  step.recipients = proto.recipients();
  step.reason = proto.reason();
  return step;
}

std::optional<HopReport> decode(const v1::HopReport& proto, const ForwardLimits& limits, DecodeProblem& problem) {
  const std::size_t max_text = limits.message.max_text_bytes;
  auto fail = [&](std::string field, std::string what) {
    problem = {std::move(field), std::move(what)};
    return std::nullopt;
  };
  if (!looks_like_uuid(proto.message_id()))
    return fail("message_id", fmt::format("'{}' is not a UUID", proto.message_id()));
  // "<message id>/<gateway>": never a message id, and always its message's.
  const std::string& id = proto.report_id();
  const std::size_t prefix = proto.message_id().size() + 1;
  if (id.size() <= prefix || id.compare(0, prefix, proto.message_id() + "/") != 0 || id.size() > prefix + max_text)
    return fail("report_id", fmt::format("'{}' is not '{}/' and the reporting gateway's id", id, proto.message_id()));
  if (proto.originator().empty()) return fail("originator", "is required");
  if (proto.originator().size() > max_text) return fail("originator", fmt::format("is longer than {} bytes", max_text));
  if (proto.path().empty()) return fail("path", "is required: the gateways before the reporting one");
  if (static_cast<std::size_t>(proto.path_size()) > limits.max_hops)
    return fail("path", fmt::format("names {} gateways, more than {}", proto.path_size(), limits.max_hops));
  for (int i = 0; i < proto.path_size(); ++i)
    if (proto.path(i).empty() || proto.path(i).size() > max_text)
      return fail(fmt::format("path[{}]", i), "is empty or too long");
  // A gateway reports one step per next peer and per addressee of its own:
  // the message's addressees (twice: a decision each way) bound them.
  const std::size_t max_steps = 2 * limits.message.max_addressees;
  if (static_cast<std::size_t>(proto.hops_size()) > max_steps)
    return fail("hops", fmt::format("has {} steps, more than {}", proto.hops_size(), max_steps));
  HopReport report;
  report.report_id = proto.report_id();
  report.message_id = proto.message_id();
  report.originator = proto.originator();
  report.path.assign(proto.path().begin(), proto.path().end());
  for (int i = 0; i < proto.hops_size(); ++i) {
    const v1::HopOutcome& step = proto.hops(i);
    if (step.gateway().empty()) return fail(fmt::format("hops[{}].gateway", i), "is required");
    if (!decode(step.decision()))
      return fail(fmt::format("hops[{}].decision", i), "is not a decision");
    if (static_cast<std::size_t>(step.withheld_size()) > limits.message.max_portions)
      return fail(fmt::format("hops[{}].withheld", i), "names more portions than a message may have");
    report.hops.push_back(decode(step));
  }
  return report;
}

void encode(const HopReport& report, v1::HopReport& proto) {
  proto.set_report_id(report.report_id);
  proto.set_message_id(report.message_id);
  proto.set_originator(report.originator);
  for (const auto& gateway : report.path) proto.add_path(gateway);
  for (const auto& step : report.hops) encode(step, *proto.add_hops());
}

}  // namespace icegate::wire
