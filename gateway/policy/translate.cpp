#include "gateway/policy/translate.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "gateway/model/json.hpp"
#include "gateway/policy/checker.hpp"
#include "gateway/policy/diff.hpp"

namespace icegate::policy {
namespace {

const EquivalenceMapping* find_mapping(const std::vector<EquivalenceMapping>& mappings, std::string_view name) {
  auto it = std::find_if(mappings.begin(), mappings.end(),
                         [name](const EquivalenceMapping& mapping) { return mapping.name == name; });
  return it == mappings.end() ? nullptr : &*it;
}

std::vector<std::string> target_names(const EquivalenceMapping& mapping) {
  std::vector<std::string> names;
  for (const EquivalenceName& target : mapping.targets) names.push_back(target.name);
  return names;
}

// One part of a label through its mapping: the name under the other scheme,
// or an issue saying why there is none.
std::optional<std::string> map_part(const EquivalenceMapping* mapping, std::string_view kind, const std::string& part,
                                    const LabelTranslation& translation, std::vector<TranslationIssue>& issues,
                                    std::vector<std::string>& notes) {
  if (!mapping) {
    issues.push_back({TranslationProblem::unmapped, part, {},
                      fmt::format("{} declares no mapping of {} {} to {}", translation.from_scheme, kind, part,
                                  translation.to_scheme)});
    return std::nullopt;
  }
  const std::string because = mapping->note.empty() ? std::string() : fmt::format(" ({})", mapping->note);
  switch (mapping->kind) {
    case EquivalenceKind::exact:
      if (!mapping->note.empty()) notes.push_back(fmt::format("{}: {}", part, mapping->note));
      return mapping->targets.front().name;
    case EquivalenceKind::one_of: {
      std::vector<std::string> candidates = target_names(*mapping);
      issues.push_back({TranslationProblem::ambiguous, part, candidates,
                        fmt::format("{} {} may be any of {} under {}{}: someone must choose, so there is no faithful "
                                    "mapping",
                                    kind, part, fmt::join(candidates, ", "), translation.to_scheme, because)});
      return std::nullopt;
    }
    case EquivalenceKind::none:
      issues.push_back({TranslationProblem::unmapped, part, {},
                        fmt::format("{} {} has no counterpart under {}{}", kind, part, translation.to_scheme,
                                    because)});
      return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace

// ---- Model helpers -------------------------------------------------------------

const EquivalenceMapping* SchemeEquivalence::classification(std::string_view name) const {
  return find_mapping(classifications, name);
}

const EquivalenceMapping* SchemeEquivalence::category(std::string_view name) const {
  return find_mapping(categories, name);
}

const SchemeEquivalence* LabelScheme::equivalence_to(std::string_view scheme) const {
  auto it = std::find_if(equivalences.begin(), equivalences.end(),
                         [scheme](const SchemeEquivalence& equivalence) { return equivalence.to == scheme; });
  return it == equivalences.end() ? nullptr : &*it;
}

const CompiledPolicy* Policy::accepted_scheme(std::string_view name) const {
  for (const AcceptedScheme& accepted : accepted_schemes) {
    if (accepted.scheme && accepted.scheme->source().scheme.name == name) return accepted.scheme.get();
  }
  return nullptr;
}

// ---- Checking ------------------------------------------------------------------

Diagnostics check_equivalence(const LabelScheme& from, const LabelScheme& to, const SourceLocation& where) {
  Diagnostics diagnostics;
  const SchemeEquivalence* equivalence = from.equivalence_to(to.name);
  if (!equivalence) {
    diagnostics.error(Code::P046, where,
                      fmt::format("scheme {} declares no equivalence to {}, so its labels cannot be translated into it",
                                  from.name, to.name));
    return diagnostics;
  }
  Names classifications("classification"), categories("category");
  Diagnostics ignored;
  for (const Classification& classification : to.classifications) {
    classifications.define({classification.name, classification.location}, ignored);
  }
  for (const Category& category : to.categories) categories.define({category.name, category.location}, ignored);
  auto check = [&](const std::vector<EquivalenceMapping>& mappings, const Names& names) {
    for (const EquivalenceMapping& mapping : mappings) {
      for (const EquivalenceName& target : mapping.targets) {
        if (names.contains(target.name)) continue;
        diagnostics.error(Code::P045, target.location,
                          fmt::format("scheme {} has no {} '{}'{}", to.name, names.kind(), target.name,
                                      suggestion_suffix(closest(target.name, names.in_order()))),
                          {.suggestion = closest(target.name, names.in_order())});
      }
    }
  };
  check(equivalence->classifications, classifications);
  check(equivalence->categories, categories);
  return diagnostics;
}

// ---- Translating -----------------------------------------------------------------

std::string_view to_string(TranslationProblem problem) {
  switch (problem) {
    case TranslationProblem::invalid_label: return "invalid-label";
    case TranslationProblem::no_equivalence: return "no-equivalence";
    case TranslationProblem::unmapped: return "unmapped";
    case TranslationProblem::ambiguous: return "ambiguous";
    case TranslationProblem::invalid_result: return "invalid-result";
  }
  return "unknown";
}

std::string LabelTranslation::reason() const {
  std::vector<std::string> messages;
  for (const TranslationIssue& issue : issues) messages.push_back(issue.message);
  return fmt::format("{}", fmt::join(messages, "; "));
}

LabelTranslation translate_label(const CompiledPolicy& from, const CompiledPolicy& to, const Label& label,
                                 const Label* original) {
  const LabelScheme& from_scheme = from.source().scheme;
  const LabelScheme& to_scheme = to.source().scheme;
  LabelTranslation translation;
  translation.from_scheme = from_scheme.name;
  translation.to_scheme = to_scheme.name;
  translation.original = label;

  if (auto problems = from.label_problems(label); !problems.empty()) {
    translation.issues.push_back({TranslationProblem::invalid_label, {}, {},
                                  fmt::format("{} is not a valid label under {}: {}", label_text(label),
                                              from_scheme.name, fmt::join(problems, "; "))});
    return translation;
  }
  // The kept original comes back only if it is what this label was made from.
  if (original) {
    LabelTranslation forward = translate_label(to, from, *original);
    if (forward.faithful() && *forward.translated == label) {
      translation.translated = *original;
      translation.restored = true;
      translation.notes.push_back(fmt::format("the original label {} under {} was kept beside {} and is given back",
                                              label_text(*original), to_scheme.name, label_text(label)));
      return translation;
    }
  }
  const SchemeEquivalence* equivalence = from_scheme.equivalence_to(to_scheme.name);
  if (!equivalence) {
    translation.issues.push_back({TranslationProblem::no_equivalence, {}, {},
                                  fmt::format("scheme {} declares no equivalence to {}", from_scheme.name,
                                              to_scheme.name)});
    return translation;
  }
  Label result;
  auto classification = map_part(equivalence->classification(label.classification), "classification",
                                 label.classification, translation, translation.issues, translation.notes);
  if (classification) result.classification = *classification;
  for (const std::string& category : label.categories) {
    auto mapped = map_part(equivalence->category(category), "category", category, translation, translation.issues,
                           translation.notes);
    if (mapped) result.categories.push_back(*mapped);
  }
  if (!translation.issues.empty()) {
    translation.notes.clear();
    return translation;
  }
  normalise(result);
  if (auto problems = to.label_problems(result); !problems.empty()) {
    translation.notes.clear();
    translation.issues.push_back({TranslationProblem::invalid_result, {}, {},
                                  fmt::format("{} would be {}, which {} does not allow: {}", label_text(label),
                                              label_text(result), to_scheme.name, fmt::join(problems, "; "))});
    return translation;
  }
  translation.translated = std::move(result);
  return translation;
}

// ---- The gateway's step ------------------------------------------------------------

std::optional<std::string> translate_submitted_labels(const CompiledPolicy& policy, Message& message) {
  const Policy& source = policy.source();
  const std::string& own = source.scheme.name;
  // Original labels are what the gateway keeps of a translation; a sender cannot supply them.
  const bool claims_original =
      !message.original_scheme.empty() || !message.original_label.classification.empty() ||
      std::any_of(message.portions.begin(), message.portions.end(),
                  [](const Portion& portion) { return !portion.original_label.classification.empty(); });
  if (claims_original) {
    return std::string("original labels are set by the gateway when it translates a message, not by the sender");
  }
  if (message.label_scheme.empty() || message.label_scheme == own) return std::nullopt;

  const CompiledPolicy* accepted = source.accepted_scheme(message.label_scheme);
  if (!accepted) {
    std::vector<std::string> names{own};
    for (const AcceptedScheme& scheme : source.accepted_schemes) names.push_back(scheme.scheme->source().scheme.name);
    return fmt::format("policy {} does not accept labels under scheme {} (it accepts {})", source.name,
                       message.label_scheme, fmt::join(names, ", "));
  }
  std::vector<std::string> refusals;
  std::vector<Label> translated;
  for (const Portion& portion : message.portions) {
    LabelTranslation translation = translate_label(*accepted, policy, portion.label);
    if (translation.faithful()) {
      translated.push_back(*translation.translated);
    } else {
      refusals.push_back(fmt::format("portion '{}' label {} under {} has no faithful mapping to {}: {}", portion.id,
                                     label_text(portion.label), message.label_scheme, own, translation.reason()));
    }
  }
  std::optional<Label> overall;
  if (!message.label.classification.empty()) {
    LabelTranslation translation = translate_label(*accepted, policy, message.label);
    if (translation.faithful()) {
      overall = *translation.translated;
    } else {
      refusals.push_back(fmt::format("message label {} under {} has no faithful mapping to {}: {}",
                                     label_text(message.label), message.label_scheme, own, translation.reason()));
    }
  }
  if (!refusals.empty()) return fmt::format("{}", fmt::join(refusals, "; "));

  for (std::size_t i = 0; i < message.portions.size(); ++i) {
    message.portions[i].original_label = std::move(message.portions[i].label);
    message.portions[i].label = std::move(translated[i]);
  }
  if (overall) {
    message.original_label = std::move(message.label);
    message.label = std::move(*overall);
  }
  message.original_scheme = std::move(message.label_scheme);
  message.label_scheme = own;
  return std::nullopt;
}

std::string translation_audit_detail(const Message& message) {
  std::vector<std::string> portions;
  for (const Portion& portion : message.portions) {
    portions.push_back(json::Object()
                           .add("portion_id", portion.id)
                           .add("original_label", label_text(portion.original_label))
                           .add("label", label_text(portion.label))
                           .str());
  }
  json::Object detail;
  detail.add("original_scheme", message.original_scheme).add("scheme", message.label_scheme);
  if (!message.original_label.classification.empty()) {
    detail.add("original_label", label_text(message.original_label)).add("label", label_text(message.label));
  }
  return detail.add_raw("portions", fmt::format("[{}]", fmt::join(portions, ","))).str();
}

}  // namespace icegate::policy
