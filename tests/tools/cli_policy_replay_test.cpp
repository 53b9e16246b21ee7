// `icegate policy replay`: a trail written by a real gateway (real nodes over
// TLS) under need-to-know, replayed under need-to-share and under
// need-to-know itself; an older trail, a tampered one, and bad arguments.
#include "tools/icegate/cmd_policy_replay.hpp"

#include <fstream>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "gateway/audit/audit.hpp"
#include "gateway/policy/replay_trail.hpp"
#include "tests/gateway/audit/audit_fixture.hpp"
#include "tests/support/replay_scenario.hpp"
#include "tools/icegate/cmd_serve.hpp"
#include "tools/icegate/commands.hpp"

namespace icegate::cli {
namespace {

namespace fs = std::filesystem;
using namespace icegate::testing;
using ::testing::AllOf;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

fs::path need_to_know() { return source_path("policies/need-to-know.yaml"); }
fs::path need_to_share() { return source_path("policies/need-to-share.yaml"); }

std::shared_ptr<const policy::CompiledPolicy> load(const fs::path& file) {
  auto loaded = policy::load_policy(file);
  if (!loaded.policy) throw std::runtime_error("cannot load " + file.string());
  return loaded.policy;
}

// One real gateway run under need-to-know, shared by the tests: the messages
// sent, each answered with a Receipt, and then the gateway stopped.
class CliPolicyReplayTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    trail_ = new TemporaryDirectory;
    messages_ = new std::vector<Message>(replay_messages());
    RunningGateway gateway(need_to_know(), replay_nodes, {}, trail_->path());
    for (const Message& message : *messages_) {
      auto sender = gateway.connect(message.originator);
      sender->submit(message);
      auto receipt = next_of<node::Receipt>(*sender);
      ASSERT_TRUE(receipt) << "no receipt for " << message.id;
    }
  }
  static void TearDownTestSuite() {
    delete messages_;
    delete trail_;
  }

  static fs::path data() { return trail_->path() / "data"; }

  int replay(PolicyReplayParams params) {
    out_.str("");
    err_.str("");
    return run_policy_replay(params, out_, err_);
  }

  static TemporaryDirectory* trail_;
  static std::vector<Message>* messages_;
  TemporaryDirectory scratch_;
  std::ostringstream out_, err_;
};
TemporaryDirectory* CliPolicyReplayTest::trail_ = nullptr;
std::vector<Message>* CliPolicyReplayTest::messages_ = nullptr;

TEST_F(CliPolicyReplayTest, TheChangesReplayFindsAreTheChangesADirectDecideGives) {
  const auto old_policy = load(need_to_know()), new_policy = load(need_to_share());
  const ChangeCounts expected = direct_changes(*messages_, *old_policy, *new_policy);
  // The scenario must show flows both opened and closed, or it proves little.
  bool opened = false, closed = false;
  for (const auto& [key, count] : expected) {
    opened |= std::get<0>(key) == policy::ChangeKind::opened;
    closed |= std::get<0>(key) == policy::ChangeKind::closed;
  }
  ASSERT_TRUE(opened && closed);

  const policy::ReplayReport report =
      policy::replay_submissions(policy::read_recorded_submissions(data()), *new_policy);
  EXPECT_EQ(report.submissions, messages_->size());
  EXPECT_EQ(report.replayed, messages_->size());
  EXPECT_THAT(report.undecidable, IsEmpty());
  EXPECT_THAT(report.refused, IsEmpty());
  ChangeCounts reported;
  for (const auto& group : report.groups) {
    reported[{group.kind, group.sender, group.recipient, group.old_state, group.new_state}] = group.portions;
    EXPECT_EQ(group.submissions, 1u);  // each pair appears in one message here
  }
  EXPECT_EQ(reported, expected);

  EXPECT_EQ(replay({.data = data(), .policy = need_to_share()}), exit_denied) << err_.str();
  EXPECT_THAT(err_.str(), IsEmpty());
  EXPECT_THAT(out_.str(), AllOf(HasSubstr("replayed: 3 of 3 submissions"), HasSubstr("FLOWS OPENED"),
                                HasSubstr("FLOWS CLOSED"), HasSubstr("ctu-analyst -> council-critical-reader"),
                                HasSubstr("council-chief-exec -> ctio-east"),
                                HasSubstr("withheld -> held for review")));
  EXPECT_EQ(replay({.data = data(), .policy = need_to_share(), .json = true}), exit_denied);
  EXPECT_THAT(out_.str(), AllOf(HasSubstr(R"("unchanged":false)"), HasSubstr(R"("kind":"closed","old_state":"released","new_state":"withheld","sender":"council-chief-exec","recipient":"ctio-east")")));
}

TEST_F(CliPolicyReplayTest, ReplayUnderThePolicyThatDecidedReportsNoChange) {
  EXPECT_EQ(replay({.data = data(), .policy = need_to_know()}), exit_ok) << err_.str();
  EXPECT_THAT(out_.str(), AllOf(HasSubstr("replayed: 3 of 3 submissions"), HasSubstr("no change")));
  EXPECT_EQ(replay({.data = data(), .policy = need_to_know(), .json = true}), exit_ok);
  EXPECT_THAT(out_.str(), AllOf(HasSubstr(R"("unchanged":true)"), HasSubstr(R"("groups":[])")));
}

TEST_F(CliPolicyReplayTest, BadDataAndBadPolicyAreClearErrors) {
  EXPECT_EQ(replay({.data = scratch_.path() / "nowhere", .policy = need_to_share()}), exit_error);
  EXPECT_THAT(err_.str(), AllOf(HasSubstr("--data"), HasSubstr("nowhere"), HasSubstr("no audit trail there")));
  EXPECT_EQ(replay({.data = data(), .policy = scratch_.path() / "missing.yaml"}), exit_error);
  EXPECT_THAT(err_.str(), AllOf(HasSubstr("--policy"), HasSubstr("missing.yaml")));

  const fs::path bad = scratch_.path() / "bad.yaml";
  std::ofstream(bad) << "name: broken\nversion: 1\nnodes: 7\n";
  EXPECT_EQ(replay({.data = data(), .policy = bad}), exit_invalid_policy);
  EXPECT_THAT(err_.str(), AllOf(ContainsRegex("bad\\.yaml:[0-9]+:[0-9]+: "), HasSubstr("invalid policy")));
  EXPECT_THAT(out_.str(), IsEmpty());
}

TEST_F(CliPolicyReplayTest, ATamperedTrailIsNotReplayed) {
  const fs::path copy = scratch_.path() / "copy";
  fs::copy(data(), copy, fs::copy_options::recursive);
  {
    AuditDatabase db(copy);
    db.exec("UPDATE audit SET recipient = 'iag-chair' WHERE kind = 'decision' AND seq = "
            "(SELECT MIN(seq) FROM audit WHERE kind = 'decision')");
  }
  EXPECT_EQ(replay({.data = copy, .policy = need_to_share()}), exit_error);
  EXPECT_THAT(err_.str(), AllOf(HasSubstr("does not verify"), HasSubstr("modified")));
}

// A trail written before the submit record named its portions' labels: it
// still verifies, and replay says which submissions it cannot decide and why.
TEST_F(CliPolicyReplayTest, AnOlderTrailSaysWhichSubmissionsCannotBeDecidedAgain) {
  audit::AuditRecord submit;
  submit.time_unix_ms = sample_start_unix_ms;
  submit.kind = "submit";
  submit.node = "ctu-analyst";
  submit.message_id = "m-old";
  submit.policy_version = "v-old";
  submit.detail = R"({"category":"ct-problem-profile","purpose":"prevent","title":"t","label":"RESTRICTED",)"
                  R"("portions":1,"recipients":["ctio-east"],"unresolved":[],"derived_from":""})";
  audit::AuditRecord decision = submit;
  decision.kind = "decision";
  decision.recipient = "ctio-east";
  decision.decision = "RELEASE";
  decision.detail = R"({"category":"ct-problem-profile","purpose":"prevent","released":[{"portion":"1","label":"RESTRICTED"}],)"
                    R"("released_label":"RESTRICTED","withheld":[],"reason":"r","hold_id":"","held_for":"",)"
                    R"("occasional":false,"state":"delivered"})";
  const fs::path old_trail = scratch_.path() / "old";
  fs::create_directories(old_trail);
  write_chain(old_trail, {submit, decision});
  ASSERT_TRUE(audit::verify(old_trail).intact());

  EXPECT_EQ(replay({.data = old_trail, .policy = need_to_share()}), exit_error);
  EXPECT_THAT(out_.str(), AllOf(HasSubstr("CANNOT BE DECIDED AGAIN (1 submission)"),
                                HasSubstr("seq 1 message m-old from ctu-analyst"),
                                HasSubstr("older than policy replay")));
  EXPECT_THAT(err_.str(), HasSubstr("none of the 1 submission(s)"));
}

// serve --shadow-policy checks the shadow policy before starting, as it does --policy.
TEST_F(CliPolicyReplayTest, AnInvalidShadowPolicyStopsServeBeforeItStarts) {
  const fs::path bad = scratch_.path() / "shadow.yaml";
  std::ofstream(bad) << "policy: broken\nnodes: 7\n";
  ServeParams params;
  params.policy = need_to_know();
  params.shadow_policy = bad;
  params.pki = scratch_.path() / "pki";
  params.data = scratch_.path() / "data";
  std::ostringstream out, err;
  EXPECT_EQ(run_serve(params, out, err), exit_invalid_policy);
  EXPECT_THAT(err.str(), AllOf(ContainsRegex("shadow\\.yaml:[0-9]+:[0-9]+: "), HasSubstr("shadow policy"),
                               HasSubstr("not starting")));
  EXPECT_FALSE(fs::exists(params.data)) << "serve went on to create its data directory";

  params.shadow_policy = scratch_.path() / "absent.yaml";
  EXPECT_EQ(run_serve(params, out, err), exit_error);
  EXPECT_THAT(err.str(), HasSubstr("--shadow-policy: cannot read policy file"));
}

}  // namespace
}  // namespace icegate::cli
