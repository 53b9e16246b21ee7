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
#include "tests/support/gateway_fixture.hpp"
#include "tests/support/temporary_directory.hpp"

namespace icegate::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

struct Spec {
  std::string id, policy, address;
};
const std::vector<Spec> kGateways = {
    {"gw-wm-ctu", "wm-ctu", "127.0.0.2"},
    {"gw-birmingham", "birmingham-cc", "127.0.0.3"},
    {"gw-staffordshire", "staffordshire", "127.0.0.4"},
};

std::string read_text(const fs::path& file) {
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void replace_all(std::string& text, const std::string& from, const std::string& to) {
  for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
}

std::uint16_t free_port(const std::string& address) {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor acceptor(io, {boost::asio::ip::make_address(address), 0});
  return acceptor.local_endpoint().port();
}

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout = 10s) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (condition()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return condition();
}

class DashboardPeersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const Spec& spec : kGateways) {
      pki::init_ca(pki_dir(spec.id), "icegate " + spec.id + " CA", false, pki::KeyType::ecdsa_p256,
                   pki::GatewayCertificate{.id = spec.id, .addresses = {spec.address}});
      ports_[spec.id] = free_port(spec.address);
    }
    for (const Spec& spec : kGateways) {
      std::string text = read_text(source_path("policies/federation/" + spec.policy + ".yaml"));
      replace_all(text, "../schemes/gsc-2014.yaml", source_path("policies/schemes/gsc-2014.yaml").string());
      for (const Spec& other : kGateways) {
        replace_all(text, "pki/" + other.id + "/ca.crt", pki::ca_paths(pki_dir(other.id)).certificate.string());
        replace_all(text, other.address + ":7443", fmt::format("{}:{}", other.address, ports_[other.id]));
      }
      std::ofstream(policy_file(spec.id)) << text;
    }
  }
  void TearDown() override {
    if (dashboard_)
      running_.at("gw-wm-ctu")->on_gateway_thread([&] {
        dashboard_.reset();
        return 0;
      });
    running_.clear();
  }

  fs::path root(const std::string& id) const { return directory_.path() / id; }
  fs::path pki_dir(const std::string& id) const { return root(id) / "pki"; }
  fs::path policy_file(const std::string& id) const { return directory_.path() / (id + ".yaml"); }

  RunningGateway& start(const Spec& spec) {
    server::GatewayConfig config;
    config.peer_redial_min = 50ms;
    config.peer_redial_max = 400ms;
    running_[spec.id] =
        std::make_unique<RunningGateway>(policy_file(spec.id), std::vector<std::string>{}, config, root(spec.id),
                                         ports_[spec.id], spec.address);
    return *running_[spec.id];
  }

  std::string state() {
    return running_.at("gw-wm-ctu")->on_gateway_thread([&] { return dashboard_->state_json(); });
  }

  TemporaryDirectory directory_;
  std::map<std::string, std::uint16_t> ports_;
  std::map<std::string, std::unique_ptr<RunningGateway>> running_;
  std::unique_ptr<http::Dashboard> dashboard_;
};

TEST_F(DashboardPeersTest, EachPeerIsListedAndEachChangeOfItsLinkIsAnEvent) {
  RunningGateway& ctu = start(kGateways[0]);
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
  start(kGateways[1]);
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
