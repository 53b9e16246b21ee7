// The shadow policy (`serve --shadow-policy`) on a real gateway with real
// nodes over TLS: under need-to-know, shadowed by need-to-share. What is
// delivered is the same as without a shadow; each difference is an audit
// record that verifies, that `audit query` shows, and that the metrics and
// the dashboard count; a reload reloads the shadow too.
#include <array>
#include <fstream>
#include <set>
#include <regex>
#include <sstream>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "gateway/audit/audit.hpp"
#include "gateway/http/dashboard.hpp"
#include "tests/support/replay_scenario.hpp"
#include "tools/icegate/cmd_audit.hpp"
#include "tools/icegate/commands.hpp"

namespace icegate::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

fs::path need_to_know() { return source_path("policies/need-to-know.yaml"); }
fs::path need_to_share() { return source_path("policies/need-to-share.yaml"); }

std::shared_ptr<const policy::CompiledPolicy> load(const fs::path& file) {
  auto loaded = policy::load_policy(file);
  if (!loaded.policy) throw std::runtime_error("cannot load " + file.string());
  return loaded.policy;
}

std::string summary(const RecipientDecision& d) {
  std::string text = fmt::format("{} {} released=[{}] rules=[{}] reason={} held_for={} occasional={} withheld=[",
                                 d.node_id, to_string(d.decision), fmt::join(d.released_portion_ids, ","),
                                 fmt::join(d.rule_ids, ","), d.reason, d.held_for, d.occasional);
  for (const auto& w : d.withheld) text += fmt::format("{} {}: {};", w.portion_id, to_string(w.label), w.reason);
  return text + "]";  // never the hold id, which is random
}

std::string summary(const node::Delivery& d) {
  std::string text = fmt::format("{} {} rules=[{}] reason={} policy={} portions=[", d.message.id, to_string(d.decision),
                                 fmt::join(d.rule_ids, ","), d.reason, d.policy_version);
  for (const auto& p : d.message.portions) text += fmt::format("{} {} {};", p.id, to_string(p.label), p.body);
  text += "] withheld=[";
  for (const auto& w : d.withheld) text += w.portion_id + ";";
  return text + "]";
}

// What the nodes saw: each Receipt's outcomes, and each recipient's Delivers.
struct Seen {
  std::vector<std::string> receipts;
  std::map<std::string, std::vector<std::string>> deliveries;
};

Seen send(RunningGateway& gateway, const std::vector<Message>& messages) {
  std::map<std::string, std::unique_ptr<node::NodeClient>> recipients;
  for (const auto& id : replay_recipients) recipients[id] = gateway.connect(id);
  Seen seen;
  for (const Message& message : messages) {
    auto sender = gateway.connect(message.originator);
    sender->submit(message);
    auto receipt = next_of<node::Receipt>(*sender);
    if (!receipt) throw std::runtime_error("no receipt for " + message.id);
    for (const auto& outcome : receipt->outcomes) {
      seen.receipts.push_back(summary(outcome.decision) + (outcome.delivered ? " delivered" : ""));
      if (!outcome.delivered) continue;
      auto delivery = next_of<node::Delivery>(*recipients.at(outcome.decision.node_id));
      if (!delivery) throw std::runtime_error("no delivery to " + outcome.decision.node_id);
      seen.deliveries[outcome.decision.node_id].push_back(summary(*delivery));
    }
  }
  return seen;
}

policy::FlowState state_named(const std::string& name) {
  return name == "released" ? policy::FlowState::released
         : name == "held"   ? policy::FlowState::held
                            : policy::FlowState::withheld;
}

policy::ChangeKind kind_named(const std::string& name) {
  return name == "opened"       ? policy::ChangeKind::opened
         : name == "closed"     ? policy::ChangeKind::closed
         : name == "hold_added" ? policy::ChangeKind::hold_added
                                : policy::ChangeKind::hold_removed;
}

// The changes the shadow_difference records of a trail list.
ChangeCounts recorded_changes(const std::vector<audit::StoredRecord>& records) {
  ChangeCounts counts;
  const std::regex change(R"re("change":"(\w+)","enforced":"(\w+)","shadow":"(\w+)")re");
  for (const auto& stored : records) {
    const std::string& detail = stored.record.detail;
    for (auto it = std::sregex_iterator(detail.begin(), detail.end(), change); it != std::sregex_iterator(); ++it)
      ++counts[{kind_named((*it)[1]), stored.record.node, stored.record.recipient, state_named((*it)[2]),
                state_named((*it)[3])}];
  }
  return counts;
}

std::vector<audit::StoredRecord> shadow_records(const fs::path& data) {
  audit::QueryFilter filter;
  filter.kind = "shadow_difference";
  return audit::query(data, filter);
}

TEST(ShadowPolicyTest, DeliveriesAreTheSameWithAndWithoutAShadowPolicy) {
  const std::vector<Message> messages = replay_messages();
  Seen with_shadow, without;
  {
    RunningGateway gateway(need_to_know(), replay_nodes);
    gateway.on_gateway_thread([&] {
      gateway.gateway().set_shadow_policy(load(need_to_share()));
      return true;
    });
    with_shadow = send(gateway, messages);
  }
  {
    RunningGateway gateway(need_to_know(), replay_nodes);
    without = send(gateway, messages);
  }
  EXPECT_FALSE(without.deliveries.empty());
  EXPECT_EQ(with_shadow.receipts, without.receipts);
  EXPECT_EQ(with_shadow.deliveries, without.deliveries);
}

TEST(ShadowPolicyTest, EachDifferenceIsAuditedCountedAndShown) {
  const std::vector<Message> messages = replay_messages();
  TemporaryDirectory directory;
  std::array<std::uint64_t, 4> counted{};
  std::string metrics, state;
  {
    RunningGateway gateway(need_to_know(), replay_nodes, {}, directory.path());
    auto dashboard = gateway.on_gateway_thread([&] {
      gateway.gateway().set_shadow_policy(load(need_to_share()));
      return std::make_shared<http::Dashboard>(gateway.gateway(), http::access_for("127.0.0.1", ""));
    });
    send(gateway, messages);
    gateway.on_gateway_thread([&] {
      counted = gateway.gateway().metrics().shadow_differences;
      metrics = dashboard->metrics_text();
      state = dashboard->state_json();
      dashboard.reset();
      return true;
    });
  }
  const fs::path data = directory.path() / "data";
  const auto verified = audit::verify(data);
  EXPECT_TRUE(verified.intact()) << verified.problems.front().text;

  const auto records = shadow_records(data);
  const ChangeCounts expected = direct_changes(messages, *load(need_to_know()), *load(need_to_share()));
  ASSERT_FALSE(expected.empty());
  EXPECT_EQ(recorded_changes(records), expected);

  // One record per recipient that differs; the metrics count the portions, by change.
  std::set<std::pair<std::string, std::string>> pairs;
  std::array<std::uint64_t, 4> expected_counts{};
  for (const auto& [key, portions] : expected) {
    pairs.insert({std::get<1>(key), std::get<2>(key)});
    expected_counts.at(static_cast<std::size_t>(std::get<0>(key))) += portions;
  }
  EXPECT_EQ(records.size(), pairs.size());
  EXPECT_EQ(counted, expected_counts);
  EXPECT_THAT(metrics, HasSubstr(fmt::format("icegate_shadow_differences_total{{change=\"opened\"}} {}\n", counted[0])));
  EXPECT_THAT(metrics, HasSubstr(fmt::format("icegate_shadow_differences_total{{change=\"closed\"}} {}\n", counted[1])));
  EXPECT_THAT(state, HasSubstr(fmt::format(R"("shadow":{{"name":"need-to-share",)")));
  EXPECT_THAT(state, HasSubstr(fmt::format(R"("differences":{},"latest":[{{)", records.size())));

  std::ostringstream out, err;
  EXPECT_EQ(cli::run_audit_query({.dir = data, .kind = "shadow_difference"}, out, err), cli::exit_ok) << err.str();
  std::size_t lines = 0;
  std::istringstream listing(out.str());
  for (std::string line; std::getline(listing, line);) {
    EXPECT_THAT(line, HasSubstr("shadow_difference"));
    ++lines;
  }
  EXPECT_EQ(lines, records.size()) << out.str();
}

TEST(ShadowPolicyTest, AReloadReloadsTheShadowPolicyAndKeepsItIfInvalid) {
  TemporaryDirectory directory;
  const fs::path shadow_file = directory.path() / "shadow.yaml";
  fs::create_directories(directory.path());
  fs::copy_file(need_to_share(), shadow_file);
  // The scheme file the policy names, beside it.
  fs::create_directories(directory.path() / "schemes");
  for (const auto& entry : fs::directory_iterator(source_path("policies/schemes")))
    fs::copy_file(entry.path(), directory.path() / "schemes" / entry.path().filename());
  server::GatewayConfig config;
  config.shadow_policy_file = shadow_file;
  {
    RunningGateway gateway(need_to_know(), replay_nodes, config, directory.path());
    gateway.on_gateway_thread([&] {
      gateway.gateway().set_shadow_policy(load(shadow_file));
      return true;
    });
    std::ofstream(shadow_file) << "policy: broken\nnodes: 7\n";
    auto name = gateway.on_gateway_thread([&] {
      gateway.gateway().reload_policy();
      return gateway.gateway().shadow_policy()->source().name;
    });
    EXPECT_EQ(name, "need-to-share") << "an invalid shadow policy replaced the one in use";

    fs::copy_file(need_to_know(), shadow_file, fs::copy_options::overwrite_existing);
    name = gateway.on_gateway_thread([&] {
      gateway.gateway().reload_policy();
      return gateway.gateway().shadow_policy()->source().name;
    });
    EXPECT_EQ(name, "need-to-know");
    // Shadowed by the policy it enforces, the gateway finds nothing to record.
    send(gateway, replay_messages());
  }
  const fs::path data = directory.path() / "data";
  EXPECT_TRUE(audit::verify(data).intact());
  EXPECT_TRUE(shadow_records(data).empty());
  audit::QueryFilter refused;
  refused.kind = "policy_refused";
  const auto refusals = audit::query(data, refused);
  ASSERT_EQ(refusals.size(), 1u);
  EXPECT_THAT(refusals[0].record.detail, HasSubstr(R"("shadow":true)"));
  EXPECT_THAT(refusals[0].record.detail, HasSubstr("shadow.yaml:"));
}

}  // namespace
}  // namespace icegate::testing
