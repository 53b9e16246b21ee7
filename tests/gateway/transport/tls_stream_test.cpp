// gateway/transport/tls_stream: our TLS stream over real loopback connections
// with the gateway's own TLS contexts (mutual TLS 1.3, certificates from
// gateway/pki), against itself and against Boost.Asio's ssl::stream as the
// peer, each connection bounded by a deadline so that a hang fails instead of
// blocking the suite.
#include "gateway/transport/tls_stream.hpp"

#include <algorithm>
#include <csignal>
#include <cstdint>
#include <filesystem>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include "gateway/pki/pki.hpp"
#include "gateway/transport/frame_stream.hpp"
#include "gateway/transport/tls.hpp"
#include "tests/support/temporary_directory.hpp"

namespace icegate::transport {
namespace {

namespace ssl = boost::asio::ssl;
namespace fs = std::filesystem;
using boost::system::error_code;
using icegate::testing::TemporaryDirectory;
using AsioStream = ssl::stream<tcp::socket>;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
// Only a guard against a hang: nothing here should take more than a second or two.
constexpr auto run_limit = std::chrono::seconds(60);

// Runs the io_context until it has no work left (or the guard runs out);
// true if it finished.
bool run(asio::io_context& io) {
  io.run_for(run_limit);
  return io.stopped();
}

// A connected pair of TCP sockets on 127.0.0.1.
struct SocketPair {
  tcp::socket server;
  tcp::socket client;
};

SocketPair connected_pair(asio::io_context& io) {
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  tcp::socket client(io);
  client.connect(acceptor.local_endpoint());
  tcp::socket server = acceptor.accept();
  return {std::move(server), std::move(client)};
}

// A byte pattern that a lost, repeated or reordered chunk cannot reproduce.
char pattern(std::size_t index, std::uint8_t seed) {
  return static_cast<char>((index * 131 + index / 251 + seed) & 0xff);
}

template <typename Server, typename Client>
void greet_both_ways(asio::io_context& io, Server& server, Client& client);

class TlsStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pki::init_ca(dir_);
    pki::issue_node(dir_, "ctu-wm");
    server_context_.emplace(make_server_context(dir_));
    client_context_.emplace(make_client_context(node_credentials(dir_, "ctu-wm")));
  }

  // Our stream or Asio's, on each end of a fresh connection.
  template <typename Server, typename Client>
  std::pair<std::unique_ptr<Server>, std::unique_ptr<Client>> streams(asio::io_context& io) {
    auto [server_socket, client_socket] = connected_pair(io);
    return {std::make_unique<Server>(std::move(server_socket), *server_context_),
            std::make_unique<Client>(std::move(client_socket), *client_context_)};
  }

  // Both handshakes, concurrently. Empty strings when both succeeded.
  template <typename Server, typename Client>
  std::pair<std::string, std::string> shake_hands(asio::io_context& io, Server& server, Client& client) {
    std::pair<std::string, std::string> errors{"(not finished)", "(not finished)"};
    auto side = [](auto& stream, ssl::stream_base::handshake_type type, std::string& error) -> asio::awaitable<void> {
      auto [handshake_error] = co_await stream.async_handshake(type, use_tuple);
      error = handshake_error ? describe(handshake_error) : "";
    };
    asio::co_spawn(io, side(server, ssl::stream_base::server, errors.first), asio::detached);
    asio::co_spawn(io, side(client, ssl::stream_base::client, errors.second), asio::detached);
    EXPECT_TRUE(run(io)) << "handshake did not finish";
    io.restart();
    return errors;
  }

  // A connected pair that has shaken hands (a failed handshake fails the test).
  template <typename Server, typename Client>
  std::pair<std::unique_ptr<Server>, std::unique_ptr<Client>> connected(asio::io_context& io) {
    auto pair = streams<Server, Client>(io);
    EXPECT_EQ(shake_hands(io, *pair.first, *pair.second), std::make_pair(std::string(), std::string()));
    return pair;
  }

  // A connected pair of these stream types shakes hands, then greets both ways.
  template <typename Server, typename Client>
  void shake_hands_and_greet() {
    asio::io_context io;
    auto pair = streams<Server, Client>(io);
    const auto [server_error, client_error] = shake_hands(io, *pair.first, *pair.second);
    ASSERT_EQ(server_error, "");
    ASSERT_EQ(client_error, "");
    greet_both_ways(io, *pair.first, *pair.second);
  }

  TemporaryDirectory temporary_;
  fs::path dir_ = temporary_ / "pki";
  std::optional<ssl::context> server_context_;
  std::optional<ssl::context> client_context_;
};

// One greeting each way after the handshake, and each side knows the other's name.
template <typename Server, typename Client>
void greet_both_ways(asio::io_context& io, Server& server, Client& client) {
  std::string server_got(5, '\0');
  std::string client_got(7, '\0');
  auto exchange = [](auto& stream, std::string text, std::string& into) -> asio::awaitable<void> {
    auto [write_error, written] = co_await asio::async_write(stream, asio::buffer(text), use_tuple);
    EXPECT_FALSE(write_error) << write_error.message();
    auto [read_error, read] = co_await asio::async_read(stream, asio::buffer(into), use_tuple);
    EXPECT_FALSE(read_error) << read_error.message();
  };
  asio::co_spawn(io, exchange(server, "welcome", server_got), asio::detached);
  asio::co_spawn(io, exchange(client, "hello", client_got), asio::detached);
  EXPECT_TRUE(run(io));
  io.restart();
  EXPECT_EQ(server_got, "hello");
  EXPECT_EQ(client_got, "welcome");
  EXPECT_EQ(SSL_version(server.native_handle()), TLS1_3_VERSION);
  EXPECT_EQ(peer_common_name(server.native_handle()), std::optional<std::string>("ctu-wm"));
  EXPECT_EQ(peer_common_name(client.native_handle()), std::optional<std::string>("gateway"));
}

TEST_F(TlsStreamTest, ShakesHandsWithItself) { shake_hands_and_greet<TlsStream, TlsStream>(); }

TEST_F(TlsStreamTest, ShakesHandsWithAsioClient) { shake_hands_and_greet<TlsStream, AsioStream>(); }

TEST_F(TlsStreamTest, ShakesHandsWithAsioServer) { shake_hands_and_greet<AsioStream, TlsStream>(); }

TEST_F(TlsStreamTest, ClientConnectedThroughLowestLayerShakesHands) {
  // As the node client does: the stream first, then connect its socket.
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  TlsStream client(io, *client_context_);
  client.lowest_layer().connect(acceptor.local_endpoint());
  TlsStream server(acceptor.accept(), *server_context_);
  const auto [server_error, client_error] = shake_hands(io, server, client);
  ASSERT_EQ(server_error, "");
  ASSERT_EQ(client_error, "");
  greet_both_ways(io, server, client);
}

// Both ends write several MB to each other at once while reading what the
// other writes, each with a reader and a writer coroutine on the same stream
// (as the gateway's sessions do). The socket buffers fill, so each writer
// waits for writability while its reader waits for readability. Midway each
// writer asks for a TLS 1.3 KeyUpdate, which the other side must answer from
// its next write while its own data is still flowing.
template <typename Server, typename Client>
void transfer_in_both_directions(asio::io_context& io, Server& server, Client& client) {
  constexpr std::size_t total = 6 * 1024 * 1024;
  struct Side {
    std::size_t written = 0;
    std::size_t received = 0;
    std::size_t mismatch_at = SIZE_MAX;
    std::string error;
  };
  Side server_side;
  Side client_side;
  auto writer = [](auto& stream, std::uint8_t seed, Side& side) -> asio::awaitable<void> {
    std::vector<char> chunk;
    std::size_t sizes[] = {1, 700, 16384, 16385, 65536, 100000, 3};
    bool key_updated = false;
    for (std::size_t round = 0; side.written < total; ++round) {
      const std::size_t size = std::min(sizes[round % std::size(sizes)], total - side.written);
      chunk.resize(size);
      for (std::size_t i = 0; i < size; ++i) chunk[i] = pattern(side.written + i, seed);
      if (!key_updated && side.written > total / 2) {
        key_updated = true;
        if (SSL_key_update(stream.native_handle(), SSL_KEY_UPDATE_REQUESTED) != 1) side.error = "key update refused";
      }
      auto [error, written] = co_await asio::async_write(stream, asio::buffer(chunk), use_tuple);
      if (error) {
        side.error = "write: " + error.message();
        co_return;
      }
      side.written += written;
    }
  };
  auto reader = [](auto& stream, std::uint8_t seed, Side& side) -> asio::awaitable<void> {
    std::vector<char> chunk(50000);
    while (side.received < total) {
      auto [error, read] = co_await stream.async_read_some(asio::buffer(chunk), use_tuple);
      if (error) {
        side.error = "read: " + error.message();
        co_return;
      }
      for (std::size_t i = 0; i < read && side.mismatch_at == SIZE_MAX; ++i)
        if (chunk[i] != pattern(side.received + i, seed)) side.mismatch_at = side.received + i;
      side.received += read;
    }
  };
  asio::co_spawn(io, writer(server, 1, server_side), asio::detached);
  asio::co_spawn(io, reader(server, 2, server_side), asio::detached);
  asio::co_spawn(io, writer(client, 2, client_side), asio::detached);
  asio::co_spawn(io, reader(client, 1, client_side), asio::detached);
  EXPECT_TRUE(run(io)) << "transfer did not finish: server wrote " << server_side.written << " read "
                       << server_side.received << ", client wrote " << client_side.written << " read "
                       << client_side.received;
  io.restart();
  for (const Side* side : {&server_side, &client_side}) {
    EXPECT_EQ(side->error, "");
    EXPECT_EQ(side->written, total);
    EXPECT_EQ(side->received, total);
    EXPECT_EQ(side->mismatch_at, SIZE_MAX);
  }
}

TEST_F(TlsStreamTest, TransfersMegabytesBothWaysAtOnce) {
  asio::io_context io;
  auto [server_owner, client_owner] = connected<TlsStream, TlsStream>(io);
  auto& server = *server_owner;
  auto& client = *client_owner;
  transfer_in_both_directions(io, server, client);
}

TEST_F(TlsStreamTest, TransfersMegabytesBothWaysAtOnceWithAsioPeer) {
  asio::io_context io;
  auto [server_owner, client_owner] = connected<TlsStream, AsioStream>(io);
  auto& server = *server_owner;
  auto& client = *client_owner;
  transfer_in_both_directions(io, server, client);
}

TEST_F(TlsStreamTest, PendingWriteToAPeerThatDoesNotReadLeavesReadsFlowing) {
  // The server's writer is stuck on a full socket; the client, not reading
  // yet, sends a message, which the server's reader must still receive.
  asio::io_context io;
  auto [server_owner, client_owner] = connected<TlsStream, TlsStream>(io);
  auto& server = *server_owner;
  auto& client = *client_owner;
  const std::string bulk(8 * 1024 * 1024, 'x');
  std::size_t bulk_written = 0;
  std::size_t bulk_read = 0;
  std::string note(4, '\0');
  bool note_arrived_while_writing = false;
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    auto [error, written] = co_await asio::async_write(server, asio::buffer(bulk), use_tuple);
    EXPECT_FALSE(error) << error.message();
    bulk_written = written;
  }, asio::detached);
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    auto [error, read] = co_await asio::async_read(server, asio::buffer(note), use_tuple);
    EXPECT_FALSE(error) << error.message();
    note_arrived_while_writing = bulk_written == 0;
  }, asio::detached);
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    auto [error, written] = co_await asio::async_write(client, asio::buffer(std::string_view("note")), use_tuple);
    EXPECT_FALSE(error) << error.message();
    // Only once the note is in, start draining the bulk.
    while (note != "note") {
      asio::steady_timer pause(io, std::chrono::milliseconds(5));
      co_await pause.async_wait(use_tuple);
    }
    std::vector<char> chunk(65536);
    while (bulk_read < bulk.size()) {
      auto [read_error, read] = co_await client.async_read_some(asio::buffer(chunk), use_tuple);
      if (read_error) break;
      bulk_read += read;
    }
  }, asio::detached);
  ASSERT_TRUE(run(io));
  EXPECT_EQ(note, "note");
  EXPECT_TRUE(note_arrived_while_writing);
  EXPECT_EQ(bulk_written, bulk.size());
  EXPECT_EQ(bulk_read, bulk.size());
}

// Reads on `stream` until an error, which it returns.
template <typename Stream>
error_code read_until_error(asio::io_context& io, Stream& stream) {
  error_code result;
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    char byte;
    while (true) {
      auto [error, read] = co_await stream.async_read_some(asio::buffer(&byte, 1), use_tuple);
      if (error) {
        result = error;
        co_return;
      }
    }
  }, asio::detached);
  EXPECT_TRUE(run(io));
  io.restart();
  return result;
}

// The client shuts down: the server reads end of file, answers with its own
// close_notify (an Asio client waits for it), and both shutdowns succeed.
template <typename Client>
void shutdown_is_end_of_file(asio::io_context& io, TlsStream& server, Client& client) {
  error_code server_read_error;
  error_code server_shutdown_error;
  error_code client_shutdown_error = asio::error::would_block;  // until it completes
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    char byte;
    std::tie(server_read_error, std::ignore) = co_await server.async_read_some(asio::buffer(&byte, 1), use_tuple);
    std::tie(server_shutdown_error) = co_await server.async_shutdown(use_tuple);
  }, asio::detached);
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    std::tie(client_shutdown_error) = co_await client.async_shutdown(use_tuple);
  }, asio::detached);
  ASSERT_TRUE(run(io));
  EXPECT_EQ(server_read_error, asio::error::eof) << server_read_error.message();
  EXPECT_FALSE(server_shutdown_error) << server_shutdown_error.message();
  EXPECT_FALSE(client_shutdown_error) << client_shutdown_error.message();
}

TEST_F(TlsStreamTest, CleanShutdownIsEndOfFile) {
  asio::io_context io;
  auto [server, client] = connected<TlsStream, TlsStream>(io);
  shutdown_is_end_of_file(io, *server, *client);
}

TEST_F(TlsStreamTest, AsioPeersShutdownIsEndOfFile) {
  asio::io_context io;
  auto [server, client] = connected<TlsStream, AsioStream>(io);
  shutdown_is_end_of_file(io, *server, *client);
}

TEST_F(TlsStreamTest, PeerClosingTheSocketWithoutCloseNotifyIsTruncation) {
  asio::io_context io;
  auto [server_owner, client_owner] = connected<TlsStream, TlsStream>(io);
  auto& server = *server_owner;
  auto& client = *client_owner;
  client.lowest_layer().close();
  const error_code error = read_until_error(io, server);
  EXPECT_EQ(error, ssl::error::stream_truncated) << error.message();
  EXPECT_TRUE(is_disconnect(error)) << error.message();
}

TEST_F(TlsStreamTest, WritingToAVanishedPeerIsAnErrorNotASignal) {
  // OpenSSL's own socket BIO would write with write(2) and raise SIGPIPE;
  // ours must report the broken connection instead. SIGPIPE left at its
  // default action would end this test process.
  std::signal(SIGPIPE, SIG_DFL);
  asio::io_context io;
  auto [server_owner, client_owner] = connected<TlsStream, TlsStream>(io);
  auto& server = *server_owner;
  auto& client = *client_owner;
  client.lowest_layer().close();
  error_code write_error;
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    const std::string chunk(16384, 'y');
    for (int i = 0; i < 1000 && !write_error; ++i)
      std::tie(write_error, std::ignore) = co_await asio::async_write(server, asio::buffer(chunk), use_tuple);
  }, asio::detached);
  ASSERT_TRUE(run(io));
  EXPECT_TRUE(write_error == asio::error::broken_pipe || write_error == asio::error::connection_reset)
      << write_error.message();
  EXPECT_TRUE(is_disconnect(write_error)) << write_error.message();
}

TEST_F(TlsStreamTest, ClientFromAnotherCaFailsWithACertificateError) {
  const fs::path other = temporary_ / "other";
  pki::init_ca(other);
  pki::issue_node(other, "intruder");
  ssl::context intruder = make_client_context(
      {pki::ca_paths(dir_).certificate, pki::node_paths(other, "intruder").certificate, pki::node_paths(other, "intruder").key});
  asio::io_context io;
  auto [server_socket, client_socket] = connected_pair(io);
  TlsStream server(std::move(server_socket), *server_context_);
  TlsStream client(std::move(client_socket), intruder);
  const auto [server_error, client_error] = shake_hands(io, server, client);
  EXPECT_NE(server_error.find("certificate"), std::string::npos) << server_error;
  EXPECT_EQ(SSL_get_verify_result(server.native_handle()), X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
  // In TLS 1.3 the client learns of it from the alert, on its first read.
  const error_code client_read = client_error.empty() ? read_until_error(io, client) : error_code();
  if (client_error.empty()) {
    EXPECT_EQ(client_read.category(), asio::error::get_ssl_category()) << client_read.message();
    EXPECT_NE(describe(client_read).find("alert"), std::string::npos) << describe(client_read);
  }
}

TEST_F(TlsStreamTest, CancelAbortsAPendingRead) {
  asio::io_context io;
  auto [server_owner, client_owner] = connected<TlsStream, TlsStream>(io);
  auto& server = *server_owner;
  auto& client = *client_owner;
  error_code read_error;
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    char byte;
    std::tie(read_error, std::ignore) = co_await server.async_read_some(asio::buffer(&byte, 1), use_tuple);
  }, asio::detached);
  io.poll();  // the read is now waiting for the socket
  server.lowest_layer().cancel();
  ASSERT_TRUE(run(io));
  io.restart();
  EXPECT_EQ(read_error, asio::error::operation_aborted) << read_error.message();

  // The connection is still usable after a cancelled read.
  std::string got(2, '\0');
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    co_await asio::async_write(client, asio::buffer(std::string_view("ok")), use_tuple);
    co_await asio::async_read(server, asio::buffer(got), use_tuple);
  }, asio::detached);
  ASSERT_TRUE(run(io));
  EXPECT_EQ(got, "ok");
}

TEST_F(TlsStreamTest, ClosingTheSocketEndsPendingAndLaterOperations) {
  // As the Deadline watchdog does after its grace period.
  asio::io_context io;
  auto [server_owner, client_owner] = connected<TlsStream, TlsStream>(io);
  auto& server = *server_owner;
  error_code pending_error;
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    char byte;
    std::tie(pending_error, std::ignore) = co_await server.async_read_some(asio::buffer(&byte, 1), use_tuple);
  }, asio::detached);
  io.poll();
  server.lowest_layer().close();
  ASSERT_TRUE(run(io));
  io.restart();
  EXPECT_TRUE(pending_error == asio::error::operation_aborted || pending_error == asio::error::bad_descriptor)
      << pending_error.message();
  EXPECT_TRUE(is_disconnect(pending_error));

  // Later reads and writes fail at once, and never touch the descriptor
  // number (which another connection may own by now).
  tcp::socket reuser(io, tcp::v4());
  error_code later_read;
  error_code later_write;
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    char byte;
    std::tie(later_read, std::ignore) = co_await server.async_read_some(asio::buffer(&byte, 1), use_tuple);
    std::tie(later_write, std::ignore) = co_await server.async_write_some(asio::buffer("x", 1), use_tuple);
  }, asio::detached);
  ASSERT_TRUE(run(io));
  EXPECT_EQ(later_read, asio::error::bad_descriptor) << later_read.message();
  EXPECT_EQ(later_write, asio::error::bad_descriptor) << later_write.message();
}

TEST_F(TlsStreamTest, HandshakeOnAnUnconnectedStreamFails) {
  asio::io_context io;
  TlsStream stream(io.get_executor(), *client_context_);
  error_code handshake_error;
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    std::tie(handshake_error) = co_await stream.async_handshake(ssl::stream_base::client, use_tuple);
  }, asio::detached);
  ASSERT_TRUE(run(io));
  EXPECT_EQ(handshake_error, asio::error::bad_descriptor) << handshake_error.message();
}

TEST_F(TlsStreamTest, CompletesPlainCallbacksOutsideTheInitiatingCall) {
  // Any completion token works; a result ready at once is still delivered
  // later, from the io_context, not from inside async_read_some.
  asio::io_context io;
  auto [server_owner, client_owner] = connected<TlsStream, TlsStream>(io);
  auto& server = *server_owner;
  auto& client = *client_owner;
  asio::co_spawn(io, asio::async_write(client, asio::buffer(std::string_view("abc")), asio::use_awaitable),
                 asio::detached);
  ASSERT_TRUE(run(io));
  io.restart();
  char first[1];
  bool initiating = true;
  bool completed_inside = false;
  std::size_t got = 0;
  server.async_read_some(asio::buffer(first), [&](error_code error, std::size_t read) {
    completed_inside = initiating;
    EXPECT_FALSE(error) << error.message();
    got = read;
  });
  initiating = false;
  ASSERT_TRUE(run(io));
  io.restart();
  EXPECT_FALSE(completed_inside);
  EXPECT_EQ(got, 1u);
  // The rest is already buffered in OpenSSL: the same holds.
  char rest[2];
  initiating = true;
  server.async_read_some(asio::buffer(rest), [&](error_code error, std::size_t read) {
    completed_inside = initiating;
    EXPECT_FALSE(error);
    got = read;
  });
  initiating = false;
  ASSERT_TRUE(run(io));
  EXPECT_FALSE(completed_inside);
  EXPECT_EQ(got, 2u);
  EXPECT_EQ(std::string(rest, 2), "bc");
}

}  // namespace
}  // namespace icegate::transport
