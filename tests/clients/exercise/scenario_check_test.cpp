// Loading and checking scenarios: every problem reported at once, sorted,
// each as `file:line:col: error[Xnnn]: ...` (the policy's diagnostic format);
// names checked against the policy before a run; CSV inject lists as
// spreadsheets save them; the does_not_receive_before expectation on a real run.
#include <regex>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "clients/exercise/report.hpp"
#include "clients/exercise/runner.hpp"
#include "clients/exercise/scenario.hpp"
#include "gateway/model/json_value.hpp"
#include "tests/clients/exercise/scenario_dir.hpp"
#include "tests/support/files.hpp"

namespace icegate::exercise {
namespace {

using ::testing::HasSubstr;
using icegate::testing::lines_of;
using testing::position_of;
using testing::ScenarioDir;

// Every line is `<file>:line:col: error[Xnnn]: message`, in file, line, column order.
void expect_located_and_sorted(const std::string& what, const std::string& file) {
  const std::regex format("^(.+):([0-9]+):([0-9]+): error\\[X[0-9]{3}\\]: .+$");
  std::vector<std::pair<int, int>> positions;
  for (const auto& line : lines_of(what)) {
    std::smatch m;
    ASSERT_TRUE(std::regex_match(line, m, format)) << "not located: " << line;
    if (m[1].str() != file) continue;
    positions.emplace_back(std::stoi(m[2].str()), std::stoi(m[3].str()));
  }
  EXPECT_TRUE(std::is_sorted(positions.begin(), positions.end())) << what;
}

std::string load_error(const std::filesystem::path& file) {
  try {
    load_scenario(file);
  } catch (const ScenarioError& e) {
    return e.what();
  }
  ADD_FAILURE() << file << " loaded";
  return {};
}

constexpr const char* kHeader = R"(exercise: checks
policy: policies/handling.yaml
t0: 2026-11-21T06:00:00Z
start: T-4h
end: T+4h
)";

// ---- scenario time -----------------------------------------------------------

TEST(ScenarioTime, NumbersTooLargeAreRefusedNotReadAsZero) {
  EXPECT_EQ(parse_scenario_time("T+99999999999999999999h"), std::nullopt);
  EXPECT_EQ(parse_scenario_time("T-9223372036854775807s"), std::nullopt);
  EXPECT_EQ(parse_duration("99999999999999999999s"), std::nullopt);
  EXPECT_EQ(parse_scenario_time("T+3650d"), std::chrono::hours(3650 * 24));
  EXPECT_EQ(parse_scenario_time("T+3651d"), std::nullopt) << "more than ten years from T+0";
  EXPECT_EQ(parse_scenario_time("T+0"), std::chrono::milliseconds(0));
}

// ---- the scenario file -----------------------------------------------------

TEST(ScenarioLoad, EveryProblemIsReportedSortedEachWithFileLineAndColumn) {
  ScenarioDir dir;
  const std::string text = std::string(kHeader) + R"(injects:
  - id: I1
    at: T+99999999999999999999h
    from: analyst
    message:
      to: []
      category: ct-problem-profile
      portions: [{label: RESTRICTED, body: x}]
expectations:
  - id: E1
    receives: {node: housing, inject: I1, by: T+1h}
contingencies:
  - id: C1
    when_unmet: E9
    inject:
      id: C1-I
      at: T+1h
      from: analyst
      trigger: operation-start
responses:
  - id: R1
    node: reader
    on: {receives_inject: I7}
    trigger: operation-start
)";
  const auto file = dir.write("bad.yaml", text);
  const std::string what = load_error(file);
  const std::string name = file.string();
  expect_located_and_sorted(what, name);
  EXPECT_THAT(what, HasSubstr(name + ":" + position_of(text, "T+9999") + ": error[X005]: at must be a scenario time"));
  EXPECT_THAT(what, HasSubstr(name + ":" + position_of(text, "[]") + ": error[X005]: 'to' names nobody"));
  EXPECT_THAT(what, HasSubstr(name + ":" + position_of(text, "T+1h\n      from") +
                              ": error[X002]: contingency C1's inject has no 'at'"));
  EXPECT_THAT(what, HasSubstr(name + ":" + position_of(text, "E9") +
                              ": error[X011]: contingency C1 names expectation E9, which the scenario does not have"));
  EXPECT_THAT(what, HasSubstr(name + ":" + position_of(text, "I7") + ": error[X011]: response R1 waits for inject I7"));
  EXPECT_EQ(lines_of(what).size(), 5u) << what;
}

// The same collection, asserted on codes and lines rather than the text: a
// scenario with three mistakes on known lines reports all three, in file order.
TEST(ScenarioLoad, ThreeMistakesAreThreeTypedDiagnosticsInFileOrder) {
  ScenarioDir dir;
  const std::string text = std::string(kHeader) + R"(injects:
  - id: I1
    at: T+1x
    from: analyst
    colour: blue
    message:
      to: [housing]
      category: ct-problem-profile
      portions: [{label: RESTRICTED, body: x}]
expectations:
  - id: E1
    receives: {node: housing, inject: I2, by: T+1h}
)";
  const ScenarioLoad load = read_scenario_text(text, dir / "three.yaml");
  EXPECT_FALSE(load.scenario);
  std::vector<std::pair<Code, int>> found;
  for (const auto& d : load.diagnostics.sorted()) found.emplace_back(d.code, d.location.line);
  EXPECT_EQ(found, (std::vector<std::pair<Code, int>>{{Code::X005, 8}, {Code::X002, 10}, {Code::X011, 17}}))
      << render(load.diagnostics);
  // The undefined inject carries the nearest defined one as a value; a bad time has none.
  const auto sorted = load.diagnostics.sorted();
  ASSERT_EQ(sorted.size(), 3u);
  EXPECT_EQ(sorted[2].details.suggestion, "I1");
  EXPECT_EQ(sorted[0].details.suggestion, std::nullopt);
}

TEST(ScenarioLoad, AFileThatIsNotAScenarioSaysWhere) {
  ScenarioDir dir;
  const auto file = dir.write("list.yaml", "- just\n- a list\n");
  EXPECT_THAT(load_error(file), HasSubstr(file.string() + ":1:1: error[X003]: a scenario is a mapping"));
  const auto broken = dir.write("broken.yaml", std::string(kHeader) + "injects: [\n");
  const std::string what = load_error(broken);
  EXPECT_TRUE(std::regex_search(what, std::regex(":[0-9]+:[0-9]+: error\\[X001\\]: "))) << what;
}

// ---- against the policy, before a run --------------------------------------

// The handling policy with a role nobody holds and a list with no members.
void add_empty_role_and_list(const ScenarioDir& dir) {
  std::string policy = ScenarioDir::read(dir / "policies/handling.yaml");
  policy.replace(policy.find("roles:\n"), 7, "roles:\n  - {id: liaison, name: Liaison officer, level: tactical}\n");
  policy.replace(policy.find("lists:\n"), 7, "lists:\n  - {id: nobody-yet, nodes: []}\n");
  dir.write("policies/handling.yaml", policy);
}

constexpr const char* kNamesScenario = R"(nodes: [analyst, sio, reader, housing, education]
injects:
  - id: I1
    at: T-3h
    from: analyst
    message:
      to: [housing, hosuing, "role:nobody", "role:liaison", "list:nobody-yet"]
      category: ct-problem-profile
      portions: [{label: RESTRICTED, body: x}]
  - id: I2
    at: T-2h
    from: analyst
    trigger: operation-start
expectations:
  - id: E1
    does_not_receive: {node: officer, inject: I1}
responses:
  - id: R1
    node: housing
    on: {receives_category: ct-problem-profil}
    trigger: operation-start
)";

TEST(ScenarioPolicyCheck, EveryNameIsCheckedBeforeARunAndLocated) {
  ScenarioDir dir;
  add_empty_role_and_list(dir);
  const std::string text = std::string(kHeader) + kNamesScenario;
  const auto file = dir.write("names.yaml", text);
  const auto scenario = load_scenario(file);
  std::string what;
  try {
    run_exercise(scenario, {});
    ADD_FAILURE() << "ran a scenario naming what the policy does not define";
  } catch (const RunError& e) {
    what = e.what();
  }
  const std::string name = file.string();
  expect_located_and_sorted(what, name);
  // Addressees that would resolve to nobody: a misspelt node, an undefined role,
  // a role nobody holds, a list with no members.
  EXPECT_THAT(what, HasSubstr(name + ":" + position_of(text, "hosuing") +
                              ": error[X011]: inject I1: addressee 'hosuing': node 'hosuing' is not defined by policy "
                              "handling-test; did you mean 'housing'?"));
  EXPECT_THAT(what, HasSubstr(name + ":" + position_of(text, "\"role:nobody") + ": error[X011]: inject I1: addressee "
                              "'role:nobody': role 'nobody' is not defined"));
  EXPECT_THAT(what, HasSubstr(name + ":" + position_of(text, "\"role:liaison") +
                              ": error[X020]: inject I1: addressee 'role:liaison' resolves to nobody"));
  EXPECT_THAT(what, HasSubstr(name + ":" + position_of(text, "\"list:nobody-yet") +
                              ": error[X020]: inject I1: addressee 'list:nobody-yet' resolves to nobody"));
  // An event the sender may not trigger (only senior officers may).
  EXPECT_THAT(what, HasSubstr(name + ":" + position_of(text, "operation-start\nexpectations") +
                              ": error[X022]: inject I2: 'analyst' may not trigger event 'operation-start'"));
  // An expectation about a node that does not take part.
  EXPECT_THAT(what, HasSubstr(name + ":" + position_of(text, "officer, inject") +
                              ": error[X021]: expectation E1: node 'officer' does not take part"));
  // An undefined category in a response's trigger.
  EXPECT_THAT(what, HasSubstr(name + ":" + position_of(text, "ct-problem-profil}") +
                              ": error[X011]: response R1: information category 'ct-problem-profil' is not defined by policy "
                              "handling-test; did you mean 'ct-problem-profile'?"));
  EXPECT_THAT(what, HasSubstr("response R1: 'housing' may not trigger event 'operation-start'"));
  EXPECT_EQ(lines_of(what).size(), 8u) << what;
}

// ---- people: players, evaluators, media, `sends` ------------------------------

TEST(ScenarioPeople, TheNewKeysLoad) {
  ScenarioDir dir;
  const std::string text = std::string(kHeader) + R"(players: [housing, reader]
evaluators: [Lead evaluator, Second evaluator]
media:
  - {id: M2, kind: call, source: a producer, headline: Later, seats: [housing]}
  - {id: M1, at: T+1h, kind: news, source: the paper, headline: Arrests, body: Two people}
expectations:
  - id: E1
    sends: {node: housing, category: operational-prebriefing, to: "list:heads", by: T+2h}
  - id: E2
    sends: {node: housing, category: operational-prebriefing, to: [education, "role:npt-officer"]}
)";
  const auto scenario = load_scenario(dir.write("people.yaml", text));
  EXPECT_EQ(scenario.players, (std::vector<std::string>{"housing", "reader"}));
  EXPECT_EQ(scenario.evaluators, (std::vector<std::string>{"Lead evaluator", "Second evaluator"}));
  ASSERT_EQ(scenario.media.size(), 2u);
  EXPECT_EQ(scenario.media[0].id, "M1") << "timed items first, by time; by-hand items after them";
  EXPECT_EQ(scenario.media[0].at, std::chrono::hours(1));
  EXPECT_EQ(scenario.media[1].at, std::nullopt);
  EXPECT_EQ(scenario.media[1].seats, (std::vector<std::string>{"housing"}));
  ASSERT_EQ(scenario.expectations.size(), 2u);
  const auto& e1 = scenario.expectations[0];
  EXPECT_EQ(e1.kind, ExpectationKind::sends);
  EXPECT_EQ(to_string(e1.kind), "sends");
  EXPECT_EQ(e1.category, "operational-prebriefing");
  EXPECT_EQ(e1.to, (std::vector<Addressee>{{AddresseeKind::list, "heads"}}));
  EXPECT_EQ(e1.by, std::chrono::hours(2));
  EXPECT_EQ(scenario.expectations[1].to,
            (std::vector<Addressee>{{AddresseeKind::node, "education"}, {AddresseeKind::role, "npt-officer"}}));
}

TEST(ScenarioPeople, MistakesInTheNewKeysAreLocated) {
  ScenarioDir dir;
  const std::string text = std::string(kHeader) + R"(players: [housing, housing]
evaluators: [Lead, Lead]
media:
  - {id: M1, at: T+9h, kind: tv, source: a channel, headline: Late}
  - {id: M1, kind: news, headline: No source, colour: red}
expectations:
  - id: E1
    sends: {node: housing, to: "nobody:x"}
)";
  const auto file = dir.write("people.yaml", text);
  const std::string what = load_error(file);
  const std::string name = file.string();
  expect_located_and_sorted(what, name);
  EXPECT_THAT(what, HasSubstr(name + ":" + position_of(text, "housing]") + ": error[X010]: player housing is named twice"));
  EXPECT_THAT(what, HasSubstr(name + ":" + position_of(text, "Lead]") + ": error[X010]: evaluator Lead is named twice"));
  EXPECT_THAT(what, HasSubstr(name + ":" + position_of(text, "T+9h") +
                              ": error[X012]: media item M1 at T+9h comes after the end (T+4h)"));
  EXPECT_THAT(what, HasSubstr(name + ":" + position_of(text, "tv,") +
                              ": error[X005]: media item M1: kind is news, social or call (not 'tv')"));
  EXPECT_THAT(what, HasSubstr(name + ":" + position_of(text, "{id: M1, kind") + ": error[X004]: a media item needs 'source'"));
  EXPECT_THAT(what, HasSubstr(name + ":" + position_of(text, "colour") + ": error[X002]: unknown key 'colour' in a media item"));
  EXPECT_THAT(what, HasSubstr(name + ":" + position_of(text, "M1, kind") + ": error[X010]: media item id M1 is used twice"));
  EXPECT_THAT(what, HasSubstr(name + ":" + position_of(text, "{node: housing, to") + ": error[X004]: sends needs 'category'"));
  EXPECT_THAT(what, HasSubstr(name + ":" + position_of(text, "\"nobody:x\"") + ": error[X005]: "));
}

TEST(ScenarioPeople, PlayersMediaSeatsAndSendsAreCheckedAgainstThePolicy) {
  ScenarioDir dir;
  const std::string text = std::string(kHeader) + R"(nodes: [analyst, housing, reader, education]
players: [hosuing, officer]
media:
  - {id: M1, kind: news, source: the paper, headline: Arrests, seats: [officer]}
expectations:
  - id: E1
    sends: {node: housing, category: tension-reprot, to: "list:hedas", by: T+2h}
)";
  const auto file = dir.write("people.yaml", text);
  const auto scenario = load_scenario(file);
  std::string what;
  try {
    run_exercise(scenario, {});
    ADD_FAILURE() << "ran a scenario naming what the policy does not define";
  } catch (const RunError& e) {
    what = e.what();
  }
  const std::string name = file.string();
  expect_located_and_sorted(what, name);
  EXPECT_THAT(what, HasSubstr(name + ":" + position_of(text, "hosuing") +
                              ": error[X011]: players: 'hosuing' is not a node of policy handling-test; did you mean 'housing'?"));
  EXPECT_THAT(what, HasSubstr(name + ":" + position_of(text, "officer]\nmedia") +
                              ": error[X021]: players: node 'officer' does not take part"));
  EXPECT_THAT(what, HasSubstr(name + ":" + position_of(text, "officer]}") +
                              ": error[X021]: media item M1: node 'officer' does not take part"));
  EXPECT_THAT(what, HasSubstr(name + ":" + position_of(text, "tension-reprot") +
                              ": error[X011]: expectation E1: information category 'tension-reprot' is not defined"));
  EXPECT_THAT(what, HasSubstr(name + ":" + position_of(text, "\"list:hedas") +
                              ": error[X011]: expectation E1: addressee 'list:hedas': list 'hedas' is not defined"));
  EXPECT_EQ(lines_of(what).size(), 5u) << what;
}

// ---- CSV ---------------------------------------------------------------------

std::string csv_error(const std::string& csv) {
  try {
    import_injects_csv(csv, "injects.csv");
  } catch (const ScenarioError& e) {
    return e.what();
  }
  ADD_FAILURE() << "the CSV was accepted";
  return {};
}

TEST(ScenarioCsv, ASpreadsheetsByteOrderMarkIsSkipped) {
  const std::string csv =
      "\xEF\xBB\xBFid,at,from,to,category,label_1,body_1\r\n"
      "I1,T-3h,analyst,housing,ct-problem-profile,RESTRICTED,partner version\r\n";
  const auto injects = import_injects_csv(csv, "injects.csv");
  ASSERT_EQ(injects.size(), 1u);
  EXPECT_EQ(injects[0].id, "I1");
}

TEST(ScenarioCsv, AMisspeltColumnIsAnErrorNamingTheNearestColumn) {
  const std::string what = csv_error(
      "id,at,from,to,category,label_1,body_1,synopsys\n"
      "I1,T-3h,analyst,housing,ct-problem-profile,RESTRICTED,x,the profile\n");
  EXPECT_THAT(what, HasSubstr("injects.csv:1:39: error[X002]: unknown column 'synopsys'"));
  EXPECT_THAT(what, HasSubstr("did you mean 'synopsis'?"));
}

TEST(ScenarioCsv, AnUnterminatedQuoteIsReportedWhereItOpens) {
  const std::string what = csv_error(
      "id,at,from,to,category,label_1,body_1\n"
      "I1,T-3h,analyst,housing,ct-problem-profile,RESTRICTED,\"an unclosed body\n"
      "I2,T-2h,analyst,housing,ct-problem-profile,RESTRICTED,x\n");
  EXPECT_THAT(what, HasSubstr("injects.csv:2:55: error[X001]:"));
}

TEST(ScenarioCsv, ProblemsNameTheRowAndColumnOfTheCell) {
  const std::string what = csv_error(
      "id,at,from,to,category,label_1,body_1\n"
      "I1,T-3h,analyst,housing,ct-problem-profile,RESTRICTED,x\n"
      "I2,T+99999999999999999999h,analyst,,ct-problem-profile,RESTRICTED,x\n");
  EXPECT_THAT(what, HasSubstr("injects.csv:3:4: error[X005]: column 'at'"));
  EXPECT_THAT(what, HasSubstr("injects.csv:3:36: error[X004]: column 'to' names nobody"));
}

TEST(ScenarioCsv, ProblemsInTheCsvOfAScenarioNameTheCsvFile) {
  ScenarioDir dir;
  dir.write("injects.csv", "id,at,from,to,category,label_1,body_1,tittle\nI1,T-3h,analyst,housing,ct-problem-profile,RESTRICTED,x,t\n");
  const auto file = dir.write("csv.yaml", std::string(kHeader) + "injects_csv: injects.csv\n");
  EXPECT_THAT(load_error(file), HasSubstr((dir / "injects.csv").string() + ":1:39: error[X002]: unknown column 'tittle'"));
}

// ---- does_not_receive_before -----------------------------------------------

constexpr const char* kEmbargoScenario = R"(injects:
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
expectations:
  - id: E1
    description: the embargo holds until the operation starts
    does_not_receive_before: {node: housing, inject: I2, before: T+0}
  - id: E2
    description: an embargo that would last an hour longer
    does_not_receive_before: {node: housing, inject: I2, before: T+1h}
)";

TEST(ExpectationNotBefore, AnEmbargoKeptIsMetAndOneBrokenIsNotOnARealRun) {
  ScenarioDir dir;
  const auto scenario = load_scenario(dir.write("embargo.yaml", std::string(kHeader) + kEmbargoScenario));
  const RunResult result = run_exercise(scenario, {});
  ASSERT_EQ(result.expectations.size(), 2u);
  const auto& kept = result.expectations[0];
  const auto& broken = result.expectations[1];
  EXPECT_TRUE(kept.met) << kept.evidence;
  EXPECT_EQ(kept.when, parse_scenario_time("T+0"));
  EXPECT_THAT(kept.evidence, HasSubstr("housing did not receive I2 before T+0"));
  EXPECT_FALSE(broken.met) << broken.evidence;
  EXPECT_THAT(broken.evidence, HasSubstr("housing received I2 at T+0, before T+1h"));

  const boost::json::value json = json::parse(to_json(result)).value;
  EXPECT_TRUE(json.at("expectations").at(0).at("met").as_bool());
  EXPECT_EQ(json.at("expectations").at(0).at("kind").as_string(), "does_not_receive_before");
  EXPECT_FALSE(json.at("expectations").at(1).at("met").as_bool());
  // Met is shown as met (green), not as an unmet inverted check.
  const std::string html = to_html(result, &scenario);
  EXPECT_THAT(html, HasSubstr("<tr class=\"met\"><td>Met</td><td>E1</td>"));
  EXPECT_THAT(html, HasSubstr("<tr class=\"unmet\"><td>Not met</td><td>E2</td>"));
}

TEST(ExpectationNotBefore, NeedsATime) {
  ScenarioDir dir;
  std::string text = std::string(kHeader) + kEmbargoScenario;
  text.replace(text.find(", before: T+1h"), 14, "");
  const auto file = dir.write("no-before.yaml", text);
  EXPECT_THAT(load_error(file), HasSubstr("error[X004]: does_not_receive_before needs 'before'"));
}

}  // namespace
}  // namespace icegate::exercise
