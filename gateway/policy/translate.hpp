// Labels across schemes: translating a label from one scheme to another by
// the equivalences the first declares (a scheme file's `equivalences:`), and
// saying precisely why when no faithful translation exists.
//
// A translation is faithful when the label is valid under its own scheme,
// every part of it (the classification and each category) has an exact
// mapping, and the mapped label is valid under the other scheme. Anything
// else is refused with the reason: a part declared `none`, a part with no
// mapping at all, a part that maps to one of several names (someone must
// choose: the translator never picks), or a mapped label the other scheme
// forbids. Nothing is rounded up or down, and nothing is dropped (ACP 122's
// warning against label creep). See docs/adr/ (labels across schemes).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/model/message.hpp"
#include "gateway/policy/diagnostics.hpp"
#include "gateway/policy/engine.hpp"
#include "gateway/policy/model.hpp"

namespace icegate::policy {

// Whether `from`'s equivalence to `to` names only classifications and
// categories `to` defines: P045 at each name that it does not. P046 at
// `where` when `from` declares no equivalence to `to` at all.
Diagnostics check_equivalence(const LabelScheme& from, const LabelScheme& to, const SourceLocation& where);

enum class TranslationProblem {
  invalid_label,   // the label is not valid under its own scheme
  no_equivalence,  // its scheme declares no equivalence to the other
  unmapped,        // a part has no counterpart (`none`, or no mapping written)
  ambiguous,       // a part maps to one of several names: a person must choose
  invalid_result,  // every part maps, but the other scheme forbids the result
};
// "invalid-label", "no-equivalence", "unmapped", "ambiguous", "invalid-result".
std::string_view to_string(TranslationProblem problem);

struct TranslationIssue {
  TranslationProblem problem = TranslationProblem::unmapped;
  std::string part;                     // the classification or category concerned; empty for the whole label
  std::vector<std::string> candidates;  // ambiguous: the names to choose from
  std::string message;                  // one sentence, for the person refused
};

struct LabelTranslation {
  std::string from_scheme;
  std::string to_scheme;
  Label original;                   // as given; never altered
  std::optional<Label> translated;  // present exactly when the translation is faithful
  std::vector<TranslationIssue> issues;  // why it is not; empty when faithful
  std::vector<std::string> notes;        // the notes of the mappings used
  bool restored = false;                 // translated is the kept original, given back (see below)

  bool faithful() const { return translated.has_value(); }
  // Every issue's message, joined with "; ".
  std::string reason() const;
};

// Translates `label` from `from`'s scheme to `to`'s (each a policy or a
// scheme loaded as one). When `original` is given, it is the label the
// message carried under `to`'s scheme before it was translated into `from`'s
// (kept beside the translation): if it translates faithfully into exactly
// `label`, it is given back unchanged (restored), so a round trip loses
// nothing even where the reverse mapping alone would be one of several.
LabelTranslation translate_label(const CompiledPolicy& from, const CompiledPolicy& to, const Label& label,
                                 const Label* original = nullptr);

// The gateway's step before deciding a submitted message: when the message
// says its labels are under another scheme (Message::label_scheme), each
// portion's label and the overall label are translated into the policy's
// scheme through one of the policy's accepted schemes, and the originals are
// kept beside them (Portion::original_label, Message::original_label,
// Message::original_scheme). A message under the policy's own scheme (or
// under none, as every node built before label_scheme existed) is left as it
// is. Returns the refusal, for the sender, when some label has no faithful
// translation or the scheme is not accepted; the message is then unchanged.
std::optional<std::string> translate_submitted_labels(const CompiledPolicy& policy, Message& message);

// The audit record's detail for a translated message (kind "labels_translated"):
// both schemes, and each portion's original label beside its translation.
std::string translation_audit_detail(const Message& message);

}  // namespace icegate::policy
