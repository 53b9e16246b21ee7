// Three real gateways on their own loopback addresses (127.0.0.2, .3 and
// .4), each with its own PKI, policy (the shipped policies/federation/ ones,
// with the ports the test picks) and data directory, over mutual TLS: the
// fixture of the peer link's tests and of messages crossing gateways.
#pragma once

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
#include <gtest/gtest.h>

#include "gateway/audit/audit.hpp"
#include "gateway/federation/peer_link.hpp"
#include "gateway/pki/pki.hpp"
#include "tests/support/gateway_fixture.hpp"
#include "tests/support/raw_node.hpp"
#include "tests/support/temporary_directory.hpp"

namespace icegate::testing {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using federation::LinkState;
using federation::PeerStatus;

struct Spec {
  std::string id;      // the gateway's id: its certificate's CN
  std::string policy;  // policies/federation/<policy>.yaml
  std::string address;
  std::vector<std::string> nodes;
};

inline const std::vector<Spec> kGateways = {
    {"gw-wm-ctu", "wm-ctu", "127.0.0.2", {"wm-ctu-analyst-1"}},
    {"gw-birmingham", "birmingham-cc", "127.0.0.3", {"bcc-prevent-coordinator", "bcc-housing-officer-1"}},
    {"gw-staffordshire", "staffordshire", "127.0.0.4", {}},
};

inline std::string read_text(const fs::path& file) {
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

inline void replace_all(std::string& text, const std::string& from, const std::string& to) {
  for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
}

// A port free on `address` now (bound and released): each gateway's policy
// must name the others' ports before they start.
inline std::uint16_t free_port(const std::string& address) {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor acceptor(io, {boost::asio::ip::make_address(address), 0});
  return acceptor.local_endpoint().port();
}

inline bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout = 10s) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (condition()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return condition();
}

// `kind` records of the trail in `data` (of `node` only, if given).
inline std::vector<audit::StoredRecord> records(const fs::path& data, const std::string& kind,
                                                const std::string& node = {}) {
  audit::QueryFilter filter;
  filter.kind = kind;
  if (!node.empty()) filter.node = node;
  return audit::query(data, filter);
}

// The next frame but the AuditHeads a gateway sends each peer whose link is
// up (federation/head_exchange.hpp), which come at their own times.
inline std::optional<v1::Frame> next_link_frame(RawNode& client) {
  while (true) {
    auto frame = client.next_frame();
    if (!frame || !frame->has_audit_head()) return frame;
  }
}

class ThreeGateways : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const Spec& spec : kGateways) {
      pki::init_ca(pki_dir(spec.id), "icegate " + spec.id + " CA", false, pki::KeyType::ecdsa_p256,
                   pki::GatewayCertificate{.id = spec.id, .addresses = {spec.address}});
      for (const auto& node : spec.nodes) pki::issue_node(pki_dir(spec.id), node);
      ports_[spec.id] = free_port(spec.address);
    }
    // Each policy as shipped, but for where the scheme, the peers' CAs and their ports are.
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

  fs::path root(const std::string& id) const { return directory_.path() / id; }
  fs::path pki_dir(const std::string& id) const { return root(id) / "pki"; }
  fs::path data(const std::string& id) const { return root(id) / "data"; }
  fs::path ca(const std::string& id) const { return pki::ca_paths(pki_dir(id)).certificate; }
  fs::path policy_file(const std::string& id) const { return directory_.path() / (id + ".yaml"); }
  const Spec& spec(const std::string& id) const {
    for (const Spec& spec : kGateways)
      if (spec.id == id) return spec;
    throw std::logic_error("no gateway " + id);
  }

  // Starts `id`'s gateway with config_ (redialling peers within 400 ms).
  RunningGateway& start(const std::string& id) {
    const Spec& gateway = spec(id);
    running_[id] = std::make_unique<RunningGateway>(policy_file(id), gateway.nodes, config_, root(id), ports_[id],
                                                    gateway.address);
    return *running_[id];
  }
  void stop(const std::string& id) { running_.erase(id); }
  RunningGateway& at(const std::string& id) { return *running_.at(id); }

  PeerStatus status(const std::string& at_gateway, const std::string& peer) {
    for (const PeerStatus& status : at(at_gateway).gateway().peer_status())
      if (status.id == peer) return status;
    ADD_FAILURE() << at_gateway << " has no peer " << peer;
    return {};
  }
  bool up(const std::string& at_gateway, const std::string& peer) {
    return status(at_gateway, peer).state == LinkState::up;
  }

  // A client presenting `credentials` at `id`'s gateway, saying Hello as
  // `hello`; with `expect_welcome`, the Welcome is read (and checked).
  std::unique_ptr<RawNode> connect_as(const std::string& id, const pki::Paths& credentials, const std::string& hello,
                                      bool expect_welcome = true) {
    RawNode::Options options;
    options.hello = false;
    auto client = std::make_unique<RawNode>(
        transport::ClientCredentials{pki::ca_paths(pki_dir(id)).certificate, credentials.certificate, credentials.key},
        spec(id).address, ports_[id], hello, options);
    v1::Frame frame;
    frame.mutable_hello()->set_node_id(hello);
    frame.mutable_hello()->set_protocol_version(wire::protocol_version);
    frame.mutable_hello()->set_software_version("peer link test");
    client->send_frame(frame);
    if (expect_welcome) {
      auto welcome = client->next_frame();
      EXPECT_TRUE(welcome && welcome->has_welcome()) << "no Welcome for " << hello;
      if (welcome && welcome->has_welcome()) {
        EXPECT_EQ(welcome->welcome().gateway_id(), id);
      }
    }
    return client;
  }

  TemporaryDirectory directory_;
  server::GatewayConfig config_ = [] {
    server::GatewayConfig config;
    config.peer_redial_min = 50ms;
    config.peer_redial_max = 400ms;
    return config;
  }();
  std::map<std::string, std::uint16_t> ports_;
  std::map<std::string, std::unique_ptr<RunningGateway>> running_;
};

}  // namespace icegate::testing
