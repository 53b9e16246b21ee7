// explain_decision: the decision procedure of policies/README.md, one step at
// a time and in words. It is deliberately written from the model (strings
// and vectors), not from CompiledPolicy's bitsets, so that comparing the two
// checks one against the other; every sentence a portion's outcome carries
// is worded exactly as decide() words it.
#include "gateway/policy/explain.hpp"

#include <algorithm>
#include <climits>

#include <fmt/format.h>

#include "gateway/model/json_value.hpp"
#include "gateway/policy/check.hpp"
#include "gateway/policy/subject.hpp"

namespace icegate::policy {
namespace {

bool contains(const std::vector<std::string>& values, std::string_view value) {
  return std::find(values.begin(), values.end(), value) != values.end();
}

std::string bracketed(const std::vector<std::string>& values) { return fmt::format("[{}]", fmt::join(values, ", ")); }

std::string_view effect_name(Effect effect) { return effect == Effect::permit ? "permit" : "deny"; }

// "a", "a and b", "a, b and c"
std::string and_list(const std::vector<std::string>& items, std::string_view last = " and ") {
  std::string text;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) text += i + 1 == items.size() ? std::string(last) : std::string(", ");
    text += items[i];
  }
  return text;
}


std::string_view decision_name(Decision decision) { return to_string(decision); }

}  // namespace

std::string_view to_string(RuleCondition condition) {
  switch (condition) {
    case RuleCondition::none: return "none";
    case RuleCondition::category: return "category";
    case RuleCondition::purpose: return "purpose";
    case RuleCondition::from: return "from";
    case RuleCondition::to: return "to";
    case RuleCondition::min_classification: return "min_classification";
    case RuleCondition::max_classification: return "max_classification";
  }
  return "unknown";
}

std::string_view to_string(ClearanceOutcome outcome) {
  switch (outcome) {
    case ClearanceOutcome::not_checked: return "not_checked";
    case ClearanceOutcome::within_regular: return "within_regular";
    case ClearanceOutcome::occasional_used: return "occasional_used";
    case ClearanceOutcome::occasional_unavailable: return "occasional_unavailable";
    case ClearanceOutcome::above_clearance: return "above_clearance";
    case ClearanceOutcome::no_vetting: return "no_vetting";
  }
  return "unknown";
}

// ---- Nodes and matchers ---------------------------------------------------------------

NodeDirectory::NodeDirectory(const Policy& policy) : policy_(policy) {}

ResolvedNode NodeDirectory::resolve(std::string_view node_id) const {
  ResolvedNode resolved;
  resolved.id = std::string(node_id);
  auto node = std::find_if(policy_.nodes.begin(), policy_.nodes.end(),
                           [&](const Node& candidate) { return candidate.id == node_id; });
  if (node == policy_.nodes.end()) return resolved;
  resolved.known = true;
  resolved.name = node->name;
  resolved.organisation = node->organisation;
  resolved.role = node->role;
  resolved.vetting = node->vetting;
  resolved.categories = node->categories;
  resolved.location = node->location;
  for (const Organisation& organisation : policy_.organisations) {
    if (organisation.id != node->organisation) continue;
    resolved.organisation_kind = organisation.kind;
    resolved.ct_network = organisation.ct_network;
    break;
  }
  for (const Role& role : policy_.roles) {
    if (role.id == node->role) {
      resolved.level = role.level;
      break;
    }
  }
  for (const Vetting& vetting : policy_.vetting) {
    if (vetting.name != node->vetting) continue;
    resolved.regular_ceiling = vetting.regular_ceiling;
    resolved.occasional_ceiling = vetting.occasional_ceiling.empty() ? vetting.regular_ceiling
                                                                     : vetting.occasional_ceiling;
    break;
  }
  for (const DistributionList& list : policy_.lists) {
    if (contains(list.nodes, node->id) || contains(list.roles, node->role)) resolved.lists.push_back(list.id);
  }
  return resolved;
}

std::optional<MatcherMismatch> NodeDirectory::mismatch(const SubjectMatcher& matcher, const ResolvedNode& node) const {
  if (!node.known) return MatcherMismatch{"", fmt::format("'{}' is not a node of this policy", node.id)};
  Subject subject{node.id, node.organisation, node.role, nullptr, nullptr, {}};
  for (const Organisation& organisation : policy_.organisations) {
    if (organisation.id == node.organisation) subject.organisation_def = &organisation;
  }
  for (const Role& role : policy_.roles) {
    if (role.id == node.role) subject.role_def = &role;
  }
  subject.lists.assign(node.lists.begin(), node.lists.end());
  const std::optional<MatcherField> field = first_mismatch(matcher, subject);
  if (!field) return std::nullopt;
  const std::string name(field_name(*field));
  switch (*field) {
    case MatcherField::nodes:
      return MatcherMismatch{name, fmt::format("{} is not one of {}", node.id, bracketed(matcher.nodes))};
    case MatcherField::organisations:
      return MatcherMismatch{name, fmt::format("{}'s organisation is {}, not one of {}", node.id, node.organisation,
                                               bracketed(matcher.organisations))};
    case MatcherField::organisation_kinds:
      return MatcherMismatch{name, fmt::format("{}'s organisation kind is {}, not one of {}", node.id,
                                               node.organisation_kind.empty() ? "unknown" : node.organisation_kind,
                                               bracketed(matcher.organisation_kinds))};
    case MatcherField::roles:
      return MatcherMismatch{name, fmt::format("{}'s role is {}, not one of {}", node.id, node.role,
                                               bracketed(matcher.roles))};
    case MatcherField::levels:
      return MatcherMismatch{name, fmt::format("{}'s level is {}, not one of {}", node.id,
                                               node.level.empty() ? "none" : node.level, bracketed(matcher.levels))};
    case MatcherField::ct_network:
      return MatcherMismatch{name, *matcher.ct_network ? fmt::format("{} is not in the CT Network", node.id)
                                                       : fmt::format("{} is in the CT Network", node.id)};
    case MatcherField::lists:
      return MatcherMismatch{name, fmt::format("{} is a member of none of {}", node.id, bracketed(matcher.lists))};
    case MatcherField::peers:
      return MatcherMismatch{name, fmt::format("{} is a node of this gateway, and the rule matches only messages "
                                               "originated at {}", node.id, bracketed(matcher.peers))};
  }
  return std::nullopt;
}

ExplainRequest to_explain_request(const PolicyTestRequest& request) {
  ExplainRequest result;
  result.sender = request.from.value;
  result.recipient = request.to.value;
  result.category = request.category.value;
  result.purpose = request.purpose.value;
  result.occasional_available = request.occasional_available;
  for (const PolicyTestPortion& portion : request.portions) result.portions.push_back({portion.id, portion.label});
  return result;
}

// ---- The trace ------------------------------------------------------------------------

namespace {

class Explainer {
 public:
  Explainer(const CompiledPolicy& compiled, const ExplainRequest& request)
      : compiled_(compiled), policy_(compiled.source()), request_(request), directory_(policy_) {}

  ExplainTrace run() {
    ExplainTrace trace;
    trace.request = request_;
    trace.sender = directory_.resolve(request_.sender);
    trace.recipient = directory_.resolve(request_.recipient);
    trace.category_defined = contains(policy_.information_categories, request_.category);
    // No purpose is a request the gateway accepts, not an unknown purpose.
    trace.purpose_defined = request_.purpose.empty() || contains(policy_.purposes, request_.purpose);
    for (const ExplainPortion& portion : request_.portions) trace.portions.push_back(portion_trace(trace, portion));
    combine(trace);
    compare_with_engine(trace);
    return trace;
  }

 private:
  // Step 2 for the conditions that do not depend on the portion: the first
  // that fails, or nullopt.
  std::optional<RuleStep> message_conditions(const ExplainTrace& trace, int index) const {
    const Rule& rule = policy_.rules[static_cast<std::size_t>(index)];
    RuleStep step;
    step.rule = index;
    if (!rule.categories.empty() && !contains(rule.categories, request_.category)) {
      step.failed = RuleCondition::category;
      step.field = "category";
      step.detail = fmt::format("{} is not one of {}", request_.category, bracketed(rule.categories));
      return step;
    }
    if (!rule.purposes.empty() && !contains(rule.purposes, request_.purpose)) {
      step.failed = RuleCondition::purpose;
      step.field = "purpose";
      step.detail = request_.purpose.empty()
                        ? fmt::format("the request has no purpose, and the rule covers only {}",
                                      bracketed(rule.purposes))
                        : fmt::format("{} is not one of {}", request_.purpose, bracketed(rule.purposes));
      return step;
    }
    if (auto mismatch = directory_.mismatch(rule.from, trace.sender)) {
      step.failed = RuleCondition::from;
      step.field = mismatch->field.empty() ? "from" : "from." + mismatch->field;
      step.detail = mismatch->detail;
      return step;
    }
    if (auto mismatch = directory_.mismatch(rule.to, trace.recipient)) {
      step.failed = RuleCondition::to;
      step.field = mismatch->field.empty() ? "to" : "to." + mismatch->field;
      step.detail = mismatch->detail;
      return step;
    }
    return std::nullopt;
  }

  // A bound's rank; an unknown bound (hand-built policies only) admits nothing.
  int min_rank(const Rule& rule) const {
    if (!rule.min_classification) return INT_MIN;
    const int rank = compiled_.classification_rank(*rule.min_classification);
    return rank >= 0 ? rank : INT_MAX;
  }
  int max_rank(const Rule& rule) const {
    if (!rule.max_classification) return INT_MAX;
    const int rank = compiled_.classification_rank(*rule.max_classification);
    return rank >= 0 ? rank : INT_MIN;
  }

  PortionTrace portion_trace(const ExplainTrace& trace, const ExplainPortion& portion) {
    PortionTrace out;
    out.id = portion.id;
    out.label = portion.label;
    out.marking = compiled_.display_marking(portion.label);
    PortionDecision& outcome = out.outcome;

    // 1. A valid label.
    out.label_problems = compiled_.label_problems(portion.label);
    if (!out.label_problems.empty()) {
      outcome.reason = PortionReason::invalid_label;
      outcome.detail = "invalid label: " + fmt::format("{}", fmt::join(out.label_problems, "; "));
      out.combining = "the label is invalid, so no rule decides it";
      return out;
    }
    const int rank = compiled_.classification_rank(portion.label.classification);

    // 2. Every rule, in file order.
    int first_out_of_bounds_permit = -1;
    for (std::size_t r = 0; r < policy_.rules.size(); ++r) {
      const Rule& rule = policy_.rules[r];
      const int index = static_cast<int>(r);
      RuleStep step;
      if (auto failed = message_conditions(trace, index)) {
        step = std::move(*failed);
      } else if (rank < min_rank(rule)) {
        step.rule = index;
        step.failed = RuleCondition::min_classification;
        step.field = "min_classification";
        step.detail = fmt::format("{} is below {}", portion.label.classification, rule.min_classification.value_or(""));
      } else if (rank > max_rank(rule)) {
        step.rule = index;
        step.failed = RuleCondition::max_classification;
        step.field = "max_classification";
        step.detail = fmt::format("{} is above {}", portion.label.classification, rule.max_classification.value_or(""));
      } else {
        step.rule = index;
        step.applies = true;
      }
      if (step.applies) {
        (rule.effect == Effect::deny ? out.applicable_denies : out.applicable_permits).push_back(index);
      } else if (rule.effect == Effect::permit && first_out_of_bounds_permit < 0 &&
                 (step.failed == RuleCondition::min_classification ||
                  step.failed == RuleCondition::max_classification) &&
                 out.applicable_permits.empty()) {
        first_out_of_bounds_permit = index;
      }
      out.rules.push_back(std::move(step));
    }

    // 3. Deny overrides.
    auto ids = [this](const std::vector<int>& rules) {
      std::vector<std::string> names;
      for (int rule : rules) names.push_back(policy_.rules[static_cast<std::size_t>(rule)].id);
      return names;
    };
    if (!out.applicable_denies.empty()) {
      const int deny = out.applicable_denies.front();
      const Rule& rule = policy_.rules[static_cast<std::size_t>(deny)];
      outcome.reason = PortionReason::denied_by_rule;
      outcome.rule = deny;
      outcome.detail = rule.description.empty() ? fmt::format("denied by {}", rule.id)
                                                : fmt::format("denied by {}: {}", rule.id, rule.description);
      out.combining = fmt::format("{} {} {}", out.applicable_denies.size() == 1 ? "deny" : "denies",
                                  and_list(ids(out.applicable_denies)),
                                  out.applicable_denies.size() == 1 ? "applies" : "apply");
      if (!out.applicable_permits.empty()) {
        out.combining += fmt::format(" and {} {} {}", out.applicable_denies.size() == 1 ? "overrides" : "override",
                                     out.applicable_permits.size() == 1 ? "permit" : "permits",
                                     and_list(ids(out.applicable_permits)));
      }
      out.combining += fmt::format("; the first deny, {}, decides", rule.id);
      return out;
    }

    // 4. Default deny.
    if (out.applicable_permits.empty()) {
      outcome.reason = PortionReason::no_rule_permits;
      out.combining = "no deny applies and no permit applies: default deny";
      if (!trace.sender.known) {
        outcome.detail = fmt::format("sender '{}' is not a node of this policy", request_.sender);
      } else if (!trace.recipient.known) {
        outcome.detail = fmt::format("recipient '{}' is not a node of this policy", request_.recipient);
      } else if (first_out_of_bounds_permit >= 0) {
        outcome.detail = out_of_bounds_detail(policy_.rules[static_cast<std::size_t>(first_out_of_bounds_permit)],
                                              portion.label.classification, request_.category, request_.purpose,
                                              request_.sender, request_.recipient);
      } else {
        outcome.detail = fmt::format("no rule permits {} for {} from {} to {}", request_.category,
                                     purpose_phrase(request_.purpose), request_.sender, request_.recipient);
      }
      return out;
    }
    const int permit = out.applicable_permits.front();
    outcome.rule = permit;
    out.combining = fmt::format("no deny applies; {} {} {}; the first, {}, decides",
                                out.applicable_permits.size() == 1 ? "permit" : "permits",
                                and_list(ids(out.applicable_permits)),
                                out.applicable_permits.size() == 1 ? "applies" : "apply",
                                policy_.rules[static_cast<std::size_t>(permit)].id);

    // 5. Clearance.
    const ResolvedNode& recipient = trace.recipient;
    const Vetting* vetting = nullptr;
    for (const Vetting& candidate : policy_.vetting) {
      if (candidate.name == recipient.vetting) vetting = &candidate;
    }
    const std::string& classification = portion.label.classification;
    if (!vetting) {
      out.clearance.outcome = ClearanceOutcome::no_vetting;
      out.clearance.detail = fmt::format("{} has no vetting this policy defines", request_.recipient);
      outcome.reason = PortionReason::above_clearance;
      outcome.detail = out.clearance.detail;
      return out;
    }
    const int regular = compiled_.classification_rank(vetting->regular_ceiling);
    const int occasional = std::max(regular, compiled_.classification_rank(vetting->occasional_ceiling));
    if (rank <= regular) {
      out.clearance.outcome = ClearanceOutcome::within_regular;
      out.clearance.detail = fmt::format("{} is within {}'s regular ceiling {}", classification, vetting->name,
                                         vetting->regular_ceiling);
    } else if (rank > occasional) {
      out.clearance.outcome = ClearanceOutcome::above_clearance;
      outcome.reason = PortionReason::above_clearance;
      outcome.detail = occasional == regular ? fmt::format("{} is above {}'s ceiling {}", classification,
                                                           vetting->name, vetting->regular_ceiling)
                                             : fmt::format("{} is above {}'s occasional ceiling {}", classification,
                                                           vetting->name, vetting->occasional_ceiling);
      out.clearance.detail = outcome.detail;
      return out;
    } else if (!request_.occasional_available) {
      out.clearance.outcome = ClearanceOutcome::occasional_unavailable;
      outcome.reason = PortionReason::occasional_unavailable;
      outcome.detail = fmt::format("{} is above {}'s regular ceiling {} and no occasional release is available",
                                   classification, vetting->name, vetting->regular_ceiling);
      out.clearance.detail = outcome.detail;
      return out;
    } else {
      out.clearance.outcome = ClearanceOutcome::occasional_used;
      out.clearance.detail = fmt::format(
          "{} is above {}'s regular ceiling {} but within its occasional ceiling {}, and an occasional release is "
          "available",
          classification, vetting->name, vetting->regular_ceiling, vetting->occasional_ceiling);
      outcome.occasional = true;
    }

    // 6. Categories: restrictive ones in scheme order, then each permissive
    // tag set with a category on the label, in tag set order; the first
    // failure decides (as in decide()), but every test is recorded.
    out.categories_checked = true;
    std::optional<std::string> failure;
    std::vector<const Category*> on_label;
    for (const Category& category : policy_.scheme.categories) {
      if (contains(portion.label.categories, category.name) &&
          std::none_of(on_label.begin(), on_label.end(), [&](const Category* c) { return c->name == category.name; })) {
        on_label.push_back(&category);
      }
    }
    auto type_of = [this](const Category& category) {
      for (const TagSet& tag_set : policy_.scheme.tag_sets) {
        if (tag_set.name == category.tag_set) return tag_set.type;
      }
      return TagSetType::informative;
    };
    for (const Category* category : on_label) {
      const TagSetType type = type_of(*category);
      if (type == TagSetType::permissive) continue;
      CategoryStep step;
      step.subject = category->name;
      step.type = type;
      if (type == TagSetType::informative) {
        step.detail = fmt::format("{} is informative: no effect on access", category->name);
      } else {
        step.passes = contains(recipient.categories, category->name);
        step.detail = step.passes ? fmt::format("{} holds {}", request_.recipient, category->name)
                                  : fmt::format("{} does not hold {}", request_.recipient, category->name);
        if (!step.passes && !failure) failure = step.detail;
      }
      out.categories.push_back(std::move(step));
    }
    for (const TagSet& tag_set : policy_.scheme.tag_sets) {
      if (tag_set.type != TagSetType::permissive) continue;
      std::vector<std::string> listed;
      bool held = false;
      for (const Category* category : on_label) {
        if (category->tag_set != tag_set.name) continue;
        listed.push_back(category->name);
        held = held || contains(recipient.categories, category->name);
      }
      if (listed.empty()) continue;
      CategoryStep step;
      step.subject = tag_set.name;
      step.type = TagSetType::permissive;
      step.passes = held;
      step.detail = held ? fmt::format("{} holds one of {}", request_.recipient, fmt::join(listed, ", "))
                         : fmt::format("{} holds none of {}", request_.recipient, fmt::join(listed, ", "));
      if (!held && !failure) failure = step.detail;
      out.categories.push_back(std::move(step));
    }
    if (failure) {
      outcome.reason = PortionReason::missing_category;
      outcome.detail = *failure;
      outcome.occasional = false;
      return out;
    }

    // 7. Released.
    outcome.released = true;
    outcome.reason = PortionReason::none;
    if (outcome.occasional) {
      outcome.detail = fmt::format("released under the occasional allowance: {} is above {}'s regular ceiling {}",
                                   classification, vetting->name, vetting->regular_ceiling);
    }
    return out;
  }

  // The message as a whole (README "For the message as a whole").
  void combine(ExplainTrace& trace) const {
    std::size_t released = 0;
    for (const PortionTrace& portion : trace.portions) {
      const PortionDecision& outcome = portion.outcome;
      if (outcome.rule >= 0) trace.rules.push_back(outcome.rule);
      if (!outcome.released) continue;
      ++released;
      trace.used_occasional = trace.used_occasional || outcome.occasional;
      const RuleHandling& handling = policy_.rules[static_cast<std::size_t>(outcome.rule)].handling;
      trace.originator_control = trace.originator_control || handling.originator_control;
      trace.no_onward_sharing = trace.no_onward_sharing || handling.no_onward_sharing;
      if (handling.requires_review()) {
        trace.reviewing_rules.push_back(outcome.rule);
        trace.review_roles.insert(trace.review_roles.end(), handling.review_by.begin(), handling.review_by.end());
      }
    }
    auto sort_unique = [](auto& items) {
      std::sort(items.begin(), items.end());
      items.erase(std::unique(items.begin(), items.end()), items.end());
    };
    sort_unique(trace.rules);
    sort_unique(trace.reviewing_rules);
    sort_unique(trace.review_roles);
    const std::size_t total = trace.portions.size();
    if (total == 0 || released == 0) {
      trace.decision = Decision::deny;
    } else if (!trace.reviewing_rules.empty()) {
      trace.decision = Decision::hold;
    } else {
      trace.decision = released == total ? Decision::release : Decision::release_redacted;
    }
  }

  void compare_with_engine(ExplainTrace& trace) const {
    std::vector<Label> labels;
    for (const ExplainPortion& portion : request_.portions) labels.push_back(portion.label);
    DecisionRequest request;
    request.sender = request_.sender;
    request.recipient = request_.recipient;
    request.category = request_.category;
    request.purpose = request_.purpose;
    request.portion_labels = labels;
    request.occasional_available = request_.occasional_available;
    trace.engine = compiled_.decide(request);
    trace.reason = trace.engine.reason;

    auto differ = [&trace](std::string what) {
      trace.agrees_with_engine = false;
      trace.disagreements.push_back(std::move(what));
    };
    const PolicyDecision& engine = trace.engine;
    if (engine.portions.size() != trace.portions.size()) {
      differ("number of portions");
      return;
    }
    for (std::size_t p = 0; p < trace.portions.size(); ++p) {
      const PortionDecision& mine = trace.portions[p].outcome;
      const PortionDecision& theirs = engine.portions[p];
      const std::string& id = trace.portions[p].id;
      if (mine.released != theirs.released) differ(fmt::format("portion {}: released", id));
      if (mine.reason != theirs.reason) {
        differ(fmt::format("portion {}: reason {} vs {}", id, to_string(mine.reason), to_string(theirs.reason)));
      }
      if (mine.rule != theirs.rule) differ(fmt::format("portion {}: rule {} vs {}", id, mine.rule, theirs.rule));
      if (mine.occasional != theirs.occasional) differ(fmt::format("portion {}: occasional", id));
      if (mine.detail != theirs.detail) {
        differ(fmt::format("portion {}: detail \"{}\" vs \"{}\"", id, mine.detail, theirs.detail));
      }
    }
    if (trace.decision != engine.decision) {
      differ(fmt::format("decision {} vs {}", decision_name(trace.decision), decision_name(engine.decision)));
    }
    if (trace.rules != engine.rules) differ("rules");
    if (trace.review_roles != engine.review_roles) differ("review_roles");
    if (trace.originator_control != engine.originator_control) differ("originator_control");
    if (trace.no_onward_sharing != engine.no_onward_sharing) differ("no_onward_sharing");
    if (trace.used_occasional != engine.used_occasional) differ("used_occasional");
  }

  const CompiledPolicy& compiled_;
  const Policy& policy_;
  const ExplainRequest& request_;
  NodeDirectory directory_;
};

// ---- Rendering ------------------------------------------------------------------------

std::string describe_node(const ResolvedNode& node) {
  if (!node.known) return fmt::format("{}: not a node of this policy (it matches no rule)\n", node.id);
  std::string text = fmt::format("{}{}\n", node.id, node.name.empty() ? "" : fmt::format(" \"{}\"", node.name));
  text += fmt::format("    organisation {} (kind {}{}), role {} (level {})\n", node.organisation,
                      node.organisation_kind.empty() ? "unknown" : node.organisation_kind,
                      node.ct_network ? ", CT Network" : "", node.role, node.level.empty() ? "none" : node.level);
  text += fmt::format("    vetting {}: regular ceiling {}, occasional ceiling {}\n", node.vetting,
                      node.regular_ceiling.empty() ? "none" : node.regular_ceiling,
                      node.occasional_ceiling.empty() ? "none" : node.occasional_ceiling);
  text += fmt::format("    holds {}; member of {}\n", bracketed(node.categories), bracketed(node.lists));
  return text;
}

std::string_view outcome_word(const PortionDecision& outcome) {
  if (outcome.released) return outcome.occasional ? "RELEASED (occasional release)" : "RELEASED";
  return "WITHHELD";
}

boost::json::object json_node(const ResolvedNode& node) {
  return {{"id", node.id},
          {"known", node.known},
          {"name", node.name},
          {"organisation", node.organisation},
          {"organisation_kind", node.organisation_kind},
          {"ct_network", node.ct_network},
          {"role", node.role},
          {"level", node.level},
          {"vetting", node.vetting},
          {"regular_ceiling", node.regular_ceiling},
          {"occasional_ceiling", node.occasional_ceiling},
          {"categories", json::strings(node.categories)},
          {"lists", json::strings(node.lists)}};
}

std::string_view tag_set_type_name(TagSetType type) {
  switch (type) {
    case TagSetType::restrictive: return "restrictive";
    case TagSetType::permissive: return "permissive";
    case TagSetType::informative: return "informative";
  }
  return "unknown";
}

}  // namespace

ExplainTrace explain_decision(const CompiledPolicy& policy, const ExplainRequest& request) {
  return Explainer(policy, request).run();
}

std::string render_explain_text(const CompiledPolicy& policy, const ExplainTrace& trace) {
  const Policy& source = policy.source();
  const ExplainRequest& request = trace.request;
  std::string text;
  text += fmt::format("policy {} ({}, {})\n", source.name, source.file, source.version);
  text += fmt::format("request: {}{} for {}{}, from {} to {}, {} {}, {}\n", request.category,
                      trace.category_defined ? "" : " (not an information category of this policy)",
                      purpose_phrase(request.purpose), trace.purpose_defined ? "" : " (not a purpose of this policy)", request.sender,
                      request.recipient, request.portions.size(), request.portions.size() == 1 ? "portion" : "portions",
                      request.occasional_available ? "an occasional release available"
                                                   : "no occasional release available");
  text += "\nsender    " + describe_node(trace.sender);
  text += "recipient " + describe_node(trace.recipient);

  std::size_t id_width = 0;
  for (const Rule& rule : source.rules) id_width = std::max(id_width, rule.id.size());
  for (const PortionTrace& portion : trace.portions) {
    text += fmt::format("\nportion {}: {} (marking \"{}\")\n", portion.id, label_text(portion.label), portion.marking);
    if (!portion.label_problems.empty()) {
      text += fmt::format("  1. label: INVALID under scheme {}: {}\n", source.scheme.name,
                          fmt::join(portion.label_problems, "; "));
    } else {
      text += fmt::format("  1. label: valid under scheme {}\n", source.scheme.name);
      text += "  2. rules, in file order:\n";
      for (const RuleStep& step : portion.rules) {
        const Rule& rule = policy.rule(step.rule);
        std::string line = fmt::format("     {}  {:<{}}  {:<6}  {}:{}  {}", step.applies ? "applies" : "no     ",
                                       rule.id, id_width, effect_name(rule.effect), rule.location.file,
                                       rule.location.line,
                                       step.applies ? std::string() : fmt::format("{}: {}", step.field, step.detail));
        while (!line.empty() && line.back() == ' ') line.pop_back();
        text += line + "\n";
      }
      text += fmt::format("  3. combining (deny-overrides): {}\n", portion.combining);
      if (portion.clearance.outcome != ClearanceOutcome::not_checked) {
        text += fmt::format("  4. clearance: {}\n", portion.clearance.detail);
      }
      if (portion.categories_checked) {
        if (portion.categories.empty()) {
          text += "  5. categories: none on the label\n";
        } else {
          text += "  5. categories:\n";
          for (const CategoryStep& step : portion.categories) {
            text += fmt::format("     {}  {} ({}): {}\n", step.passes ? "ok  " : "FAIL", step.subject,
                                tag_set_type_name(step.type), step.detail);
          }
        }
      }
    }
    const PortionDecision& outcome = portion.outcome;
    std::string decided_by =
        outcome.rule >= 0 ? fmt::format(" (rule {})", policy.rule(outcome.rule).id) : std::string(" (no rule)");
    text += fmt::format("  => {}{}{}{}\n", outcome_word(outcome),
                        outcome.released ? "" : fmt::format(" [{}]", to_string(outcome.reason)), decided_by,
                        outcome.detail.empty() ? "" : ": " + outcome.detail);
  }

  std::vector<std::string> rule_ids;
  for (int rule : trace.rules) rule_ids.push_back(policy.rule(rule).id);
  text += fmt::format("\ndecision: {}\n", to_string(trace.decision));
  text += fmt::format("  reason: {}\n", trace.reason);
  text += fmt::format("  rules that decided a portion: {}\n", rule_ids.empty() ? "none (default deny)" : and_list(rule_ids));
  if (trace.decision == Decision::hold) {
    std::vector<std::string> holders;
    for (const std::string& role : trace.review_roles) {
      for (const std::string& node : policy.nodes_with_role(role)) holders.push_back(node);
    }
    text += fmt::format("  held for review by {} (nodes: {}); nothing is released until one approves\n",
                        and_list(trace.review_roles, " or "), holders.empty() ? "none" : and_list(holders));
  }
  text += fmt::format("  handling: originator_control {}, no_onward_sharing {}; occasional release used: {}\n",
                      trace.originator_control ? "yes" : "no", trace.no_onward_sharing ? "yes" : "no",
                      trace.used_occasional ? "yes" : "no");
  if (!trace.agrees_with_engine) {
    text += fmt::format("  INTERNAL: this trace disagrees with the engine's decision ({}); please report it\n",
                        fmt::join(trace.disagreements, "; "));
  }
  return text;
}

std::string render_explain_json(const CompiledPolicy& policy, const ExplainTrace& trace) {
  const Policy& source = policy.source();
  const ExplainRequest& request = trace.request;
  boost::json::array request_portions;
  for (const ExplainPortion& portion : request.portions)
    request_portions.emplace_back(boost::json::object{{"id", portion.id}, {"label", label_text(portion.label)}});
  auto rule_ids = [&policy](const std::vector<int>& rules) {
    boost::json::array ids;
    for (int rule : rules) ids.emplace_back(policy.rule(rule).id);
    return ids;
  };
  boost::json::array portions;
  for (const PortionTrace& portion : trace.portions) {
    boost::json::array rules;
    for (const RuleStep& step : portion.rules) {
      const Rule& rule = policy.rule(step.rule);
      rules.emplace_back(boost::json::object{
          {"rule", rule.id},
          {"effect", effect_name(rule.effect)},
          {"location", json_value(rule.location)},
          {"applies", step.applies},
          {"failed", step.applies ? boost::json::value(nullptr) : boost::json::value(step.field)},
          {"detail", step.applies ? boost::json::value(nullptr) : boost::json::value(step.detail)}});
    }
    boost::json::array categories;
    for (const CategoryStep& step : portion.categories)
      categories.emplace_back(boost::json::object{{"subject", step.subject},
                                                  {"type", tag_set_type_name(step.type)},
                                                  {"passes", step.passes},
                                                  {"detail", step.detail}});
    const PortionDecision& outcome = portion.outcome;
    portions.emplace_back(boost::json::object{
        {"id", portion.id},
        {"label", label_text(portion.label)},
        {"marking", portion.marking},
        {"label_problems", json::strings(portion.label_problems)},
        {"rules", std::move(rules)},
        {"applicable_denies", rule_ids(portion.applicable_denies)},
        {"applicable_permits", rule_ids(portion.applicable_permits)},
        {"combining", portion.combining},
        {"clearance", boost::json::object{{"outcome", to_string(portion.clearance.outcome)},
                                          {"detail", portion.clearance.detail}}},
        {"categories_checked", portion.categories_checked},
        {"categories", std::move(categories)},
        {"outcome", boost::json::object{{"released", outcome.released},
                                        {"reason", to_string(outcome.reason)},
                                        {"rule", outcome.rule >= 0 ? boost::json::value(policy.rule(outcome.rule).id)
                                                                   : boost::json::value(nullptr)},
                                        {"occasional", outcome.occasional},
                                        {"detail", outcome.detail}}}});
  }
  const boost::json::object json{
      {"policy", boost::json::object{{"name", source.name}, {"file", source.file}, {"version", source.version}}},
      {"request", boost::json::object{{"from", request.sender},
                                      {"to", request.recipient},
                                      {"category", request.category},
                                      {"purpose", request.purpose},
                                      {"portions", std::move(request_portions)},
                                      {"occasional_available", request.occasional_available}}},
      {"category_defined", trace.category_defined},
      {"purpose_defined", trace.purpose_defined},
      {"sender", json_node(trace.sender)},
      {"recipient", json_node(trace.recipient)},
      {"portions", std::move(portions)},
      {"decision", to_string(trace.decision)},
      {"reason", trace.reason},
      {"rules", rule_ids(trace.rules)},
      {"review_roles", json::strings(trace.review_roles)},
      {"originator_control", trace.originator_control},
      {"no_onward_sharing", trace.no_onward_sharing},
      {"used_occasional", trace.used_occasional},
      {"agrees_with_engine", trace.agrees_with_engine},
      {"disagreements", json::strings(trace.disagreements)}};
  return json::serialize(json);
}

}  // namespace icegate::policy
