// A hand-built run of an Operation Nicole-like exercise, shaped as the runner
// records one: intelligence of a plot, a pre-briefing redacted for the council
// chief executive, a community impact assessment denied to the IAG chair, a
// problem profile held for the council's critical reader and then approved,
// the arrest, a tension report, and a contingency fired by the unmet
// expectation that the IAG is told. Also a comparison with a need-to-share run
// in which the IAG chair gets the assessment, redacted, and no contingency
// fires. And a field-by-field comparison of two RunResults.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "clients/exercise/results.hpp"

namespace icegate::exercise::testing {

using namespace std::chrono_literals;

// Text no recipient was ever given; it must appear in no report.
inline constexpr const char* kWithheldBody = "SECRET-ONLY-BODY: Subject A attends the Stratford Road gym nightly";
// A deny reason with characters HTML must escape.
inline constexpr const char* kDenyReason =
    "no rule shares ct-assessment with community nodes: <iag-chair> & \"faith leaders\" see public statements only";
inline constexpr const char* kHoldReason = "profile-to-heads-of-service: waits for the council's critical reader";

inline Label label(std::string classification, std::vector<std::string> categories = {}) {
  return Label{std::move(classification), std::move(categories)};
}

inline TimelineEntry sent(Offset at, TimelineEntry::Kind kind, std::string node, std::string inject,
                          std::string message_id, std::string title, std::string category, std::string synopsis) {
  TimelineEntry e;
  e.at = at;
  e.kind = kind;
  e.node = node;
  e.from = std::move(node);
  e.inject = std::move(inject);
  e.message_id = std::move(message_id);
  e.title = std::move(title);
  e.category = std::move(category);
  e.detail = std::move(synopsis);
  return e;
}

inline TimelineEntry decided(Offset at, std::string from, std::string to, std::string inject, std::string message_id,
                             Decision decision, std::vector<std::string> rules, std::string reason,
                             std::vector<WithheldPortion> withheld = {}, std::string held_for = {},
                             std::string detail = {}) {
  TimelineEntry e;
  e.at = at;
  e.kind = TimelineEntry::Kind::decision;
  e.node = std::move(to);
  e.from = std::move(from);
  e.inject = std::move(inject);
  e.message_id = std::move(message_id);
  e.decision = decision;
  e.rules = std::move(rules);
  e.reason = std::move(reason);
  e.withheld = std::move(withheld);
  e.held_for = std::move(held_for);
  e.detail = std::move(detail);
  return e;
}

inline TimelineEntry delivered(Offset at, std::string from, std::string to, std::string inject, std::string message_id,
                               std::string title, std::string category, Decision decision,
                               std::vector<Portion> released, std::vector<WithheldPortion> withheld,
                               std::vector<std::string> rules, std::string reason) {
  TimelineEntry e;
  e.at = at;
  e.kind = TimelineEntry::Kind::delivered;
  e.node = std::move(to);
  e.from = std::move(from);
  e.inject = std::move(inject);
  e.message_id = std::move(message_id);
  e.title = std::move(title);
  e.category = std::move(category);
  e.decision = decision;
  e.released = std::move(released);
  e.withheld = std::move(withheld);
  e.rules = std::move(rules);
  e.reason = std::move(reason);
  return e;
}

inline Knowledge knew(std::string node, std::string inject, std::string message_id, Offset at, Decision decision,
                      std::vector<std::string> released, std::vector<std::string> withheld = {}) {
  return Knowledge{std::move(node), std::move(inject),   std::move(message_id), at,
                   decision,        std::move(released), std::move(withheld)};
}

inline RunResult sample_run() {
  using K = TimelineEntry::Kind;
  const Decision release = Decision::release, redacted = Decision::release_redacted;
  RunResult r;
  r.scenario = "operation-nicole";
  r.scenario_title = "Operation Nicole: a CT arrest in Sparkhill";
  r.policy_name = "need-to-know";
  r.policy_version = "sha256:5d41402abc4b2a76b9719d911017c592ae2f1c9e";
  r.policy_file = "/work/main/policies/need-to-know.yaml";
  r.t0_unix_ms = 1718341200000;  // 2024-06-14 05:00 UTC
  r.start = -48h;
  r.end = 6h;
  r.nodes = {"ctu-sio",     "special-branch", "bcu-commander", "council-chief-exec", "council-critical-reader",
             "npt-officer", "street-warden",  "iag-chair"};

  const Portion plot{"1", label("SECRET", {"UK EYES ONLY"}),
                     "Source reporting: three men in Sparkhill are acquiring precursor chemicals."};
  const Portion entry_plan{"1", label("SECRET", {"UK EYES ONLY"}),
                           "Entry at 14 Ladypool Road at 05:00 by armed officers; two addresses searched."};
  const Portion prebrief{"2", label("RESTRICTED"),
                         "A counter-terrorism operation will take place in Sparkhill early on Friday.\n"
                         "Please be ready to convene the consequence-management group."};
  const Portion profile_partner{"2", label("RESTRICTED"),
                                "Tension is rising around Stratford Road; youth provision & outreach are thin."};
  const WithheldPortion entry_withheld{"1",
                                       label("SECRET", {"UK EYES ONLY"}),
                                       "above council-chief-exec's vetting: BPSS sees RESTRICTED regularly",
                                       {"prebriefing-to-strategic-leads"}};
  const WithheldPortion profile_withheld{"1",
                                         label("SECRET", {"UK EYES ONLY"}),
                                         "SECRET portion: not for council staff under need-to-know",
                                         {"profile-to-heads-of-service"}};
  const Portion arrest{"1", label("RESTRICTED"),
                       "Two men were arrested in Sparkhill at 05:10 under the Terrorism Act."};
  const Portion tension{"1", label("RESTRICTED"), "Crowd of 40 outside the mosque on Stratford Road; calm but angry."};
  const Portion statement{"1", label("NOT PROTECTIVELY MARKED"),
                          "Police made two arrests in Sparkhill this morning. Community leaders are being briefed."};

  r.timeline = {
      sent(-48h, K::inject, "ctu-sio", "I01", "m-i01", "Intelligence of an attack plot", "ct-intelligence",
           "The CT unit receives intelligence of a plot in Sparkhill"),
      decided(-48h, "ctu-sio", "special-branch", "I01", "m-i01", release, {"ct-intelligence-within-ct-network"},
              "released: ct-intelligence-within-ct-network"),
      delivered(-48h, "ctu-sio", "special-branch", "I01", "m-i01", "Intelligence of an attack plot", "ct-intelligence",
                release, {plot}, {}, {"ct-intelligence-within-ct-network"}, "released"),

      sent(-24h, K::inject, "ctu-sio", "I02", "m-i02", "Pre-briefing: arrest operation in Sparkhill",
           "operation-prebriefing", "The BCU commander and the chief executive are pre-briefed"),
      decided(-24h, "ctu-sio", "bcu-commander", "I02", "m-i02", release, {"prebriefing-to-strategic-leads"},
              "released: prebriefing-to-strategic-leads"),
      decided(-24h, "ctu-sio", "council-chief-exec", "I02", "m-i02", redacted, {"prebriefing-to-strategic-leads"},
              "released without the SECRET portion", {entry_withheld}),
      delivered(-24h, "ctu-sio", "bcu-commander", "I02", "m-i02", "Pre-briefing: arrest operation in Sparkhill",
                "operation-prebriefing", release, {entry_plan, prebrief}, {}, {"prebriefing-to-strategic-leads"},
                "released"),
      delivered(-24h, "ctu-sio", "council-chief-exec", "I02", "m-i02", "Pre-briefing: arrest operation in Sparkhill",
                "operation-prebriefing", redacted, {prebrief}, {entry_withheld}, {"prebriefing-to-strategic-leads"},
                "released without the SECRET portion"),

      sent(-12h, K::inject, "ctu-sio", "I03", "m-i03", "Community impact assessment", "ct-assessment",
           "The CT unit shares its community impact assessment"),
      decided(-12h, "ctu-sio", "iag-chair", "I03", "m-i03", Decision::deny, {"no-ct-material-to-community"},
              kDenyReason),

      sent(-6h, K::inject, "ctu-sio", "I04", "m-i04", "CT neighbourhood problem profile: Sparkhill",
           "ct-problem-profile", "The profile goes to heads of key services after critical reading"),
      decided(-6h, "ctu-sio", "council-chief-exec", "I04", "m-i04", Decision::hold, {"profile-to-heads-of-service"},
              kHoldReason, {}, "council-critical-reader"),
      [&] {
        TimelineEntry e = delivered(-6h, "ctu-sio", "council-critical-reader", "I04", "m-i04",
                                    "CT neighbourhood problem profile: Sparkhill", "ct-problem-profile", release,
                                    {profile_partner}, {profile_withheld}, {"profile-to-critical-reader"}, kHoldReason);
        e.kind = K::review_request;
        e.detail = "hold 1a2b3c4d for council-chief-exec";
        return e;
      }(),
      [&] {
        TimelineEntry e = sent(-4h, K::review, "council-critical-reader", "R1", "", "", "",
                               "approve hold 1a2b3c4d: content agreed with contributors");
        return e;
      }(),
      decided(-4h, "ctu-sio", "council-chief-exec", "I04", "m-i04", redacted, {"profile-to-heads-of-service"},
              "approved by council-critical-reader; SECRET portion withheld", {profile_withheld}, "", "follow-up"),
      delivered(-4h, "ctu-sio", "council-chief-exec", "I04", "m-i04", "CT neighbourhood problem profile: Sparkhill",
                "ct-problem-profile", redacted, {profile_partner}, {profile_withheld}, {"profile-to-heads-of-service"},
                "approved by council-critical-reader"),

      [&] {
        TimelineEntry e =
            sent(0h, K::event, "ctu-sio", "I05", "", "", "", "operation-start: the arrest operation begins");
        return e;
      }(),
      sent(0h, K::inject, "bcu-commander", "I06", "m-i06", "Arrest made in Sparkhill", "consequence-briefing",
           "The BCU tells its neighbourhood team and wardens of the arrest"),
      decided(0h, "bcu-commander", "npt-officer", "I06", "m-i06", release, {"consequence-briefings-to-group"},
              "released: consequence-briefings-to-group"),
      decided(0h, "bcu-commander", "street-warden", "I06", "m-i06", release, {"consequence-briefings-to-group"},
              "released: consequence-briefings-to-group"),
      delivered(0h, "bcu-commander", "npt-officer", "I06", "m-i06", "Arrest made in Sparkhill", "consequence-briefing",
                release, {arrest}, {}, {"consequence-briefings-to-group"}, "released"),
      delivered(0h, "bcu-commander", "street-warden", "I06", "m-i06", "Arrest made in Sparkhill",
                "consequence-briefing", release, {arrest}, {}, {"consequence-briefings-to-group"}, "released"),

      sent(2h, K::response, "npt-officer", "R2", "m-r2", "Community tension report", "tension-report",
           "The NPT files a tension report after the arrest"),
      decided(2h, "npt-officer", "bcu-commander", "R2", "m-r2", release, {"tension-reports-to-ctio"},
              "released: tension-reports-to-ctio"),
      delivered(2h, "npt-officer", "bcu-commander", "R2", "m-r2", "Community tension report", "tension-report", release,
                {tension}, {}, {"tension-reports-to-ctio"}, "released"),

      sent(3h, K::contingency, "bcu-commander", "C1", "m-c1", "Public statement for the IAG", "public-statement",
           "Fired because the IAG chair was not told before the arrest"),
      decided(3h, "bcu-commander", "iag-chair", "C1", "m-c1", release, {"public-statements-to-all"},
              "released: public-statements-to-all"),
      delivered(3h, "bcu-commander", "iag-chair", "C1", "m-c1", "Public statement for the IAG", "public-statement",
                release, {statement}, {}, {"public-statements-to-all"}, "released"),
  };

  r.expectations = {
      {"E1", "bcu-commander receives I02 by T-12h", true, -24h, "bcu-commander received I02 (full) at T-24h"},
      {"E2", "council-chief-exec never receives a portion at or above SECRET", true, 6h,
       "no SECRET portion reached council-chief-exec"},
      {"E3", "I04 is approved by a reviewer within 4h", true, -4h, "approved at T-4h, 2h after it was held"},
      {"E4", "iag-chair receives I03 by T-6h", false, -6h, "iag-chair did not receive I03: DENY"},
      {"E5", "ctu-sio gets a receipt for I02 by T-23h", true, -24h, "receipt at T-24h"},
  };
  r.knowledge = {
      knew("special-branch", "I01", "m-i01", -48h, release, {"SECRET/UK EYES ONLY"}),
      knew("bcu-commander", "I02", "m-i02", -24h, release, {"SECRET/UK EYES ONLY", "RESTRICTED"}),
      knew("council-chief-exec", "I02", "m-i02", -24h, redacted, {"RESTRICTED"}, {"SECRET/UK EYES ONLY"}),
      knew("council-chief-exec", "I04", "m-i04", -4h, redacted, {"RESTRICTED"}, {"SECRET/UK EYES ONLY"}),
      knew("npt-officer", "I06", "m-i06", 0h, release, {"RESTRICTED"}),
      knew("street-warden", "I06", "m-i06", 0h, release, {"RESTRICTED"}),
      knew("bcu-commander", "R2", "m-r2", 2h, release, {"RESTRICTED"}),
      knew("iag-chair", "C1", "m-c1", 3h, release, {"NOT PROTECTIVELY MARKED"}),
  };
  r.contingencies_fired = {"C1"};
  r.frames_delivered = 8;
  r.wall_seconds = 3.217;
  return r;
}

// The same scenario under need-to-share: the IAG chair gets the assessment
// (redacted) at T-12h, every expectation is met and no contingency fires.
inline Comparison sample_comparison() {
  Comparison c;
  c.first = sample_run();
  RunResult r = sample_run();
  r.policy_name = "need-to-share";
  r.policy_version = "sha256:7c211433f02071597741e6ff5a8ea34789abbf43";
  r.policy_file = "/work/main/policies/need-to-share.yaml";
  std::vector<TimelineEntry> timeline;
  for (TimelineEntry& e : r.timeline) {
    if (e.inject == "C1") continue;  // the contingency does not fire
    if (e.inject == "I03" && e.kind == TimelineEntry::Kind::decision) {
      e.decision = Decision::release_redacted;
      e.rules = {"community-information-to-npt", "public-statements-to-all"};
      e.reason = "released without the SECRET portion";
      e.withheld = {WithheldPortion{
          "1", label("SECRET"), "SECRET portion: community members are not vetted", {"no-ct-material-to-community"}}};
      timeline.push_back(e);
      timeline.push_back(delivered(e.at, "ctu-sio", "iag-chair", "I03", "m-i03", "Community impact assessment",
                                   "ct-assessment", Decision::release_redacted,
                                   {Portion{"2", label("NOT PROTECTIVELY MARKED"),
                                            "Community reassurance: patrols will be visible in Sparkhill."}},
                                   e.withheld, e.rules, e.reason));
      continue;
    }
    timeline.push_back(e);
  }
  r.timeline = timeline;
  r.expectations[3].met = true;
  r.expectations[3].when = -12h;
  r.expectations[3].evidence = "iag-chair received I03 (redacted) at T-12h";
  r.knowledge.pop_back();
  r.knowledge.push_back(
      knew("iag-chair", "I03", "m-i03", -12h, Decision::release_redacted, {"NOT PROTECTIVELY MARKED"}, {"SECRET"}));
  r.contingencies_fired.clear();
  r.frames_delivered = 8;
  r.wall_seconds = 3.5;
  c.second = r;
  return c;
}

// The same exercise played by people (exercise host) at three seats: the CT
// unit's senior officer, the council chief executive and a neighbourhood
// officer. Every RunResult field for people is filled: human actions (a send
// with a redacted recipient, a two-level product held then released in a
// follow-up, a reply the gateway refused, a trigger), media released on
// schedule and by hand, evaluators' observations and ratings, and an
// improvement plan.
inline HumanAction human(Offset at, std::string node, HumanAction::Kind kind, std::string message_id,
                         std::string title, std::string category, std::vector<std::string> to,
                         std::vector<std::string> labels, std::string prompted_by,
                         std::optional<Offset> response_time, std::vector<ActionOutcome> outcomes = {}) {
  HumanAction a;
  a.at = at;
  a.table = "need-to-know";
  a.node = std::move(node);
  a.kind = kind;
  a.message_id = std::move(message_id);
  a.title = std::move(title);
  a.category = std::move(category);
  a.to = std::move(to);
  a.labels = std::move(labels);
  a.prompted_by = std::move(prompted_by);
  a.response_time = response_time;
  a.outcomes = std::move(outcomes);
  return a;
}

inline TimelineEntry acted(const HumanAction& a) {
  TimelineEntry e;
  e.at = a.at;
  e.kind = TimelineEntry::Kind::human;
  e.node = a.node;
  e.from = a.node;
  e.message_id = a.message_id;
  e.title = a.title;
  e.category = a.category;
  e.detail = a.kind == HumanAction::Kind::trigger ? a.detail : std::string("send");
  return e;
}

inline constexpr const char* kBriefTitle = "Convene the consequence-management group";

inline RunResult sample_played_run() {
  using K = HumanAction::Kind;
  RunResult r = sample_run();
  r.played = {"ctu-sio", "council-chief-exec", "npt-officer"};
  r.table = "need-to-know";
  r.objectives = {{"O1", "Partners are briefed before the arrest"},
                  {"O2", "The council manages the consequences of the arrest"}};
  r.markings = {{"NOT PROTECTIVELY MARKED", "NPM", "#ffffff", "#000000"},
                {"RESTRICTED", "RESTRICTED", "#2e7d32", "#ffffff"},
                {"SECRET [UK EYES ONLY]", "SECRET UK EYES ONLY", "#ef6c00", "#000000"}};

  HumanAction brief = human(-20h, "council-chief-exec", K::send, "h-1", kBriefTitle, "consequence-briefing",
                            {"node:npt-officer", "role:iag-chair"}, {"RESTRICTED", "NOT PROTECTIVELY MARKED"}, "I02",
                            4h,
                            {ActionOutcome{"npt-officer",
                                           Decision::release,
                                           {"RESTRICTED", "NOT PROTECTIVELY MARKED"},
                                           {},
                                           "released: consequence-briefings-to-group",
                                           {"consequence-briefings-to-group"},
                                           false},
                             ActionOutcome{"iag-chair",
                                           Decision::release_redacted,
                                           {"NOT PROTECTIVELY MARKED"},
                                           {"RESTRICTED"},
                                           "RESTRICTED portion withheld: community members are not vetted",
                                           {"public-statements-to-all"},
                                           false}});
  brief.purpose = "consequence-management";
  HumanAction product =
      human(-10h, "ctu-sio", K::send, "h-2", "Two-level product: the Sparkhill network", "ct-problem-profile",
            {"node:council-chief-exec"}, {"SECRET [UK EYES ONLY]", "RESTRICTED"}, "I01", 38h,
            {ActionOutcome{"council-chief-exec",
                           Decision::hold,
                           {},
                           {},
                           "waits for the council's critical reader",
                           {"profile-to-heads-of-service"},
                           false},
             ActionOutcome{"council-chief-exec",
                           Decision::release_redacted,
                           {"RESTRICTED"},
                           {"SECRET [UK EYES ONLY]"},
                           "approved by council-critical-reader; SECRET portion withheld",
                           {"profile-to-heads-of-service"},
                           true}});
  HumanAction reply = human(-19h - 30min, "npt-officer", K::reply, "h-3", "Re: convene the group",
                            "consequence-briefing", {"role:mayor"}, {"RESTRICTED"}, "h-1", 30min);
  reply.in_reply_to = "h-1";
  reply.refused = "P004: unknown addressee role:mayor";
  HumanAction patrols = human(1h, "npt-officer", K::send, "h-4", "Reassurance patrols on Stratford Road",
                              "tension-report", {"node:bcu-commander"}, {"RESTRICTED"}, "I06", 1h);
  HumanAction tension = human(2h, "npt-officer", K::send, "h-5", "Crowd outside the mosque", "tension-report",
                              {"node:bcu-commander"}, {"RESTRICTED"}, "I06", 2h);
  HumanAction start = human(0h, "ctu-sio", K::trigger, "", "", "", {}, {}, "", std::nullopt);
  start.detail = "operation-start";
  r.human_actions = {brief, reply, product, start, patrols, tension};

  MediaRelease news{"M1", 30min, "news", "Birmingham Mail", "Two arrested in Sparkhill raid",
                    "Armed officers entered a house on Ladypool Road at dawn.", {}, false};
  MediaRelease post{"M2", 90min, "social", "@sparkhill_news", "Why is nobody from the council talking?",
                    "Residents say they heard nothing from the council.", {"council-chief-exec"}, true};
  r.media = {news, post};

  r.observations = {
      {-20h, "Lead evaluator", "O2", "need-to-know", "The chief executive convened the group 4h after the pre-briefing"},
      {-10h, "Lead evaluator", "O1", "need-to-know", "The CT officer wrote a two-level product unprompted"},
      {2h, "Second evaluator", "O2", "", "Tension reports reached the BCU within 2h"},
  };
  r.ratings = {
      {"O1", "Lead evaluator", "need-to-know", Rating::S, "The IAG chair was not briefed"},
      {"O2", "Lead evaluator", "need-to-know", Rating::P, ""},
      {"O2", "Second evaluator", "", Rating::M, "Slow to reach the community"},
  };
  r.improvement_plan = {
      {"The IAG chair learnt of the arrest from the news", "Agree a community briefing line before T+0",
       "BCU commander", "2027-01-31", "O1"},
      {"No reply route to the mayor's office", "Add the mayor to the consequence-management list",
       "Council chief executive", "2027-02-28", ""},
  };

  for (const HumanAction& a : r.human_actions) r.timeline.push_back(acted(a));
  for (const MediaRelease& m : r.media) {
    TimelineEntry e;
    e.at = m.at;
    e.kind = TimelineEntry::Kind::media;
    e.inject = m.id;
    e.node = m.seats.empty() ? "" : m.seats.front();
    e.detail = m.headline;
    r.timeline.push_back(e);
  }
  std::stable_sort(r.timeline.begin(), r.timeline.end(),
                   [](const TimelineEntry& a, const TimelineEntry& b) { return a.at < b.at; });
  return r;
}

// Two tables played at once: need-to-know (above) and need-to-share, where the
// chief executive got the pre-briefing in full and acted sooner, and the IAG
// chair got her briefing whole.
inline Comparison sample_played_comparison() {
  Comparison c;
  c.first = sample_played_run();
  RunResult r = sample_played_run();
  r.policy_name = "need-to-share";
  r.policy_version = "sha256:7c211433f02071597741e6ff5a8ea34789abbf43";
  r.table = "need-to-share";
  for (HumanAction& a : r.human_actions) {
    a.table = "need-to-share";
    if (a.message_id != "h-1") continue;
    a.at = -22h;
    a.response_time = 2h;
    a.outcomes[1].decision = Decision::release;
    a.outcomes[1].released_labels = {"RESTRICTED", "NOT PROTECTIVELY MARKED"};
    a.outcomes[1].withheld_labels.clear();
    a.outcomes[1].reason = "released: community-information-to-iag";
  }
  for (Knowledge& k : r.knowledge) {
    if (k.node == "council-chief-exec" && k.inject == "I02") {
      k.decision = Decision::release;
      k.released_labels = {"SECRET/UK EYES ONLY", "RESTRICTED"};
      k.withheld_labels.clear();
    }
  }
  r.ratings[0].rating = Rating::P;
  r.ratings[0].note = "Everyone was briefed";
  r.ratings[0].table = "need-to-share";
  c.second = r;
  return c;
}

inline void expect_same_label(const Label& a, const Label& b, const std::string& where) {
  EXPECT_EQ(a.classification, b.classification) << where;
  EXPECT_EQ(a.categories, b.categories) << where;
}

// Every field of two results, so that a field the JSON drops fails the test.
inline void expect_same(const RunResult& a, const RunResult& b) {
  EXPECT_EQ(a.scenario, b.scenario);
  EXPECT_EQ(a.scenario_title, b.scenario_title);
  EXPECT_EQ(a.policy_name, b.policy_name);
  EXPECT_EQ(a.policy_version, b.policy_version);
  EXPECT_EQ(a.policy_file, b.policy_file);
  EXPECT_EQ(a.t0_unix_ms, b.t0_unix_ms);
  EXPECT_EQ(a.start, b.start);
  EXPECT_EQ(a.end, b.end);
  EXPECT_EQ(a.nodes, b.nodes);
  ASSERT_EQ(a.timeline.size(), b.timeline.size());
  for (std::size_t i = 0; i < a.timeline.size(); ++i) {
    const TimelineEntry& x = a.timeline[i];
    const TimelineEntry& y = b.timeline[i];
    const std::string at = "timeline[" + std::to_string(i) + "]";
    EXPECT_EQ(x.at, y.at) << at;
    EXPECT_EQ(x.kind, y.kind) << at;
    EXPECT_EQ(x.node, y.node) << at;
    EXPECT_EQ(x.from, y.from) << at;
    EXPECT_EQ(x.message_id, y.message_id) << at;
    EXPECT_EQ(x.inject, y.inject) << at;
    EXPECT_EQ(x.title, y.title) << at;
    EXPECT_EQ(x.category, y.category) << at;
    EXPECT_EQ(x.decision, y.decision) << at;
    ASSERT_EQ(x.released.size(), y.released.size()) << at;
    for (std::size_t j = 0; j < x.released.size(); ++j) {
      EXPECT_EQ(x.released[j].id, y.released[j].id) << at;
      expect_same_label(x.released[j].label, y.released[j].label, at);
      EXPECT_EQ(x.released[j].body, y.released[j].body) << at;
    }
    ASSERT_EQ(x.withheld.size(), y.withheld.size()) << at;
    for (std::size_t j = 0; j < x.withheld.size(); ++j) {
      EXPECT_EQ(x.withheld[j].portion_id, y.withheld[j].portion_id) << at;
      expect_same_label(x.withheld[j].label, y.withheld[j].label, at);
      EXPECT_EQ(x.withheld[j].reason, y.withheld[j].reason) << at;
      EXPECT_EQ(x.withheld[j].rule_ids, y.withheld[j].rule_ids) << at;
    }
    EXPECT_EQ(x.rules, y.rules) << at;
    EXPECT_EQ(x.reason, y.reason) << at;
    EXPECT_EQ(x.held_for, y.held_for) << at;
    EXPECT_EQ(x.detail, y.detail) << at;
  }
  ASSERT_EQ(a.expectations.size(), b.expectations.size());
  for (std::size_t i = 0; i < a.expectations.size(); ++i) {
    const std::string at = "expectations[" + std::to_string(i) + "]";
    EXPECT_EQ(a.expectations[i].id, b.expectations[i].id) << at;
    EXPECT_EQ(a.expectations[i].description, b.expectations[i].description) << at;
    EXPECT_EQ(a.expectations[i].met, b.expectations[i].met) << at;
    EXPECT_EQ(a.expectations[i].when, b.expectations[i].when) << at;
    EXPECT_EQ(a.expectations[i].evidence, b.expectations[i].evidence) << at;
    EXPECT_EQ(a.expectations[i].kind, b.expectations[i].kind) << at;
  }
  ASSERT_EQ(a.knowledge.size(), b.knowledge.size());
  for (std::size_t i = 0; i < a.knowledge.size(); ++i) {
    const std::string at = "knowledge[" + std::to_string(i) + "]";
    EXPECT_EQ(a.knowledge[i].node, b.knowledge[i].node) << at;
    EXPECT_EQ(a.knowledge[i].inject, b.knowledge[i].inject) << at;
    EXPECT_EQ(a.knowledge[i].message_id, b.knowledge[i].message_id) << at;
    EXPECT_EQ(a.knowledge[i].first_at, b.knowledge[i].first_at) << at;
    EXPECT_EQ(a.knowledge[i].decision, b.knowledge[i].decision) << at;
    EXPECT_EQ(a.knowledge[i].released_labels, b.knowledge[i].released_labels) << at;
    EXPECT_EQ(a.knowledge[i].withheld_labels, b.knowledge[i].withheld_labels) << at;
  }
  EXPECT_EQ(a.contingencies_fired, b.contingencies_fired);
  EXPECT_EQ(a.frames_delivered, b.frames_delivered);
  ASSERT_EQ(a.markings.size(), b.markings.size());
  for (std::size_t i = 0; i < a.markings.size(); ++i) {
    EXPECT_EQ(a.markings[i].label, b.markings[i].label);
    EXPECT_EQ(a.markings[i].display, b.markings[i].display);
    EXPECT_EQ(a.markings[i].colour, b.markings[i].colour);
    EXPECT_EQ(a.markings[i].text_colour, b.markings[i].text_colour);
  }
  // Played by people.
  EXPECT_EQ(a.played, b.played);
  EXPECT_EQ(a.table, b.table);
  ASSERT_EQ(a.human_actions.size(), b.human_actions.size());
  for (std::size_t i = 0; i < a.human_actions.size(); ++i) {
    const HumanAction& x = a.human_actions[i];
    const HumanAction& y = b.human_actions[i];
    const std::string at = "human_actions[" + std::to_string(i) + "]";
    EXPECT_EQ(x.at, y.at) << at;
    EXPECT_EQ(x.table, y.table) << at;
    EXPECT_EQ(x.node, y.node) << at;
    EXPECT_EQ(x.kind, y.kind) << at;
    EXPECT_EQ(x.message_id, y.message_id) << at;
    EXPECT_EQ(x.title, y.title) << at;
    EXPECT_EQ(x.category, y.category) << at;
    EXPECT_EQ(x.purpose, y.purpose) << at;
    EXPECT_EQ(x.to, y.to) << at;
    EXPECT_EQ(x.labels, y.labels) << at;
    EXPECT_EQ(x.detail, y.detail) << at;
    EXPECT_EQ(x.in_reply_to, y.in_reply_to) << at;
    EXPECT_EQ(x.prompted_by, y.prompted_by) << at;
    EXPECT_EQ(x.response_time, y.response_time) << at;
    EXPECT_EQ(x.refused, y.refused) << at;
    ASSERT_EQ(x.outcomes.size(), y.outcomes.size()) << at;
    for (std::size_t j = 0; j < x.outcomes.size(); ++j) {
      const std::string where = at + ".outcomes[" + std::to_string(j) + "]";
      EXPECT_EQ(x.outcomes[j].node, y.outcomes[j].node) << where;
      EXPECT_EQ(x.outcomes[j].decision, y.outcomes[j].decision) << where;
      EXPECT_EQ(x.outcomes[j].released_labels, y.outcomes[j].released_labels) << where;
      EXPECT_EQ(x.outcomes[j].withheld_labels, y.outcomes[j].withheld_labels) << where;
      EXPECT_EQ(x.outcomes[j].reason, y.outcomes[j].reason) << where;
      EXPECT_EQ(x.outcomes[j].rules, y.outcomes[j].rules) << where;
      EXPECT_EQ(x.outcomes[j].follow_up, y.outcomes[j].follow_up) << where;
    }
  }
  ASSERT_EQ(a.media.size(), b.media.size());
  for (std::size_t i = 0; i < a.media.size(); ++i) {
    const std::string at = "media[" + std::to_string(i) + "]";
    EXPECT_EQ(a.media[i].id, b.media[i].id) << at;
    EXPECT_EQ(a.media[i].at, b.media[i].at) << at;
    EXPECT_EQ(a.media[i].kind, b.media[i].kind) << at;
    EXPECT_EQ(a.media[i].source, b.media[i].source) << at;
    EXPECT_EQ(a.media[i].headline, b.media[i].headline) << at;
    EXPECT_EQ(a.media[i].body, b.media[i].body) << at;
    EXPECT_EQ(a.media[i].seats, b.media[i].seats) << at;
    EXPECT_EQ(a.media[i].by_hand, b.media[i].by_hand) << at;
  }
  ASSERT_EQ(a.observations.size(), b.observations.size());
  for (std::size_t i = 0; i < a.observations.size(); ++i) {
    const std::string at = "observations[" + std::to_string(i) + "]";
    EXPECT_EQ(a.observations[i].at, b.observations[i].at) << at;
    EXPECT_EQ(a.observations[i].evaluator, b.observations[i].evaluator) << at;
    EXPECT_EQ(a.observations[i].objective, b.observations[i].objective) << at;
    EXPECT_EQ(a.observations[i].table, b.observations[i].table) << at;
    EXPECT_EQ(a.observations[i].text, b.observations[i].text) << at;
  }
  ASSERT_EQ(a.ratings.size(), b.ratings.size());
  for (std::size_t i = 0; i < a.ratings.size(); ++i) {
    const std::string at = "ratings[" + std::to_string(i) + "]";
    EXPECT_EQ(a.ratings[i].objective, b.ratings[i].objective) << at;
    EXPECT_EQ(a.ratings[i].evaluator, b.ratings[i].evaluator) << at;
    EXPECT_EQ(a.ratings[i].table, b.ratings[i].table) << at;
    EXPECT_EQ(a.ratings[i].rating, b.ratings[i].rating) << at;
    EXPECT_EQ(a.ratings[i].note, b.ratings[i].note) << at;
  }
  ASSERT_EQ(a.improvement_plan.size(), b.improvement_plan.size());
  for (std::size_t i = 0; i < a.improvement_plan.size(); ++i) {
    const std::string at = "improvement_plan[" + std::to_string(i) + "]";
    EXPECT_EQ(a.improvement_plan[i].issue, b.improvement_plan[i].issue) << at;
    EXPECT_EQ(a.improvement_plan[i].corrective_action, b.improvement_plan[i].corrective_action) << at;
    EXPECT_EQ(a.improvement_plan[i].owner, b.improvement_plan[i].owner) << at;
    EXPECT_EQ(a.improvement_plan[i].due, b.improvement_plan[i].due) << at;
    EXPECT_EQ(a.improvement_plan[i].objective, b.improvement_plan[i].objective) << at;
  }
  ASSERT_EQ(a.objectives.size(), b.objectives.size());
  for (std::size_t i = 0; i < a.objectives.size(); ++i) {
    EXPECT_EQ(a.objectives[i].id, b.objectives[i].id) << "objectives[" << i << "]";
    EXPECT_EQ(a.objectives[i].text, b.objectives[i].text) << "objectives[" << i << "]";
  }
  // wall_seconds is not written: a report is the same bytes for the same run.
}

}  // namespace icegate::exercise::testing
