// The exercise runner on small scenarios with known outcomes, against the real
// gateway and real TLS nodes (tests/data/handling-policy.yaml).
#include <fstream>
#include <future>
#include <set>
#include <sstream>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include "clients/exercise/bundle.hpp"
#include "clients/exercise/national.hpp"
#include "clients/exercise/report.hpp"
#include "clients/exercise/runner.hpp"
#include "clients/exercise/scenario.hpp"
#include "gateway/policy/engine.hpp"
#include "tests/clients/exercise/scenario_dir.hpp"
#include "tests/support/temporary_directory.hpp"

namespace icegate::exercise {
namespace {

using icegate::testing::TemporaryDirectory;

std::filesystem::path source(const std::string& relative) { return std::filesystem::path(ICEGATE_SOURCE_DIR) / relative; }

using icegate::exercise::testing::ScenarioDir;

constexpr const char* base_scenario = R"(exercise: small
title: A small exercise
policy: policies/handling.yaml
t0: 2026-11-21T06:00:00Z
start: T-4h
end: T+4h
injects:
  - id: I1
    at: T-3h
    from: analyst
    synopsis: a problem profile for the heads of service
    message:
      title: Problem profile
      to: [list:heads]
      category: ct-problem-profile
      purpose: prevent
      portions:
        - {label: "SECRET/UK EYES ONLY", body: secret detail}
        - {label: RESTRICTED, body: partner version}
  - id: I2
    at: T-2h
    from: analyst
    message:
      title: Pre-briefing
      to: [housing]
      category: operational-prebriefing
      purpose: consequence-management
      handling: {not_before_event: operation-start}
      portions: [{label: RESTRICTED, body: brief}]
  - id: I3
    at: T+0
    from: sio
    trigger: operation-start
responses:
  - id: R1
    node: reader
    on: {review_request: any}
    after: 1h
    review: approve
expectations:
  - id: E1
    description: housing gets the partner version within two hours of review
    receives: {node: housing, inject: I1, by: T-1h, version: redacted}
  - id: E2
    never_receives_at_or_above: {node: housing, classification: SECRET}
  - id: E3
    description: the pre-briefing waits for the operation
    receives: {node: housing, inject: I2, by: T+0}
  - id: E4
    approved_within: {inject: I1, within: 2h}
  - id: E5
    originator_receipt: {inject: I1, by: T-3h}
  - id: E6
    does_not_receive: {node: officer, inject: I1}
)";

const ExpectationResult& expectation(const RunResult& result, const std::string& id) {
  for (const auto& e : result.expectations)
    if (e.id == id) return e;
  throw std::runtime_error("no expectation " + id);
}

TEST(ExerciseRunner, KnownOutcomesOnASimulatedClock) {
  ScenarioDir dir;
  const auto scenario = load_scenario(dir.write("small.yaml", base_scenario));
  const RunResult result = run_exercise(scenario, {});
  EXPECT_TRUE(expectation(result, "E1").met) << expectation(result, "E1").evidence;
  EXPECT_EQ(expectation(result, "E1").when, parse_scenario_time("T-2h")) << "delivered when the reader approved";
  EXPECT_TRUE(expectation(result, "E2").met);
  EXPECT_TRUE(expectation(result, "E3").met);
  EXPECT_EQ(expectation(result, "E3").when, parse_scenario_time("T+0")) << "released by the event, not before";
  EXPECT_TRUE(expectation(result, "E4").met) << expectation(result, "E4").evidence;
  EXPECT_TRUE(expectation(result, "E5").met);
  EXPECT_TRUE(expectation(result, "E6").met);
  EXPECT_TRUE(result.all_met());
  // Who knew what: housing learnt I1 redacted (the SECRET portion withheld).
  bool found = false;
  for (const auto& k : result.knowledge)
    if (k.node == "housing" && k.inject == "I1") {
      found = true;
      EXPECT_EQ(k.decision, Decision::release_redacted);
      EXPECT_EQ(k.released_labels, std::vector<std::string>{"RESTRICTED"});
      EXPECT_EQ(k.withheld_labels, std::vector<std::string>{"SECRET/UK EYES ONLY"});
    }
  EXPECT_TRUE(found);
  EXPECT_LT(result.wall_seconds, 60.0) << "an 8-hour scenario must not take real hours";
}

// Two identical controlled products sent at the same moment by different
// nodes: the first in the file is the original, the second a re-send the
// gateway refuses. Several pairs, alternating which node goes first, so that a
// runner deciding in connection order cannot pass by luck.
TEST(ExerciseRunner, SameTimeInjectsAreDecidedInFileOrder) {
  ScenarioDir dir;
  std::string text = R"(exercise: same-time
policy: policies/handling.yaml
t0: 2026-11-21T06:00:00Z
start: T+0
end: T+12h
injects:
)";
  constexpr int pairs = 8;
  for (int k = 1; k <= pairs; ++k) {
    const char* first = k % 2 ? "sio" : "analyst";
    const char* second = k % 2 ? "analyst" : "sio";
    for (const auto& [id, from] : {std::pair{fmt::format("P{}a", k), first}, std::pair{fmt::format("P{}b", k), second}})
      text += fmt::format(R"(  - id: {}
    at: T+{}h
    from: {}
    message:
      to: [housing]
      category: operational-prebriefing
      purpose: consequence-management
      handling: {{no_onward_sharing: true}}
      portions: [{{label: RESTRICTED, body: "Product {} - the same text from both"}}]
)",
                          id, k, from, k);
  }
  const auto scenario = load_scenario(dir.write("same-time.yaml", text));
  const RunResult result = run_exercise(scenario, {});
  std::set<std::string> delivered, refused;
  for (const auto& entry : result.timeline) {
    if (entry.kind == TimelineEntry::Kind::delivered && entry.node == "housing") delivered.insert(entry.inject);
    if (entry.kind == TimelineEntry::Kind::error) refused.insert(entry.inject);
  }
  for (int k = 1; k <= pairs; ++k) {
    EXPECT_TRUE(delivered.contains(fmt::format("P{}a", k))) << "pair " << k << ": the first in the file is the original";
    EXPECT_FALSE(delivered.contains(fmt::format("P{}b", k))) << "pair " << k;
    EXPECT_TRUE(refused.contains(fmt::format("P{}b", k))) << "pair " << k << ": the second is a re-send";
  }
}

// The same scenario under the same policy gives the same report bytes.
TEST(ExerciseRunner, ReportsAreByteReproducible) {
  ScenarioDir dir;
  const auto scenario = load_scenario(dir.write("small.yaml", base_scenario));
  const RunResult first = run_exercise(scenario, {});
  const RunResult second = run_exercise(scenario, {});
  EXPECT_EQ(to_json(first), to_json(second));
  EXPECT_EQ(to_html(first, &scenario), to_html(second, &scenario));
  EXPECT_EQ(to_mermaid(first), to_mermaid(second));
  EXPECT_EQ(to_json(Comparison{first, second}), to_json(Comparison{second, first}));
}

// A report names the policy as the scenario does, never by where it lay on disk.
TEST(ExerciseRunner, ResultsNameThePolicyRelativeToTheScenario) {
  ScenarioDir dir;
  const auto scenario = load_scenario(dir.write("small.yaml", base_scenario));
  const RunResult result = run_exercise(scenario, {});
  EXPECT_EQ(result.policy_file, "policies/handling.yaml");
  EXPECT_EQ(to_json(result).find((dir / "").string()), std::string::npos) << "an absolute path in the JSON";
}

// Evidence judged at a deadline says what was true then: an inject due later
// had not been sent yet, and the report says when it was.
TEST(ExerciseRunner, EvidenceOfAnInjectSentAfterTheDeadlineSaysSo) {
  ScenarioDir dir;
  std::string text = base_scenario;
  text += R"(  - id: E7
    receives: {node: housing, inject: I2, by: T-3h}
)";
  const RunResult result = run_exercise(load_scenario(dir.write("late.yaml", text)), {});
  const auto& e7 = expectation(result, "E7");
  EXPECT_FALSE(e7.met);
  EXPECT_EQ(e7.evidence.find("never sent"), std::string::npos) << e7.evidence;
  EXPECT_NE(e7.evidence.find("had not been sent by T-3h"), std::string::npos) << e7.evidence;
  EXPECT_NE(e7.evidence.find("sent at T-2h"), std::string::npos) << e7.evidence;
}

// An inject after `end` would never be played: the run refuses the scenario.
TEST(ExerciseRunner, AnInjectAfterTheEndIsReported) {
  ScenarioDir dir;
  std::string text = base_scenario;
  text.replace(text.find("  - id: I3\n    at: T+0"), 22, "  - id: I3\n    at: T+5h");
  // A problem of the scenario itself: reported when it is loaded, located
  // like every other (exercise check reports it too).
  try {
    run_exercise(load_scenario(dir.write("after-end.yaml", text)), {});
    FAIL() << "an inject after the end was accepted";
  } catch (const ScenarioError& e) {
    const std::string text = e.what();
    EXPECT_NE(text.find("after-end.yaml:30:"), std::string::npos) << text;
    EXPECT_NE(text.find("error[X012]: inject I3 at T+5h comes after the end (T+4h)"), std::string::npos) << text;
  }
}

// The HTML report shows markings as the policy's scheme does: its colours
// (RESTRICTED is green in GPMS 2008) and its display markings.
TEST(ExerciseRunner, ReportsShowTheSchemesColoursAndMarkings) {
  ScenarioDir dir;
  const RunResult result = run_exercise(load_scenario(dir.write("small.yaml", base_scenario)), {});
  const std::string html = to_html(result);
  EXPECT_NE(html.find("background:#2e7d32;color:#ffffff\">RESTRICTED</span>"), std::string::npos);
  const auto policy = policy::load_policy(dir / "policies/handling.yaml").policy;
  ASSERT_TRUE(policy);
  const std::string secret = policy->display_marking(Label{"SECRET", {"UK EYES ONLY"}});
  EXPECT_NE(html.find("background:#ef6c00;color:#000000\">" + secret + "</span>"), std::string::npos) << secret;
  // And the JSON carries them, so a report made again from it shows them too.
  EXPECT_EQ(to_html(run_result_from_json(to_json(result))), html);
}

// Runs the small scenario and returns what had been logged (info and up)
// when run_exercise returned.
std::string log_of_small_run() {
  ScenarioDir dir;
  const auto scenario = load_scenario(dir.write("small.yaml", base_scenario));
  std::ostringstream log;
  auto previous = spdlog::default_logger();
  auto capture = std::make_shared<spdlog::logger>("capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(log));
  capture->set_level(spdlog::level::info);
  spdlog::set_default_logger(capture);
  run_exercise(scenario, {});
  capture->flush();
  std::string text = log.str();
  spdlog::set_default_logger(previous);
  return text;
}

// A run ends after the gateway has drained (its commits done, its sessions
// closed), not after a fixed pause that a loaded machine may not keep to.
TEST(ExerciseRunner, ARunEndsOnlyAfterTheGatewayHasDrained) {
  const std::string text = log_of_small_run();
  EXPECT_NE(text.find("drained:"), std::string::npos) << "the run returned before the gateway drained";
}

// The run waits for the gateway's own word that it has stopped (every
// session ended, every commit done), not for a poll of its session count or
// a fixed pause.
TEST(ExerciseRunner, ARunEndsOnlyAfterTheGatewaySaysItHasStopped) {
  const std::string text = log_of_small_run();
  const auto drained = text.find("drained:");
  const auto stopped = text.find("stopped: every connection closed and every commit done");
  ASSERT_NE(stopped, std::string::npos) << "the run returned before the gateway had stopped";
  EXPECT_LT(drained, stopped);
}

// On a caller's loop (as the host runs its tables), the run hands the loop
// back with nothing of its gateway left on it: once the caller lets go, the
// loop's run() returns by itself.
TEST(ExerciseRunner, ARunOnTheCallersLoopLeavesNothingOnIt) {
  ScenarioDir dir;
  const auto scenario = load_scenario(dir.write("small.yaml", base_scenario));
  boost::asio::io_context io;
  auto keep = boost::asio::make_work_guard(io);
  std::promise<void> ran_out;
  auto out = ran_out.get_future();
  std::thread loop([&] {
    io.run();
    ran_out.set_value();
  });
  RunOptions options;
  options.io = &io;
  const RunResult result = run_exercise(scenario, options);
  EXPECT_TRUE(result.all_met());
  keep.reset();
  // The bound only turns a hang into a failure.
  const bool returned = out.wait_for(std::chrono::seconds(60)) == std::future_status::ready;
  EXPECT_TRUE(returned) << "the gateway left work on the caller's loop";
  if (!returned) io.stop();
  loop.join();
}

TEST(ExerciseRunner, UnmetExpectationFiresItsContingency) {
  ScenarioDir dir;
  std::string text = base_scenario;
  // No reviewer response: the profile stays held, so E1 fails at its deadline.
  text.erase(text.find("responses:"), text.find("expectations:") - text.find("responses:"));
  text += R"(contingencies:
  - id: C1
    when_unmet: E1
    inject:
      id: C1-I
      from: analyst
      synopsis: the analyst chases the reader
      message:
        title: Please review the profile
        to: [reader]
        category: ct-problem-profile
        portions: [{label: RESTRICTED, body: chaser}]
)";
  const auto scenario = load_scenario(dir.write("held.yaml", text));
  const RunResult result = run_exercise(scenario, {});
  EXPECT_FALSE(expectation(result, "E1").met);
  EXPECT_FALSE(expectation(result, "E4").met);
  EXPECT_FALSE(result.all_met());
  EXPECT_EQ(result.contingencies_fired, std::vector<std::string>{"C1"});
  bool chaser = false;
  for (const auto& entry : result.timeline)
    if (entry.kind == TimelineEntry::Kind::delivered && entry.node == "reader" && entry.inject == "C1-I") {
      chaser = true;
      EXPECT_EQ(entry.at, parse_scenario_time("T-1h")) << "fired at E1's deadline";
    }
  EXPECT_TRUE(chaser) << "the contingency inject was not delivered";
}

TEST(ExerciseRunner, TheSameScenarioUnderAnotherPolicyChangesTheOutcome) {
  ScenarioDir dir;
  const auto scenario = load_scenario(dir.write("small.yaml", base_scenario));
  // The same policy with the heads of service cut off from problem profiles.
  std::string strict = ScenarioDir::read(dir / "policies/handling.yaml");
  const auto at = strict.find("  - id: profile-to-heads");
  strict.replace(strict.find("effect: permit", at), 14, "effect: deny  ");
  strict.erase(strict.find("    handling: {review_by: [critical-reader]}", at),
               std::string("    handling: {review_by: [critical-reader]}\n").size());
  const auto strict_file = dir.write("policies/strict.yaml", strict);
  RunOptions options;
  options.policy = strict_file;
  const RunResult first = run_exercise(scenario, {});
  const RunResult second = run_exercise(scenario, options);
  EXPECT_TRUE(expectation(first, "E1").met);
  EXPECT_FALSE(expectation(second, "E1").met);
  EXPECT_NE(expectation(second, "E1").evidence.find("DENY"), std::string::npos) << expectation(second, "E1").evidence;
  EXPECT_NE(first.policy_version, second.policy_version);
  const auto differences = differing_decisions(Comparison{first, second});
  EXPECT_FALSE(differences.empty());
  const std::string html = to_html(Comparison{first, second}, &scenario);
  EXPECT_NE(html.find("E1"), std::string::npos);
}

TEST(ExerciseRunner, ScenarioMistakesAreReportedWithTheirLocationsAllAtOnce) {
  ScenarioDir dir;
  std::string text = base_scenario;
  text.replace(text.find("    at: T-3h"), 12, "    at: T-3x");
  text.replace(text.find("    synopsis: a problem"), 12, "    synopsys");
  text.replace(text.find("inject: I2, by: T+0"), 10, "inject: I9");
  try {
    load_scenario(dir.write("bad.yaml", text));
    FAIL() << "a bad scenario loaded";
  } catch (const ScenarioError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("bad.yaml:9:9: error[X005]: at must be a scenario time"), std::string::npos) << what;
    EXPECT_NE(what.find("bad.yaml:11:5: error[X002]: unknown key 'synopsys'"), std::string::npos) << what;
    EXPECT_NE(what.find("names inject I9"), std::string::npos) << what;
  }
}

TEST(ExerciseRunner, NamesThePolicyDoesNotKnowAreRefusedBeforeRunning) {
  ScenarioDir dir;
  std::string text = base_scenario;
  text.replace(text.find("    from: sio"), 13, "    from: nobody");
  const auto scenario = load_scenario(dir.write("unknown.yaml", text));
  try {
    run_exercise(scenario, {});
    FAIL() << "ran with a node the policy does not have";
  } catch (const RunError& e) {
    EXPECT_NE(std::string(e.what()).find("'nobody' is not a node of policy handling-test"), std::string::npos) << e.what();
  }
}

TEST(ExerciseCsv, InjectsComeFromASpreadsheetWithQuotingAndErrorsNameTheCell) {
  const std::string csv =
      "id,at,from,to,category,purpose,title,label_1,body_1,label_2,body_2,synopsis\r\n"
      "I1,T-3h,analyst,housing;list:heads,ct-problem-profile,prevent,\"Profile, draft\",RESTRICTED,\"line one\nline "
      "\"\"two\"\"\",,,first\r\n"
      "I2,T+0,sio,,,,,,,,,\r\n";
  try {
    import_injects_csv(csv, "injects.csv");
    FAIL() << "row 3 has no addressees";
  } catch (const ScenarioError& e) {
    EXPECT_NE(std::string(e.what()).find("injects.csv:4:12: error[X004]: column 'to' names nobody"), std::string::npos) << e.what();
  }
  const auto injects = import_injects_csv(csv.substr(0, csv.find("I2,")), "injects.csv");
  ASSERT_EQ(injects.size(), 1u);
  const auto& inject = injects[0];
  EXPECT_EQ(inject.at, parse_scenario_time("T-3h"));
  ASSERT_TRUE(inject.message);
  EXPECT_EQ(inject.message->title, "Profile, draft");
  EXPECT_EQ(inject.message->to.size(), 2u);
  EXPECT_EQ(inject.message->to[1].kind, AddresseeKind::list);
  ASSERT_EQ(inject.message->portions.size(), 1u);
  EXPECT_EQ(inject.message->portions[0].body, "line one\nline \"two\"");
}

TEST(ExerciseBundle, AWholeExerciseRoundTripsAndRunsAgainWithTheSameOutcome) {
  ScenarioDir dir;
  const auto scenario_file = dir.write("small.yaml", base_scenario);
  const auto scenario = load_scenario(scenario_file);
  const RunResult result = run_exercise(scenario, {});
  write_bundle(dir / "exercise.bundle.json", scenario_file, {dir / "policies/handling.yaml"}, {result});

  const Bundle bundle = read_bundle(dir / "exercise.bundle.json");
  ASSERT_EQ(bundle.results.size(), 1u);
  EXPECT_EQ(bundle.results[0].expectations.size(), result.expectations.size());
  TemporaryDirectory elsewhere;
  const auto extracted = extract_bundle(bundle, elsewhere.path());
  const RunResult again = run_exercise(load_scenario(extracted), {});
  ASSERT_EQ(again.expectations.size(), result.expectations.size());
  for (std::size_t i = 0; i < again.expectations.size(); ++i)
    EXPECT_EQ(again.expectations[i].met, result.expectations[i].met) << again.expectations[i].id;
  EXPECT_EQ(again.policy_version, result.policy_version);
}

TEST(ExerciseTime, ScenarioTimesAndDurations) {
  EXPECT_EQ(parse_scenario_time("T-48h"), Offset(-48 * 3'600'000));
  EXPECT_EQ(parse_scenario_time("T+0"), Offset(0));
  EXPECT_EQ(parse_scenario_time("T+1h30m"), Offset(5'400'000));
  EXPECT_FALSE(parse_scenario_time("48h"));
  EXPECT_FALSE(parse_scenario_time("T+1x"));
  EXPECT_EQ(format_scenario_time(Offset(-5'400'000)), "T-1h30m");
  EXPECT_EQ(format_scenario_time(Offset(-48 * 3'600'000)), "T-48h");
  EXPECT_EQ(parse_duration("1d"), Offset(86'400'000));
}

}  // namespace
}  // namespace icegate::exercise

namespace icegate::exercise {
namespace {

TEST(NationalExercise, AGeneratedExerciseLoadsRunsAndMeetsItsExpectations) {
  TemporaryDirectory dir;
  NationalParameters sizes;
  sizes.forces = 4;
  sizes.regions = 2;
  sizes.councils = 6;
  sizes.neighbourhoods = 24;
  sizes.arrests = 2;
  const auto generated = generate_national(sizes);
  EXPECT_EQ(generated.nodes, 1 + 2 + 4 * 3 + 6 * 2 + 24u);
  write_national(generated, dir.path(), source("policies/schemes/gpms-2008.yaml"));
  const RunResult result = run_exercise(load_scenario(dir / "national.yaml"), {});
  EXPECT_TRUE(result.all_met());
  EXPECT_EQ(result.nodes.size(), generated.nodes);
  // Every neighbourhood's tension report reached its force's CTIO.
  std::size_t reports = 0;
  for (const auto& k : result.knowledge)
    if (k.node.rfind("ctio-", 0) == 0 && k.inject.rfind("T-", 0) == 0) ++reports;
  EXPECT_EQ(reports, sizes.neighbourhoods);
  // Every operation's pre-briefing reached its BCU commander: none reads as a
  // re-send of another (pre-briefings may not be shared onward).
  std::size_t prebriefings = 0;
  for (const auto& k : result.knowledge)
    if (k.node.rfind("bcu-", 0) == 0 && k.inject.rfind("A-", 0) == 0) ++prebriefings;
  EXPECT_EQ(prebriefings, sizes.arrests);
}

// At five times the default size the national assessment names 700
// recipients, and its Receipt would not fit a frame: the gateway refused it
// (found by the 18,701-node run). It now goes out in parts of at most
// most_recipients names; run small, every CT unit and force role still gets
// exactly one part, and E1 follows the part that reaches the last CT unit.
TEST(NationalExercise, AnAssessmentForMoreRecipientsThanAReceiptHoldsGoesOutInParts) {
  TemporaryDirectory dir;
  NationalParameters sizes;
  sizes.forces = 4;
  sizes.regions = 3;
  sizes.councils = 3;
  sizes.neighbourhoods = 4;
  sizes.arrests = 1;
  sizes.most_recipients = 4;  // 3 CT units + 12 force roles: parts of 4, 4, 4 and 3
  const auto generated = generate_national(sizes);
  write_national(generated, dir.path(), source("policies/schemes/gpms-2008.yaml"));
  const Scenario scenario = load_scenario(dir / "national.yaml");
  std::vector<std::string> parts;
  std::multiset<std::string> named;
  for (const Inject& inject : scenario.injects) {
    if (inject.id.rfind("N02", 0) != 0) continue;
    parts.push_back(inject.id);
    ASSERT_TRUE(inject.message);
    EXPECT_LE(inject.message->to.size(), sizes.most_recipients) << inject.id;
    for (const Addressee& to : inject.message->to) {
      EXPECT_EQ(to.kind, AddresseeKind::node) << inject.id;
      named.insert(to.name);
    }
  }
  EXPECT_EQ(parts, (std::vector<std::string>{"N02", "N02-2", "N02-3", "N02-4"}));
  EXPECT_EQ(named.size(), 3 + 3 * sizes.forces);
  EXPECT_EQ(std::set<std::string>(named.begin(), named.end()).size(), named.size()) << "a name in two parts";
  for (const char* name : {"ctu-r03", "sb-f01", "ctio-f04", "bcu-f04"}) EXPECT_EQ(named.count(name), 1u) << name;
  ASSERT_FALSE(scenario.expectations.empty());
  EXPECT_EQ(scenario.expectations.front().inject, "N02");  // ctu-r03 is in the first part

  const RunResult result = run_exercise(scenario, {});
  EXPECT_TRUE(result.all_met());
  std::set<std::string> reached;
  for (const auto& k : result.knowledge)
    if (k.inject.rfind("N02", 0) == 0) reached.insert(k.node);
  EXPECT_EQ(reached, std::set<std::string>(named.begin(), named.end()));

  // At the default limit the default size still goes by role, as one message.
  const auto by_role = generate_national(NationalParameters{});
  EXPECT_NE(by_role.scenario_yaml.find(R"(to: ["role:ctu-analyst", "role:sb-officer")"), std::string::npos);
  EXPECT_EQ(by_role.scenario_yaml.find("N02-2"), std::string::npos);
}

}  // namespace
}  // namespace icegate::exercise

namespace icegate::exercise {
namespace {

// A wake-up ends a wait on the controls as a control does, and changes none.
TEST(ExerciseControl, WakeEndsTheWaitAndChangesNoControl) {
  Control control;
  control.pause();
  const std::uint64_t seen = control.version();
  EXPECT_FALSE(control.wait_for_change(seen, std::chrono::milliseconds(0)));
  control.wake();
  EXPECT_TRUE(control.wait_for_change(seen, std::chrono::milliseconds(0)));
  EXPECT_TRUE(control.paused());
  EXPECT_FALSE(control.stopped());
  EXPECT_FALSE(control.take_step());
}

// Real time, with a facilitator's controls: paused from the start, the run
// moves only when stepped; resumed, it finishes; stopped, it ends early.
TEST(ExerciseRealTime, PauseStepResumeAndStop) {
  ScenarioDir dir;
  const auto scenario = load_scenario(dir.write("small.yaml", base_scenario));

  Control control;
  control.pause();
  RunOptions options;
  options.real_time = true;
  options.speed = 36'000;  // ten scenario hours a second once resumed
  options.control = &control;
  std::ostringstream progress;
  options.progress = &progress;
  std::thread facilitator([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    control.step();  // I1 at T-3h
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    control.resume();
  });
  const RunResult result = run_exercise(scenario, options);
  facilitator.join();
  EXPECT_TRUE(result.all_met()) << progress.str();
  EXPECT_NE(progress.str().find("inject I1"), std::string::npos);

  Control stopper;
  stopper.pause();
  RunOptions stopped = options;
  stopped.control = &stopper;
  std::thread quitter([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    stopper.stop();
  });
  const RunResult early = run_exercise(scenario, stopped);
  quitter.join();
  bool any_inject = false;
  for (const auto& entry : early.timeline) any_inject |= entry.kind == TimelineEntry::Kind::inject;
  EXPECT_FALSE(any_inject) << "stopped while paused, before anything was due";
  EXPECT_FALSE(early.all_met());
}

}  // namespace
}  // namespace icegate::exercise
