// Fuzzes the policy loader: load_policy_text on arbitrary text.
//
// Each input is loaded twice:
//  1. as a whole policy file, named as if it sat in the repository's
//     policies/ folder, so `scheme: schemes/gpms-2008.yaml` finds the shipped
//     scheme; and
//  2. as an inline scheme: indented under `scheme:` in front of a fixed policy
//     (kPolicyBody below), so the scheme validator sees fuzzed text with a
//     policy that uses it.
// Either way the loader must not crash, and must give exactly one of a policy
// or at least one error (both, or neither, is a bug). A policy that loads is
// then asked a bounded number of questions (expansion, labels, decisions),
// which must not crash and must keep the decision's documented shape.
//
// A policy may name its scheme file by any path. So that a fuzzed `scheme:`
// cannot make the loader read /dev/zero or a FIFO, inputs whose scheme path
// is neither one of the shipped schemes nor something that cannot be read
// anyway (missing, a directory) are skipped.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "gateway/policy/engine.hpp"
#include "gateway/policy/parser.hpp"
#include "gateway/policy/validator.hpp"

namespace {

namespace fs = std::filesystem;
using icegate::policy::CompiledPolicy;
using icegate::policy::LoadResult;

[[noreturn]] void bug() { __builtin_trap(); }

// The policy the inline-scheme variant puts fuzzed schemes under. Its names
// are GPMS ones, so a GPMS-like scheme gets as far as decisions.
constexpr std::string_view kPolicyBody = R"(policy: fuzz
levels: [tactical, delivery]
vetting:
  - {name: none, regular: PROTECT}
  - {name: BPSS, regular: RESTRICTED, occasional: SECRET}
  - {name: SC, regular: SECRET, occasional: TOP SECRET}
occasional_allowance: {releases: 1, window: 30d}
organisations:
  - {id: ctu, kind: ctu, ct_network: true}
  - {id: council, kind: council}
  - {id: iag, kind: iag}
roles:
  - {id: analyst, level: tactical}
  - {id: reader, level: tactical}
  - {id: member, level: delivery}
nodes:
  - {id: a, organisation: ctu, role: analyst, vetting: SC, categories: [UK EYES ONLY]}
  - {id: b, organisation: council, role: reader, vetting: BPSS, categories: [UK EYES ONLY]}
  - {id: c, organisation: iag, role: member, vetting: none}
lists:
  - {id: partners, nodes: [b, c], roles: [reader]}
information_categories: [profile, report]
purposes: [prevent]
rules:
  - {id: up, effect: permit, to: {ct_network: true}}
  - id: down
    effect: permit
    categories: [profile]
    from: {organisation_kinds: [ctu]}
    to: {lists: [partners]}
    min_classification: PROTECT
    max_classification: SECRET
    handling: {review_by: [reader], originator_control: true}
  - {id: not-community, effect: deny, categories: [profile], to: {levels: [delivery]}}
events:
  - {id: go, triggered_by: {roles: [analyst]}}
)";

struct Paths {
  fs::path policy_file;                // the name fuzzed policies load under
  std::vector<fs::path> known_schemes;  // the scheme files they may read
};

const Paths& paths() {
  static const Paths instance = [] {
    const fs::path policies = fs::path(ICEGATE_SOURCE_DIR) / "policies";
    return Paths{policies / "fuzz-input.yaml",
                 {policies / "schemes" / "gpms-2008.yaml", policies / "schemes" / "gsc-2014.yaml"}};
  }();
  return instance;
}

// Whether loading `text` would read only a shipped scheme, or fail to open
// its scheme path without reading anything. Mirrors load_policy_text's
// resolution (the policy file's directory joined with the path as written).
bool scheme_reference_is_safe(std::string_view text) {
  const auto parsed = icegate::policy::parse_policy_file(text, paths().policy_file.string());
  if (!parsed.root) return true;
  const auto reference = icegate::policy::scheme_file_reference(*parsed.root);
  if (!reference) return true;
  const fs::path resolved = (paths().policy_file.parent_path() / reference->path).lexically_normal();
  const auto& known = paths().known_schemes;
  if (std::find(known.begin(), known.end(), resolved) != known.end()) return true;
  std::error_code error;
  const fs::file_status status = fs::status(resolved, error);
  return status.type() == fs::file_type::not_found || status.type() == fs::file_type::directory;
}

void check_outcome(const LoadResult& result) {
  const bool has_errors = result.diagnostics.has_errors();
  if ((result.policy != nullptr) == has_errors) bug();
  for (const auto& diagnostic : result.diagnostics.sorted()) {
    if (diagnostic.message.empty()) bug();  // every error says what and why (its code is typed)
    (void)icegate::policy::to_string(diagnostic);
  }
}

// A bounded tour of a policy that loaded.
void exercise(const CompiledPolicy& compiled) {
  const auto& policy = compiled.source();
  constexpr std::size_t kMaxNodes = 4;
  constexpr std::size_t kMaxLabels = 8;

  std::vector<icegate::Label> labels;
  for (const auto& classification : policy.scheme.classifications) {
    if (labels.size() == kMaxLabels) break;
    icegate::Label label{classification.name, {}};
    for (const auto& category : policy.scheme.categories) label.categories.push_back(category.name);
    icegate::normalise(label);
    labels.push_back(label);
    labels.push_back({classification.name, {}});
  }
  for (const auto& label : labels) {
    (void)compiled.label_problems(label);
    (void)compiled.display_marking(label);
    (void)compiled.classification_rank(label.classification);
  }
  if (!labels.empty()) (void)compiled.least_upper_bound(labels);

  std::vector<icegate::Addressee> addressees;
  for (const auto& node : policy.nodes) addressees.push_back({icegate::AddresseeKind::node, node.id});
  for (const auto& role : policy.roles) addressees.push_back({icegate::AddresseeKind::role, role.id});
  for (const auto& list : policy.lists) addressees.push_back({icegate::AddresseeKind::list, list.id});
  for (const auto& organisation : policy.organisations)
    addressees.push_back({icegate::AddresseeKind::organisation, organisation.id});
  addressees.push_back({icegate::AddresseeKind::node, "no-such-node"});

  const std::string_view category =
      policy.information_categories.empty() ? std::string_view("none") : policy.information_categories.front();
  const std::string_view purpose = policy.purposes.empty() ? std::string_view("none") : policy.purposes.front();
  const std::size_t nodes = std::min(policy.nodes.size(), kMaxNodes);
  for (std::size_t s = 0; s < nodes; ++s) {
    const std::string& sender = policy.nodes[s].id;
    const auto expansion = compiled.expand(addressees, sender);
    if (std::find(expansion.recipients.begin(), expansion.recipients.end(), sender) != expansion.recipients.end())
      bug();  // the sender is never its own recipient
    for (const auto& event : policy.events) (void)compiled.may_trigger(sender, event.id);
    for (std::size_t r = 0; r < nodes; ++r) {
      const std::string& recipient = policy.nodes[r].id;
      for (const auto& label : labels) (void)compiled.cleared_for(recipient, label);
      for (const bool occasional : {false, true}) {
        const icegate::policy::DecisionRequest request{sender, recipient, category, purpose, labels, occasional};
        const auto decision = compiled.decide(request);
        if (decision.portions.size() != labels.size()) bug();
        if (!std::is_sorted(decision.rules.begin(), decision.rules.end())) bug();
        for (const int rule : decision.rules)
          if (rule < 0 || static_cast<std::size_t>(rule) >= policy.rules.size()) bug();
        const auto released = static_cast<std::size_t>(std::count_if(
            decision.portions.begin(), decision.portions.end(), [](const auto& portion) { return portion.released; }));
        switch (decision.decision) {
          case icegate::Decision::release:
            if (labels.empty() || released != labels.size()) bug();
            break;
          case icegate::Decision::release_redacted:
            if (released == 0 || released == labels.size()) bug();
            break;
          case icegate::Decision::deny:
            if (released != 0) bug();
            break;
          case icegate::Decision::hold:
            if (decision.review_roles.empty()) bug();
            break;
        }
        if (decision.used_occasional && !occasional) bug();
      }
    }
  }
}

void load_and_check(std::string_view text) {
  const LoadResult result = icegate::policy::load_policy_text(text, paths().policy_file);
  check_outcome(result);
  if (result.policy) exercise(*result.policy);
}

// `text` as the value of `scheme:`, indented one level.
std::string with_inline_scheme(std::string_view text) {
  std::string policy = "scheme:\n  ";
  policy.reserve(text.size() * 2 + kPolicyBody.size() + 16);
  for (const char c : text) {
    policy += c;
    if (c == '\n') policy += "  ";
  }
  policy += '\n';
  policy += kPolicyBody;
  return policy;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (!scheme_reference_is_safe(text)) return -1;  // -1: not worth keeping in the corpus
  load_and_check(text);
  // The inline variant never names a scheme file: `scheme:` is a mapping or
  // a scalar the validator rejects. A scalar could still name a file.
  const std::string inline_policy = with_inline_scheme(text);
  if (scheme_reference_is_safe(inline_policy)) load_and_check(inline_policy);
  return 0;
}
