// The dashboard shows this gateway's peer links (docs/DASHBOARD.md): in
// /api/state, and as a `peer` event each time a link changes. Two real
// gateways of policies/federation/ on 127.0.0.2 and .3, each with its own
// PKI, policy and data directory (as tests/gateway/federation/peer_link_test.cpp).
#include <chrono>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "gateway/federation/peer_link.hpp"
#include "gateway/http/dashboard.hpp"
#include "gateway/pki/pki.hpp"
#include "tests/gateway/federation/three_gateways.hpp"
#include "tests/support/gateway_fixture.hpp"
#include "tests/support/temporary_directory.hpp"

namespace icegate::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class DashboardPeersTest : public ThreeGateways {
 protected:
  void TearDown() override {
    if (dashboard_)
      running_.at(watched_)->on_gateway_thread([&] {
        dashboard_.reset();
        return 0;
      });
    running_.clear();
  }

  std::string state() {
    return running_.at(watched_)->on_gateway_thread([&] { return dashboard_->state_json(); });
  }

  std::string watched_ = "gw-wm-ctu";  // the gateway the dashboard watches
  std::unique_ptr<http::Dashboard> dashboard_;
};

// A message forwarded in from a peer is listed like one submitted here: its
// title, its originator (a node of the origin gateway) and its marking under
// this gateway's scheme, beside this gateway's decisions for its nodes.
// Before, the receiving gateway's list showed it as UNMARKED "from ?".
TEST_F(DashboardPeersTest, AMessageForwardedInIsListedWithItsTitleOriginatorAndMarking) {
  start("gw-wm-ctu");
  RunningGateway& birmingham = start("gw-birmingham");
  watched_ = "gw-birmingham";
  birmingham.on_gateway_thread([&] {
    dashboard_ = std::make_unique<http::Dashboard>(birmingham.gateway(), http::AccessPolicy{true, ""});
    return 0;
  });
  ASSERT_TRUE(eventually([&] { return up("gw-wm-ctu", "gw-birmingham") && up("gw-birmingham", "gw-wm-ctu"); }));
  auto coordinator = at("gw-birmingham").connect("bcc-prevent-coordinator");
  auto analyst = at("gw-wm-ctu").connect("wm-ctu-analyst-1");
  Message message = make_message("wm-ctu-analyst-1", {{AddresseeKind::role, "prevent-coordinator"}},
                                 "ct-problem-profile", "prevent",
                                 {{Label{"OFFICIAL-SENSITIVE", {"PERSONAL"}}, "for the council"}});
  message.title = "Sparkhill profile, partner version";
  analyst->submit(message);
  ASSERT_TRUE(next_of<node::Delivery>(*coordinator, std::chrono::seconds(10)));
  ASSERT_TRUE(eventually([&] { return state().find("\"type\":\"decision\"") != std::string::npos; })) << state();
  const std::string now = state();
  EXPECT_THAT(now, HasSubstr("\"type\":\"submission\",\"message_id\":\"" + message.id + "\""));
  EXPECT_THAT(now, HasSubstr("\"originator\":\"wm-ctu-analyst-1\",\"title\":\"Sparkhill profile, partner version\""));
  EXPECT_THAT(now, HasSubstr("\"marking\":\"OFFICIAL-SENSITIVE PERSONAL\""));
}

TEST_F(DashboardPeersTest, EachPeerIsListedAndEachChangeOfItsLinkIsAnEvent) {
  RunningGateway& ctu = start("gw-wm-ctu");
  ctu.on_gateway_thread([&] {
    dashboard_ = std::make_unique<http::Dashboard>(ctu.gateway(), http::AccessPolicy{true, ""});
    return 0;
  });
  // Nobody answers at Birmingham's address yet: the peer is listed, not up, with why.
  const std::string birmingham_address = fmt::format("127.0.0.3:{}", ports_["gw-birmingham"]);
  ASSERT_TRUE(eventually([&] {
    return state().find("\"peer\",\"id\":\"gw-birmingham\"") != std::string::npos;
  })) << state();
  std::string now = state();
  EXPECT_THAT(now, HasSubstr("\"peers\":[{\"id\":\"gw-birmingham\",\"state\":\""));
  EXPECT_THAT(now, HasSubstr("{\"id\":\"gw-staffordshire\",\"state\":\""));
  EXPECT_THAT(now, HasSubstr("\"address\":\"" + birmingham_address + "\""));
  EXPECT_THAT(now, HasSubstr("\"last_error\":\"cannot connect to " + birmingham_address));
  EXPECT_THAT(now, Not(HasSubstr("\"type\":\"peer\",\"id\":\"gw-birmingham\",\"state\":\"up\"")));

  // Birmingham starts: the CTU dials it, and the page is told the link is up.
  start("gw-birmingham");
  ASSERT_TRUE(eventually([&] {
    return state().find("\"type\":\"peer\",\"id\":\"gw-birmingham\",\"state\":\"up\"") != std::string::npos;
  })) << state();
  now = state();
  EXPECT_THAT(now, HasSubstr("\"peers\":[{\"id\":\"gw-birmingham\",\"state\":\"up\""));
  EXPECT_THAT(now, HasSubstr("\"direction\":\"dialled\""));

  // It stops: the link is down again, and the event says so.
  running_.erase("gw-birmingham");
  ASSERT_TRUE(eventually([&] {
    const auto text = state();
    const auto up = text.find("\"type\":\"peer\",\"id\":\"gw-birmingham\",\"state\":\"up\"");
    return up != std::string::npos &&
           text.find("\"type\":\"peer\",\"id\":\"gw-birmingham\",\"state\":\"", up + 10) != std::string::npos;
  })) << state();
  EXPECT_THAT(state(), Not(HasSubstr("\"peers\":[{\"id\":\"gw-birmingham\",\"state\":\"up\"")));
}

}  // namespace
}  // namespace icegate::testing
