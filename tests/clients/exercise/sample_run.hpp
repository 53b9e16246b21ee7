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

#include <chrono>
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
  // wall_seconds is not written: a report is the same bytes for the same run.
}

}  // namespace icegate::exercise::testing
