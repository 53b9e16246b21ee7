#include "tools/bench/policy_generator.hpp"

#include <algorithm>
#include <cmath>
#include <optional>
#include <string_view>

#include <fmt/format.h>

namespace icegate::generator {
namespace {

// splitmix64: tiny, fast, and the same sequence everywhere.
class Random {
 public:
  explicit Random(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, bound); the modulo bias is irrelevant at these sizes.
  std::size_t below(std::size_t bound) { return bound == 0 ? 0 : static_cast<std::size_t>(next() % bound); }
  // Uniform in [low, high].
  std::size_t between(std::size_t low, std::size_t high) { return low + below(high - low + 1); }
  bool percent(int chance) { return static_cast<int>(below(100)) < chance; }
  template <typename T>
  const T& pick(const std::vector<T>& values) { return values[below(values.size())]; }

 private:
  std::uint64_t state_;
};

// ---- The scheme: GPMS as in policies/schemes/gpms-2008.yaml -----------------

enum Rank { not_protectively_marked, protect, restricted, confidential, secret, top_secret };
const std::vector<std::string> kClassifications = {"NOT PROTECTIVELY MARKED", "PROTECT", "RESTRICTED",
                                                   "CONFIDENTIAL",            "SECRET",  "TOP SECRET"};

struct VettingLevel {
  std::string_view name;
  int regular;
  int occasional;
};
// As in policies/need-to-share.yaml (para 79-80 of the 2008 report).
constexpr VettingLevel kVetting[] = {
    {"none", protect, protect},
    {"BPSS", restricted, secret},
    {"CTC", confidential, secret},
    {"SC", secret, top_secret},
    {"DV", top_secret, top_secret},
};

int regular_rank(std::string_view vetting) {
  for (const VettingLevel& level : kVetting) {
    if (level.name == vetting) return level.regular;
  }
  return protect;
}

// ---- Who: organisation kinds and the posts each has -------------------------

struct RoleTemplate {
  std::string_view id;
  std::string_view name;
  std::string_view level;
  std::string_view vetting;
  bool uk_eyes_only;  // the post holder is cleared for the UK EYES ONLY caveat
};

struct KindTemplate {
  std::string_view kind;
  std::string_view display;  // prefixed to the place in an organisation's name
  bool ct_network;
  int weight;  // how common the kind is, once every kind has appeared
  std::vector<RoleTemplate> roles;
};

// In order of appearance: a policy with few organisations still has a CT
// unit, police, a council and the community.
const std::vector<KindTemplate> kKinds = {
    {"ctu", "Counter Terrorism Unit", true, 1,
     {{"ctu-sio", "CTU senior investigating officer", "strategic", "DV", true},
      {"ct-analyst", "CTU intelligence analyst", "tactical", "SC", true},
      {"ctu-investigator", "CTU investigator", "delivery", "SC", true}}},
    {"bcu", "Police Basic Command Unit", false, 5,
     {{"bcu-commander", "BCU commander", "strategic", "SC", true},
      {"ctio", "Counter Terrorism Intelligence Officer", "tactical", "SC", true},
      {"response-officer", "Response officer", "delivery", "BPSS", true}}},
    {"npt", "Neighbourhood Policing Team", false, 8,
     {{"npt-chief-inspector", "Neighbourhood policing chief inspector", "strategic", "SC", true},
      {"npt-inspector", "Neighbourhood policing inspector", "tactical", "CTC", true},
      {"npt-officer", "Neighbourhood policing officer", "delivery", "BPSS", true}}},
    {"council", "City Council", false, 6,
     {{"chief-executive", "Council chief executive", "strategic", "BPSS", true},
      {"prevent-coordinator", "Council Prevent coordinator", "tactical", "CTC", true},
      {"council-critical-reader", "Council officer seconded into the CTU as critical reader", "tactical", "SC", true},
      {"neighbourhood-manager", "Council neighbourhood manager", "tactical", "BPSS", true},
      {"street-warden", "Street warden", "delivery", "BPSS", false}}},
    {"sb", "Special Branch", true, 1,
     {{"sb-head", "Head of Special Branch", "strategic", "DV", true},
      {"sb-officer", "Special Branch officer", "tactical", "SC", true},
      {"sb-field-officer", "Special Branch field officer", "delivery", "SC", true}}},
    {"school", "Secondary School", false, 8,
     {{"headteacher", "Headteacher", "strategic", "BPSS", false},
      {"school-safeguarding-lead", "School designated safeguarding lead", "tactical", "BPSS", true},
      {"teacher", "Teacher", "delivery", "BPSS", false}}},
    {"health", "Primary Care Trust", false, 4,
     {{"health-director", "Director of public health", "strategic", "BPSS", true},
      {"health-safeguarding-lead", "Health safeguarding lead", "tactical", "BPSS", true},
      {"health-visitor", "Health visitor", "delivery", "BPSS", false}}},
    {"iag", "Independent Advisory Group", false, 2,
     {{"iag-chair", "Independent Advisory Group chair", "strategic", "none", false},
      {"iag-member", "Independent Advisory Group member", "tactical", "none", false},
      {"iag-volunteer", "Independent Advisory Group volunteer", "delivery", "none", false}}},
    {"yot", "Youth Offending Service", false, 3,
     {{"yot-head", "Head of youth offending service", "strategic", "BPSS", true},
      {"yot-manager", "Youth offending team manager", "tactical", "BPSS", true},
      {"yot-case-worker", "Youth offending case worker", "delivery", "BPSS", false}}},
    {"probation", "Probation Service", false, 3,
     {{"probation-director", "Probation director", "strategic", "BPSS", true},
      {"probation-manager", "Probation manager", "tactical", "BPSS", true},
      {"probation-officer", "Probation officer", "delivery", "BPSS", false}}},
    {"fire", "Fire and Rescue Service", false, 3,
     {{"fire-area-manager", "Fire and rescue area manager", "strategic", "BPSS", true},
      {"fire-safety-manager", "Fire and rescue community safety manager", "tactical", "BPSS", true},
      {"firefighter", "Firefighter", "delivery", "BPSS", false}}},
    {"faith", "Inter-faith Forum", false, 3,
     {{"faith-leader", "Faith leader", "strategic", "none", false},
      {"faith-forum-secretary", "Inter-faith forum secretary", "tactical", "none", false},
      {"faith-volunteer", "Faith forum volunteer", "delivery", "none", false}}},
    {"community", "Residents' Association", false, 3,
     {{"community-chair", "Residents' association chair", "strategic", "none", false},
      {"community-organiser", "Community organiser", "tactical", "none", false},
      {"community-member", "Community group member", "delivery", "none", false}}},
    {"fe-college", "Further Education College", false, 3,
     {{"college-principal", "College principal", "strategic", "BPSS", false},
      {"college-prevent-lead", "FE college Prevent lead", "tactical", "BPSS", true},
      {"college-lecturer", "College lecturer", "delivery", "BPSS", false}}},
};

const std::vector<std::string_view> kPlaces = {
    "birmingham-east", "birmingham-west", "sparkhill",     "small-heath",   "alum-rock",    "handsworth",
    "aston",           "lozells",         "coventry",      "wolverhampton", "walsall",      "dudley",
    "sandwell",        "solihull",        "west-bromwich", "smethwick",     "leicester",    "nottingham",
    "derby",           "stoke",           "luton",         "bedford",       "leeds",        "bradford",
    "dewsbury",        "kirklees",        "manchester",    "oldham",        "bolton",       "blackburn",
    "burnley",         "preston",         "liverpool",     "sheffield",     "rotherham",    "hull",
    "newcastle",       "sunderland",      "bristol",       "cardiff",       "tower-hamlets", "newham",
    "waltham-forest",  "brent",           "ealing",        "slough",        "reading",      "oxford",
};

// The information categories and purposes of the shipped policies.
const std::vector<std::string> kInformationCategories = {
    "intelligence-report", "ct-problem-profile", "tension-report", "operational-prebriefing",
    "consequence-briefing", "public-statement",  "referral",       "feedback",
    "community-information", "media-line"};
const std::vector<std::string> kCtCategories = {"intelligence-report", "ct-problem-profile", "tension-report",
                                                "operational-prebriefing", "consequence-briefing"};
// Who originates each information category, and which categories a rule
// naming it tends to name too: CT products come from the police and the CT
// Network, referrals from partners, public statements from the leads.
struct CategoryHabits {
  std::string_view category;
  std::vector<std::string_view> originating_kinds;  // empty: any kind
  std::vector<std::string> related;                 // widened with these
};
const std::vector<CategoryHabits> kCategoryHabits = {
    {"intelligence-report", {"ctu", "sb", "bcu"}, {"ct-problem-profile", "operational-prebriefing"}},
    {"ct-problem-profile", {"ctu", "sb", "bcu"}, {"intelligence-report", "consequence-briefing"}},
    {"tension-report", {}, {"community-information", "feedback"}},
    {"operational-prebriefing", {"ctu", "sb", "bcu"}, {"consequence-briefing", "media-line"}},
    {"consequence-briefing", {"ctu", "sb", "bcu", "npt", "council"}, {"tension-report", "media-line"}},
    {"public-statement", {"bcu", "council", "ctu"}, {"media-line"}},
    {"referral", {"council", "npt", "bcu", "school", "health", "yot", "probation", "fire", "fe-college"}, {"feedback"}},
    {"feedback", {"ctu", "bcu", "npt", "council"}, {"referral", "tension-report"}},
    {"community-information", {}, {"tension-report"}},
    {"media-line", {"bcu", "ctu", "council"}, {"public-statement"}},
};
const std::vector<std::string> kPurposes = {"pursue", "prevent", "consequence-management", "safeguarding",
                                            "public-reassurance"};
const std::vector<std::string> kLevels = {"strategic", "tactical", "delivery"};

// "sparkhill" -> "Sparkhill", "west-bromwich" -> "West Bromwich"
std::string title_case(std::string_view slug) {
  std::string result(slug);
  bool start = true;
  for (char& c : result) {
    if (c == '-') {
      c = ' ';
      start = true;
    } else if (start) {
      if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
      start = false;
    }
  }
  return result;
}

// A double-quoted YAML scalar: names hold spaces, apostrophes and commas.
std::string quoted(std::string_view text) {
  std::string result = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') result += '\\';
    result += c;
  }
  result += '"';
  return result;
}

template <typename Strings>
std::string flow_list(const Strings& values, bool quote = false) {
  std::string result = "[";
  bool first = true;
  for (const auto& value : values) {
    if (!first) result += ", ";
    first = false;
    result += quote ? quoted(value) : std::string(value);
  }
  result += "]";
  return result;
}

// Adds `value` to `values` unless present.
void add_unique(std::vector<std::string>& values, std::string value) {
  if (std::find(values.begin(), values.end(), value) == values.end()) values.push_back(std::move(value));
}

struct OrganisationFacts {
  std::string id;
  std::string name;
  std::size_t kind = 0;  // index into kKinds
};

struct NodeFacts {
  std::string id;
  std::string name;
  std::size_t organisation = 0;
  const RoleTemplate* role = nullptr;
  std::vector<std::size_t> lists;  // distribution lists it belongs to
};

struct ListFacts {
  std::string id;
  std::string name;
  std::vector<std::string> nodes;
  std::vector<std::string> roles;
};

// A matcher as written: field name -> values, in a fixed field order.
struct Matcher {
  std::vector<std::string> nodes, organisations, organisation_kinds, roles, levels, lists;
  bool ct_network = false;

  bool empty() const {
    return nodes.empty() && organisations.empty() && organisation_kinds.empty() && roles.empty() &&
           levels.empty() && lists.empty() && !ct_network;
  }
  std::string yaml() const {
    std::vector<std::string> fields;
    if (!nodes.empty()) fields.push_back("nodes: " + flow_list(nodes));
    if (!organisations.empty()) fields.push_back("organisations: " + flow_list(organisations));
    if (!organisation_kinds.empty()) fields.push_back("organisation_kinds: " + flow_list(organisation_kinds));
    if (!roles.empty()) fields.push_back("roles: " + flow_list(roles));
    if (!levels.empty()) fields.push_back("levels: " + flow_list(levels));
    if (ct_network) fields.push_back("ct_network: true");
    if (!lists.empty()) fields.push_back("lists: " + flow_list(lists));
    std::string result = "{";
    for (std::size_t i = 0; i < fields.size(); ++i) result += (i ? ", " : "") + fields[i];
    return result + "}";
  }
};

class Generator {
 public:
  explicit Generator(const PolicyParameters& parameters) : parameters_(parameters), random_(parameters.seed) {}

  GeneratedPolicy run() {
    make_organisations();
    make_nodes();
    make_lists();
    make_rules();
    write();
    return std::move(out_);
  }

 private:
  const KindTemplate& kind_of(const NodeFacts& node) const { return kKinds[organisations_[node.organisation].kind]; }
  int regular_of(const NodeFacts& node) const { return regular_rank(node.role->vetting); }

  void make_organisations() {
    const std::size_t count = std::max<std::size_t>(parameters_.organisations, 1);
    int total_weight = 0;
    for (const KindTemplate& kind : kKinds) total_weight += kind.weight;
    std::vector<std::size_t> per_kind(kKinds.size(), 0);
    for (std::size_t o = 0; o < count; ++o) {
      std::size_t kind = o;
      if (o >= kKinds.size()) {
        int roll = static_cast<int>(random_.below(static_cast<std::size_t>(total_weight)));
        for (kind = 0; roll >= kKinds[kind].weight; ++kind) roll -= kKinds[kind].weight;
      }
      const std::size_t serial = per_kind[kind]++;
      const std::string_view place = kPlaces[serial % kPlaces.size()];
      const std::size_t round = serial / kPlaces.size();
      OrganisationFacts organisation;
      organisation.kind = kind;
      organisation.id = round == 0 ? fmt::format("{}-{}", kKinds[kind].kind, place)
                                   : fmt::format("{}-{}-{}", kKinds[kind].kind, place, round + 1);
      organisation.name = round == 0 ? fmt::format("{} {}", title_case(place), kKinds[kind].display)
                                     : fmt::format("{} {} {}", title_case(place), kKinds[kind].display, round + 1);
      if (!contains(kinds_used_, kKinds[kind].kind)) kinds_used_.emplace_back(kKinds[kind].kind);
      out_.organisation_ids.push_back(organisation.id);
      organisations_.push_back(std::move(organisation));
    }
  }

  void make_nodes() {
    for (std::size_t o = 0; o < organisations_.size(); ++o) {
      const OrganisationFacts& organisation = organisations_[o];
      for (const RoleTemplate& role : kKinds[organisation.kind].roles) {
        NodeFacts node;
        node.id = fmt::format("{}-{}", organisation.id, role.id);
        node.name = fmt::format("{}, {}", role.name, organisation.name);
        node.organisation = o;
        node.role = &role;
        if (std::find(roles_used_.begin(), roles_used_.end(), &role) == roles_used_.end()) roles_used_.push_back(&role);
        out_.node_ids.push_back(node.id);
        nodes_.push_back(std::move(node));
      }
    }
  }

  bool role_used(std::string_view id) const {
    return std::any_of(roles_used_.begin(), roles_used_.end(), [id](const RoleTemplate* role) { return role->id == id; });
  }

  void make_lists() {
    // Lists by role, as in the shipped policies.
    auto role_list = [&](std::string id, std::string name, std::vector<std::string_view> roles) {
      ListFacts list{std::move(id), std::move(name), {}, {}};
      for (std::string_view role : roles) {
        if (role_used(role)) list.roles.emplace_back(role);
      }
      if (!list.roles.empty()) lists_.push_back(std::move(list));
    };
    role_list("strategic-leads", "Council and police strategic leads", {"chief-executive", "bcu-commander"});
    role_list("front-line-staff", "Front-line council and police staff", {"street-warden", "npt-officer", "response-officer"});

    // Lists of named posts, one pair per few organisations: the heads of key
    // services the Gateway Protocol names, and a consequence management group.
    std::vector<std::size_t> tactical_partners;
    for (std::size_t n = 0; n < nodes_.size(); ++n) {
      const KindTemplate& kind = kind_of(nodes_[n]);
      if (nodes_[n].role->level == "tactical" && !kind.ct_network && nodes_[n].role->vetting != "none") {
        tactical_partners.push_back(n);
      }
    }
    if (tactical_partners.empty()) tactical_partners.push_back(0);
    const std::size_t groups = std::max<std::size_t>(2, organisations_.size() / 6);
    for (std::size_t g = 0; g < groups; ++g) {
      const std::string_view place = kPlaces[g % kPlaces.size()];
      ListFacts heads{fmt::format("heads-of-key-services-{}", g + 1),
                      fmt::format("Identified heads of key services, {}", title_case(place)), {}, {}};
      for (std::size_t k = random_.between(4, 10); k > 0; --k) add_unique(heads.nodes, nodes_[random_.pick(tactical_partners)].id);
      lists_.push_back(std::move(heads));
      ListFacts group{fmt::format("consequence-management-group-{}", g + 1),
                      fmt::format("{} consequence management group", title_case(place)), {}, {}};
      for (std::size_t k = random_.between(5, 12); k > 0; --k) add_unique(group.nodes, nodes_[random_.below(nodes_.size())].id);
      lists_.push_back(std::move(group));
    }
    // Who belongs to which list, for building matchers around a node.
    for (std::size_t l = 0; l < lists_.size(); ++l) {
      for (NodeFacts& node : nodes_) {
        if (contains(lists_[l].nodes, node.id) || contains(lists_[l].roles, node.role->id)) node.lists.push_back(l);
      }
    }
  }

  template <typename Strings, typename Value>
  static bool contains(const Strings& values, const Value& value) {
    return std::find(values.begin(), values.end(), value) != values.end();
  }

  // A matcher that matches `node`, widened with a few other values.
  Matcher matcher_around(const NodeFacts& node) {
    Matcher matcher;
    const KindTemplate& kind = kind_of(node);
    const std::size_t extra = random_.below(3);
    const int roll = static_cast<int>(random_.below(100));
    if (roll < 30) {
      matcher.organisation_kinds.emplace_back(kind.kind);
      for (std::size_t i = 0; i < extra; ++i) add_unique(matcher.organisation_kinds, std::string(random_.pick(kinds_used_)));
    } else if (roll < 50) {
      matcher.roles.emplace_back(node.role->id);
      for (std::size_t i = 0; i < extra; ++i) add_unique(matcher.roles, std::string(random_.pick(roles_used_)->id));
    } else if (roll < 60) {
      matcher.organisations.push_back(organisations_[node.organisation].id);
      for (std::size_t i = 0; i < extra; ++i) add_unique(matcher.organisations, random_.pick(organisations_).id);
    } else if (roll < 70) {
      matcher.nodes.push_back(node.id);
      for (std::size_t i = 0; i < extra; ++i) add_unique(matcher.nodes, random_.pick(nodes_).id);
    } else if (roll < 80 && !node.lists.empty()) {
      matcher.lists.push_back(lists_[random_.pick(node.lists)].id);
    } else if (roll < 90 && kind.ct_network) {
      matcher.ct_network = true;
    } else {
      // A level within some kinds of organisation: "strategic leads of councils and BCUs".
      matcher.levels.emplace_back(node.role->level);
      matcher.organisation_kinds.emplace_back(kind.kind);
      for (std::size_t i = 0; i < extra; ++i) add_unique(matcher.organisation_kinds, std::string(random_.pick(kinds_used_)));
    }
    return matcher;
  }

  // Something other than `sender`, when there is anything else.
  std::size_t other_node(std::size_t sender) {
    if (nodes_.size() < 2) return sender;
    std::size_t recipient = random_.below(nodes_.size() - 1);
    return recipient >= sender ? recipient + 1 : recipient;
  }

  struct RuleText {
    std::string id;
    std::string description;
    bool deny = false;
    std::vector<std::string> categories, purposes;
    Matcher from, to;
    std::optional<int> min_rank, max_rank;
    std::vector<std::string> review_by;
    bool originator_control = false;
    bool no_onward_sharing = false;
  };

  void add_rule(RuleText rule, RequestSample witness, int witness_rank) {
    GeneratedRule generated;
    generated.id = rule.id;
    generated.deny = rule.deny;
    generated.requires_review = !rule.review_by.empty();
    generated.witness = std::move(witness);
    generated.witness_classification = kClassifications[static_cast<std::size_t>(witness_rank)];
    out_.rules.push_back(std::move(generated));
    rules_.push_back(std::move(rule));
  }

  // The two rules every policy of this kind starts with.
  void add_standard_rules() {
    std::vector<std::size_t> ct_nodes, community_nodes;
    for (std::size_t n = 0; n < nodes_.size(); ++n) {
      const std::string_view kind = kind_of(nodes_[n]).kind;
      if (kind_of(nodes_[n]).ct_network) ct_nodes.push_back(n);
      if (kind == "iag" || kind == "faith" || kind == "community") community_nodes.push_back(n);
    }
    // The first organisation is always a CT unit, so there are CT nodes.
    {
      RuleText rule;
      rule.id = "ct-intelligence-within-ct-network";
      rule.description = "The CT Network and Special Branch share intelligence and products among themselves";
      rule.categories = kCtCategories;
      rule.from.ct_network = true;
      rule.to.ct_network = true;
      const std::size_t sender = ct_nodes[1 % ct_nodes.size()];  // the analyst
      const std::size_t recipient = ct_nodes[0];                  // the senior investigating officer
      add_rule(std::move(rule), {nodes_[sender].id, nodes_[recipient].id, "ct-problem-profile", "pursue"},
               std::min<int>(secret, regular_of(nodes_[recipient])));
    }
    RuleText rule;
    rule.id = "no-ct-material-to-community";
    rule.description = "CT products and operational briefings never go directly to community groups";
    rule.deny = true;
    rule.categories = {"intelligence-report", "ct-problem-profile", "operational-prebriefing", "consequence-briefing"};
    for (std::string_view kind : {"iag", "faith", "community"}) {
      if (contains(kinds_used_, kind)) rule.to.organisation_kinds.emplace_back(kind);
    }
    // With too few organisations for a community group, guard the CT unit's
    // own delivery posts instead, so the rule still denies something.
    std::size_t recipient = community_nodes.empty() ? ct_nodes.back() : random_.pick(community_nodes);
    if (community_nodes.empty()) rule.to.nodes.push_back(nodes_[recipient].id);
    add_rule(std::move(rule),
             {nodes_[random_.pick(ct_nodes)].id, nodes_[recipient].id, "ct-problem-profile", random_.pick(kPurposes)},
             restricted);
  }

  void add_random_rule(std::size_t index) {
    RuleText rule;
    rule.deny = random_.percent(parameters_.deny_percent);
    const std::size_t habits = random_.below(kCategoryHabits.size());
    const std::string category(kCategoryHabits[habits].category);
    const std::vector<std::size_t>& originators = originators_[habits];
    const std::size_t sender = originators.empty() ? random_.below(nodes_.size()) : random_.pick(originators);
    const std::size_t recipient = other_node(sender);
    const std::string& purpose = random_.pick(kPurposes);

    if (!random_.percent(8)) {
      rule.categories.push_back(category);
      for (std::size_t k = random_.below(3); k > 0; --k) {
        add_unique(rule.categories, random_.pick(kCategoryHabits[habits].related));
      }
    }
    if (!random_.percent(30)) {
      rule.purposes.push_back(purpose);
      if (random_.percent(40)) add_unique(rule.purposes, random_.pick(kPurposes));
    }
    rule.from = matcher_around(nodes_[sender]);
    // A permit to everyone is realistic (public statements); a deny to everyone is not.
    if (rule.deny || !random_.percent(5)) rule.to = matcher_around(nodes_[recipient]);

    // Bounds. A permit's witness must be releasable to its recipient, so its
    // classification lies within the rule's bounds and the regular ceiling.
    const int recipient_ceiling = regular_of(nodes_[recipient]);
    int witness_rank = 0;
    if (rule.deny) {
      // "Nothing above RESTRICTED goes to ...", or a plain deny.
      if (random_.percent(50)) rule.min_rank = random_.percent(50) ? confidential : secret;
      const int low = rule.min_rank.value_or(not_protectively_marked);
      witness_rank = static_cast<int>(random_.between(static_cast<std::size_t>(low), std::size_t{top_secret}));
    } else {
      if (random_.percent(parameters_.bounded_percent)) {
        static constexpr int kMaxima[] = {protect, restricted, restricted, restricted, confidential};
        rule.max_rank = kMaxima[random_.below(std::size(kMaxima))];
        if (random_.percent(10) && recipient_ceiling >= restricted && *rule.max_rank >= restricted) {
          rule.min_rank = restricted;
        }
      }
      const int low = rule.min_rank.value_or(not_protectively_marked);
      const int high = std::min(rule.max_rank.value_or(top_secret), recipient_ceiling);
      witness_rank = static_cast<int>(random_.between(static_cast<std::size_t>(low), static_cast<std::size_t>(high)));
      if (random_.percent(parameters_.review_percent)) {
        // The council's critical reader where there is one, else a tactical post.
        if (role_used("council-critical-reader")) {
          rule.review_by.emplace_back("council-critical-reader");
        } else {
          const NodeFacts& reviewer = random_.pick(nodes_);
          rule.review_by.emplace_back(reviewer.role->id);
        }
      }
      rule.originator_control = random_.percent(10);
      rule.no_onward_sharing = random_.percent(4);
    }

    const std::string_view from_kind = kind_of(nodes_[sender]).kind;
    const std::string_view to_kind = rule.to.empty() ? "all" : kind_of(nodes_[recipient]).kind;
    rule.id = fmt::format("{}-{}-{}-to-{}-{:05}", rule.deny ? "deny" : "permit",
                          rule.categories.empty() ? "any" : rule.categories.front(), from_kind, to_kind, index);
    if (rule.deny) {
      rule.description = fmt::format(
          "{} from {} partners never goes to {} partners{}",
          rule.categories.empty() ? "Nothing" : rule.categories.front(), from_kind, to_kind,
          rule.min_rank ? " at " + kClassifications[static_cast<std::size_t>(*rule.min_rank)] + " or above" : "");
    } else if (random_.percent(50)) {
      rule.description = fmt::format("{} passes from {} partners to {} partners for {}",
                                     rule.categories.empty() ? "Any product" : rule.categories.front(), from_kind,
                                     to_kind, rule.purposes.empty() ? "any purpose" : rule.purposes.front());
    }
    add_rule(std::move(rule), {nodes_[sender].id, nodes_[recipient].id, category, purpose}, witness_rank);
  }

  void make_rules() {
    // The nodes that originate each information category (none: any node).
    originators_.resize(kCategoryHabits.size());
    for (std::size_t h = 0; h < kCategoryHabits.size(); ++h) {
      for (std::size_t n = 0; n < nodes_.size(); ++n) {
        if (contains(kCategoryHabits[h].originating_kinds, kind_of(nodes_[n]).kind)) originators_[h].push_back(n);
      }
    }
    const std::size_t count = std::max<std::size_t>(parameters_.rules, 2);
    add_standard_rules();
    for (std::size_t r = rules_.size(); r < count; ++r) add_random_rule(r);
  }

  void write() {
    std::string& y = out_.yaml;
    y.reserve(256 * (nodes_.size() + rules_.size()) + 4096);
    y += fmt::format("# Generated by tools/bench/policy_generator (seed {}): {} organisations, {} nodes, {} rules.\n",
                     parameters_.seed, organisations_.size(), nodes_.size(), rules_.size());
    y += fmt::format("policy: {}\n", parameters_.name);
    y += "description: \"A generated Prevent partnership, for benchmarks and exercises\"\n";
    y += "scheme:\n  scheme: gpms-2008\n  classifications:\n";
    for (const std::string& classification : kClassifications) y += fmt::format("    - {{name: {}}}\n", quoted(classification));
    y += "  tag_sets:\n"
         "    - name: caveats\n      type: restrictive\n      categories:\n"
         "        - {name: \"UK EYES ONLY\", excluded_at: [\"NOT PROTECTIVELY MARKED\", \"PROTECT\"]}\n"
         "    - name: handling\n      type: informative\n      categories: [{name: PERSONAL}, {name: COMMERCIAL}]\n";
    y += "levels: " + flow_list(kLevels) + "\n";
    y += "vetting:\n";
    for (const VettingLevel& vetting : kVetting) {
      y += fmt::format("  - {{name: {}, regular: {}", vetting.name, quoted(kClassifications[static_cast<std::size_t>(vetting.regular)]));
      if (vetting.occasional != vetting.regular) {
        y += fmt::format(", occasional: {}", quoted(kClassifications[static_cast<std::size_t>(vetting.occasional)]));
      }
      y += "}\n";
    }
    y += "occasional_allowance: {releases: 2, window: 30d}\n";

    y += "organisations:\n";
    for (const OrganisationFacts& organisation : organisations_) {
      const KindTemplate& kind = kKinds[organisation.kind];
      y += fmt::format("  - {{id: {}, name: {}, kind: {}{}}}\n", organisation.id, quoted(organisation.name), kind.kind,
                       kind.ct_network ? ", ct_network: true" : "");
    }
    y += "roles:\n";
    for (const RoleTemplate* role : roles_used_) {
      y += fmt::format("  - {{id: {}, name: {}, level: {}}}\n", role->id, quoted(role->name), role->level);
    }
    y += "nodes:\n";
    for (const NodeFacts& node : nodes_) {
      y += fmt::format("  - {{id: {}, name: {}, organisation: {}, role: {}, vetting: {}{}}}\n", node.id,
                       quoted(node.name), organisations_[node.organisation].id, node.role->id, node.role->vetting,
                       node.role->uk_eyes_only ? ", categories: [\"UK EYES ONLY\"]" : "");
    }
    y += "lists:\n";
    for (const ListFacts& list : lists_) {
      y += fmt::format("  - id: {}\n    name: {}\n", list.id, quoted(list.name));
      if (!list.nodes.empty()) y += "    nodes: " + flow_list(list.nodes) + "\n";
      if (!list.roles.empty()) y += "    roles: " + flow_list(list.roles) + "\n";
    }
    y += "events:\n"
         "  - {id: operation-start, description: \"The CT operation begins\", triggered_by: {roles: [ctu-sio]}}\n"
         "  - {id: arrest-made, description: \"A terrorism arrest has been made public\", triggered_by: {roles: [ctu-sio]}}\n";
    y += "information_categories: " + flow_list(kInformationCategories) + "\n";
    y += "purposes: " + flow_list(kPurposes) + "\n";
    y += "combining: deny-overrides\nrules:\n";
    for (const RuleText& rule : rules_) {
      y += fmt::format("  - id: {}\n", rule.id);
      if (!rule.description.empty()) y += fmt::format("    description: {}\n", quoted(rule.description));
      y += fmt::format("    effect: {}\n", rule.deny ? "deny" : "permit");
      if (!rule.categories.empty()) y += "    categories: " + flow_list(rule.categories) + "\n";
      if (!rule.purposes.empty()) y += "    purposes: " + flow_list(rule.purposes) + "\n";
      if (!rule.from.empty()) y += "    from: " + rule.from.yaml() + "\n";
      if (!rule.to.empty()) y += "    to: " + rule.to.yaml() + "\n";
      if (rule.min_rank) y += "    min_classification: " + quoted(kClassifications[static_cast<std::size_t>(*rule.min_rank)]) + "\n";
      if (rule.max_rank) y += "    max_classification: " + quoted(kClassifications[static_cast<std::size_t>(*rule.max_rank)]) + "\n";
      std::vector<std::string> handling;
      if (!rule.review_by.empty()) handling.push_back("review_by: " + flow_list(rule.review_by));
      if (rule.originator_control) handling.emplace_back("originator_control: true");
      if (rule.no_onward_sharing) handling.emplace_back("no_onward_sharing: true");
      if (!handling.empty()) {
        y += "    handling: {";
        for (std::size_t i = 0; i < handling.size(); ++i) y += (i ? ", " : "") + handling[i];
        y += "}\n";
      }
    }
    out_.information_categories = kInformationCategories;
    out_.purposes = kPurposes;
    out_.classifications = kClassifications;
  }

  const PolicyParameters& parameters_;
  Random random_;
  GeneratedPolicy out_;
  std::vector<OrganisationFacts> organisations_;
  std::vector<NodeFacts> nodes_;
  std::vector<ListFacts> lists_;
  std::vector<std::string_view> kinds_used_;         // organisation kinds, in order of first use
  std::vector<const RoleTemplate*> roles_used_;      // roles some node holds, in order of first use
  std::vector<RuleText> rules_;
  std::vector<std::vector<std::size_t>> originators_;  // by kCategoryHabits index: node indices
};

}  // namespace

PolicyParameters realistic_parameters(std::size_t rules, std::uint64_t seed) {
  PolicyParameters parameters;
  parameters.rules = rules;
  parameters.seed = seed;
  const double organisations = std::round(4.0 * std::sqrt(static_cast<double>(rules)));
  parameters.organisations = static_cast<std::size_t>(std::clamp(organisations, 12.0, 400.0));
  parameters.name = fmt::format("generated-{}-rules", rules);
  return parameters;
}

GeneratedPolicy generate_policy(const PolicyParameters& parameters) { return Generator(parameters).run(); }

std::vector<RequestSample> generate_requests(const GeneratedPolicy& policy, std::size_t count, std::uint64_t seed) {
  Random random(seed ^ 0x5eed5eed5eed5eedull);
  std::vector<RequestSample> requests;
  requests.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    const int roll = static_cast<int>(random.below(100));
    if (roll < 66 && !policy.rules.empty()) {
      RequestSample request = random.pick(policy.rules).witness;
      if (roll >= 50) request.recipient = random.pick(policy.node_ids);   // the same, to someone else
      else if (roll >= 45) request.purpose = random.pick(policy.purposes);  // or for another purpose
      requests.push_back(std::move(request));
    } else {
      requests.push_back({random.pick(policy.node_ids), random.pick(policy.node_ids),
                          random.pick(policy.information_categories), random.pick(policy.purposes)});
    }
  }
  return requests;
}

}  // namespace icegate::generator
