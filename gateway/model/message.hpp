// The gateway's own message types. Messages, labels, handling and decisions
// are converted to and from the wire (proto/icegate/v1) in
// gateway/wire/codec.cpp only; the policy, the store's holds and the reports
// use these types. The frames around them (Hello, Welcome, a Deliver's
// envelope, Receipt, Error) are built as protos where they are sent and read:
// the session and router, the node client and the dashboard, which shows
// frames as they were on the wire.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace icegate {

// A protective label: a classification from the policy's label scheme and the
// categories (caveats, descriptors) qualifying it. Categories are kept sorted
// and unique so that labels compare by value.
struct Label {
  std::string classification;
  std::vector<std::string> categories;

  friend bool operator==(const Label&, const Label&) = default;
};

// Sorts and de-duplicates a label's categories in place.
void normalise(Label& label);

// "SECRET [UK EYES ONLY]" style text for logs and terminals; the policy's
// display marking (with colours) comes from policy::display_marking.
std::string to_string(const Label& label);

// "SECRET/UK EYES ONLY": the classification, then each category after a '/'.
// The form labels take in audit records, reports, test files and on the
// command line (parse_label_text reads it back).
std::string label_text(const Label& label);

// The one reader of label_text's form: "CLASSIFICATION/CATEGORY/...", white
// space around each part ignored; categories come back sorted and unique.
// nullopt when a part is empty; then `problem`, if given, is set to what was
// wrong ("an empty classification", or "an empty category (check the '/'
// separators)") for the caller to put in its own error.
std::optional<Label> parse_label_text(std::string_view text, std::string* problem = nullptr);

// The size of Portion::salt, when it is set.
inline constexpr std::size_t portion_salt_bytes = 16;

struct Portion {
  std::string id;
  Label label;
  std::string body;
  // When the gateway translated the label from the scheme the sender marked
  // it under: the label as the sender wrote it (under Message::original_scheme).
  // Empty classification: not translated.
  Label original_label = {};
  // Only on a portion forwarded between gateways: 16 random bytes its origin
  // gateway chose (federation::salt_portions), hashed into the portion's
  // binding digest, so that a hop the portion is withheld from cannot confirm
  // a guess of its id, label and body against the digest it still sees. The
  // salt travels with the portion and is dropped with it. Empty elsewhere.
  std::string salt = {};
};

enum class AddresseeKind { node, role, list, organisation };

std::string_view to_string(AddresseeKind kind);

struct Addressee {
  AddresseeKind kind = AddresseeKind::node;
  std::string name;

  friend bool operator==(const Addressee&, const Addressee&) = default;
};

// How the originator wants a message handled (see proto Handling). Times are
// Unix milliseconds on the gateway's clock; 0 means none.
struct Handling {
  bool originator_control = false;
  bool no_onward_sharing = false;
  std::int64_t not_before_unix_ms = 0;
  std::string not_before_event;
  std::int64_t not_after_unix_ms = 0;

  bool embargoed() const { return not_before_unix_ms != 0 || !not_before_event.empty(); }
  friend bool operator==(const Handling&, const Handling&) = default;
};

struct Message {
  std::string id;  // a UUID chosen by the originator
  std::string originator;
  std::int64_t created_unix_ms = 0;
  std::vector<Addressee> addressees;
  std::string category;
  std::string purpose;
  std::string title;
  Label label;  // dominates every portion's label
  std::vector<Portion> portions;
  Handling handling;
  std::string derived_from;  // the message this one re-sends or builds on
  // The scheme the labels are under; empty means the policy's own (what every
  // node built before labels across schemes means). See policy/translate.hpp.
  std::string label_scheme;
  // Set by the gateway when it translated the labels: the sender's scheme and
  // overall label, kept beside the translation (Portion::original_label).
  std::string original_scheme;
  Label original_label = {};
};

// A random (version 4) UUID in canonical text form.
std::string make_uuid();
// A UUID (version 8, RFC 9562) made from the SHA-256 of `name`: the same name
// always gives the same id (an exercise's scripted messages, so that a
// scenario gives the same reports every run).
std::string make_name_based_uuid(std::string_view name);
bool looks_like_uuid(std::string_view text);

enum class Decision { release, release_redacted, hold, deny };

std::string_view to_string(Decision decision);

// A portion a recipient did not get, and why; the body never leaves the gateway.
struct WithheldPortion {
  std::string portion_id;
  Label label;
  std::string reason;
  std::vector<std::string> rule_ids;

  friend bool operator==(const WithheldPortion&, const WithheldPortion&) = default;
};

// What one recipient gets of one message, and why.
struct RecipientDecision {
  std::string node_id;
  Decision decision = Decision::deny;
  std::vector<std::string> released_portion_ids;
  Label released_label;  // label of the version this recipient receives
  std::vector<WithheldPortion> withheld;
  std::vector<std::string> rule_ids;
  std::string reason;
  // For Decision::hold: which hold, and who or what must act.
  std::string hold_id;
  std::string held_for;
  bool occasional = false;  // released under the occasional-access allowance
};

// Whether two recipients are released the same version of a message with
// the same decision, rules and reason: every field a Deliver frame takes
// from the decision is equal (the recipient aside).
bool same_version(const RecipientDecision& a, const RecipientDecision& b);

// Whether two recipients' decisions are alike in every field their outcome
// holds, the recipient aside: the same version (same_version), the same hold
// and the same occasional-access flag. What a decision record's detail and
// an owed Deliver's stored outcome are built from, besides the message.
bool same_outcome(const RecipientDecision& a, const RecipientDecision& b);

}  // namespace icegate
