// A real gateway on a loopback port, with a fresh PKI and a policy, running
// on its own thread; and helpers to connect real TLS node clients to it.
// Integration and CLI tests build on this.
#pragma once

#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <gtest/gtest.h>

#include "clients/node/node_client.hpp"
#include "gateway/pki/pki.hpp"
#include "gateway/policy/engine.hpp"
#include "gateway/server/gateway.hpp"
#include "gateway/transport/tls.hpp"
#include "tests/support/temporary_directory.hpp"

namespace icegate::testing {

using namespace std::chrono_literals;

inline std::filesystem::path source_path(const std::string& relative) {
  return std::filesystem::path(ICEGATE_SOURCE_DIR) / relative;
}

class RunningGateway {
 public:
  // With `reuse`, runs on an existing directory (PKI and data) left by an
  // earlier RunningGateway: a restart.
  // It listens on `address` (peer gateway tests give each its own loopback address).
  RunningGateway(const std::filesystem::path& policy_file, const std::vector<std::string>& nodes,
                 server::GatewayConfig config = {}, std::optional<std::filesystem::path> reuse = std::nullopt,
                 std::uint16_t port = 0, const std::string& address = "127.0.0.1")
      : root_(reuse ? *reuse : directory_.path()), address_(address) {
    if (!std::filesystem::exists(pki::ca_paths(pki_dir()).certificate)) {
      pki::init_ca(pki_dir());
      for (const auto& node : nodes) pki::issue_node(pki_dir(), node);
    }
    auto loaded = policy::load_policy(policy_file);
    if (!loaded.policy) {
      std::string text;
      for (const auto& d : loaded.diagnostics.sorted()) text += policy::to_string(d) + "\n";
      throw std::runtime_error("test policy does not load:\n" + text);
    }
    config.listen = {boost::asio::ip::make_address(address_), port};
    config.pki_dir = pki_dir();
    config.policy_file = policy_file;
    config.data_dir = root_ / "data";
    gateway_ = std::make_unique<server::Gateway>(io_, config, loaded.policy);
    gateway_->start();
    port_ = gateway_->local_endpoint().port();
    ran_out_ = ran_out_promise_.get_future();
    thread_ = std::thread([this] {
      io_.run();
      ran_out_promise_.set_value();
    });
  }

  // Shutdown by cancellation: stop() drains the gateway and cancels all it
  // waits for, so the loop runs out of work and io_.run() returns by itself.
  // A loop still busy after the bound is a leak (a timer or a session that
  // stop() did not reach): it is reported, and then the loop is stopped.
  ~RunningGateway() {
    boost::asio::post(io_, [this] { gateway_->stop(); });
    if (ran_out_.wait_for(10s) != std::future_status::ready) {
      ADD_FAILURE() << "the gateway's io_context still had work 10 s after Gateway::stop()";
      io_.stop();
    }
    thread_.join();
  }

  std::filesystem::path pki_dir() const { return root_ / "pki"; }
  const std::filesystem::path& directory() const { return root_; }
  std::filesystem::path data_dir() const { return root_ / "data"; }
  std::uint16_t port() const { return port_; }
  const std::string& address() const { return address_; }
  server::Gateway& gateway() { return *gateway_; }

  node::NodeOptions options(const std::string& node_id) const {
    node::NodeOptions options;
    options.node_id = node_id;
    options.credentials = transport::node_credentials(pki_dir(), node_id);
    options.host = address_;
    options.port = port_;
    options.connect_timeout = 5s;
    return options;
  }

  std::unique_ptr<node::NodeClient> connect(const std::string& node_id) const {
    return std::make_unique<node::NodeClient>(options(node_id));
  }

  // Runs `f` on the gateway's thread and waits for its result.
  template <typename F>
  auto on_gateway_thread(F f) {
    std::promise<decltype(f())> result;
    boost::asio::post(io_, [&] { result.set_value(f()); });
    return result.get_future().get();
  }

 private:
  TemporaryDirectory directory_;
  std::filesystem::path root_;
  std::string address_;
  boost::asio::io_context io_;
  std::unique_ptr<server::Gateway> gateway_;
  std::uint16_t port_ = 0;
  std::promise<void> ran_out_promise_;
  std::future<void> ran_out_;
  std::thread thread_;
};

// Waits for the next event holding a T, skipping others (heartbeats never
// surface; Acks and Receipts do). nullopt on timeout.
template <typename T>
std::optional<T> next_of(node::NodeClient& client, std::chrono::milliseconds timeout = 5s) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (true) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= until) return std::nullopt;
    auto event = client.next_event(std::chrono::duration_cast<std::chrono::milliseconds>(until - now));
    if (!event) return std::nullopt;
    if (auto* value = std::get_if<T>(&event->payload)) return std::move(*value);
  }
}

// A message from `from` to `to` with the given portions ("SECRET/UK EYES ONLY" labels).
inline Message make_message(const std::string& from, std::vector<Addressee> to, const std::string& category,
                            const std::string& purpose, std::vector<std::pair<Label, std::string>> portions) {
  Message message;
  message.id = make_uuid();
  message.originator = from;
  message.addressees = std::move(to);
  message.category = category;
  message.purpose = purpose;
  message.title = "test message";
  int n = 0;
  for (auto& [label, body] : portions) message.portions.push_back({std::to_string(++n), label, body});
  return message;
}

}  // namespace icegate::testing
