// The semantic comparison of two policies (diff_policies): every point of
// the decision space where their outcomes differ, grouped into changes with
// examples. The text and JSON reports of a diff are in diff_report.cpp.
#include "gateway/policy/diff.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

#include "gateway/policy/diff_support.hpp"

namespace icegate::policy {

using detail::contains;

// ---- Diff -------------------------------------------------------------------

std::string_view to_string(ChangeKind kind) {
  switch (kind) {
    case ChangeKind::opened: return "opened";
    case ChangeKind::closed: return "closed";
    case ChangeKind::hold_added: return "hold_added";
    case ChangeKind::hold_removed: return "hold_removed";
    case ChangeKind::handling_changed: return "handling_changed";
  }
  return "unknown";
}

std::string_view heading(ChangeKind kind) {
  switch (kind) {
    case ChangeKind::opened: return "FLOWS OPENED";
    case ChangeKind::closed: return "FLOWS CLOSED";
    case ChangeKind::hold_added: return "HOLDS ADDED";
    case ChangeKind::hold_removed: return "HOLDS REMOVED";
    case ChangeKind::handling_changed: return "HANDLING CHANGED";
  }
  return "CHANGED";
}

bool PolicyDiff::equivalent() const {
  return groups.empty() && nodes_only_old.empty() && nodes_only_new.empty() && categories_only_old.empty() &&
         categories_only_new.empty() && purposes_only_old.empty() && purposes_only_new.empty() &&
         label_validity.empty() && peers_only_old.empty() && peers_only_new.empty() && peers_changed.empty();
}

std::size_t PolicyDiff::count(ChangeKind kind) const {
  return static_cast<std::size_t>(
      std::count_if(groups.begin(), groups.end(), [kind](const ChangeGroup& group) { return group.kind == kind; }));
}

namespace {

std::optional<ChangeKind> classify(const PortionOutcome& before, const PortionOutcome& after) {
  const int old_level = release_level(before.state);
  const int new_level = release_level(after.state);
  if (new_level > old_level) return ChangeKind::opened;
  if (new_level < old_level) return ChangeKind::closed;
  if (old_level == 0) return std::nullopt;
  if (!is_held(before.state) && is_held(after.state)) return ChangeKind::hold_added;
  if (is_held(before.state) && !is_held(after.state)) return ChangeKind::hold_removed;
  if (before.originator_control != after.originator_control || before.no_onward_sharing != after.no_onward_sharing) {
    return ChangeKind::handling_changed;
  }
  return std::nullopt;
}

// The changes found for one (sender set, recipient set, category), before
// they are split by the senders' and recipients' organisation kind and role.
struct LocalChange {
  std::vector<char> purposes;  // by purpose index
  std::vector<char> labels;    // by label index
  std::size_t points = 0;      // purposes x labels
  std::set<int> old_rules, new_rules;
  int example_purpose = -1;
  int example_label = -1;
};
using LocalKey = std::tuple<ChangeKind, FlowState, FlowState>;

struct GroupKey {
  ChangeKind kind;
  FlowState old_state, new_state;
  std::string sender, recipient;
  int category;
  auto tie() const { return std::tie(kind, sender, recipient, category, old_state, new_state); }
  friend bool operator<(const GroupKey& a, const GroupKey& b) { return a.tie() < b.tie(); }
};

struct GroupAccumulator {
  std::vector<char> purposes;
  std::vector<char> labels;
  std::size_t node_pairs = 0;
  std::size_t points = 0;
  std::set<int> old_rules, new_rules;
  bool has_example = false;
  int example_sender = -1, example_recipient = -1, example_purpose = -1, example_label = -1;
};

class DiffBuilder {
 public:
  DiffBuilder(const CompiledPolicy& old_policy, const CompiledPolicy& new_policy, PolicyDiff& diff)
      : old_(old_policy), new_(new_policy), diff_(diff) {
    // "kind/role" of every compared node, as the new policy has it.
    for (const std::string& id : diff.nodes) {
      const Node* node = new_.find_node(id);
      std::string kind = "?";
      for (const Organisation& organisation : new_.source().organisations) {
        if (organisation.id == node->organisation) kind = organisation.kind;
      }
      kind_role_.push_back(kind + "/" + node->role);
    }
  }

  // Records one point's outcomes in the current local accumulator.
  void record(int purpose, const std::vector<PortionOutcome>& before, const std::vector<PortionOutcome>& after) {
    for (std::size_t l = 0; l < before.size(); ++l) {
      auto kind = classify(before[l], after[l]);
      if (!kind) continue;
      LocalChange& change = local_[LocalKey{*kind, before[l].state, after[l].state}];
      if (change.purposes.empty()) {
        change.purposes.assign(diff_.purposes.size(), 0);
        change.labels.assign(diff_.labels.size(), 0);
        change.example_purpose = purpose;
        change.example_label = static_cast<int>(l);
      }
      change.purposes[static_cast<std::size_t>(purpose)] = 1;
      change.labels[l] = 1;
      // The example shows the highest label that changed: the most telling.
      if (purpose == change.example_purpose) change.example_label = static_cast<int>(l);
      ++change.points;
      change.old_rules.insert(before[l].rule);
      change.new_rules.insert(after[l].rule);
    }
  }

  // Splits what was recorded for (senders, recipients, category) by the
  // organisation kind/role of each side, into the groups.
  void flush(const std::vector<int>& senders, const std::vector<int>& recipients, int category) {
    if (local_.empty()) return;
    std::map<std::string, std::vector<int>> sender_parts, recipient_parts;
    for (int node : senders) sender_parts[kind_role_[static_cast<std::size_t>(node)]].push_back(node);
    for (int node : recipients) recipient_parts[kind_role_[static_cast<std::size_t>(node)]].push_back(node);
    for (const auto& [sender_kind, sender_nodes] : sender_parts) {
      for (const auto& [recipient_kind, recipient_nodes] : recipient_parts) {
        std::size_t overlap = 0;
        for (int node : sender_nodes) overlap += contains(recipient_nodes, node) ? 1 : 0;
        const std::size_t pairs = sender_nodes.size() * recipient_nodes.size() - overlap;
        if (pairs == 0) continue;
        for (const auto& [local_key, change] : local_) {
          const auto& [kind, old_state, new_state] = local_key;
          GroupAccumulator& group =
              groups_[GroupKey{kind, old_state, new_state, sender_kind, recipient_kind, category}];
          if (group.purposes.empty()) {
            group.purposes.assign(diff_.purposes.size(), 0);
            group.labels.assign(diff_.labels.size(), 0);
          }
          for (std::size_t p = 0; p < change.purposes.size(); ++p) group.purposes[p] |= change.purposes[p];
          for (std::size_t l = 0; l < change.labels.size(); ++l) group.labels[l] |= change.labels[l];
          group.node_pairs += pairs;
          group.points += pairs * change.points;
          group.old_rules.insert(change.old_rules.begin(), change.old_rules.end());
          group.new_rules.insert(change.new_rules.begin(), change.new_rules.end());
          if (!group.has_example) {
            group.has_example = true;
            auto [sender, recipient] = distinct_pair(sender_nodes, recipient_nodes);
            group.example_sender = sender;
            group.example_recipient = recipient;
            group.example_purpose = change.example_purpose;
            group.example_label = change.example_label;
          }
        }
      }
    }
    local_.clear();
  }

  void finish() {
    for (auto& [key, accumulator] : groups_) {
      ChangeGroup group;
      group.kind = key.kind;
      group.old_state = key.old_state;
      group.new_state = key.new_state;
      group.sender = key.sender;
      group.recipient = key.recipient;
      group.category = diff_.categories[static_cast<std::size_t>(key.category)];
      group.all_purposes = true;
      for (std::size_t p = 0; p < diff_.purposes.size(); ++p) {
        if (accumulator.purposes[p]) {
          group.purposes.push_back(diff_.purposes[p]);
        } else {
          group.all_purposes = false;
        }
      }
      int lowest = -1, highest = -1;
      for (std::size_t l = 0; l < diff_.labels.size(); ++l) {
        if (!accumulator.labels[l]) continue;
        const Label& label = diff_.labels[l];
        group.labels.push_back(label);
        const int rank = new_.classification_rank(label.classification);
        if (lowest < 0 || rank < new_.classification_rank(group.lowest_classification)) {
          group.lowest_classification = label.classification;
          lowest = rank;
        }
        if (highest < 0 || rank > new_.classification_rank(group.highest_classification)) {
          group.highest_classification = label.classification;
          highest = rank;
        }
      }
      group.node_pairs = accumulator.node_pairs;
      group.points = accumulator.points;
      for (int rule : accumulator.old_rules) group.old_rules.push_back(rule < 0 ? "" : old_.rule(rule).id);
      for (int rule : accumulator.new_rules) group.new_rules.push_back(rule < 0 ? "" : new_.rule(rule).id);
      group.example = example(group, accumulator);
      diff_.groups.push_back(std::move(group));
    }
    // Within one (kind, sender, recipient, category), lower classifications first.
    std::stable_sort(diff_.groups.begin(), diff_.groups.end(), [this](const ChangeGroup& a, const ChangeGroup& b) {
      return std::make_tuple(a.kind, std::cref(a.sender), std::cref(a.recipient), std::cref(a.category),
                             new_.classification_rank(a.lowest_classification)) <
             std::make_tuple(b.kind, std::cref(b.sender), std::cref(b.recipient), std::cref(b.category),
                             new_.classification_rank(b.lowest_classification));
    });
  }

 private:
  // A sender from `senders` and a different recipient from `recipients`
  // (the caller has checked that one exists).
  static std::pair<int, int> distinct_pair(const std::vector<int>& senders, const std::vector<int>& recipients) {
    for (int sender : senders) {
      for (int recipient : recipients) {
        if (sender != recipient) return {sender, recipient};
      }
    }
    return {senders.front(), recipients.front()};
  }

  // The example request, decided again on both sides for its explanation.
  ChangeExample example(const ChangeGroup& group, const GroupAccumulator& accumulator) const {
    ChangeExample example;
    example.sender = diff_.nodes[static_cast<std::size_t>(accumulator.example_sender)];
    example.recipient = diff_.nodes[static_cast<std::size_t>(accumulator.example_recipient)];
    example.category = group.category;
    example.purpose = diff_.purposes[static_cast<std::size_t>(accumulator.example_purpose)];
    example.label = diff_.labels[static_cast<std::size_t>(accumulator.example_label)];
    // Show the change where it is visible: a change between withheld and
    // occasional needs the occasional release; one between occasional and
    // released shows without it.
    const int low = std::min(release_level(group.old_state), release_level(group.new_state));
    const int high = std::max(release_level(group.old_state), release_level(group.new_state));
    example.occasional_available = low == high ? low == 1 : (low == 0 && high == 1);
    const std::vector<Label> labels = {example.label};
    // A side whose occasional allowance is 0 never has one (portion_outcome).
    auto decide = [&](const CompiledPolicy& side) {
      const bool available = example.occasional_available && side.source().occasional.releases > 0;
      DecisionRequest request{example.sender, example.recipient, example.category, example.purpose, labels,
                              available};
      return side.decide(request).portions.front();
    };
    const PortionDecision before = decide(old_);
    const PortionDecision after = decide(new_);
    example.old_rule = before.rule < 0 ? "" : old_.rule(before.rule).id;
    example.new_rule = after.rule < 0 ? "" : new_.rule(after.rule).id;
    example.old_detail = before.detail;
    example.new_detail = after.detail;
    if (before.released) example.old_handling = handling_text(old_.rule(before.rule).handling);
    if (after.released) example.new_handling = handling_text(new_.rule(after.rule).handling);
    return example;
  }

  static std::string handling_text(const RuleHandling& handling) {
    std::vector<std::string> parts;
    if (handling.requires_review()) parts.push_back(fmt::format("review by {}", fmt::join(handling.review_by, " or ")));
    if (handling.originator_control) parts.push_back("originator control");
    if (handling.no_onward_sharing) parts.push_back("no onward sharing");
    return fmt::format("{}", fmt::join(parts, ", "));
  }

  const CompiledPolicy& old_;
  const CompiledPolicy& new_;
  PolicyDiff& diff_;
  std::vector<std::string> kind_role_;  // by compared node
  std::map<LocalKey, LocalChange> local_;
  std::map<GroupKey, GroupAccumulator> groups_;
};

template <typename Names>
void split(const Names& old_names, const Names& new_names, std::vector<std::string>& both,
           std::vector<std::string>& only_old, std::vector<std::string>& only_new) {
  for (const auto& name : new_names) {
    if (contains(old_names, name)) {
      both.push_back(name);
    } else {
      only_new.push_back(name);
    }
  }
  for (const auto& name : old_names) {
    if (!contains(new_names, name)) only_old.push_back(name);
  }
}

// "added a, b" / "removed c" for a list that changed, in the list's own order.
void list_change(std::vector<std::string>& changes, std::string_view what, const std::vector<std::string>& before,
                 const std::vector<std::string>& after) {
  std::vector<std::string> added, removed;
  for (const std::string& name : after) {
    if (!contains(before, name)) added.push_back(name);
  }
  for (const std::string& name : before) {
    if (!contains(after, name)) removed.push_back(name);
  }
  if (!added.empty()) changes.push_back(fmt::format("{} added {}", what, fmt::join(added, ", ")));
  if (!removed.empty()) changes.push_back(fmt::format("{} removed {}", what, fmt::join(removed, ", ")));
}

std::string or_none(const std::string& text) { return text.empty() ? "(none)" : text; }

}  // namespace

std::vector<std::string> peer_changes(const Peer& before, const Peer& after) {
  std::vector<std::string> changes;
  if (before.address != after.address) {
    changes.push_back(fmt::format("address {} -> {}", or_none(before.address), or_none(after.address)));
  }
  if (before.ca != after.ca) changes.push_back(fmt::format("ca {} -> {}", before.ca, after.ca));
  if (before.holds.max_classification != after.holds.max_classification) {
    changes.push_back(fmt::format("holds max_classification {} -> {}", before.holds.max_classification,
                                  after.holds.max_classification));
  }
  list_change(changes, "holds categories", before.holds.categories, after.holds.categories);
  list_change(changes, "receives categories", before.receives.categories, after.receives.categories);
  list_change(changes, "receives purposes", before.receives.purposes, after.receives.purposes);
  list_change(changes, "speaks_for organisations", before.speaks_for.organisations, after.speaks_for.organisations);
  list_change(changes, "speaks_for nodes", before.speaks_for.nodes, after.speaks_for.nodes);
  list_change(changes, "speaks_for roles", before.speaks_for.roles, after.speaks_for.roles);
  return changes;
}

PolicyDiff diff_policies(const CompiledPolicy& old_policy, const CompiledPolicy& new_policy,
                         const DiffOptions& options) {
  const auto started = std::chrono::steady_clock::now();
  const Policy& before = old_policy.source();
  const Policy& after = new_policy.source();
  PolicyDiff diff;
  diff.old_file = before.file;
  diff.new_file = after.file;

  std::vector<std::string> old_nodes, new_nodes;
  for (const Node& node : before.nodes) old_nodes.push_back(node.id);
  for (const Node& node : after.nodes) new_nodes.push_back(node.id);
  split(old_nodes, new_nodes, diff.nodes, diff.nodes_only_old, diff.nodes_only_new);
  split(before.information_categories, after.information_categories, diff.categories, diff.categories_only_old,
        diff.categories_only_new);
  split(before.purposes, after.purposes, diff.purposes, diff.purposes_only_old, diff.purposes_only_new);
  diff.purposes.push_back("");  // no purpose: only rules naming none apply

  // Peers: by id; one in both is compared key by key.
  std::vector<std::string> old_peers, new_peers, both_peers;
  for (const Peer& peer : before.peers) old_peers.push_back(peer.id);
  for (const Peer& peer : after.peers) new_peers.push_back(peer.id);
  split(old_peers, new_peers, both_peers, diff.peers_only_old, diff.peers_only_new);
  for (const Peer& peer : after.peers) {
    const auto old_peer = std::find_if(before.peers.begin(), before.peers.end(),
                                       [&peer](const Peer& p) { return p.id == peer.id; });
    if (old_peer == before.peers.end()) continue;
    std::vector<std::string> changes = peer_changes(*old_peer, peer);
    if (!changes.empty()) diff.peers_changed.push_back({peer.id, std::move(changes)});
  }

  // Labels: valid under both schemes are compared; valid under one only are reported.
  const LabelSpace old_labels = enumerate_labels(old_policy, options.labels);
  const LabelSpace new_labels = enumerate_labels(new_policy, options.labels);
  diff.labels_truncated = old_labels.truncated || new_labels.truncated;
  for (const LabelSpace* space : {&new_labels, &old_labels}) {
    for (const Label& label : space->labels) {
      const bool valid_old = old_policy.label_problems(label).empty();
      const bool valid_new = new_policy.label_problems(label).empty();
      if (valid_old && valid_new) {
        if (!contains(diff.labels, label)) diff.labels.push_back(label);
      } else if (std::none_of(diff.label_validity.begin(), diff.label_validity.end(),
                              [&label](const LabelValidityChange& change) { return change.label == label; })) {
        diff.label_validity.push_back({label, valid_old});
      }
    }
  }
  // One order for the compared labels: the new scheme's ranks, fewer categories first.
  std::stable_sort(diff.labels.begin(), diff.labels.end(), [&new_policy](const Label& a, const Label& b) {
    const int ra = new_policy.classification_rank(a.classification);
    const int rb = new_policy.classification_rank(b.classification);
    return ra != rb ? ra < rb : a.categories.size() < b.categories.size();
  });

  DiffBuilder builder(old_policy, new_policy, diff);
  const int category_count = static_cast<int>(diff.categories.size());
  const int purpose_count = static_cast<int>(diff.purposes.size());
  if (options.exhaustive) {
    const int node_count = static_cast<int>(diff.nodes.size());
    for (int sender = 0; sender < node_count; ++sender) {
      for (int recipient = 0; recipient < node_count; ++recipient) {
        if (sender == recipient) continue;
        for (int category = 0; category < category_count; ++category) {
          for (int purpose = 0; purpose < purpose_count; ++purpose) {
            std::vector<PortionOutcome> outcomes[2];
            int side = 0;
            for (const CompiledPolicy* policy : {&old_policy, &new_policy}) {
              DecisionRequest request{diff.nodes[static_cast<std::size_t>(sender)],
                                      diff.nodes[static_cast<std::size_t>(recipient)],
                                      diff.categories[static_cast<std::size_t>(category)],
                                      diff.purposes[static_cast<std::size_t>(purpose)],
                                      diff.labels,
                                      false};
              const PolicyDecision without = policy->decide(request);
              request.occasional_available = true;
              const PolicyDecision with = policy->decide(request);
              diff.decide_calls += 2;
              for (std::size_t l = 0; l < diff.labels.size(); ++l) {
                outcomes[side].push_back(portion_outcome(*policy, without.portions[l], with.portions[l]));
              }
              ++side;
            }
            builder.record(purpose, outcomes[0], outcomes[1]);
          }
          builder.flush({sender}, {recipient}, category);
        }
      }
    }
    diff.sender_classes = diff.recipient_classes = diff.nodes.size();
  } else {
    DecisionSpace space({&old_policy, &new_policy}, diff.nodes, diff.categories, diff.purposes, diff.labels);
    const auto& senders = space.sender_classes();
    const auto& recipients = space.recipient_classes();
    for (std::size_t sc = 0; sc < senders.size(); ++sc) {
      for (std::size_t rc = 0; rc < recipients.size(); ++rc) {
        // Two different nodes to decide for, one from each class.
        int sender = -1, recipient = -1;
        for (int s : senders[sc]) {
          for (int r : recipients[rc]) {
            if (s != r) {
              sender = s;
              recipient = r;
              break;
            }
          }
          if (sender >= 0) break;
        }
        if (sender < 0) continue;  // the one node, as its own recipient
        for (int category = 0; category < category_count; ++category) {
          for (int purpose = 0; purpose < purpose_count; ++purpose) {
            if (!space.any_permit(static_cast<int>(sc), static_cast<int>(rc), category, purpose)) continue;
            const auto& outcomes = space.outcomes(sender, recipient, category, purpose);
            builder.record(purpose, outcomes[0], outcomes[1]);
          }
          builder.flush(senders[sc], recipients[rc], category);
        }
      }
    }
    diff.sender_classes = senders.size();
    diff.recipient_classes = recipients.size();
    diff.decide_calls = space.decide_calls();
  }
  builder.finish();
  diff.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return diff;
}

}  // namespace icegate::policy
