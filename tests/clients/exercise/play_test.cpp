// People at the table: the runner with a Table (issue 14), against the real
// gateway and real TLS nodes (tests/data/handling-policy.yaml). The test plays
// the people: it reads their seats and queues their commands, as the exercise
// host's pages do.
#include <chrono>
#include <functional>
#include <set>
#include <future>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <gtest/gtest.h>

#include "clients/exercise/report.hpp"
#include "clients/exercise/runner.hpp"
#include "clients/exercise/scenario.hpp"
#include "clients/exercise/table.hpp"
#include "tests/clients/exercise/scenario_dir.hpp"

namespace icegate::exercise {
namespace {

using namespace std::chrono_literals;
using icegate::exercise::testing::ScenarioDir;

// housing and reader are played. I1 is a two-level product for the heads of
// service, held for the critical reader's review; R1 (the reader approves)
// and R2 (housing passes it on) are scripted responses of played nodes, so
// they must not run. E1 is met only when someone at housing sends.
constexpr const char* play_scenario = R"(exercise: play
title: People at the table
policy: policies/handling.yaml
t0: 2026-11-21T06:00:00Z
start: T-4h
end: T+4h
players: [housing, reader]
evaluators: [Lead evaluator]
objectives:
  - {id: O1, text: The heads of service are briefed}
media:
  - {id: M1, at: T-3h30m, kind: news, source: Evening paper, headline: Police activity, body: Vans on the parade, seats: [housing]}
  - {id: M2, kind: social, source: a resident, headline: A rumour, body: Shared widely}
injects:
  - id: I1
    at: T-3h
    from: analyst
    message:
      title: Problem profile
      to: ["list:heads"]
      category: ct-problem-profile
      purpose: prevent
      portions:
        - {label: "SECRET/UK EYES ONLY", body: secret detail}
        - {label: RESTRICTED, body: partner version}
  - id: I9
    at: T+3h
    from: analyst
    message:
      title: Late tension report
      to: [officer]
      category: tension-report
      portions: [{label: RESTRICTED, body: tension}]
responses:
  - id: R1
    node: reader
    on: {review_request: any}
    after: 1h
    review: approve
  - id: R2
    node: housing
    on: {receives_inject: I1}
    after: 30m
    send:
      title: Passed on
      to: [education]
      category: operational-prebriefing
      portions: [{label: RESTRICTED, body: passed on}]
expectations:
  - id: E1
    description: housing briefs its partners
    sends: {node: housing, category: operational-prebriefing, to: [education, "list:heads"], by: T+3h}
)";

bool wait_for(const std::function<bool()>& condition, std::chrono::milliseconds timeout = 20s) {
  const auto give_up = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > give_up) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

const ExpectationResult& expectation(const RunResult& result, const std::string& id) {
  for (const auto& e : result.expectations)
    if (e.id == id) return e;
  throw std::runtime_error("no expectation " + id);
}

// The run on a thread of its own, paused until the test says otherwise.
struct PlayedRun {
  explicit PlayedRun(const Scenario& scenario, std::vector<std::string> played)
      : table("", std::move(played)), scenario_(scenario) {
    control.pause();
    options.real_time = true;
    options.speed = 60;
    options.control = &control;
    options.table = &table;
    result = std::async(std::launch::async, [this] { return run_exercise(scenario_, options); });
  }
  // A failed assertion leaves the run paused: stop it, so the test ends.
  ~PlayedRun() {
    control.stop();
    if (result.valid()) result.wait();
  }
  RunResult finish() {
    control.set_speed(36'000);  // ten scenario hours a second
    control.resume();
    return result.get();
  }
  Table table;
  Control control;
  RunOptions options;
  std::future<RunResult> result;

 private:
  const Scenario& scenario_;
};

// Paused, the run waits on its controls with no timer but the status's
// (once a second): a command queued at the table, and each frame a node
// receives, wake that wait (Control::wake), so people are answered at once.
// No control is used here, so every change of the control's version is a wake-up.
TEST(ExercisePlay, APausedRunIsWokenByTheTableAndByWhatItsNodesReceive) {
  ScenarioDir dir;
  const auto scenario = load_scenario(dir.write("play.yaml", play_scenario));
  PlayedRun run(scenario, {"housing", "reader"});
  Table& table = run.table;
  ASSERT_TRUE(wait_for([&] { return table.seat("housing").connected && table.seat("reader").connected; }));
  const std::uint64_t before = run.control.version();

  Message message;
  message.addressees = {{AddresseeKind::node, "education"}};
  message.category = "operational-prebriefing";
  message.purpose = "consequence-management";
  message.title = "Housing's briefing";
  message.portions = {{"1", {"RESTRICTED", {}}, "our plan"}};
  table.send("housing", message);
  ASSERT_TRUE(wait_for([&] { return !table.seat("housing").receipts.empty(); }));
  EXPECT_TRUE(run.control.paused());
  // The command (1), then housing's Ack and Receipt and education's delivery (3 more).
  EXPECT_GE(run.control.version() - before, 4u);
}

TEST(ExercisePlay, PeopleReceiveReviewAndSendThroughTheGateway) {
  ScenarioDir dir;
  const auto scenario = load_scenario(dir.write("play.yaml", play_scenario));
  PlayedRun run(scenario, {"housing", "reader"});
  Table& table = run.table;

  ASSERT_TRUE(wait_for([&] { return table.seat("housing").connected && table.seat("reader").connected; }));
  run.control.step();  // M1 at T-3h30m: shown to housing only
  ASSERT_TRUE(wait_for([&] { return !table.seat("housing").media.empty(); }));
  EXPECT_EQ(table.seat("housing").media[0].id, "M1");
  EXPECT_TRUE(table.seat("reader").media.empty()) << "M1 names housing's seat only";

  run.control.step();  // I1 at T-3h: held for the critical reader, who is played
  ASSERT_TRUE(wait_for([&] { return !table.seat("reader").reviews.empty(); }));
  const SeatReview review = table.seat("reader").reviews[0];
  EXPECT_TRUE(table.seat("housing").inbox.empty()) << "held until the reader answers";

  // The reader answers from the table: the hold is released.
  table.review("reader", {"", review.hold_id, "approve", {}, "fine for heads of service"});
  ASSERT_TRUE(wait_for([&] { return !table.seat("housing").inbox.empty(); }));
  const SeatDelivery got = table.seat("housing").inbox[0];
  EXPECT_EQ(got.inject, "I1");
  EXPECT_EQ(got.decision, Decision::release_redacted);
  ASSERT_EQ(got.message.portions.size(), 1u);
  EXPECT_EQ(got.message.portions[0].label.classification, "RESTRICTED");
  EXPECT_EQ(got.message.portions[0].body, "partner version");
  ASSERT_EQ(got.withheld.size(), 1u);
  EXPECT_EQ(got.withheld[0].label.classification, "SECRET");
  EXPECT_FALSE(got.withheld[0].reason.empty());
  ASSERT_TRUE(wait_for([&] {
    const auto sent = table.seat("reader").sent;
    return !sent.empty() && sent[0].state == "sent";
  }));

  // A person at housing sends, as housing, through the gateway.
  Message message;
  message.addressees = {{AddresseeKind::node, "education"}, {AddresseeKind::node, "officer"}};
  message.category = "operational-prebriefing";
  message.purpose = "consequence-management";
  message.title = "Housing's briefing";
  message.portions = {{"1", {"RESTRICTED", {}}, "our plan"}};
  const std::string id = table.send("housing", message);
  ASSERT_TRUE(wait_for([&] { return !table.seat("housing").receipts.empty(); }));
  EXPECT_EQ(table.seat("housing").receipts[0].message_id, id);
  EXPECT_EQ(table.seat("housing").receipts[0].outcomes.size(), 2u);
  ASSERT_TRUE(wait_for([&] { return table.seat("housing").sent[0].state == "sent"; }));
  // ...and replies to I1.
  Message reply;
  reply.addressees = {{AddresseeKind::node, "education"}};
  reply.category = "operational-prebriefing";
  reply.title = "Re: Problem profile";
  reply.portions = {{"1", {"RESTRICTED", {}}, "noted"}};
  reply.derived_from = got.message.id;
  const std::string reply_id = table.send("housing", reply, "reply");
  ASSERT_TRUE(wait_for([&] { return table.seat("housing").receipts.size() == 2; }));

  // The facilitator fires I9 (due at T+3h) now, and releases M2 by hand.
  table.facilitate(FireInjectCommand{"I9"});
  table.facilitate(ReleaseMediaCommand{"M2", std::nullopt});
  ASSERT_TRUE(wait_for([&] { return table.seat("reader").media.size() == 1; }));
  EXPECT_EQ(table.seat("reader").media[0].id, "M2") << "an item naming no seat goes to every seat";
  EXPECT_TRUE(table.seat("reader").media[0].by_hand);
  // A message written on the spot from a played node is refused: a person sends their own.
  table.facilitate(FireMessageCommand{"housing", {}, "not allowed"});
  ASSERT_TRUE(wait_for([&] {
    for (const auto& e : table.expectations())
      if (e.id == "E1") return e.state == "met";
    return false;
  })) << "the live board shows E1 met once housing has sent";

  // The facilitator's and evaluators' pages see what people did, outcomes included, as it happens.
  ASSERT_TRUE(wait_for([&] {
    const auto actions = table.human_actions();
    return actions.size() == 3 && actions[1].outcomes.size() == 2 && actions[2].outcomes.size() == 1;
  }));
  EXPECT_EQ(table.fired(), (std::set<std::string>{"I1", "I9"}));

  const RunResult result = run.finish();
  EXPECT_EQ(result.played, (std::vector<std::string>{"housing", "reader"}));
  EXPECT_TRUE(expectation(result, "E1").met) << expectation(result, "E1").evidence;
  EXPECT_NE(expectation(result, "E1").evidence.find("played by a person"), std::string::npos);

  // Played nodes ran no scripted response.
  for (const auto& entry : result.timeline) {
    EXPECT_NE(entry.inject, "R1");
    EXPECT_NE(entry.inject, "R2");
  }
  // I9 came when the facilitator fired it, and only then.
  int i9 = 0;
  for (const auto& entry : result.timeline)
    if (entry.kind == TimelineEntry::Kind::delivered && entry.inject == "I9") {
      ++i9;
      EXPECT_LT(entry.at, *parse_scenario_time("T+3h"));
    }
  EXPECT_EQ(i9, 1);
  bool refused_on_the_record = false;
  for (const auto& entry : result.timeline)
    refused_on_the_record |= entry.kind == TimelineEntry::Kind::error && entry.node == "facilitator" &&
                             entry.detail.find("played by a person") != std::string::npos;
  EXPECT_TRUE(refused_on_the_record);

  ASSERT_EQ(result.human_actions.size(), 3u);
  const HumanAction& reviewed = result.human_actions[0];
  EXPECT_EQ(reviewed.node, "reader");
  EXPECT_EQ(reviewed.kind, HumanAction::Kind::review);
  EXPECT_EQ(reviewed.detail, "approve");
  EXPECT_EQ(reviewed.prompted_by, "I1");
  ASSERT_TRUE(reviewed.response_time.has_value());

  const HumanAction& sent = result.human_actions[1];
  EXPECT_EQ(sent.node, "housing");
  EXPECT_EQ(sent.kind, HumanAction::Kind::send);
  EXPECT_EQ(sent.message_id, id);
  EXPECT_EQ(sent.to, (std::vector<std::string>{"node:education", "node:officer"}));
  EXPECT_EQ(sent.labels, (std::vector<std::string>{"RESTRICTED"}));
  EXPECT_EQ(sent.prompted_by, "I1");
  ASSERT_TRUE(sent.response_time.has_value());
  EXPECT_GE(sent.response_time->count(), 0);
  ASSERT_EQ(sent.outcomes.size(), 2u);
  for (const auto& outcome : sent.outcomes) {
    EXPECT_EQ(outcome.decision, Decision::release) << outcome.node << ": " << outcome.reason;
    EXPECT_EQ(outcome.released_labels, (std::vector<std::string>{"RESTRICTED"}));
  }
  const HumanAction& replied = result.human_actions[2];
  EXPECT_EQ(replied.kind, HumanAction::Kind::reply);
  EXPECT_EQ(replied.message_id, reply_id);
  EXPECT_EQ(replied.in_reply_to, got.message.id);
  EXPECT_EQ(replied.prompted_by, "I1") << "the message replied to came from I1";
  ASSERT_TRUE(replied.response_time.has_value());
  EXPECT_EQ(*replied.response_time, replied.at - got.at);
  ASSERT_EQ(replied.outcomes.size(), 1u);
  EXPECT_EQ(replied.outcomes[0].node, "education");

  bool human_on_timeline = false;
  for (const auto& entry : result.timeline)
    human_on_timeline |= entry.kind == TimelineEntry::Kind::human && entry.node == "housing" && entry.message_id == id;
  EXPECT_TRUE(human_on_timeline);

  ASSERT_EQ(result.media.size(), 2u);
  EXPECT_EQ(result.media[0].id, "M1");
  EXPECT_FALSE(result.media[0].by_hand);
  EXPECT_EQ(result.media[1].id, "M2");
  EXPECT_TRUE(result.media[1].by_hand);
  EXPECT_EQ(table.status().state, "finished");

  // What people did survives the trip through JSON, and the report shows it.
  const RunResult again = run_result_from_json(to_json(result));
  ASSERT_EQ(again.human_actions.size(), 3u);
  EXPECT_EQ(again.human_actions[1].outcomes.size(), 2u);
  EXPECT_EQ(again.media.size(), 2u);
  const std::string html = to_html(result, &scenario);
  EXPECT_NE(html.find("Housing&#39;s briefing"), std::string::npos);
  EXPECT_NE(html.find("Police activity"), std::string::npos);
}

// Nobody at housing sends: E1 is unmet, though the script would have met it.
TEST(ExercisePlay, ASendsExpectationIsUnmetWhenNobodySends) {
  ScenarioDir dir;
  const auto scenario = load_scenario(dir.write("play.yaml", play_scenario));

  RunOptions scripted;
  const RunResult by_script = run_exercise(scenario, scripted);
  EXPECT_TRUE(expectation(by_script, "E1").met) << "R2 meets it when nobody plays housing: "
                                                << expectation(by_script, "E1").evidence;
  EXPECT_TRUE(by_script.media.empty()) << "a scripted run shows media to nobody";

  PlayedRun run(scenario, {"housing"});
  const RunResult result = run.finish();
  EXPECT_FALSE(expectation(result, "E1").met);
  EXPECT_NE(expectation(result, "E1").evidence.find("had not sent"), std::string::npos)
      << expectation(result, "E1").evidence;
  EXPECT_TRUE(result.human_actions.empty());
  bool unmet_on_board = false;
  for (const auto& e : run.table.expectations()) unmet_on_board |= e.id == "E1" && e.state == "unmet";
  EXPECT_TRUE(unmet_on_board);
}

// Two runs on one io_context that the caller runs (as the exercise host does
// with two tables and its web server): both finish, and the loop goes on.
TEST(ExercisePlay, TwoRunnersShareTheCallersIoContext) {
  ScenarioDir dir;
  const auto scenario = load_scenario(dir.write("play.yaml", play_scenario));
  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  std::thread loop([&] { io.run(); });

  auto play = [&] {
    RunOptions options;
    options.real_time = true;
    options.speed = 36'000;
    options.io = &io;
    return run_exercise(scenario, options);
  };
  auto first = std::async(std::launch::async, play);
  auto second = std::async(std::launch::async, play);
  const RunResult a = first.get();
  const RunResult b = second.get();
  EXPECT_TRUE(a.all_met());
  EXPECT_TRUE(b.all_met());
  EXPECT_GT(a.frames_delivered, 0);
  EXPECT_EQ(a.frames_delivered, b.frames_delivered);

  EXPECT_FALSE(io.stopped()) << "stopping a run must leave the caller's loop running";
  std::promise<void> ran;
  boost::asio::post(io, [&] { ran.set_value(); });
  EXPECT_EQ(ran.get_future().wait_for(5s), std::future_status::ready);
  work.reset();
  loop.join();
}

// A person's product held for review: its outcomes are the hold first, then
// the follow-up once the (scripted) reader approves. The run, on the caller's
// loop and kept open when finished, takes what the evaluators write until it
// is stopped.
TEST(ExercisePlay, FollowUpsReachTheActionAndAKeptOpenRunTakesLateEvaluations) {
  ScenarioDir dir;
  const auto scenario = load_scenario(dir.write("play.yaml", play_scenario));
  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  std::thread loop([&] { io.run(); });
  {
    Table table("need-to-share", {"analyst"});
    Control control;
    control.pause();
    RunOptions options;
    options.real_time = true;
    options.speed = 60;
    options.control = &control;
    options.table = &table;
    options.io = &io;
    options.keep_open = true;
    auto run = std::async(std::launch::async, [&] { return run_exercise(scenario, options); });
    ASSERT_TRUE(wait_for([&] { return table.seat("analyst").connected; }));

    Message product;
    product.addressees = {{AddresseeKind::list, "heads"}};
    product.category = "ct-problem-profile";
    product.purpose = "prevent";
    product.title = "The analyst's own profile";
    product.portions = {{"1", {"SECRET", {"UK EYES ONLY"}}, "secret part"}, {"2", {"RESTRICTED", {}}, "partner part"}};
    const std::string id = table.send("analyst", product);
    ASSERT_TRUE(wait_for([&] { return !table.seat("analyst").receipts.empty(); }));
    EXPECT_EQ(table.seat("analyst").receipts[0].outcomes[0].decision, Decision::hold);

    control.set_speed(36'000);
    control.resume();
    ASSERT_TRUE(wait_for([&] { return table.status().state == "finished"; }));
    Observation seen;
    seen.evaluator = "Lead evaluator";
    seen.objective = "O1";
    seen.text = "The analyst waited for the reader";
    table.observe(seen);
    table.rate({"O1", "Lead evaluator", "", Rating::S, "some challenges"});
    std::this_thread::sleep_for(200ms);
    EXPECT_EQ(run.wait_for(0ms), std::future_status::timeout) << "kept open until stopped";
    control.stop();
    const RunResult result = run.get();

    EXPECT_EQ(result.table, "need-to-share");
    ASSERT_EQ(result.human_actions.size(), 1u);
    const HumanAction& action = result.human_actions[0];
    EXPECT_EQ(action.message_id, id);
    EXPECT_EQ(action.labels, (std::vector<std::string>{"SECRET [UK EYES ONLY]", "RESTRICTED"}));
    int held = 0, followed_up = 0;
    for (const auto& outcome : action.outcomes) {
      if (!outcome.follow_up) {
        ++held;
        EXPECT_EQ(outcome.decision, Decision::hold) << outcome.node;
      } else {
        ++followed_up;
        EXPECT_EQ(outcome.decision, Decision::release_redacted) << outcome.node << ": " << outcome.reason;
        EXPECT_EQ(outcome.released_labels, (std::vector<std::string>{"RESTRICTED"}));
        EXPECT_EQ(outcome.withheld_labels, (std::vector<std::string>{"SECRET [UK EYES ONLY]"}));
      }
    }
    EXPECT_EQ(held, 2) << "housing and education";
    EXPECT_EQ(followed_up, 2);
    ASSERT_EQ(result.ratings.size(), 1u);
    EXPECT_EQ(result.ratings[0].rating, Rating::S);
    EXPECT_EQ(result.ratings[0].table, "need-to-share");
    ASSERT_EQ(result.observations.size(), 1u);
    ASSERT_EQ(result.objectives.size(), 1u) << "a report names the objectives evaluators rated";
    EXPECT_EQ(result.objectives[0].id, "O1");
  }
  EXPECT_FALSE(io.stopped());
  work.reset();
  loop.join();
}

// What the gateway refuses reaches the seat as refused, with the gateway's
// words, and goes on the record; a refused message meets no `sends`.
TEST(ExercisePlay, RefusalsReachTheSeatAndTheRecord) {
  ScenarioDir dir;
  const auto scenario = load_scenario(dir.write("play.yaml", play_scenario));
  PlayedRun run(scenario, {"housing"});
  Table& table = run.table;
  ASSERT_TRUE(wait_for([&] { return table.seat("housing").connected; }));

  Message bad;
  bad.addressees = {{AddresseeKind::node, "education"}};
  bad.category = "operational-prebriefing";
  bad.title = "Marked with what the scheme does not have";
  bad.portions = {{"1", {"ULTRA", {}}, "text"}};
  const std::string id = table.send("housing", bad);
  table.trigger("housing", "operation-start");  // only senior officers may
  ASSERT_TRUE(wait_for([&] {
    const auto sent = table.seat("housing").sent;
    return sent.size() == 2 && sent[0].state == "refused" && sent[1].state == "refused";
  }));
  const auto sent = table.seat("housing").sent;
  EXPECT_EQ(sent[0].message_id, id);
  EXPECT_NE(sent[0].error.find(": "), std::string::npos) << "CODE: text, as the gateway said it: " << sent[0].error;
  EXPECT_NE(sent[1].error.find("may not trigger"), std::string::npos) << sent[1].error;

  const RunResult result = run.finish();
  ASSERT_EQ(result.human_actions.size(), 2u);
  EXPECT_EQ(result.human_actions[0].refused, sent[0].error);
  EXPECT_EQ(result.human_actions[1].kind, HumanAction::Kind::trigger);
  EXPECT_EQ(result.human_actions[1].refused, sent[1].error);
  EXPECT_FALSE(expectation(result, "E1").met) << "a refused message is not sent: " << expectation(result, "E1").evidence;
}

// A run that fails on the caller's loop stops its own gateway and leaves the
// loop (and whatever else runs on it) running.
TEST(ExercisePlay, ARunThatFailsOnTheCallersLoopStopsItsGatewayAndLeavesTheLoop) {
  ScenarioDir dir;
  const auto scenario = load_scenario(dir.write("play.yaml", play_scenario));
  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  std::thread loop([&] { io.run(); });
  RunOptions options;
  options.real_time = true;
  options.io = &io;
  options.hooks.gateway_started = [](server::Gateway&) { throw std::runtime_error("the watcher failed"); };
  EXPECT_THROW(run_exercise(scenario, options), std::runtime_error);
  std::promise<void> ran;
  boost::asio::post(io, [&] { ran.set_value(); });
  EXPECT_EQ(ran.get_future().wait_for(5s), std::future_status::ready) << "the loop is still running";
  // and it carries another run to the end
  options.hooks.gateway_started = nullptr;
  options.speed = 36'000;
  EXPECT_TRUE(run_exercise(scenario, options).all_met());
  work.reset();
  loop.join();
}

TEST(ExercisePlay, PlayersMustTakePartAndPeoplePlayOnlyInRealTime) {
  ScenarioDir dir;
  const auto scenario = load_scenario(dir.write("play.yaml", play_scenario));
  Table table("", {"housing"});
  RunOptions simulated;
  simulated.table = &table;
  EXPECT_THROW(run_exercise(scenario, simulated), RunError);
}

}  // namespace
}  // namespace icegate::exercise
