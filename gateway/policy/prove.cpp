// Proving properties over the decision space (prove.hpp): the complete label
// space, the walk over folded node classes, and the counterexamples.
#include "gateway/policy/prove.hpp"

#include <algorithm>
#include <chrono>
#include <limits>
#include <map>
#include <set>

#include <fmt/format.h>

#include "gateway/policy/explain.hpp"

namespace icegate::policy {
namespace {

bool contains(const std::vector<std::string>& values, std::string_view value) {
  return std::find(values.begin(), values.end(), value) != values.end();
}

// ---- The complete label space -------------------------------------------------

// Depth-first search over subsets of the scheme's categories at one
// classification.
class LabelSearch {
 public:
  LabelSearch(const CompiledPolicy& policy, std::span<const std::string> kept, std::size_t budget,
              CompleteLabelSpace& out)
      : policy_(policy), budget_(budget), out_(out) {
    const LabelScheme& scheme = policy.source().scheme;
    std::map<std::string, const TagSet*, std::less<>> tag_set_of;
    for (const TagSet& tag_set : scheme.tag_sets) {
      for (const std::string& name : tag_set.categories) tag_set_of.emplace(name, &tag_set);
    }
    for (std::size_t t = 0; t < scheme.tag_sets.size(); ++t) limits_.push_back(scheme.tag_sets[t].max_selection);
    for (const Category& category : scheme.categories) {
      Candidate candidate;
      candidate.category = &category;
      auto it = tag_set_of.find(category.name);
      if (it != tag_set_of.end()) candidate.tag_set = static_cast<int>(it->second - scheme.tag_sets.data());
      const bool informative = it == tag_set_of.end() || it->second->type == TagSetType::informative;
      candidate.in_key = !informative || std::find(kept.begin(), kept.end(), category.name) != kept.end();
      candidates_.push_back(candidate);
    }
    // Exclusion either way round: `A excludes B` makes a label with both invalid.
    for (std::size_t i = 0; i < candidates_.size(); ++i) {
      for (std::size_t j = 0; j < candidates_.size(); ++j) {
        if (contains(candidates_[i].category->excludes, candidates_[j].category->name)) {
          candidates_[i].conflicts.push_back(static_cast<int>(j));
          candidates_[j].conflicts.push_back(static_cast<int>(i));
        }
      }
    }
  }

  void run() {
    for (const Classification& classification : policy_.source().scheme.classifications) {
      classification_ = &classification;
      chosen_.clear();
      counts_.assign(limits_.size(), 0);
      search(0);
      if (out_.truncated) return;
    }
  }

 private:
  struct Candidate {
    const Category* category = nullptr;
    int tag_set = -1;
    bool in_key = true;          // distinguishes labels (not an informative category no property names)
    std::vector<int> conflicts;  // candidates it may not appear with
  };

  void search(std::size_t index) {
    if (out_.truncated) return;
    if (++steps_ > budget_) {
      out_.truncated = true;
      return;
    }
    if (index == candidates_.size()) {
      leaf();
      return;
    }
    search(index + 1);  // without it
    const Candidate& candidate = candidates_[index];
    // With it, unless that breaks a rule more categories can never mend.
    if (contains(candidate.category->excluded_at, classification_->name)) return;
    for (int other : chosen_) {
      if (std::find(candidate.conflicts.begin(), candidate.conflicts.end(), other) != candidate.conflicts.end()) return;
    }
    if (candidate.tag_set >= 0) {
      const auto t = static_cast<std::size_t>(candidate.tag_set);
      if (limits_[t] > 0 && counts_[t] + 1 > limits_[t]) return;
      ++counts_[t];
    }
    chosen_.push_back(static_cast<int>(index));
    search(index + 1);
    chosen_.pop_back();
    if (candidate.tag_set >= 0) --counts_[static_cast<std::size_t>(candidate.tag_set)];
  }

  void leaf() {
    Label label{classification_->name, {}};
    std::string key = classification_->name;
    for (int index : chosen_) {
      const Candidate& candidate = candidates_[static_cast<std::size_t>(index)];
      label.categories.push_back(candidate.category->name);
      if (candidate.in_key) key += '\0' + candidate.category->name;
    }
    normalise(label);
    if (!policy_.label_problems(label).empty()) return;
    ++out_.valid_labels;
    auto [it, inserted] = by_key_.emplace(std::move(key), out_.labels.size());
    if (inserted) {
      out_.labels.push_back(std::move(label));
    } else if (label.categories.size() < out_.labels[it->second].categories.size()) {
      out_.labels[it->second] = std::move(label);  // fewest categories stands for the rest
    }
  }

  const CompiledPolicy& policy_;
  std::size_t budget_;
  CompleteLabelSpace& out_;
  std::vector<Candidate> candidates_;
  std::vector<int> limits_;  // by tag set: max_selection, 0 for none
  const Classification* classification_ = nullptr;
  std::vector<int> chosen_;
  std::vector<int> counts_;  // by tag set: how many chosen
  std::size_t steps_ = 0;
  std::map<std::string, std::size_t> by_key_;
};

// ---- Points -----------------------------------------------------------------

// Whether a portion in `state` goes to the recipient at a point with an
// occasional release available or not, a hold counting as `held` says.
bool counts_as_released(FlowState state, bool occasional, HeldCountsAs held) {
  if (state == FlowState::withheld) return false;
  if (release_level(state) == 1 && !occasional) return false;
  return !(is_held(state) && held == HeldCountsAs::withheld);
}

// Decides points for one or two policies: folded into DecisionSpace's node
// classes, or (exhaustive, the tests' oracle) every node pair on its own.
class Points {
 public:
  Points(std::vector<const CompiledPolicy*> policies, std::vector<std::string> node_ids,
         std::vector<std::string> categories, std::vector<std::string> purposes, std::vector<Label> labels,
         bool exhaustive)
      : policies_(policies), node_ids_(node_ids), categories_(categories), purposes_(purposes), labels_(labels) {
    if (exhaustive) {
      for (int n = 0; n < static_cast<int>(node_ids_.size()); ++n) singletons_.push_back({n});
    } else {
      space_ = std::make_unique<DecisionSpace>(std::move(policies), std::move(node_ids), std::move(categories),
                                               std::move(purposes), std::move(labels));
    }
  }

  const std::vector<std::vector<int>>& sender_groups() const {
    return space_ ? space_->sender_classes() : singletons_;
  }
  const std::vector<std::vector<int>>& recipient_groups() const {
    return space_ ? space_->recipient_classes() : singletons_;
  }
  const std::vector<Label>& labels() const { return labels_; }
  std::size_t decide_calls() const { return space_ ? space_->decide_calls() : decide_calls_; }

  // outcomes[policy][label] for a sender and a recipient (different nodes).
  const std::vector<std::vector<PortionOutcome>>& outcomes(int sender, int recipient, int category, int purpose) {
    if (space_) return space_->outcomes(sender, recipient, category, purpose);
    scratch_.assign(policies_.size(), {});
    for (std::size_t i = 0; i < policies_.size(); ++i) {
      DecisionRequest request{node_ids_[static_cast<std::size_t>(sender)],
                              node_ids_[static_cast<std::size_t>(recipient)],
                              categories_[static_cast<std::size_t>(category)],
                              purposes_[static_cast<std::size_t>(purpose)],
                              labels_,
                              false};
      const PolicyDecision without = policies_[i]->decide(request);
      request.occasional_available = true;
      const PolicyDecision with = policies_[i]->decide(request);
      decide_calls_ += 2;
      for (std::size_t l = 0; l < labels_.size(); ++l) {
        scratch_[i].push_back(portion_outcome(*policies_[i], without.portions[l], with.portions[l]));
      }
    }
    return scratch_;
  }

 private:
  std::vector<const CompiledPolicy*> policies_;
  std::vector<std::string> node_ids_, categories_, purposes_;
  std::vector<Label> labels_;
  std::unique_ptr<DecisionSpace> space_;
  std::vector<std::vector<int>> singletons_;
  std::vector<std::vector<PortionOutcome>> scratch_;
  std::size_t decide_calls_ = 0;
};

// A point of the space by index: node, category, purpose and label indices
// into the Points it came from.
struct Point {
  int sender = -1, recipient = -1, category = -1, purpose = -1, label = -1;
  bool occasional = false;
};

// The slice of a property as masks over one Points' indices.
struct Masks {
  std::vector<char> from, to;  // by node
  std::vector<int> categories, purposes, labels;  // selected indices; labels in the order to try them
  std::vector<bool> occasional;                    // values to try, false first
};

// Senders and recipients of two groups within the slice, and a pair of
// different nodes standing for all of them.
struct GroupPair {
  std::size_t pairs = 0;
  int sender = -1, recipient = -1;
};

GroupPair pair_within(const std::vector<int>& senders, const std::vector<int>& recipients, const Masks& masks) {
  std::vector<int> from, to;
  for (int n : senders) {
    if (masks.from[static_cast<std::size_t>(n)]) from.push_back(n);
  }
  for (int n : recipients) {
    if (masks.to[static_cast<std::size_t>(n)]) to.push_back(n);
  }
  GroupPair result;
  std::size_t both = 0;
  for (int n : from) {
    if (std::find(to.begin(), to.end(), n) != to.end()) ++both;
  }
  result.pairs = from.size() * to.size() - both;
  for (int s : from) {
    for (int r : to) {
      if (s == r) continue;
      result.sender = s;
      result.recipient = r;
      return result;
    }
  }
  return result;
}

// The shell form of one argument: as it is when it is plainly safe, else in
// single quotes.
std::string shell_quote(std::string_view argument) {
  const bool plain = !argument.empty() && std::all_of(argument.begin(), argument.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("_-./:=@%+,").find(c) != std::string_view::npos;
  });
  if (plain) return std::string(argument);
  std::string quoted = "'";
  for (char c : argument) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

// Decides one single-portion request under `policy`, as decide() and explain
// see it, with the explain command that shows it.
CounterexampleSide decide_side(const CompiledPolicy& policy, const std::string& display, const Counterexample& example,
                               bool occasional) {
  CounterexampleSide side;
  side.policy_file = display;
  side.occasional_available = occasional && policy.source().occasional.releases > 0;
  DecisionRequest request{example.sender, example.recipient, example.category, example.purpose,
                          std::span<const Label>(&example.label, 1), side.occasional_available};
  const PolicyDecision decision = policy.decide(request);
  side.decision = decision.decision;
  const PortionDecision& portion = decision.portions.front();
  if (portion.rule >= 0) side.rule = policy.rule(portion.rule).id;
  side.detail = portion.detail;

  ExplainRequest explain;
  explain.sender = example.sender;
  explain.recipient = example.recipient;
  explain.category = example.category;
  explain.purpose = example.purpose;
  explain.portions.push_back({"1", example.label});
  explain.occasional_available = side.occasional_available;
  const ExplainTrace trace = explain_decision(policy, explain);
  side.explain_agrees = trace.agrees_with_engine && trace.decision == decision.decision &&
                        trace.engine.decision == decision.decision;

  side.explain_arguments = {"policy", "explain", display, "--from", example.sender, "--to", example.recipient,
                            "--category", example.category};
  if (!example.purpose.empty()) {
    side.explain_arguments.push_back("--purpose");
    side.explain_arguments.push_back(example.purpose);
  }
  side.explain_arguments.push_back("--portion");
  side.explain_arguments.push_back(label_text(example.label));
  if (side.occasional_available) side.explain_arguments.push_back("--occasional");
  side.explain_command = "icegate";
  for (const std::string& argument : side.explain_arguments) side.explain_command += " " + shell_quote(argument);
  return side;
}

bool releases(const CounterexampleSide& side, HeldCountsAs held) {
  return side.decision == Decision::release || (side.decision == Decision::hold && held == HeldCountsAs::released);
}

std::string points_phrase(std::size_t count) { return fmt::format("{} {}", count, count == 1 ? "point" : "points"); }

// ---- The prover ---------------------------------------------------------------

class Prover {
 public:
  Prover(const CompiledPolicy& policy, const PropertiesFile& properties, const ProveOptions& options, ProofRun& run)
      : policy_(policy), properties_(properties), options_(options), run_(run) {
    display_ = options.policy_display.empty() ? policy.source().file : options.policy_display;
    const Policy& source = policy.source();
    for (const Node& node : source.nodes) node_ids_.push_back(node.id);
    categories_ = source.information_categories;
    purposes_ = source.purposes;
    purposes_.push_back("");  // no purpose
    for (const Property& property : properties.properties) {
      for (const std::string& name : property.slice.with_categories) kept_.push_back(name);
      for (const std::string& name : property.slice.without_categories) kept_.push_back(name);
      if (!property.category.empty()) kept_.push_back(property.category);
    }
  }

  void run() {
    const auto started = std::chrono::steady_clock::now();
    const CompleteLabelSpace space = enumerate_complete_labels(policy_, kept_, options_.label_budget);
    run_.nodes = node_ids_.size();
    run_.categories = categories_.size();
    run_.purposes = purposes_.size() - 1;
    run_.labels = space.labels.size();
    run_.valid_labels = space.valid_labels;
    run_.labels_truncated = space.truncated;
    run_.occasional = policy_.source().occasional.releases > 0;

    Points points({&policy_}, node_ids_, categories_, purposes_, space.labels, options_.exhaustive);
    run_.sender_classes = points.sender_groups().size();
    run_.recipient_classes = points.recipient_groups().size();
    for (const Property& property : properties_.properties) {
      PropertyResult result;
      result.name = property.name;
      result.kind = property.kind;
      result.location = property.location;
      if (property.kind == PropertyKind::implies) {
        prove_implies(property, space, result);
      } else if (property.kind == PropertyKind::no_dead_rules) {
        prove_no_dead_rules(property, points, space.truncated, result);
      } else {
        prove_slice_property(property, points, space.truncated, result);
      }
      run_.results.push_back(std::move(result));
    }
    run_.decide_calls += points.decide_calls();
    run_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  }

 private:
  Masks masks_for(const PropertySlice& slice, const Policy& source, const std::vector<Label>& labels,
                  bool occasional_possible, bool highest_first) const {
    Masks masks;
    const NodeDirectory directory(source);
    for (const std::string& id : node_ids_) {
      const ResolvedNode node = directory.resolve(id);
      masks.from.push_back(directory.matches(slice.from, node));
      masks.to.push_back(directory.matches(slice.to, node));
    }
    for (std::size_t c = 0; c < categories_.size(); ++c) {
      if (slice.categories.empty() || contains(slice.categories, categories_[c])) {
        masks.categories.push_back(static_cast<int>(c));
      }
    }
    for (std::size_t p = 0; p < purposes_.size(); ++p) {
      const bool selected = purposes_[p].empty() ? slice.no_purpose
                                                 : !slice.purposes || contains(*slice.purposes, purposes_[p]);
      if (selected) masks.purposes.push_back(static_cast<int>(p));
    }
    const int low = slice.min_classification ? policy_.classification_rank(*slice.min_classification) : -1;
    const int high = slice.max_classification ? policy_.classification_rank(*slice.max_classification)
                                              : std::numeric_limits<int>::max();
    for (std::size_t l = 0; l < labels.size(); ++l) {
      const Label& label = labels[l];
      const int rank = policy_.classification_rank(label.classification);
      if (rank < low || rank > high) continue;
      if (!std::all_of(slice.with_categories.begin(), slice.with_categories.end(),
                       [&label](const std::string& name) { return contains(label.categories, name); })) {
        continue;
      }
      if (std::any_of(slice.without_categories.begin(), slice.without_categories.end(),
                      [&label](const std::string& name) { return contains(label.categories, name); })) {
        continue;
      }
      masks.labels.push_back(static_cast<int>(l));
    }
    if (highest_first) std::reverse(masks.labels.begin(), masks.labels.end());
    if (!slice.occasional_available.value_or(false)) masks.occasional.push_back(false);
    if (occasional_possible && slice.occasional_available.value_or(true)) masks.occasional.push_back(true);
    return masks;
  }

  // Walks the slice; `fails(outcomes, label, occasional)` says whether a
  // point fails. Returns the first failing point found.
  template <typename Fails>
  std::optional<Point> walk(Points& points, const Masks& masks, PropertyResult& result, const Fails& fails) {
    std::optional<Point> first;
    for (const std::vector<int>& senders : points.sender_groups()) {
      for (const std::vector<int>& recipients : points.recipient_groups()) {
        const GroupPair group = pair_within(senders, recipients, masks);
        if (group.pairs == 0) continue;
        for (int category : masks.categories) {
          for (int purpose : masks.purposes) {
            const auto& outcomes = points.outcomes(group.sender, group.recipient, category, purpose);
            for (int label : masks.labels) {
              for (bool occasional : masks.occasional) {
                result.points += group.pairs;
                if (!fails(outcomes, static_cast<std::size_t>(label), occasional)) continue;
                result.failing_points += group.pairs;
                if (!first) first = Point{group.sender, group.recipient, category, purpose, label, occasional};
              }
            }
          }
        }
      }
    }
    return first;
  }

  Counterexample example_at(const Point& point, const std::vector<Label>& labels) const {
    Counterexample example;
    example.sender = node_ids_[static_cast<std::size_t>(point.sender)];
    example.recipient = node_ids_[static_cast<std::size_t>(point.recipient)];
    example.category = categories_[static_cast<std::size_t>(point.category)];
    example.purpose = purposes_[static_cast<std::size_t>(point.purpose)];
    example.label = labels[static_cast<std::size_t>(point.label)];
    return example;
  }

  // A counterexample that explain decides otherwise than the prover claims
  // is a bug in the prover; it is reported, never hidden.
  void confirm(const PropertyResult& result, const CounterexampleSide& side, bool as_claimed) {
    if (as_claimed && side.explain_agrees) return;
    run_.diagnostics.error(Code::V015, result.location,
                           fmt::format("internal error: property '{}': explain decides the counterexample {} ({}), "
                                       "not as the prover found it; please report this",
                                       result.name, to_string(side.decision), side.explain_command));
  }

  void empty_slice(const Property& property, PropertyResult& result) {
    result.status = PropertyStatus::not_proved;
    result.message = "the slice selects no point of the decision space";
    run_.diagnostics.error(Code::V014, property.kind_location,
                           fmt::format("property '{}' selects no point of the decision space (no pair of different "
                                       "nodes, information category, purpose, label and occasional release in "
                                       "its slice): it would hold whatever the policy says",
                                       property.name));
  }

  void not_proved_truncated(PropertyResult& result) {
    result.status = PropertyStatus::not_proved;
    result.message = fmt::format(
        "not proved: label space truncated (the search for valid labels stopped after {} steps); no "
        "counterexample among the {} checked",
        options_.label_budget, points_phrase(result.points));
  }

  void prove_slice_property(const Property& property, Points& points, bool truncated, PropertyResult& result) {
    const bool always = property.kind == PropertyKind::always_released;
    Masks masks = masks_for(property.slice, policy_.source(), points.labels(), run_.occasional, !always);
    if (property.kind == PropertyKind::confined) {
      // Confinement is "never released" on labels carrying the category, to
      // recipients that do not hold it.
      const NodeDirectory directory(policy_.source());
      for (std::size_t n = 0; n < node_ids_.size(); ++n) {
        if (contains(directory.resolve(node_ids_[n]).categories, property.category)) masks.to[n] = 0;
      }
      std::erase_if(masks.labels, [&](int l) {
        return !contains(points.labels()[static_cast<std::size_t>(l)].categories, property.category);
      });
    }
    const HeldCountsAs held = property.held;
    auto point = walk(points, masks, result, [always, held](const auto& outcomes, std::size_t label, bool occasional) {
      return counts_as_released(outcomes[0][label].state, occasional, held) != always;
    });
    if (result.points == 0 && property.kind != PropertyKind::confined) return empty_slice(property, result);
    if (point) {
      result.status = PropertyStatus::fails;
      Counterexample example = example_at(*point, points.labels());
      example.decided = decide_side(policy_, display_, example, point->occasional);
      confirm(result, example.decided, releases(example.decided, held) != always);
      if (property.kind == PropertyKind::confined) {
        result.message = fmt::format("{} goes to a recipient that does not hold it at {} of {}", property.category,
                                     result.failing_points, points_phrase(result.points));
      } else {
        result.message = fmt::format("{} at {} of {}", always ? "withheld" : "released", result.failing_points,
                                     points_phrase(result.points));
      }
      result.counterexample = std::move(example);
    } else if (truncated) {
      not_proved_truncated(result);
    } else if (property.kind == PropertyKind::confined && result.points == 0) {
      result.message = fmt::format("no label carrying {} can go to a node of the slice that does not hold it",
                                   property.category);
    } else {
      result.message = fmt::format("holds at all {}", points_phrase(result.points));
    }
  }

  // Every point of the whole space; records which permit rules decide a
  // point and which release something.
  void prove_no_dead_rules(const Property& property, Points& points, bool truncated, PropertyResult& result) {
    const Policy& source = policy_.source();
    std::vector<int> checked;
    for (std::size_t r = 0; r < source.rules.size(); ++r) {
      if (source.rules[r].effect != Effect::permit) continue;
      // A rule for senders at other gateways (`from: {peers: [...]}`) decides
      // no point of this space, which ranges over this policy's own nodes.
      if (!source.rules[r].from.peers.empty()) continue;
      if (property.rules.empty() || contains(property.rules, source.rules[r].id)) checked.push_back(static_cast<int>(r));
    }
    Masks masks = masks_for(PropertySlice{}, source, points.labels(), run_.occasional, false);
    std::vector<std::size_t> decided(source.rules.size(), 0);
    std::vector<char> releasing(source.rules.size(), 0);
    std::vector<std::optional<Point>> example(source.rules.size());
    const HeldCountsAs held = property.held;
    for (const std::vector<int>& senders : points.sender_groups()) {
      for (const std::vector<int>& recipients : points.recipient_groups()) {
        const GroupPair group = pair_within(senders, recipients, masks);
        if (group.pairs == 0) continue;
        for (int category : masks.categories) {
          for (int purpose : masks.purposes) {
            const auto& outcomes = points.outcomes(group.sender, group.recipient, category, purpose);
            for (int label : masks.labels) {
              const PortionOutcome& outcome = outcomes[0][static_cast<std::size_t>(label)];
              result.points += group.pairs * masks.occasional.size();
              if (outcome.rule < 0 || source.rules[static_cast<std::size_t>(outcome.rule)].effect != Effect::permit) {
                continue;
              }
              const auto r = static_cast<std::size_t>(outcome.rule);
              for (bool occasional : masks.occasional) {
                decided[r] += group.pairs;
                if (counts_as_released(outcome.state, occasional, held)) {
                  releasing[r] = 1;
                } else if (!example[r]) {
                  example[r] = Point{group.sender, group.recipient, category, purpose, label, occasional};
                }
              }
            }
          }
        }
      }
    }
    for (int r : checked) {
      const auto index = static_cast<std::size_t>(r);
      if (releasing[index]) continue;
      result.dead_rules.push_back({source.rules[index].id, source.rules[index].location, decided[index]});
    }
    if (result.dead_rules.empty()) {
      result.message = fmt::format("every one of {} {} releases something", checked.size(),
                                   checked.size() == 1 ? "permit rule" : "permit rules");
      if (truncated) {
        result.message += " (the label space was truncated, but a release found is a release)";
      }
      return;
    }
    if (truncated) {
      result.status = PropertyStatus::not_proved;
      result.message = fmt::format(
          "not proved: label space truncated; {} found no release over the labels searched",
          result.dead_rules.size() == 1 ? "1 permit rule" : fmt::format("{} permit rules", result.dead_rules.size()));
      return;
    }
    result.status = PropertyStatus::fails;
    std::vector<std::string> ids;
    for (const DeadRule& dead : result.dead_rules) ids.push_back(dead.id);
    result.message = fmt::format("{} {} never release anything: {}", ids.size(),
                                 ids.size() == 1 ? "permit rule does" : "permit rules do", fmt::join(ids, ", "));
    if (ids.size() == 1) result.message = fmt::format("permit rule {} never releases anything", ids.front());
    // One request for the first dead rule: one it decides (and clearance
    // withholds), else one where all its conditions hold but another rule decides.
    const auto first = static_cast<std::size_t>(std::find_if(source.rules.begin(), source.rules.end(),
                                                             [&](const Rule& rule) {
                                                               return rule.id == result.dead_rules.front().id;
                                                             }) -
                                                source.rules.begin());
    std::optional<Point> point = example[first];
    if (!point) point = applicable_point(source.rules[first], points.labels());
    if (!point) return;
    Counterexample counterexample = example_at(*point, points.labels());
    counterexample.decided = decide_side(policy_, display_, counterexample, point->occasional);
    const bool released_by_rule =
        counterexample.decided.rule == source.rules[first].id && releases(counterexample.decided, held);
    confirm(result, counterexample.decided, !released_by_rule);
    result.counterexample = std::move(counterexample);
  }

  // A request every condition of `rule` matches (from, to, category,
  // purpose, classification bounds), if there is one.
  std::optional<Point> applicable_point(const Rule& rule, const std::vector<Label>& labels) const {
    const NodeDirectory directory(policy_.source());
    int category = -1, purpose = -1, label = -1;
    for (std::size_t c = 0; c < categories_.size() && category < 0; ++c) {
      if (rule.categories.empty() || contains(rule.categories, categories_[c])) category = static_cast<int>(c);
    }
    for (std::size_t p = 0; p < purposes_.size() && purpose < 0; ++p) {
      if (rule.purposes.empty() || (!purposes_[p].empty() && contains(rule.purposes, purposes_[p]))) {
        purpose = static_cast<int>(p);
      }
    }
    const int low = rule.min_classification ? policy_.classification_rank(*rule.min_classification) : -1;
    const int high = rule.max_classification ? policy_.classification_rank(*rule.max_classification)
                                             : std::numeric_limits<int>::max();
    for (std::size_t l = 0; l < labels.size() && label < 0; ++l) {
      const int rank = policy_.classification_rank(labels[l].classification);
      if (rank >= low && rank <= high) label = static_cast<int>(l);
    }
    if (category < 0 || purpose < 0 || label < 0) return std::nullopt;
    for (std::size_t s = 0; s < node_ids_.size(); ++s) {
      if (!directory.matches(rule.from, directory.resolve(node_ids_[s]))) continue;
      for (std::size_t r = 0; r < node_ids_.size(); ++r) {
        if (r == s || !directory.matches(rule.to, directory.resolve(node_ids_[r]))) continue;
        return Point{static_cast<int>(s), static_cast<int>(r), category, purpose, label, false};
      }
    }
    return std::nullopt;
  }

  void prove_implies(const Property& property, const CompleteLabelSpace& own, PropertyResult& result) {
    const CompiledPolicy& other = *property.other;
    const Policy& source = policy_.source();
    const Policy& other_source = other.source();
    // The two must put the same questions: the same nodes, information
    // categories and purposes.
    std::vector<std::string> mismatches;
    auto compare = [&mismatches](std::string_view what, std::vector<std::string> mine, std::vector<std::string> theirs) {
      std::sort(mine.begin(), mine.end());
      std::sort(theirs.begin(), theirs.end());
      std::vector<std::string> only_mine, only_theirs;
      std::set_difference(mine.begin(), mine.end(), theirs.begin(), theirs.end(), std::back_inserter(only_mine));
      std::set_difference(theirs.begin(), theirs.end(), mine.begin(), mine.end(), std::back_inserter(only_theirs));
      if (!only_mine.empty()) mismatches.push_back(fmt::format("{} only in this policy: {}", what, fmt::join(only_mine, ", ")));
      if (!only_theirs.empty()) {
        mismatches.push_back(fmt::format("{} only in the other: {}", what, fmt::join(only_theirs, ", ")));
      }
    };
    std::vector<std::string> other_nodes;
    for (const Node& node : other_source.nodes) other_nodes.push_back(node.id);
    compare("nodes", node_ids_, other_nodes);
    compare("information categories", source.information_categories, other_source.information_categories);
    compare("purposes", source.purposes, other_source.purposes);
    if (!mismatches.empty()) {
      result.status = PropertyStatus::not_proved;
      result.message = fmt::format("not proved: the policies do not define the same decision space ({})",
                                   fmt::join(mismatches, "; "));
      return;
    }
    // Labels: every valid label of either scheme (one invalid under a policy
    // is withheld by it). Categories that are informative in one scheme may
    // affect access in the other, so those are kept apart in both.
    std::vector<std::string> kept = kept_;
    for (const LabelScheme* scheme : {&source.scheme, &other_source.scheme}) {
      for (const TagSet& tag_set : scheme->tag_sets) {
        if (tag_set.type == TagSetType::informative) continue;
        kept.insert(kept.end(), tag_set.categories.begin(), tag_set.categories.end());
      }
    }
    const CompleteLabelSpace mine = enumerate_complete_labels(policy_, kept, options_.label_budget);
    const CompleteLabelSpace theirs = enumerate_complete_labels(other, kept, options_.label_budget);
    std::vector<Label> labels = mine.labels;
    for (const Label& label : theirs.labels) {
      if (std::find(labels.begin(), labels.end(), label) == labels.end()) labels.push_back(label);
    }
    std::stable_sort(labels.begin(), labels.end(), [this](const Label& a, const Label& b) {
      const int ra = policy_.classification_rank(a.classification);
      const int rb = policy_.classification_rank(b.classification);
      return ra != rb ? ra < rb : a.categories.size() < b.categories.size();
    });
    const bool truncated = own.truncated || mine.truncated || theirs.truncated;
    const bool occasional_possible = source.occasional.releases > 0 || other_source.occasional.releases > 0;

    Points points({&policy_, &other}, node_ids_, categories_, purposes_, labels, options_.exhaustive);
    const Masks masks = masks_for(property.slice, source, labels, occasional_possible, true);
    const HeldCountsAs held = property.held;
    // Occasional flags pass through: portion_outcome already decided a policy
    // allowing no occasional releases without one.
    auto point = walk(points, masks, result, [held](const auto& outcomes, std::size_t label, bool occasional) {
      return counts_as_released(outcomes[1][label].state, occasional, held) &&
             !counts_as_released(outcomes[0][label].state, occasional, held);
    });
    run_.decide_calls += points.decide_calls();
    if (result.points == 0) return empty_slice(property, result);
    if (point) {
      result.status = PropertyStatus::fails;
      Counterexample example = example_at(*point, labels);
      example.decided = decide_side(policy_, display_, example, point->occasional);
      example.other = decide_side(other, property.other_file.string(), example, point->occasional);
      confirm(result, example.decided, !releases(example.decided, held));
      confirm(result, *example.other, releases(*example.other, held));
      result.message = fmt::format("released under {} but not under this policy at {} of {}",
                                   property.other_file.string(), result.failing_points, points_phrase(result.points));
      result.counterexample = std::move(example);
    } else if (truncated) {
      not_proved_truncated(result);
    } else {
      result.message = fmt::format("holds at all {}", points_phrase(result.points));
    }
  }

  const CompiledPolicy& policy_;
  const PropertiesFile& properties_;
  const ProveOptions& options_;
  ProofRun& run_;
  std::string display_;
  std::vector<std::string> node_ids_, categories_, purposes_;
  std::vector<std::string> kept_;  // scheme categories some property names
};

}  // namespace

CompleteLabelSpace enumerate_complete_labels(const CompiledPolicy& policy, std::span<const std::string> kept,
                                             std::size_t budget) {
  CompleteLabelSpace space;
  LabelSearch(policy, kept, budget, space).run();
  std::stable_sort(space.labels.begin(), space.labels.end(), [&policy](const Label& a, const Label& b) {
    const int ra = policy.classification_rank(a.classification);
    const int rb = policy.classification_rank(b.classification);
    if (ra != rb) return ra < rb;
    if (a.categories.size() != b.categories.size()) return a.categories.size() < b.categories.size();
    return a.categories < b.categories;
  });
  return space;
}

std::string_view to_string(PropertyStatus status) {
  switch (status) {
    case PropertyStatus::holds: return "holds";
    case PropertyStatus::fails: return "fails";
    case PropertyStatus::not_proved: return "not_proved";
  }
  return "unknown";
}

std::size_t ProofRun::count(PropertyStatus status) const {
  return static_cast<std::size_t>(std::count_if(results.begin(), results.end(),
                                                [status](const PropertyResult& r) { return r.status == status; }));
}

ProofRun prove_properties(const CompiledPolicy& policy, const PropertiesFile& properties, const ProveOptions& options) {
  ProofRun run;
  run.policy_file = options.policy_display.empty() ? policy.source().file : options.policy_display;
  run.properties_file = properties.file.string();
  Prover(policy, properties, options, run).run();
  return run;
}

}  // namespace icegate::policy
