// gateway/transport/tls over real loopback connections: a Boost.Asio server
// built with make_server_context and clients built with make_client_context
// (or deliberately wrong ones), each handshake bounded by a deadline.
//
// In TLS 1.3 the client finishes its handshake before the server has checked
// the client's certificate; a refused client learns it from the alert on its
// first read. So "the client got through" means: it read the server's greeting.
#include "gateway/transport/tls.hpp"

#include <sys/stat.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <string>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include "gateway/pki/pki.hpp"
#include "tests/support/temporary_directory.hpp"

namespace icegate::transport {
namespace {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
namespace fs = std::filesystem;
using asio::ip::tcp;
using icegate::testing::TemporaryDirectory;

constexpr auto handshake_deadline = std::chrono::seconds(10);
constexpr std::string_view greeting = "welcome";
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

struct SideOutcome {
  bool handshake_ok = false;
  bool exchange_ok = false;  // server: sent the greeting; client: received it
  std::string error;
  int version = 0;
  long verify_result = X509_V_OK;
  std::optional<std::string> peer_name;
};

struct ConnectionOutcome {
  SideOutcome server;
  SideOutcome client;
  bool timed_out = false;
};

std::string describe(const SideOutcome& side) {
  std::ostringstream text;
  text << "handshake_ok=" << side.handshake_ok << " exchange_ok=" << side.exchange_ok << " error=\"" << side.error
       << "\" verify=" << X509_verify_cert_error_string(side.verify_result);
  return text.str();
}

std::string describe(const ConnectionOutcome& outcome) {
  return "server: " + describe(outcome.server) + "\nclient: " + describe(outcome.client) +
         (outcome.timed_out ? "\n(timed out)" : "");
}

void record_handshake(SideOutcome& side, ssl::stream<tcp::socket>& stream, const boost::system::error_code& error) {
  side.verify_result = SSL_get_verify_result(stream.native_handle());
  if (error) {
    side.error = error.message();
    return;
  }
  side.handshake_ok = true;
  side.version = SSL_version(stream.native_handle());
  side.peer_name = peer_common_name(stream.native_handle());
}

asio::awaitable<void> serve_once(tcp::acceptor& acceptor, ssl::context& context, SideOutcome& side) {
  auto [accept_error, socket] = co_await acceptor.async_accept(use_tuple);
  if (accept_error) {
    side.error = accept_error.message();
    co_return;
  }
  ssl::stream<tcp::socket> stream(std::move(socket), context);
  auto [handshake_error] = co_await stream.async_handshake(ssl::stream_base::server, use_tuple);
  record_handshake(side, stream, handshake_error);
  if (handshake_error) co_return;
  auto [write_error, written] = co_await asio::async_write(stream, asio::buffer(greeting), use_tuple);
  side.exchange_ok = !write_error && written == greeting.size();
  co_await stream.async_shutdown(use_tuple);
}

asio::awaitable<void> connect_once(tcp::endpoint endpoint, ssl::context& context, SideOutcome& side,
                                   std::optional<std::string> verify_host) {
  tcp::socket socket(co_await asio::this_coro::executor);
  auto [connect_error] = co_await socket.async_connect(endpoint, use_tuple);
  if (connect_error) {
    side.error = connect_error.message();
    co_return;
  }
  ssl::stream<tcp::socket> stream(std::move(socket), context);
  if (verify_host) stream.set_verify_callback(ssl::host_name_verification(*verify_host));
  auto [handshake_error] = co_await stream.async_handshake(ssl::stream_base::client, use_tuple);
  record_handshake(side, stream, handshake_error);
  if (handshake_error) co_return;
  std::string received(greeting.size(), '\0');
  auto [read_error, read] = co_await asio::async_read(stream, asio::buffer(received), use_tuple);
  if (read_error) {
    side.error = read_error.message();
    co_return;
  }
  side.exchange_ok = received == greeting;
  co_await stream.async_shutdown(use_tuple);
}

// One connection over 127.0.0.1 on an ephemeral port; never blocks for
// longer than handshake_deadline.
ConnectionOutcome connect(ssl::context& server_context, ssl::context& client_context,
                          std::optional<std::string> verify_host = std::nullopt) {
  ConnectionOutcome outcome;
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  asio::co_spawn(io, serve_once(acceptor, server_context, outcome.server), asio::detached);
  asio::co_spawn(io, connect_once(acceptor.local_endpoint(), client_context, outcome.client, verify_host),
                 asio::detached);
  io.run_for(handshake_deadline);
  outcome.timed_out = !io.stopped();
  return outcome;
}

bool got_through(const ConnectionOutcome& outcome) {
  return !outcome.timed_out && outcome.server.handshake_ok && outcome.client.exchange_ok;
}

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pki::init_ca(dir_);
    pki::issue_node(dir_, "ctu-wm");
  }

  TemporaryDirectory temporary_;
  fs::path dir_ = temporary_ / "pki";
};

TEST_F(TlsTest, NodeAndGatewayShakeHandsOverTls13AndLearnEachOthersNames) {
  ssl::context server = make_server_context(dir_);
  ssl::context client = make_client_context(node_credentials(dir_, "ctu-wm"));
  const ConnectionOutcome outcome = connect(server, client);
  ASSERT_TRUE(got_through(outcome)) << describe(outcome);
  EXPECT_EQ(outcome.server.version, TLS1_3_VERSION);
  EXPECT_EQ(outcome.client.version, TLS1_3_VERSION);
  EXPECT_EQ(outcome.server.peer_name, std::optional<std::string>("ctu-wm"));
  EXPECT_EQ(outcome.client.peer_name, std::optional<std::string>("gateway"));
}

TEST(TlsEd25519, Ed25519CertificatesShakeHandsAndNameThePeer) {
  TemporaryDirectory temporary;
  const fs::path dir = temporary / "pki";
  pki::init_ca(dir, "icegate test CA", false, pki::KeyType::ed25519);
  pki::issue_node(dir, "ctu-wm", pki::IssueOptions{.key_type = pki::KeyType::ed25519});
  ssl::context server = make_server_context(dir);
  ssl::context client = make_client_context(node_credentials(dir, "ctu-wm"));
  const ConnectionOutcome outcome = connect(server, client);
  ASSERT_TRUE(got_through(outcome)) << describe(outcome);
  EXPECT_EQ(outcome.server.peer_name, std::optional<std::string>("ctu-wm"));
  EXPECT_EQ(outcome.client.peer_name, std::optional<std::string>("gateway"));
}

TEST_F(TlsTest, GatewayCertificateMatchesLocalhostAndLoopbackNames) {
  ssl::context server = make_server_context(dir_);
  ssl::context client = make_client_context(node_credentials(dir_, "ctu-wm"));
  for (const std::string host : {"localhost", "127.0.0.1"}) {
    const ConnectionOutcome outcome = connect(server, client, host);
    EXPECT_TRUE(got_through(outcome)) << host << "\n" << describe(outcome);
  }
  const ConnectionOutcome wrong_name = connect(server, client, std::string("gateway.example"));
  EXPECT_FALSE(wrong_name.client.handshake_ok) << describe(wrong_name);
}

TEST_F(TlsTest, ClientFromAnotherCaIsRefused) {
  const fs::path other = temporary_ / "other";
  pki::init_ca(other);
  pki::issue_node(other, "intruder");
  ssl::context server = make_server_context(dir_);
  // Trusts our CA (so it accepts the gateway) but presents a foreign certificate.
  ssl::context client = make_client_context({pki::ca_paths(dir_).certificate, pki::node_paths(other, "intruder").certificate,
                                             pki::node_paths(other, "intruder").key});
  const ConnectionOutcome outcome = connect(server, client);
  EXPECT_FALSE(outcome.timed_out);
  EXPECT_FALSE(outcome.server.handshake_ok) << describe(outcome);
  EXPECT_FALSE(outcome.client.exchange_ok) << describe(outcome);
  EXPECT_EQ(outcome.server.verify_result, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY) << describe(outcome);
}

TEST_F(TlsTest, ClientWithExpiredCertificateIsRefused) {
  pki::issue_node(dir_, "late", pki::IssueOptions{.already_expired = true});
  ssl::context server = make_server_context(dir_);
  ssl::context client = make_client_context(node_credentials(dir_, "late"));
  const ConnectionOutcome outcome = connect(server, client);
  EXPECT_FALSE(outcome.timed_out);
  EXPECT_FALSE(outcome.server.handshake_ok) << describe(outcome);
  EXPECT_FALSE(outcome.client.exchange_ok) << describe(outcome);
  EXPECT_EQ(outcome.server.verify_result, X509_V_ERR_CERT_HAS_EXPIRED) << describe(outcome);
}

TEST_F(TlsTest, RevokedNodeIsRefusedOnceTheCrlExistsAndOthersStillGetThrough) {
  pki::issue_node(dir_, "other-node");
  ssl::context revoked_client = make_client_context(node_credentials(dir_, "ctu-wm"));
  ssl::context other_client = make_client_context(node_credentials(dir_, "other-node"));
  {
    ssl::context server = make_server_context(dir_);
    const ConnectionOutcome before = connect(server, revoked_client);
    ASSERT_TRUE(got_through(before)) << describe(before);
  }

  pki::revoke_node(dir_, "ctu-wm");
  ssl::context server = make_server_context(dir_);  // reads DIR/crl.pem now
  const ConnectionOutcome revoked = connect(server, revoked_client);
  EXPECT_FALSE(revoked.timed_out);
  EXPECT_FALSE(revoked.server.handshake_ok) << describe(revoked);
  EXPECT_FALSE(revoked.client.exchange_ok) << describe(revoked);
  EXPECT_EQ(revoked.server.verify_result, X509_V_ERR_CERT_REVOKED) << describe(revoked);

  const ConnectionOutcome other = connect(server, other_client);
  EXPECT_TRUE(got_through(other)) << describe(other);
  EXPECT_EQ(other.server.peer_name, std::optional<std::string>("other-node"));
}

TEST_F(TlsTest, ClientLimitedToTls12IsRefused) {
  ssl::context server = make_server_context(dir_);
  ssl::context client = make_client_context(node_credentials(dir_, "ctu-wm"));
  ASSERT_EQ(SSL_CTX_set_min_proto_version(client.native_handle(), TLS1_2_VERSION), 1);
  ASSERT_EQ(SSL_CTX_set_max_proto_version(client.native_handle(), TLS1_2_VERSION), 1);
  const ConnectionOutcome outcome = connect(server, client);
  EXPECT_FALSE(outcome.timed_out);
  EXPECT_FALSE(outcome.server.handshake_ok) << describe(outcome);
  EXPECT_FALSE(outcome.client.handshake_ok) << describe(outcome);
}

TEST_F(TlsTest, ClientWithoutCertificateIsRefused) {
  ssl::context server = make_server_context(dir_);
  ssl::context client(ssl::context::tls_client);
  client.set_verify_mode(ssl::verify_peer);
  client.load_verify_file(pki::ca_paths(dir_).certificate.string());
  const ConnectionOutcome outcome = connect(server, client);
  EXPECT_FALSE(outcome.timed_out);
  EXPECT_FALSE(outcome.server.handshake_ok) << describe(outcome);
  EXPECT_FALSE(outcome.client.exchange_ok) << describe(outcome);
}

TEST_F(TlsTest, ClientRefusesAGatewayFromAnotherCa) {
  const fs::path other = temporary_ / "other";
  pki::init_ca(other);
  ssl::context server = make_server_context(other);
  ssl::context client = make_client_context(node_credentials(dir_, "ctu-wm"));
  const ConnectionOutcome outcome = connect(server, client);
  EXPECT_FALSE(outcome.timed_out);
  EXPECT_FALSE(outcome.client.handshake_ok) << describe(outcome);
  // OpenSSL's server completes its chain from its trust store, so the foreign
  // root usually arrives too: "self-signed in chain" rather than "no issuer".
  EXPECT_THAT(outcome.client.verify_result, ::testing::AnyOf(X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN,
                                                             X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY))
      << describe(outcome);
  EXPECT_FALSE(outcome.server.handshake_ok) << describe(outcome);
}

TEST_F(TlsTest, ClientRefusesANodeCertificatePosingAsTheGateway) {
  // A directory whose "gateway" is really a node (clientAuth only).
  const fs::path impostor = temporary_ / "impostor";
  fs::create_directories(impostor);
  fs::copy_file(pki::ca_paths(dir_).certificate, pki::ca_paths(impostor).certificate);
  fs::copy_file(pki::node_paths(dir_, "ctu-wm").certificate, pki::gateway_paths(impostor).certificate);
  fs::copy_file(pki::node_paths(dir_, "ctu-wm").key, pki::gateway_paths(impostor).key);
  ssl::context server = make_server_context(impostor);
  ssl::context client = make_client_context(node_credentials(dir_, "ctu-wm"));
  const ConnectionOutcome outcome = connect(server, client);
  EXPECT_FALSE(outcome.timed_out);
  EXPECT_FALSE(outcome.client.handshake_ok) << describe(outcome);
  EXPECT_EQ(outcome.client.verify_result, X509_V_ERR_INVALID_PURPOSE) << describe(outcome);
}

TEST_F(TlsTest, KeyLogFileReceivesNssKeyLogLines) {
  const fs::path key_log = temporary_ / "keys.log";
  ASSERT_EQ(::setenv("SSLKEYLOGFILE", key_log.c_str(), 1), 0);
  ssl::context server = make_server_context(dir_);
  ssl::context client = make_client_context(node_credentials(dir_, "ctu-wm"));
  const ConnectionOutcome outcome = connect(server, client);
  ::unsetenv("SSLKEYLOGFILE");
  ASSERT_TRUE(got_through(outcome)) << describe(outcome);

  ASSERT_TRUE(fs::exists(key_log));
  EXPECT_EQ(fs::status(key_log).permissions(), fs::perms::owner_read | fs::perms::owner_write);
  std::ifstream file(key_log);
  std::string line;
  int client_handshake = 0;
  int server_application = 0;
  while (std::getline(file, line)) {
    if (line.rfind("CLIENT_HANDSHAKE_TRAFFIC_SECRET ", 0) == 0) ++client_handshake;
    if (line.rfind("SERVER_TRAFFIC_SECRET_0 ", 0) == 0) ++server_application;
  }
  EXPECT_GE(client_handshake, 1);
  EXPECT_GE(server_application, 1);
}

// --- configuration errors ------------------------------------------------------

std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const std::runtime_error& error) {
    return error.what();
  }
  return "(no error)";
}

TEST(TlsContextErrors, MissingFilesAreNamed) {
  TemporaryDirectory temporary;
  const fs::path empty = temporary / "empty";
  fs::create_directories(empty);
  EXPECT_NE(error_of([&] { make_server_context(empty); }).find((empty / "ca.crt").string()), std::string::npos);

  const fs::path dir = temporary / "pki";
  pki::init_ca(dir);
  fs::remove(pki::gateway_paths(dir).key);
  EXPECT_NE(error_of([&] { make_server_context(dir); }).find((dir / "gateway.key").string()), std::string::npos);

  const std::string client_error = error_of([&] { make_client_context(node_credentials(dir, "absent")); });
  EXPECT_NE(client_error.find((dir / "nodes" / "absent.crt").string()), std::string::npos) << client_error;
  EXPECT_THROW(node_credentials(dir, "../absent"), std::runtime_error);
}

TEST(TlsContextErrors, MismatchedKeyIsNamed) {
  TemporaryDirectory temporary;
  const fs::path dir = temporary / "pki";
  pki::init_ca(dir);
  pki::issue_node(dir, "a");
  pki::issue_node(dir, "b");
  const std::string error = error_of([&] {
    make_client_context({pki::ca_paths(dir).certificate, pki::node_paths(dir, "a").certificate,
                         pki::node_paths(dir, "b").key});
  });
  EXPECT_NE(error.find(pki::node_paths(dir, "b").key.string()), std::string::npos) << error;
}

TEST(TlsContextErrors, CrlFromAnotherCaIsRefusedAtLoad) {
  TemporaryDirectory temporary;
  const fs::path dir = temporary / "pki";
  const fs::path other = temporary / "other";
  pki::init_ca(dir);
  pki::init_ca(other);
  pki::issue_node(other, "x");
  pki::revoke_node(other, "x");
  fs::copy_file(pki::crl_path(other), pki::crl_path(dir));
  const std::string error = error_of([&] { make_server_context(dir); });
  EXPECT_NE(error.find(pki::crl_path(dir).string()), std::string::npos) << error;
}

}  // namespace
}  // namespace icegate::transport
