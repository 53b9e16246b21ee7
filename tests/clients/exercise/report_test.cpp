// After-action reports: the JSON reads back to the same result, the Mermaid
// diagram is one a renderer accepts, and the HTML page says what facilitators
// need (lanes, reasons, withheld portions as withheld) and fetches nothing.
// Outputs are parsed, not eyeballed.
#include "clients/exercise/report.hpp"
#include "gateway/model/json_value.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "gateway/model/html.hpp"
#include "tests/clients/exercise/report_checks.hpp"
#include "tests/clients/exercise/sample_run.hpp"

namespace icegate::exercise {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using testing::count;
using testing::expect_offline;
using testing::nesting_problem;
using testing::svg_of;
using testing::expect_same;
using ::testing::HasSubstr;
using testing::kDenyReason;
using testing::kHoldReason;
using testing::kWithheldBody;
using ::testing::Not;
using testing::sample_comparison;
using testing::sample_run;

std::size_t count_kind(const RunResult& r, TimelineEntry::Kind kind) {
  return static_cast<std::size_t>(
      std::count_if(r.timeline.begin(), r.timeline.end(), [&](const TimelineEntry& e) { return e.kind == kind; }));
}

std::string escaped(std::string_view text) { return html::escape(text); }

// ---- scenario time ----------------------------------------------------------

TEST(ScenarioTimeText, ReadsAsTheScenarioFileWritesIt) {
  EXPECT_EQ(scenario_time_text(0ms), "T+0");
  EXPECT_EQ(scenario_time_text(-48h), "T-48h");
  EXPECT_EQ(scenario_time_text(2h + 30min), "T+2h30m");
  EXPECT_EQ(scenario_time_text(90s), "T+1m30s");
  EXPECT_EQ(scenario_time_text(-(2s + 250ms)), "T-2s250ms");
}

// ---- JSON ---------------------------------------------------------------------

TEST(ReportJson, RoundTripKeepsEveryField) {
  const RunResult original = sample_run();
  const RunResult read = run_result_from_json(to_json(original));
  expect_same(original, read);
  // Writing what was read gives the same text: the key order is stable.
  EXPECT_EQ(to_json(read), to_json(original));
}

TEST(ReportJson, RoundTripKeepsAwkwardText) {
  RunResult r = sample_run();
  r.scenario_title = "Quotes \" backslash \\ tab\t newline\n control \x01 del \x7f and \xe2\x80\x99 UTF-8";
  r.timeline[2].released[0].body = "line one\r\nline two: {not: yaml} [x] # not a comment & <b>";
  r.nodes.push_back("yes");  // YAML would read a bare yes as true
  r.nodes.push_back("null");
  r.expectations[0].when.reset();
  r.wall_seconds = 0.1 + 0.2;
  r.markings.push_back({"SECRET [UK EYES ONLY]", "SECRET \"UK\" <EYES> ONLY", "#ef6c00", "#000000"});
  expect_same(r, run_result_from_json(to_json(r)));
}

// A result's markings come from its scheme, or from a bundle someone sent:
// colours reach a style attribute only as "#rrggbb", and text is escaped.
TEST(ReportHtml, MarkingStylesAreUsedOnlyWhenTheyAreColours) {
  RunResult r = sample_run();
  r.markings = {{"RESTRICTED", "RESTRICTED", "#2e7d32", "#ffffff"},
                {"SECRET [UK EYES ONLY]", "SECRET <UK> EYES ONLY", "red;background:url(x)", "#000000"}};
  const std::string html = to_html(r);
  EXPECT_NE(html.find("style=\"background:#2e7d32;color:#ffffff\">RESTRICTED</span>"), std::string::npos);
  EXPECT_EQ(html.find("url(x)"), std::string::npos);
  EXPECT_NE(html.find(">SECRET &lt;UK&gt; EYES ONLY</span>"), std::string::npos);
}

TEST(ReportJson, GivesTimesAsTextAndMilliseconds) {
  const RunResult r = sample_run();
  const boost::json::value json = json::parse(to_json(r)).value;
  EXPECT_EQ(json.at("start").as_string(), "T-48h");
  EXPECT_EQ(json.at("start_ms").as_int64(), -48 * 3600 * 1000LL);
  EXPECT_EQ(json.at("end").as_string(), "T+6h");
  EXPECT_EQ(json.at("timeline").at(0).at("at").as_string(), "T-48h");
  EXPECT_EQ(json.at("timeline").at(0).at("at_ms").as_int64(), -172800000);
  EXPECT_EQ(json.at("expectations").at(3).at("when").as_string(), "T-6h");
  EXPECT_EQ(json.at("knowledge").at(0).at("first_at").as_string(), "T-48h");
  EXPECT_EQ(json.at("t0").as_string(), "2024-06-14 05:00:00 UTC");
  EXPECT_FALSE(json.at("all_met").as_bool());
  EXPECT_EQ(json.at("expectations_met").as_int64(), 4);
  EXPECT_EQ(json.at("expectations_total").as_int64(), 5);
}

TEST(ReportJson, KeysComeInTheDocumentedOrder) {
  const std::string json = to_json(sample_run());
  std::vector<std::size_t> positions;
  for (const char* key :
       {"\"format\"", "\"scenario\"", "\"policy_name\"", "\"t0_unix_ms\"", "\"start\"", "\"nodes\"", "\"timeline\"",
        "\"expectations\"", "\"knowledge\"", "\"contingencies_fired\"", "\"frames_delivered\""}) {
    positions.push_back(json.find(key));
    EXPECT_NE(positions.back(), std::string::npos) << key;
  }
  EXPECT_TRUE(std::is_sorted(positions.begin(), positions.end()));
}

TEST(ReportJson, PortionsCarryLabelsAndBodiesWithheldOnlyLabelsAndReasons) {
  const boost::json::value json = json::parse(to_json(sample_run())).value;
  const boost::json::value& redacted = json.at("timeline").at(7);  // council-chief-exec's version of I02
  ASSERT_EQ(redacted.at("kind").as_string(), "delivered");
  ASSERT_EQ(redacted.at("decision").as_string(), "RELEASE_REDACTED");
  EXPECT_EQ(redacted.at("released").at(0).at("label").at("classification").as_string(), "RESTRICTED");
  EXPECT_EQ(redacted.at("released").at(0).at("marking").as_string(), "RESTRICTED");
  EXPECT_THAT(std::string(redacted.at("released").at(0).at("body").as_string()), HasSubstr("counter-terrorism operation"));
  const boost::json::value& withheld = redacted.at("withheld").at(0);
  EXPECT_EQ(withheld.at("marking").as_string(), "SECRET [UK EYES ONLY]");
  EXPECT_THAT(std::string(withheld.at("reason").as_string()), HasSubstr("vetting"));
  std::vector<std::string> keys;
  for (const auto& item : withheld.as_object()) keys.emplace_back(item.key());
  EXPECT_THAT(keys, ElementsAre("portion_id", "label", "marking", "reason", "rule_ids"));
}

TEST(ReportJson, RejectsBrokenInputNamingWhere) {
  EXPECT_THROW(run_result_from_json("{\"scenario\": "), ReportError);
  EXPECT_THROW(run_result_from_json("[1, 2]"), ReportError);

  std::string json = to_json(sample_run());
  const std::string missing = std::regex_replace(json, std::regex("\"frames_delivered\""), "\"frames\"");
  try {
    run_result_from_json(missing);
    ADD_FAILURE() << "a result without frames_delivered was read";
  } catch (const ReportError& error) {
    EXPECT_THAT(error.what(), HasSubstr("frames_delivered"));
  }
  const std::string unknown = std::regex_replace(json, std::regex("\"RELEASE_REDACTED\""), "\"MAYBE\"");
  try {
    run_result_from_json(unknown);
    ADD_FAILURE() << "an unknown decision was read";
  } catch (const ReportError& error) {
    EXPECT_THAT(error.what(), HasSubstr("timeline["));
    EXPECT_THAT(error.what(), HasSubstr("MAYBE"));
  }
  const std::string future = std::regex_replace(json, std::regex("\"format_version\": 1"), "\"format_version\": 2");
  EXPECT_THROW(run_result_from_json(future), ReportError);
}

TEST(ReportJson, ComparisonRoundTripsAndListsDifferingDecisions) {
  const Comparison c = sample_comparison();
  const std::string json = to_json(c);
  const Comparison read = comparison_from_json(json);
  expect_same(c.first, read.first);
  expect_same(c.second, read.second);
  const boost::json::value differ = json::parse(json).value.at("decisions_differ");
  ASSERT_TRUE(differ.is_array());
  std::set<std::string> pairs;
  for (const auto& d : differ.as_array()) pairs.insert(std::string(d.at("inject").as_string()) + "/" + std::string(d.at("node").as_string()));
  EXPECT_EQ(pairs, (std::set<std::string>{"I03/iag-chair", "C1/iag-chair"}));
}

// ---- decisions ------------------------------------------------------------------

TEST(DecisionRows, TakeTitlesAndReleasedPortionsFromTheDelivery) {
  const std::vector<DecisionRow> rows = decision_rows(sample_run());
  // One row per decision entry (the runner records a decision for every delivery).
  EXPECT_EQ(rows.size(), count_kind(sample_run(), TimelineEntry::Kind::decision));
  const auto chief = std::find_if(rows.begin(), rows.end(), [](const DecisionRow& row) {
    return row.node == "council-chief-exec" && row.inject == "I02";
  });
  ASSERT_NE(chief, rows.end());
  EXPECT_EQ(chief->title, "Pre-briefing: arrest operation in Sparkhill");
  ASSERT_EQ(chief->released.size(), 1u);
  EXPECT_EQ(chief->released[0].label.classification, "RESTRICTED");
  ASSERT_EQ(chief->withheld.size(), 1u);
}

TEST(DecisionRows, CountADeliveryWithoutADecisionEntry) {
  RunResult r = sample_run();
  std::erase_if(r.timeline, [](const TimelineEntry& e) { return e.kind == TimelineEntry::Kind::decision; });
  EXPECT_EQ(decision_rows(r).size(), count_kind(r, TimelineEntry::Kind::delivered));
}

TEST(DifferingDecisions, AreTheInjectsAndNodesDecidedDifferently) {
  const std::vector<DecisionDifference> differences = differing_decisions(sample_comparison());
  ASSERT_EQ(differences.size(), 2u);
  EXPECT_EQ(differences[0].inject, "I03");  // in time order
  EXPECT_EQ(differences[0].node, "iag-chair");
  ASSERT_EQ(differences[0].first.size(), 1u);
  EXPECT_EQ(differences[0].first[0].decision, Decision::deny);
  ASSERT_EQ(differences[0].second.size(), 1u);
  EXPECT_EQ(differences[0].second[0].decision, Decision::release_redacted);
  EXPECT_EQ(differences[1].inject, "C1");
  EXPECT_TRUE(differences[1].second.empty());
}

TEST(DifferingDecisions, IncludeTheSameDecisionWithADifferentReleasedSet) {
  Comparison c = sample_comparison();
  for (TimelineEntry& e : c.second.timeline) {
    if (e.kind == TimelineEntry::Kind::delivered && e.node == "bcu-commander" && e.inject == "I02")
      e.released.pop_back();  // same RELEASE, one portion fewer
  }
  const auto differences = differing_decisions(c);
  EXPECT_TRUE(std::any_of(differences.begin(), differences.end(),
                          [](const DecisionDifference& d) { return d.inject == "I02" && d.node == "bcu-commander"; }));
}

// ---- Mermaid -------------------------------------------------------------------

struct Mermaid {
  std::map<std::string, std::string> participants;          // alias -> label
  std::vector<std::pair<std::string, std::string>> arrows;  // (arrow line, from->to)
  std::vector<std::string> lines;
};

Mermaid parse_mermaid(const std::string& text) {
  Mermaid m;
  std::istringstream in(text);
  std::string line;
  const std::regex participant(R"(^    participant ([A-Za-z][A-Za-z0-9_]*) as (.+)$)");
  const std::regex arrow(R"(^    ([A-Za-z][A-Za-z0-9_]*)(->>|-->>|--x|-x)([A-Za-z][A-Za-z0-9_]*): (.+)$)");
  const std::regex note(R"(^    Note over ([A-Za-z][A-Za-z0-9_]*)(,([A-Za-z][A-Za-z0-9_]*))?: (.+)$)");
  std::getline(in, line);
  m.lines.push_back(line);
  std::smatch match;
  while (std::getline(in, line)) {
    m.lines.push_back(line);
    if (std::regex_match(line, match, participant)) {
      m.participants[match[1]] = match[2];
    } else if (std::regex_match(line, match, arrow)) {
      EXPECT_TRUE(m.participants.count(match[1])) << "undeclared " << match[1] << " in: " << line;
      EXPECT_TRUE(m.participants.count(match[3])) << "undeclared " << match[3] << " in: " << line;
      EXPECT_LE(match[4].length(), 60) << line;
      m.arrows.emplace_back(match[1].str() + match[2].str() + match[3].str(), match[4]);
    } else if (std::regex_match(line, match, note)) {
      EXPECT_TRUE(m.participants.count(match[1])) << line;
      EXPECT_LE(match[4].length(), 60) << line;
    } else if (line.rfind("    %%", 0) != 0) {
      ADD_FAILURE() << "not a sequenceDiagram statement: " << line;
    }
  }
  return m;
}

TEST(ReportMermaid, IsASequenceDiagramOfEveryNodeThatTookPart) {
  const RunResult r = sample_run();
  const std::string text = to_mermaid(r);
  const Mermaid m = parse_mermaid(text);
  ASSERT_FALSE(m.lines.empty());
  EXPECT_EQ(m.lines[0], "sequenceDiagram");
  std::set<std::string> labels;
  for (const auto& [alias, label] : m.participants) {
    EXPECT_EQ(alias.find('-'), std::string::npos) << alias;
    labels.insert(label);
  }
  std::set<std::string> expected(r.nodes.begin(), r.nodes.end());
  expected.insert("gateway");
  EXPECT_EQ(labels, expected);
  EXPECT_EQ(m.participants.at("council_chief_exec"), "council-chief-exec");
}

TEST(ReportMermaid, DrawsOneArrowPerDeliveryAndInjectAndCrossesDenials) {
  const RunResult r = sample_run();
  const Mermaid m = parse_mermaid(to_mermaid(r));
  std::size_t deliveries = 0, to_gateway = 0, denials = 0;
  for (const auto& [arrow, label] : m.arrows) {
    if (arrow.rfind("gw->>", 0) == 0) ++deliveries;
    if (std::regex_match(arrow, std::regex("[A-Za-z0-9_]+->>gw"))) ++to_gateway;
    if (arrow == "gw--xiag_chair") {
      ++denials;
      EXPECT_THAT(label, HasSubstr("I03 DENY"));
    }
  }
  EXPECT_EQ(deliveries, count_kind(r, TimelineEntry::Kind::delivered));
  EXPECT_EQ(to_gateway, count_kind(r, TimelineEntry::Kind::inject) + count_kind(r, TimelineEntry::Kind::response) +
                            count_kind(r, TimelineEntry::Kind::contingency));
  EXPECT_EQ(denials, 1u);
  EXPECT_THAT(to_mermaid(r), HasSubstr("Note over gw,council_chief_exec: T-6h I04 HOLD for council-critical-reader"));
}

TEST(ReportMermaid, KeepsTextAndIdsSafe) {
  RunResult r = sample_run();
  r.nodes.push_back("end");                 // a Mermaid keyword
  r.nodes.push_back("x-ray-unit");          // "--xx..." would read as a cross arrow
  r.nodes.push_back("council_chief_exec");  // collides with the mapped alias of council-chief-exec
  for (const char* node : {"end", "x-ray-unit", "council_chief_exec"}) {
    r.timeline.push_back(
        testing::delivered(5h, "ctu-sio", node, "I07", "m-i07",
                           "Title; with # and \"quotes\" <b>and</b> a very long tail that goes on and on",
                           "public-statement", Decision::release, {}, {}, {}, "released"));
  }
  const std::string text = to_mermaid(r);
  const Mermaid m = parse_mermaid(text);
  for (const std::string& line : m.lines) {
    EXPECT_EQ(line.find(';'), std::string::npos) << line;
    EXPECT_EQ(line.find('#'), std::string::npos) << line;
    EXPECT_EQ(line.find('"'), std::string::npos) << line;
    EXPECT_EQ(line.find('<'), std::string::npos) << line;
  }
  std::set<std::string> aliases;
  for (const auto& [alias, label] : m.participants) {
    EXPECT_NE(alias, "end");
    EXPECT_NE(alias[0], 'x') << alias;
    aliases.insert(alias);
  }
  EXPECT_EQ(aliases.size(), m.participants.size());
  EXPECT_EQ(m.participants.size(), r.nodes.size() + 1);
}

// ---- HTML ------------------------------------------------------------------------

TEST(ReportHtml, IsOneWellFormedPageThatFetchesNothing) {
  const std::string page = to_html(sample_run());
  EXPECT_EQ(page.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_EQ(nesting_problem(page), "");
  expect_offline(page);
  EXPECT_THAT(page, HasSubstr("<style>"));
  EXPECT_THAT(page, HasSubstr("<svg"));
}

TEST(ReportHtml, HeaderSaysWhatRanAndWhetherItPassed) {
  const RunResult r = sample_run();
  const std::string page = to_html(r);
  EXPECT_THAT(page, HasSubstr("Operation Nicole: a CT arrest in Sparkhill"));
  EXPECT_THAT(page, HasSubstr("need-to-know"));
  EXPECT_THAT(page, HasSubstr("sha256:5d41402abc4b2a7"));
  EXPECT_THAT(page, HasSubstr("2024-06-14 05:00:00 UTC"));
  EXPECT_THAT(page, HasSubstr("class=\"banner fail\">FAIL: 4 of 5 expectations met"));
  EXPECT_THAT(page, Not(HasSubstr("banner pass")));
  for (const char* heading : {"Who knew what, and when", "Decisions and why", "Expectations", "Objectives"})
    EXPECT_THAT(page, HasSubstr(std::string(">") + heading + "</h2>")) << heading;

  RunResult all_met = r;
  for (ExpectationResult& e : all_met.expectations) e.met = true;
  const std::string passing = to_html(all_met);
  EXPECT_THAT(passing, HasSubstr("class=\"banner pass\">PASS: every expectation was met (5 of 5)"));
  EXPECT_THAT(passing, Not(HasSubstr("banner fail")));
}

TEST(ReportHtml, SwimlaneHasOneLanePerNodeAndTheGateway) {
  const RunResult r = sample_run();
  const std::string svg = svg_of(to_html(r));
  ASSERT_FALSE(svg.empty());
  EXPECT_EQ(count(svg, "<g class=\"lane\""), r.nodes.size() + 1);
  for (const std::string& node : r.nodes) EXPECT_THAT(svg, HasSubstr("<g class=\"lane\" data-node=\"" + node + "\""));
  EXPECT_THAT(svg, HasSubstr("<g class=\"lane\" data-node=\"gateway\""));
}

TEST(ReportHtml, SwimlaneColoursArrowsByDecision) {
  const RunResult r = sample_run();
  const std::string svg = svg_of(to_html(r));
  std::size_t released = 0, redacted = 0;
  for (const TimelineEntry& e : r.timeline) {
    if (e.kind != TimelineEntry::Kind::delivered) continue;
    (e.decision == Decision::release_redacted ? redacted : released) += 1;
  }
  EXPECT_EQ(count(svg, "<g class=\"msg release\""), released);
  EXPECT_EQ(count(svg, "<g class=\"msg redacted\""), redacted);
  EXPECT_EQ(count(svg, "<g class=\"msg deny\" data-node=\"iag-chair\""), 1u);
  EXPECT_EQ(count(svg, "<g class=\"msg hold\" data-node=\"council-chief-exec\""), 1u);
  EXPECT_THAT(svg, HasSubstr("stroke=\"#c62828\""));  // red for the denial
  EXPECT_THAT(svg, HasSubstr("stroke=\"#b26a00\""));  // amber for redactions
  // Arrows come in time order: the deny (T-12h) is drawn above the hold (T-6h).
  EXPECT_LT(svg.find("class=\"msg deny\""), svg.find("class=\"msg hold\""));
  EXPECT_THAT(svg, HasSubstr(">I03 denied</text>"));
}

TEST(ReportHtml, ListsEveryDecisionWithItsReasonEscaped) {
  const RunResult r = sample_run();
  const std::string page = to_html(r);
  const std::size_t table = page.find("<table class=\"decisions\">");
  ASSERT_NE(table, std::string::npos);
  const std::string decisions = page.substr(table, page.find("</table>", table) - table);
  EXPECT_EQ(count(decisions, "<tr class=\"row-"), decision_rows(r).size());
  for (const DecisionRow& row : decision_rows(r)) {
    EXPECT_THAT(decisions, HasSubstr("<td class=\"reason\">" + escaped(row.reason) + "</td>")) << row.reason;
    for (const std::string& rule : row.rules) EXPECT_THAT(decisions, HasSubstr("<code>" + rule + "</code>"));
  }
  EXPECT_THAT(page, HasSubstr(escaped(kDenyReason)));
  EXPECT_THAT(page, Not(HasSubstr(kDenyReason)));  // never unescaped
  EXPECT_THAT(page, Not(HasSubstr("<iag-chair>")));
  EXPECT_THAT(decisions, HasSubstr(escaped(kHoldReason)));
}

TEST(ReportHtml, ShowsWithheldPortionsAsWithheldWithTheirReasonNeverTheirBody) {
  const RunResult r = sample_run();
  Scenario scenario;  // the scenario holds the body the gateway withheld
  scenario.objectives = {{"O1", "Partners are briefed before the arrest"}};
  Inject profile;
  profile.id = "I04";
  profile.from = "ctu-sio";
  profile.synopsis = "The profile goes to heads of key services";
  profile.message = MessageSpec{};
  profile.message->portions = {Portion{"1", testing::label("SECRET", {"UK EYES ONLY"}), kWithheldBody}};
  scenario.injects = {profile};
  Expectation e4;
  e4.id = "E4";
  e4.objective = "O1";
  scenario.expectations = {e4};

  const std::string page = to_html(r, &scenario);
  EXPECT_THAT(page, Not(HasSubstr("Subject A attends")));
  std::size_t withheld = 0;
  for (const TimelineEntry& e : r.timeline) {
    if (e.kind != TimelineEntry::Kind::delivered && e.kind != TimelineEntry::Kind::review_request) continue;
    withheld += e.withheld.size();
    for (const WithheldPortion& w : e.withheld)
      EXPECT_THAT(page, HasSubstr("Reason: " + escaped(w.reason))) << w.reason;
  }
  EXPECT_EQ(count(page, "<div class=\"portion withheld\">"), withheld);
  EXPECT_GT(withheld, 0u);
  // A withheld box names the marking and says "withheld"; it has no body.
  const std::size_t box = page.find("<div class=\"portion withheld\">");
  const std::string first_box = page.substr(box, page.find("</div></div>", box) - box);
  EXPECT_THAT(first_box, HasSubstr("SECRET [UK EYES ONLY]"));
  EXPECT_THAT(first_box, HasSubstr("withheld"));
  EXPECT_THAT(first_box, Not(HasSubstr("class=\"body\"")));
  // The scenario's objectives appear, with the expectations serving them.
  EXPECT_THAT(page, HasSubstr("Partners are briefed before the arrest"));
  EXPECT_THAT(page, HasSubstr("E4 not met"));
}

TEST(ReportHtml, TimelinePerNodeShowsWhatEachReceivedAndWhen) {
  const RunResult r = sample_run();
  const std::string page = to_html(r);
  const std::size_t section = page.find("<section id=\"who-knew\">");
  const std::string who = page.substr(section, page.find("</section>", section) - section);
  EXPECT_EQ(count(who, "<div class=\"node\" data-node="), r.nodes.size());
  // council-chief-exec's card: the pre-briefing, redacted, at T-24h, with the RESTRICTED body.
  const std::size_t card = who.find("<div class=\"node\" data-node=\"council-chief-exec\">");
  ASSERT_NE(card, std::string::npos);
  const std::string chief = who.substr(card, who.find("<div class=\"node\" data-node=", card + 1) - card);
  EXPECT_THAT(chief, HasSubstr(">T-24h</span> Received <b>I02</b>"));
  EXPECT_THAT(chief, HasSubstr("Released with redactions"));
  EXPECT_THAT(chief, HasSubstr(escaped("A counter-terrorism operation will take place in Sparkhill")));
  EXPECT_THAT(chief, Not(HasSubstr("Ladypool Road")));  // what only the BCU commander got
  EXPECT_THAT(chief, HasSubstr("waiting for council-critical-reader"));
  // The IAG chair was refused the assessment, and says why.
  const std::size_t iag = who.find("<div class=\"node\" data-node=\"iag-chair\">");
  ASSERT_NE(iag, std::string::npos);
  EXPECT_THAT(who.substr(iag), HasSubstr("Not sent <b>I03</b>"));
}

TEST(ReportHtml, EscapesEverythingItQuotes) {
  RunResult r = sample_run();
  r.scenario_title = "<script>alert(1)</script>";
  r.nodes.push_back("node\"><img onerror=x>");
  r.timeline[2].released[0].body = "</div><script>steal()</script>";
  const std::string page = to_html(r);
  EXPECT_THAT(page, Not(HasSubstr("<script>alert")));
  EXPECT_THAT(page, Not(HasSubstr("<script>steal")));
  EXPECT_THAT(page, Not(HasSubstr("<img")));
  EXPECT_THAT(page, HasSubstr("&lt;/div&gt;&lt;script&gt;steal()&lt;/script&gt;"));
  EXPECT_EQ(nesting_problem(page), "");
}

TEST(ReportHtml, ComparisonColoursMetGreenAndNotMetRed) {
  const std::string page = to_html(sample_comparison());
  // need-to-know missed one expectation, need-to-share met them all.
  EXPECT_THAT(page, HasSubstr("<b class=\"unmet\">Not met</b>"));
  EXPECT_THAT(page, HasSubstr("<b class=\"met\">Met</b>"));
  EXPECT_THAT(page, HasSubstr("b.met{color:var(--release)}b.unmet{color:var(--deny)}"))
      << "the comparison's Met and Not met cells have no colour of their own";
}

TEST(ReportHtml, ComparisonShowsBothPoliciesSideBySideAndTheDecisionsThatDiffer) {
  const Comparison c = sample_comparison();
  const std::string page = to_html(c);
  EXPECT_EQ(nesting_problem(page), "");
  expect_offline(page);
  EXPECT_THAT(page, HasSubstr("need-to-know: FAIL: 4 of 5"));
  EXPECT_THAT(page, HasSubstr("need-to-share: PASS: every expectation was met (5 of 5)"));
  EXPECT_THAT(page, HasSubstr("<th>Under need-to-know</th><th>Under need-to-share</th>"));

  const std::size_t section = page.find("<section id=\"differences\">");
  ASSERT_NE(section, std::string::npos);
  const std::string differences = page.substr(section, page.find("</section>", section) - section);
  EXPECT_EQ(count(differences, "<tr class=\"difference\">"), differing_decisions(c).size());
  const std::size_t row = differences.find("<tr class=\"difference\"><td><b>I03</b>");
  ASSERT_NE(row, std::string::npos);
  const std::string i03 = differences.substr(row, differences.find("</tr>", row) - row);
  EXPECT_THAT(i03, HasSubstr("<td>iag-chair</td>"));
  EXPECT_THAT(i03, HasSubstr("Denied"));
  EXPECT_THAT(i03, HasSubstr("Released with redactions"));
  EXPECT_THAT(i03, HasSubstr(escaped(kDenyReason)));
  EXPECT_THAT(differences, Not(HasSubstr("<b>I01</b>")));  // the same under both
  const std::size_t c1 = differences.find("<tr class=\"difference\"><td><b>C1</b>");
  ASSERT_NE(c1, std::string::npos);
  EXPECT_THAT(differences.substr(c1, differences.find("</tr>", c1) - c1), HasSubstr("never sent in this run"));

  // What the IAG chair learnt under each.
  const std::size_t who = page.find("<section id=\"who-knew\">");
  const std::size_t iag = page.find("data-node=\"iag-chair\"", who);
  ASSERT_NE(iag, std::string::npos);
  const std::string iag_card = page.substr(iag, page.find("</details>", iag) - iag);
  EXPECT_THAT(iag_card, HasSubstr("never learnt"));
  EXPECT_THAT(iag_card, HasSubstr("only under need-to-share"));
  EXPECT_THAT(iag_card, HasSubstr("only under need-to-know"));  // the contingency's statement

  // Expectations under each: E4 not met, then met.
  const std::size_t e4 = page.find("<tr><td>E4</td>");
  ASSERT_NE(e4, std::string::npos);
  const std::string e4_row = page.substr(e4, page.find("</tr>", e4) - e4);
  EXPECT_LT(e4_row.find("Not met"), e4_row.find(">Met<"));
}

TEST(ReportHtml, LongRunsRepeatTheLaneNamesButKeepOneLanePerNode) {
  RunResult r = sample_run();
  const std::vector<TimelineEntry> once = r.timeline;
  for (int i = 0; i < 8; ++i) r.timeline.insert(r.timeline.end(), once.begin(), once.end());
  const std::string svg = svg_of(to_html(r));
  EXPECT_EQ(count(svg, "<g class=\"lane\""), r.nodes.size() + 1);
  EXPECT_GE(count(svg, "<g class=\"lane-names\""), 4u);
  EXPECT_EQ(nesting_problem(svg), "");
}

TEST(ReportHtml, ComparisonOfIdenticalRunsFindsNoDifference) {
  Comparison c{sample_run(), sample_run()};
  c.second.policy_name = "need-to-know";
  const std::string page = to_html(c);
  EXPECT_THAT(page, HasSubstr("Both policies made the same decisions for every recipient."));
  EXPECT_THAT(page, HasSubstr("need-to-know (first run)"));
  EXPECT_EQ(count(page, "<tr class=\"difference\">"), 0u);
}

}  // namespace
}  // namespace icegate::exercise
