// The one-run page's view model (report_page.hpp), before any HTML, and the
// escaping of what the templates put on the page: every value once.
#include "clients/exercise/report_page.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "clients/exercise/report.hpp"
#include "tests/clients/exercise/report_checks.hpp"
#include "tests/clients/exercise/sample_run.hpp"

namespace icegate::exercise {
namespace {

using namespace std::chrono_literals;
using detail::run_page;
using detail::RunPage;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::count;
using testing::nesting_problem;
using testing::sample_played_run;
using testing::sample_run;

TEST(ReportPage, BannerAndFactsSayWhatRanAndWhetherItPassed) {
  const RunResult r = sample_run();
  const RunPage page = run_page(r, nullptr);
  EXPECT_EQ(page.title, "Operation Nicole: a CT arrest in Sparkhill");
  EXPECT_FALSE(page.banner.pass);
  EXPECT_EQ(page.banner.met, 4u);
  EXPECT_EQ(page.banner.total, 5u);
  EXPECT_EQ(page.facts.policy_name, r.policy_name);
  EXPECT_LE(page.facts.policy_version.size(), 23u);  // a digest is cut to fit
  EXPECT_EQ(page.facts.t0, "2024-06-14 05:00:00 UTC");
  EXPECT_EQ(page.facts.delivered, 8);
  EXPECT_EQ(page.facts.played, "");
  EXPECT_EQ(run_page(sample_played_run(), nullptr).facts.played, "ctu-sio, council-chief-exec, npt-officer");
}

TEST(ReportPage, ExpectationsKeepTheirOrderTimesAndEvidence) {
  const RunPage page = run_page(sample_run(), nullptr);
  ASSERT_EQ(page.expectations.size(), 5u);
  const RunPage::Expectation& e4 = page.expectations[3];
  EXPECT_EQ(e4.id, "E4");
  EXPECT_FALSE(e4.met);
  ASSERT_TRUE(e4.when.has_value());
  EXPECT_EQ(e4.when->text, "T-6h");
  EXPECT_EQ(e4.when->clock, "2024-06-13 23:00:00 UTC");
  EXPECT_EQ(e4.evidence, "iag-chair did not receive I03: DENY");
  EXPECT_EQ(e4.objective, "");  // made without the scenario
  EXPECT_EQ(page.contingencies, "C1");
}

TEST(ReportPage, ObjectivesComeFromTheRunWhenTheScenarioIsAbsent) {
  EXPECT_TRUE(run_page(sample_run(), nullptr).objectives.empty());
  const RunPage played = run_page(sample_played_run(), nullptr);
  ASSERT_EQ(played.objectives.size(), 2u);
  EXPECT_EQ(played.objectives[0].id, "O1");
  EXPECT_TRUE(played.objectives[0].expectations.empty());  // which expectation serves it is in the scenario
  EXPECT_TRUE(played.injects.empty());
}

TEST(ReportPage, TheLogHasEveryEntryAndDecisionsOnlyWhereTheGatewayDecided) {
  const RunResult r = sample_run();
  const RunPage page = run_page(r, nullptr);
  ASSERT_EQ(page.log.size(), r.timeline.size());
  for (std::size_t i = 0; i < r.timeline.size(); ++i) {
    const TimelineEntry& e = r.timeline[i];
    const bool decided = e.kind == TimelineEntry::Kind::delivered || e.kind == TimelineEntry::Kind::decision;
    EXPECT_EQ(page.log[i].decision.has_value(), decided) << i;
    EXPECT_EQ(page.log[i].when.text, scenario_time_text(e.at)) << i;
    EXPECT_EQ(page.log[i].detail, e.detail.empty() ? e.reason : e.detail) << i;
  }
}

// Names and free text come from scenario files and results anyone may write:
// each appears in the page escaped exactly once, never raw, never twice.
TEST(ReportPage, AHostileNameIsEscapedExactlyOnce) {
  const std::string hostile = "<script>alert(\"x\" & 'y')</script>";
  const std::string escaped = "&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)&lt;/script&gt;";
  RunResult r = sample_run();
  r.scenario_title = hostile;
  r.scenario = "id " + hostile;
  r.expectations[0].evidence = "evidence " + hostile;
  r.timeline[0].title = "title " + hostile;
  const std::string page = to_html(r);
  EXPECT_THAT(page, Not(HasSubstr("<script>alert")));
  EXPECT_THAT(page, Not(HasSubstr("&amp;lt;")));
  EXPECT_THAT(page, Not(HasSubstr("&amp;amp;")));
  EXPECT_THAT(page, Not(HasSubstr("&apos;")));  // the library's own escaper is not used
  EXPECT_THAT(page, HasSubstr("<title>After-action report: " + escaped + "</title>"));
  EXPECT_THAT(page, HasSubstr("<h1>After-action report: " + escaped + "</h1>"));
  EXPECT_THAT(page, HasSubstr("<dt>Scenario</dt><dd>" + escaped + " <span class=\"muted\">(id " + escaped + ")</span>"));
  EXPECT_THAT(page, HasSubstr("<td>evidence " + escaped + "</td>"));
  EXPECT_THAT(page, HasSubstr("<td>title " + escaped + "</td>"));  // the log
  EXPECT_EQ(nesting_problem(page), "");

  Comparison c = testing::sample_comparison();
  c.first.scenario_title = hostile;
  const std::string comparison = to_html(c);
  EXPECT_THAT(comparison, Not(HasSubstr("<script>alert")));
  EXPECT_THAT(comparison, Not(HasSubstr("&amp;lt;")));
  EXPECT_THAT(comparison, HasSubstr("<dt>Scenario</dt><dd>" + escaped + " <span"));
}

}  // namespace
}  // namespace icegate::exercise
