// Reports of what the gateway refused, and which timeline entries carry a decision.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "clients/exercise/report.hpp"
#include "gateway/model/json_value.hpp"
#include "gateway/model/html.hpp"
#include "tests/clients/exercise/sample_run.hpp"

namespace icegate::exercise {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::sample_comparison;
using testing::sample_run;

constexpr const char* kRefusal = "INVALID_LABEL: portion 1: unknown category 'UK EYES ONY' <not & \"listed\">";

// The run with I06's decisions and deliveries gone: the gateway refused its Submit.
RunResult refused_i06(RunResult r) {
  std::vector<TimelineEntry> timeline;
  for (const TimelineEntry& e : r.timeline) {
    const bool outcome = e.kind == TimelineEntry::Kind::decision || e.kind == TimelineEntry::Kind::delivered;
    if (e.inject == "I06" && outcome) continue;
    timeline.push_back(e);
    if (e.inject == "I06" && e.kind == TimelineEntry::Kind::inject) {
      TimelineEntry error;
      error.at = e.at;
      error.kind = TimelineEntry::Kind::error;
      error.node = e.node;
      error.from = e.node;
      error.message_id = e.message_id;
      error.inject = "I06";
      error.detail = kRefusal;
      timeline.push_back(error);
    }
  }
  r.timeline = std::move(timeline);
  r.knowledge.clear();
  return r;
}

std::string section(const std::string& page, const std::string& id) {
  const auto begin = page.find("<section id=\"" + id + "\"");
  if (begin == std::string::npos) return {};
  return page.substr(begin, page.find("</section>", begin) - begin);
}

TEST(ReportJson, OnlyDeliveriesAndDecisionsCarryADecision) {
  const RunResult r = refused_i06(sample_run());
  const boost::json::value json = json::parse(to_json(r)).value;
  std::size_t without = 0;
  for (std::size_t i = 0; i < r.timeline.size(); ++i) {
    const auto kind = r.timeline[i].kind;
    const boost::json::value* decision = json::member(json.at("timeline").at(i), "decision");
    ASSERT_TRUE(decision) << i;
    if (kind == TimelineEntry::Kind::delivered || kind == TimelineEntry::Kind::decision) {
      EXPECT_TRUE(decision->is_string()) << i;
    } else {
      EXPECT_TRUE(decision->is_null()) << "entry " << i << " (" << json.at("timeline").at(i).at("kind")
                                       << ") says " << *decision;
      ++without;
    }
  }
  EXPECT_GT(without, 3u) << "the sample has injects, events and an error";
  testing::expect_same(r, run_result_from_json(to_json(r)));
}

TEST(ReportJson, ReadsResultsWrittenWithADecisionOnEveryEntry) {
  const RunResult r = sample_run();
  std::string json = to_json(r);
  // As icegate wrote it before: "decision": "RELEASE" on injects and events too.
  for (std::size_t at = json.find("\"decision\": null"); at != std::string::npos;
       at = json.find("\"decision\": null", at))
    json.replace(at, 16, "\"decision\": \"RELEASE\"");
  testing::expect_same(r, run_result_from_json(json));
}

TEST(ReportHtml, ComparisonShowsWhyTheGatewayRefusedASubmit) {
  Comparison c = sample_comparison();
  c.second = refused_i06(c.second);
  const std::string page = to_html(c);
  const std::string escaped = html::escape(kRefusal);
  // Where the decisions differ, the refused run says why there is no decision...
  EXPECT_THAT(section(page, "differences"), HasSubstr(escaped));
  EXPECT_THAT(section(page, "differences"), Not(HasSubstr("not addressed to this recipient")));
  // ...and the refusals are listed with the policy they happened under.
  const std::string refused = section(page, "refused");
  EXPECT_THAT(refused, HasSubstr(escaped));
  EXPECT_THAT(refused, HasSubstr("I06"));
  // The single-policy report shows it too.
  EXPECT_THAT(to_html(c.second), HasSubstr(escaped));
}

}  // namespace
}  // namespace icegate::exercise
