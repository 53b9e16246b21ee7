// The facilitator's t/{k}/: table k's dashboard, mounted under the
// facilitator's key, on a real gateway. The site presents the dashboard's
// token on the facilitator's behalf; nobody else reaches it.
#include <gtest/gtest.h>

#include "clients/exercise/host/host_site.hpp"
#include "gateway/http/dashboard.hpp"
#include "tests/support/gateway_fixture.hpp"

namespace icegate::exercise::host {
namespace {

using http::Request;
using icegate::testing::RunningGateway;
using icegate::testing::source_path;

TEST(MountedDashboard, TheFacilitatorReachesTableKsDashboardAndNoOneElseDoes) {
  RunningGateway gateway(source_path("policies/need-to-share.yaml"), {});
  const Scenario scenario = load_scenario(source_path("scenarios/operation-nicole.yaml"));
  Table table("", {"council-chief-exec"});
  auto check = [&] {
    // Beyond loopback the dashboard wants its token; the site must present it.
    http::Dashboard dashboard(gateway.gateway(), http::AccessPolicy{false, http::random_token()});
    EXPECT_EQ(dashboard.handle(Request{"GET", "/api/state", "10.0.0.5:8443", "", "", "", ""}).status, 401);
    HostSite site(scenario, {{&table, "need-to-share.yaml", nullptr}}, {}, {});
    const std::string facilitator = site.facilitator_link().substr(site.facilitator_link().find("/f/"));
    const std::string seat = site.seat_link(0, "council-chief-exec").substr(site.seat_link(0, "council-chief-exec").find("/s/"));
    EXPECT_EQ(site.handle(Request{"GET", facilitator + "t/0/api/state", "h", "", "", "", ""}).status, 404)
        << "no gateway yet: no dashboard";
    site.set_dashboard(0, &dashboard);
    const auto state = site.handle(Request{"GET", facilitator + "t/0/api/state?x=1", "10.0.0.5:8443", "", "", "", ""});
    EXPECT_EQ(state.status, 200) << state.body;
    EXPECT_NE(state.body.find("\"events\""), std::string::npos) << state.body;
    // The facilitator's console frames the iceberg; the dashboard on its own is framed by nobody.
    auto csp = [](const http::Response& r) {
      for (const auto& [name, value] : r.headers)
        if (name == "Content-Security-Policy") return value;
      return std::string();
    };
    const auto mounted_page = site.handle(Request{"GET", facilitator + "t/0/", "10.0.0.5:8443", "", "", "", ""});
    EXPECT_EQ(mounted_page.status, 200);
    EXPECT_NE(csp(mounted_page).find("frame-ancestors 'self'"), std::string::npos) << csp(mounted_page);
    EXPECT_NE(csp(dashboard.handle(Request{"GET", "/", "127.0.0.1:8080", "", "", "", ""})).find("frame-ancestors 'none'"),
              std::string::npos);
    EXPECT_EQ(site.handle(Request{"GET", facilitator + "t/0", "h", "", "", "", ""}).status, 308);
    EXPECT_EQ(site.handle(Request{"GET", facilitator + "t/1/api/state", "h", "", "", "", ""}).status, 404);
    EXPECT_EQ(site.handle(Request{"GET", "/f/" + seat.substr(3, 64) + "/t/0/api/state", "h", "", "", "", ""}).status, 404);
    // The live feed: the facilitator's, and only at t/k/ws.
    auto feed = site.open_feed(Request{"GET", facilitator + "t/0/ws", "10.0.0.5:8443", "", "", "", ""});
    ASSERT_TRUE(std::holds_alternative<http::Feed*>(feed));
    bool heard = false;
    const auto id = std::get<http::Feed*>(feed)->subscribe([&](const http::Feed::EventText&) { heard = true; });
    dashboard.exercise_progress({"drill", "running", 0, std::nullopt, "", 60}, true);
    EXPECT_TRUE(heard);
    std::get<http::Feed*>(feed)->unsubscribe(id);
    auto refused = site.open_feed(Request{"GET", seat + "t/0/ws", "h", "", "", "", ""});
    ASSERT_TRUE(std::holds_alternative<http::Response>(refused));
    EXPECT_EQ(std::get<http::Response>(refused).status, 404);
    // The gateway stops: the feed lets go of the dashboard, and the mount is gone.
    site.set_dashboard(0, nullptr);
    EXPECT_EQ(site.handle(Request{"GET", facilitator + "t/0/api/state", "h", "", "", "", ""}).status, 404);
  };
  gateway.on_gateway_thread([&] {
    check();
    return 0;
  });
}

}  // namespace
}  // namespace icegate::exercise::host
