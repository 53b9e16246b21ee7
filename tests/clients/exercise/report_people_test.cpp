// After-action reports of exercises people played: every human action, media
// item, observation, rating and improvement item goes into the JSON and comes
// back whole; the HTML page shows them in their own sections (and only when
// there is something to show), escapes what people typed, and the comparison
// of two tables puts each table's people side by side.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <regex>
#include <tuple>
#include <string>
#include <vector>

#include "clients/exercise/report.hpp"
#include "gateway/model/html.hpp"
#include "gateway/model/json_value.hpp"
#include "tests/clients/exercise/report_checks.hpp"
#include "tests/clients/exercise/sample_run.hpp"

namespace icegate::exercise {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::count;
using testing::expect_offline;
using testing::expect_same;
using testing::kBriefTitle;
using testing::nesting_problem;
using testing::sample_played_comparison;
using testing::sample_played_run;
using testing::sample_run;

std::string escaped(std::string_view text) { return html::escape(text); }

// The text of the element that starts at the first `opening` after `from`, up to `closing`.
std::string slice(const std::string& page, const std::string& opening, const std::string& closing,
                  std::size_t from = 0) {
  const std::size_t begin = page.find(opening, from);
  if (begin == std::string::npos) return "";
  const std::size_t end = page.find(closing, begin);
  return page.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
}

std::string section(const std::string& page, const std::string& id) {
  return slice(page, "<section id=\"" + id + "\">", "</section>");
}

// ---- JSON ---------------------------------------------------------------------

TEST(ReportJsonPeople, RoundTripKeepsEveryFieldForPeople) {
  const RunResult original = sample_played_run();
  const std::string json = to_json(original);
  const RunResult read = run_result_from_json(json);
  expect_same(original, read);
  EXPECT_EQ(to_json(read), json);  // the same bytes again
}

TEST(ReportJsonPeople, KeepsAwkwardTextPeopleType) {
  RunResult r = sample_played_run();
  const std::string awkward = "Zo\xc3\xab's \xe2\x80\x9c" "brief\xe2\x80\x9d <script>x()</script> & \"q\"\n\ttab \\ yes";
  r.human_actions[0].title = awkward;
  r.human_actions[0].purpose = "null";  // YAML would read a bare null as nothing
  r.human_actions[0].to.push_back("yes");
  r.human_actions[0].outcomes[0].reason = awkward;
  r.media[0].body = awkward;
  r.observations[0].text = awkward;
  r.ratings[0].note = awkward;
  r.improvement_plan[0].corrective_action = awkward;
  r.improvement_plan[0].due = "2027-01-31";  // a date, not a timestamp, when read back
  r.objectives[0].text = awkward;
  expect_same(r, run_result_from_json(to_json(r)));
}

// Browsers send what people type; whatever bytes arrive, the JSON is valid UTF-8.
TEST(ReportJsonPeople, IsValidUtf8WhateverBytesPeopleSent) {
  RunResult r = sample_played_run();
  r.human_actions[0].title = "broken \xff\xfe byte";
  r.observations[0].text = "cut \xe2\x80 short";
  r.improvement_plan[0].owner = "lone \xc3";
  const std::string json = to_json(r);
  EXPECT_EQ(json.find('\xff'), std::string::npos);
  EXPECT_THAT(json, HasSubstr("broken \xef\xbf\xbd\xef\xbf\xbd byte"));
  EXPECT_THAT(json, HasSubstr("lone \xef\xbf\xbd"));
  EXPECT_NO_THROW(run_result_from_json(json));
}

TEST(ReportJsonPeople, WritesRatingsWithTheirWordsAndResponseTimesAsText) {
  const boost::json::value json = json::parse(to_json(sample_played_run())).value;
  EXPECT_EQ(json.at("table").as_string(), "need-to-know");
  EXPECT_EQ(json.at("played").at(1).as_string(), "council-chief-exec");
  const boost::json::value& brief = json.at("human_actions").at(0);
  EXPECT_EQ(brief.at("kind").as_string(), "send");
  EXPECT_EQ(brief.at("at").as_string(), "T-20h");
  EXPECT_EQ(brief.at("response_time").as_string(), "4h");
  EXPECT_EQ(brief.at("response_time_ms").as_int64(), 4 * 3600 * 1000LL);
  EXPECT_EQ(brief.at("outcomes").at(1).at("decision").as_string(), "RELEASE_REDACTED");
  EXPECT_TRUE(json.at("human_actions").at(3).at("response_time_ms").is_null());  // the trigger answered nothing
  EXPECT_EQ(json.at("ratings").at(0).at("rating").as_string(), "S");
  EXPECT_EQ(json.at("ratings").at(0).at("rating_words").as_string(), "Performed with some challenges");
  EXPECT_TRUE(json.at("media").at(1).at("by_hand").as_bool());
  std::size_t human_entries = 0, media_entries = 0;
  for (const auto& entry : json.at("timeline").as_array()) {
    human_entries += entry.at("kind").as_string() == "human";
    media_entries += entry.at("kind").as_string() == "media";
  }
  EXPECT_EQ(human_entries, 6u);
  EXPECT_EQ(media_entries, 2u);
  // The new keys come after the old ones, in the documented order.
  const std::string text = to_json(sample_played_run());
  std::vector<std::size_t> positions;
  for (const char* key : {"\"markings\"", "\"played\"", "\"table\"", "\"human_actions\"", "\"media\"",
                          "\"observations\"", "\"ratings\"", "\"improvement_plan\"", "\"objectives\""}) {
    positions.push_back(text.rfind(std::string("\n  ") + key));
    EXPECT_NE(positions.back(), std::string::npos) << key;
  }
  EXPECT_TRUE(std::is_sorted(positions.begin(), positions.end()));
}

TEST(ReportJsonPeople, ResultsWrittenBeforePeoplePlayedStillRead) {
  std::string json = to_json(sample_run());
  // Cut everything from "played" on: what an earlier icegate wrote.
  const std::size_t played = json.find(",\n  \"played\"");
  ASSERT_NE(played, std::string::npos);
  json = json.substr(0, played) + "\n}\n";
  const RunResult read = run_result_from_json(json);
  EXPECT_TRUE(read.played.empty());
  EXPECT_TRUE(read.human_actions.empty());
  expect_same(sample_run(), read);
}

TEST(ReportJsonPeople, RejectsAnUnknownRatingOrActionNamingWhere) {
  const std::string json = to_json(sample_played_run());
  for (const auto& [from, to, where] :
       {std::tuple{std::string("\"rating\": \"S\""), std::string("\"rating\": \"X\""), std::string("ratings[0]")},
        std::tuple{std::string("\"kind\": \"reply\""), std::string("\"kind\": \"shout\""),
                   std::string("human_actions[1]")},
        std::tuple{std::string("\"follow_up\": true"), std::string("\"follow_up\": \"maybe\""),
                   std::string("human_actions[2].outcomes[1]")}}) {
    const std::size_t at = json.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    std::string broken = json;
    broken.replace(at, from.size(), to);
    try {
      run_result_from_json(broken);
      ADD_FAILURE() << "read " << to;
    } catch (const ReportError& error) {
      EXPECT_THAT(error.what(), HasSubstr(where)) << to;
    }
  }
}

// ---- HTML: one table ---------------------------------------------------------------

TEST(ReportHtmlPeople, AScriptedRunHasNoSectionsForPeople) {
  const std::string page = to_html(sample_run());
  for (const char* id : {"human-actions", "response-times", "media", "evaluation", "improvement-plan"})
    EXPECT_THAT(page, Not(HasSubstr(std::string("<section id=\"") + id + "\">"))) << id;
}

TEST(ReportHtmlPeople, IsOneWellFormedPageThatFetchesNothing) {
  const std::string page = to_html(sample_played_run());
  EXPECT_EQ(nesting_problem(page), "");
  expect_offline(page);
  for (const char* heading :
       {"Human actions", "Response times", "Media and public pressure", "Evaluation", "Improvement plan"})
    EXPECT_THAT(page, HasSubstr(std::string(">") + heading + "</h2>")) << heading;
}

TEST(ReportHtmlPeople, HumanActionsShowWhatWasSentAtWhichMarkingAndWhatEachRecipientGot) {
  const RunResult r = sample_played_run();
  const std::string actions = section(to_html(r), "human-actions");
  ASSERT_FALSE(actions.empty());
  EXPECT_EQ(count(actions, "<tr class=\"action"), r.human_actions.size());

  const std::string brief = slice(actions, "<tr class=\"action\" data-node=\"council-chief-exec\">", "</tr>");
  ASSERT_FALSE(brief.empty());
  EXPECT_THAT(brief, HasSubstr(">T-20h</span>"));
  EXPECT_THAT(brief, HasSubstr(kBriefTitle));
  EXPECT_THAT(brief, HasSubstr("node:npt-officer"));
  EXPECT_THAT(brief, HasSubstr("consequence-management"));  // the purpose
  // Each portion's marking in the scheme's colours.
  EXPECT_THAT(brief, HasSubstr("style=\"background:#2e7d32;color:#ffffff\">RESTRICTED</span>"));
  EXPECT_THAT(brief, HasSubstr(">NPM</span>"));
  // Per recipient: the IAG chair's redacted version, with what was withheld and why.
  const std::string iag = slice(brief, "<div class=\"outcome\" data-node=\"iag-chair\">", "</div>");
  EXPECT_THAT(iag, HasSubstr("Released with redactions"));
  EXPECT_THAT(iag, HasSubstr("withheld"));
  EXPECT_THAT(brief, HasSubstr("community members are not vetted"));
  EXPECT_THAT(brief, HasSubstr("<code>public-statements-to-all</code>"));

  // The product: held, then released in a follow-up.
  const std::string product = slice(actions, "<tr class=\"action\" data-node=\"ctu-sio\">", "</tr>");
  EXPECT_THAT(product, HasSubstr("Held"));
  EXPECT_THAT(product, HasSubstr("follow-up"));
  EXPECT_LT(product.find("Held"), product.find("follow-up"));

  // The refused reply says why, and what it answered.
  const std::string reply = slice(actions, "<tr class=\"action refused\" data-node=\"npt-officer\">", "</tr>");
  EXPECT_THAT(reply, HasSubstr("Refused by the gateway"));
  EXPECT_THAT(reply, HasSubstr("P004: unknown addressee role:mayor"));
  EXPECT_THAT(reply, HasSubstr("h-1"));

  // The trigger names its event.
  EXPECT_THAT(actions, HasSubstr("operation-start"));
}

TEST(ReportHtmlPeople, ResponseTimesPerSeatWithMedianAndWorst) {
  const std::string times = section(to_html(sample_played_run()), "response-times");
  ASSERT_FALSE(times.empty());
  // npt-officer took 30m, 1h and 2h: the median is 1h, the worst 2h (on I06).
  const std::string npt = slice(times, "<tr class=\"seat\" data-node=\"npt-officer\">", "</tr>");
  EXPECT_THAT(npt, HasSubstr("<td>3</td><td>1h</td><td>2h <span class=\"muted\">(I06)</span></td>"));
  const std::string chief = slice(times, "<tr class=\"seat\" data-node=\"council-chief-exec\">", "</tr>");
  EXPECT_THAT(chief, HasSubstr("<td>1</td><td>4h</td><td>4h <span class=\"muted\">(I02)</span></td>"));
  // Each timed action: what prompted it, when that reached the seat, when the seat acted.
  EXPECT_EQ(count(times, "<tr class=\"response\""), 5u);  // the trigger was prompted by nothing
  const std::string brief = slice(times, "<tr class=\"response\" data-node=\"council-chief-exec\">", "</tr>");
  EXPECT_THAT(brief, HasSubstr("<b>I02</b>"));
  EXPECT_THAT(brief, HasSubstr(">T-24h</span>"));
  EXPECT_THAT(brief, HasSubstr(">T-20h</span>"));
}

TEST(ReportHtmlPeople, MediaSaysWhatWasReleasedWhenToWhomAndHow) {
  const std::string media = section(to_html(sample_played_run()), "media");
  ASSERT_FALSE(media.empty());
  EXPECT_EQ(count(media, "<tr class=\"media-item\""), 2u);
  const std::string news = slice(media, "<tr class=\"media-item\" data-media=\"M1\">", "</tr>");
  EXPECT_THAT(news, HasSubstr(">T+30m</span>"));
  EXPECT_THAT(news, HasSubstr("Birmingham Mail"));
  EXPECT_THAT(news, HasSubstr("Two arrested in Sparkhill raid"));
  EXPECT_THAT(news, HasSubstr("every seat"));
  EXPECT_THAT(news, HasSubstr("scheduled"));
  const std::string post = slice(media, "<tr class=\"media-item\" data-media=\"M2\">", "</tr>");
  EXPECT_THAT(post, HasSubstr("council-chief-exec"));
  EXPECT_THAT(post, HasSubstr("by hand"));
}

TEST(ReportHtmlPeople, EvaluationRatesEachObjectiveInWordsAsWellAsColour) {
  const std::string evaluation = section(to_html(sample_played_run()), "evaluation");
  ASSERT_FALSE(evaluation.empty());
  const std::string o1 = slice(evaluation, "<div class=\"objective\" data-objective=\"O1\">", "</div>");
  EXPECT_THAT(o1, HasSubstr("Partners are briefed before the arrest"));
  EXPECT_THAT(o1, HasSubstr("Lead evaluator"));
  EXPECT_THAT(o1, HasSubstr("<span class=\"rating r-s\">S</span> Performed with some challenges"));
  EXPECT_THAT(o1, HasSubstr("The IAG chair was not briefed"));
  EXPECT_THAT(o1, HasSubstr(">T-10h</span>"));  // the timed observation
  EXPECT_THAT(o1, HasSubstr("two-level product unprompted"));
  const std::string o2 = slice(evaluation, "<div class=\"objective\" data-objective=\"O2\">", "</div>");
  EXPECT_THAT(o2, HasSubstr("<span class=\"rating r-p\">P</span> Performed without challenges"));
  EXPECT_THAT(o2, HasSubstr("<span class=\"rating r-m\">M</span> Performed with major challenges"));
  EXPECT_THAT(o2, HasSubstr("Tension reports reached the BCU within 2h"));
  EXPECT_THAT(o2, Not(HasSubstr("two-level product")));
}

TEST(ReportHtmlPeople, ImprovementPlanListsIssueActionOwnerDueAndObjective) {
  const std::string plan = section(to_html(sample_played_run()), "improvement-plan");
  ASSERT_FALSE(plan.empty());
  EXPECT_EQ(count(plan, "<tr class=\"improvement\">"), 2u);
  EXPECT_THAT(plan,
              HasSubstr("<tr class=\"improvement\"><td>The IAG chair learnt of the arrest from the news</td>"
                        "<td>Agree a community briefing line before T+0</td><td>BCU commander</td>"
                        "<td>2027-01-31</td><td><b>O1</b> Partners are briefed before the arrest</td></tr>"));
}

TEST(ReportHtmlPeople, EscapesEverythingPeopleTyped) {
  RunResult r = sample_played_run();
  const std::string typed = "<script>alert(\"Zo\xc3\xab\")</script> & 'Sparkh\xc4\xabll'";
  r.human_actions[0].title = typed;
  r.human_actions[0].to.push_back(typed);
  r.human_actions[0].outcomes[0].reason = typed;
  r.human_actions[1].refused = typed;
  r.media[0].headline = typed;
  r.media[0].body = typed;
  r.observations[0].text = typed;
  r.observations[0].evaluator = typed;
  r.ratings[0].note = typed;
  r.improvement_plan[0].issue = typed;
  r.improvement_plan[0].owner = typed;
  r.objectives[0].text = typed;
  for (TimelineEntry& e : r.timeline)
    if (e.kind == TimelineEntry::Kind::human && e.message_id == "h-1") e.title = typed;
  const std::string page = to_html(r);
  EXPECT_THAT(page, Not(HasSubstr("<script>alert")));
  EXPECT_EQ(nesting_problem(page), "");
  // Shown as text, non-ASCII as it is.
  EXPECT_GE(count(page, escaped(typed)), 10u);
  EXPECT_THAT(page, HasSubstr("&lt;script&gt;alert(&quot;Zo\xc3\xab&quot;)&lt;/script&gt; &amp; &#39;Sparkh\xc4\xabll&#39;"));
  EXPECT_THAT(to_mermaid(r), Not(HasSubstr("<script>")));
}

TEST(ReportHtmlPeople, TheSwimlaneAndTheSeatsCardsShowWhatPeopleDid) {
  const RunResult r = sample_played_run();
  const std::string page = to_html(r);
  const std::string svg = testing::svg_of(page);
  std::size_t human_entries = 0;
  for (const TimelineEntry& e : r.timeline) human_entries += e.kind == TimelineEntry::Kind::human;
  EXPECT_EQ(count(svg, "<g class=\"msg human\""), human_entries);
  EXPECT_EQ(count(svg, "<g class=\"msg human\" data-node=\"npt-officer\""), 3u);
  EXPECT_THAT(svg, HasSubstr(">media: Two arrested in Sparkhill raid</text>"));
  // The chief executive's card: the pre-briefing she got, then what she did about it.
  const std::string who = section(page, "who-knew");
  const std::string chief = slice(who, "<div class=\"node\" data-node=\"council-chief-exec\">", "</details>");
  EXPECT_THAT(chief, HasSubstr("The person at this seat sends " + std::string(kBriefTitle)));
  EXPECT_LT(chief.find("Received <b>I02</b>"), chief.find("The person at this seat"));
}

// ---- Mermaid -----------------------------------------------------------------------

TEST(ReportMermaidPeople, HumanActionsAreMessagesFromTheSeatsParticipant) {
  const RunResult r = sample_played_run();
  const std::string text = to_mermaid(r);
  EXPECT_THAT(text, HasSubstr("    council_chief_exec->>gw: T-20h sends " + std::string(kBriefTitle)));
  EXPECT_THAT(text, HasSubstr("    npt_officer->>gw: T-19h30m replies Re: convene the group (refused)"));
  EXPECT_THAT(text, HasSubstr("    ctu_sio->>gw: T+0 triggers operation-start"));
  // Every human action is one arrow from its seat; media are notes over the gateway.
  std::size_t human_arrows = 0;
  for (const HumanAction& a : r.human_actions) {
    std::string alias = a.node;
    std::replace(alias.begin(), alias.end(), '-', '_');
    const std::string when = std::regex_replace(scenario_time_text(a.at), std::regex("\\+"), "\\+");
    const std::regex arrow("\\n    " + alias + "->>gw: " + when + " (sends|replies|triggers) ");
    human_arrows += std::regex_search(text, arrow) ? 1 : 0;
  }
  EXPECT_EQ(human_arrows, r.human_actions.size());
  const std::regex any_human_arrow("\n    [A-Za-z0-9_]+->>gw: T[-+][0-9hms]* (sends|replies|reviews|triggers) ");
  EXPECT_EQ(static_cast<std::size_t>(std::distance(std::sregex_iterator(text.begin(), text.end(), any_human_arrow),
                                                   std::sregex_iterator())),
            r.human_actions.size());
  EXPECT_THAT(text, HasSubstr("    Note over gw: T+30m media Two arrested in Sparkhill raid"));
}

// ---- HTML: two tables under two policies -----------------------------------------------

TEST(ReportHtmlPeople, ComparisonPutsEachTablesPeopleSideBySide) {
  const Comparison c = sample_played_comparison();
  const std::string page = to_html(c);
  EXPECT_EQ(nesting_problem(page), "");
  expect_offline(page);

  // Human actions, per seat, under each policy.
  const std::string actions = section(page, "human-actions");
  ASSERT_FALSE(actions.empty());
  EXPECT_THAT(actions, HasSubstr("<th>Seat</th><th>Under need-to-know</th><th>Under need-to-share</th>"));
  const std::string chief = slice(actions, "<tr class=\"seat\" data-node=\"council-chief-exec\">", "</tr>");
  ASSERT_FALSE(chief.empty());
  EXPECT_THAT(chief, HasSubstr(">T-20h</span>"));  // under need-to-know
  EXPECT_THAT(chief, HasSubstr(">T-22h</span>"));  // under need-to-share
  EXPECT_LT(chief.find(">T-20h</span>"), chief.find(">T-22h</span>"));
  EXPECT_EQ(count(chief, kBriefTitle), 2u);
  EXPECT_THAT(chief, HasSubstr("Released with redactions"));  // the IAG chair, under need-to-know only

  // Response times per seat, side by side.
  const std::string times = section(page, "response-times");
  const std::string chief_times = slice(times, "<tr class=\"seat\" data-node=\"council-chief-exec\">", "</tr>");
  EXPECT_THAT(chief_times, HasSubstr("<td>4h</td><td>4h <span class=\"muted\">(I02)</span></td>"));
  EXPECT_THAT(chief_times, HasSubstr("<td>2h</td><td>2h <span class=\"muted\">(I02)</span></td>"));

  // Ratings per objective, side by side.
  const std::string ratings = section(page, "evaluation");
  const std::string o1 = slice(ratings, "<tr class=\"objective\" data-objective=\"O1\">", "</tr>");
  EXPECT_THAT(o1, HasSubstr("<span class=\"rating r-s\">S</span>"));
  EXPECT_THAT(o1, HasSubstr("<span class=\"rating r-p\">P</span>"));
  EXPECT_LT(o1.find("r-s"), o1.find("r-p"));

  // The objectives come from the results when no scenario is given.
  EXPECT_THAT(section(page, "objectives"), HasSubstr("The council manages the consequences of the arrest"));

  // Expectations stay side by side.
  EXPECT_THAT(page, HasSubstr("<th>Under need-to-know</th><th>Under need-to-share</th>"));

  // What each played seat saw: the chief executive got the pre-briefing
  // redacted under need-to-know and whole under need-to-share.
  const std::string seats = section(page, "seats");
  ASSERT_FALSE(seats.empty());
  const std::string chief_saw = slice(seats, "data-node=\"council-chief-exec\"", "</details>");
  const std::string i02 = slice(chief_saw, "<tr><td><b>I02</b>", "</tr>");
  EXPECT_THAT(i02, HasSubstr("Released with redactions"));
  EXPECT_THAT(i02, HasSubstr("withheld: SECRET/UK EYES ONLY"));
  EXPECT_THAT(i02, HasSubstr("a different version"));
  // Only played seats there.
  EXPECT_THAT(seats, Not(HasSubstr("data-node=\"iag-chair\"")));

  // Each table's improvement plan.
  EXPECT_THAT(section(page, "improvement-plan"), HasSubstr("Agree a community briefing line before T+0"));
}

TEST(ReportHtmlPeople, TwoTablesUnderOnePolicyAreToldApartByTheirNames) {
  Comparison c = sample_played_comparison();
  c.second.policy_name = c.first.policy_name;
  c.first.table = "Table A";
  c.second.table = "Table B";
  const std::string page = to_html(c);
  EXPECT_THAT(page, HasSubstr("<th>Under Table A</th><th>Under Table B</th>"));
  EXPECT_THAT(page, HasSubstr("played at two tables, <b>Table A</b> and <b>Table B</b>, under one policy: need-to-know"));
  EXPECT_THAT(to_html(sample_played_comparison()),
              HasSubstr("played at two tables under two policies: <b>need-to-know</b> and <b>need-to-share</b>"));
}

TEST(ReportHtmlPeople, AComparisonOfScriptedRunsHasNoSectionsForPeople) {
  const std::string page = to_html(testing::sample_comparison());
  for (const char* id : {"human-actions", "response-times", "evaluation", "improvement-plan", "seats"})
    EXPECT_THAT(page, Not(HasSubstr(std::string("<section id=\"") + id + "\">"))) << id;
}

}  // namespace
}  // namespace icegate::exercise
