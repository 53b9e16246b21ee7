// The HTTP server with a Site of its own (no gateway): requests reach the
// Site, WebSocket upgrades on any path ask it for a feed, and with HTTPS every
// connection is TLS, checked by real TLS clients (Boost.Beast over OpenSSL)
// that verify the chain against the exercise CA and the name against the SANs.
#include <openssl/ssl.h>

#include <chrono>
#include <future>
#include <map>
#include <optional>
#include <thread>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "gateway/http/http_server.hpp"
#include "gateway/http/site.hpp"
#include "gateway/pki/pki.hpp"
#include "tests/support/run_for.hpp"
#include "tests/support/temporary_directory.hpp"

namespace icegate::testing {
namespace {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace websocket = boost::beast::websocket;
namespace fs = std::filesystem;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

// ---- a Site of our own ---------------------------------------------------------------

class TestFeed final : public http::Feed {
 public:
  std::uint64_t subscribe(Subscriber subscriber) override {
    subscribers_[next_] = std::move(subscriber);
    return next_++;
  }
  void unsubscribe(std::uint64_t id) override { subscribers_.erase(id); }
  std::vector<EventText> events_after(std::uint64_t seq) const override {
    std::vector<EventText> out;
    for (std::size_t i = seq; i < events_.size(); ++i) out.push_back(events_[i]);
    return out;
  }
  // Event number n (1-based) is events_[n - 1].
  void publish(std::string text) {
    auto event = std::make_shared<const std::string>(std::move(text));
    events_.push_back(event);
    const auto subscribers = subscribers_;
    for (const auto& [id, subscriber] : subscribers) subscriber(event);
  }
  std::size_t subscriber_count() const { return subscribers_.size(); }

 private:
  std::map<std::uint64_t, Subscriber> subscribers_;
  std::uint64_t next_ = 1;
  std::vector<EventText> events_;
};

// Answers under /s/seat-one/ only, as an exercise host answers one seat's key.
class TestSite final : public http::Site {
 public:
  http::Response handle(const http::Request& request) override {
    requests.push_back(request);
    const auto path = http::target_path(request.target);
    if (path == "/s/seat-one/page" && request.method == "GET") {
      http::Response page;
      page.content_type = "text/html; charset=utf-8";
      page.body = "<p>the seat's page</p>";
      return page;
    }
    if (path == "/s/seat-one/api/echo" && request.method == "POST") return http::json_response(request.body, 202);
    return http::error_response(404, "no seat, evaluator or facilitator has this key");
  }
  std::variant<http::Feed*, http::Response> open_feed(const http::Request& request) override {
    feed_requests.push_back(request);
    if (http::target_path(request.target) == "/s/seat-one/feed") return &feed;
    return http::error_response(403, "not your feed");
  }

  TestFeed feed;
  std::vector<http::Request> requests, feed_requests;
};

// The site and its server on an io_context thread of their own.
class SiteServer {
 public:
  template <typename F>
  auto on_thread(F f) -> decltype(f()) {
    std::promise<decltype(f())> done;
    asio::post(io_, [&] { done.set_value(f()); });
    return done.get_future().get();
  }
  explicit SiteServer(http::HttpServerOptions options = {}) : work_(io_.get_executor()) {
    options.listen = {asio::ip::make_address("127.0.0.1"), 0};
    server_ = std::make_unique<http::HttpServer>(io_, site_, options);
    server_->start();
    port_ = server_->local_endpoint().port();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~SiteServer() {
    stop();
    work_.reset();
    io_.stop();
    thread_.join();
    server_.reset();
  }
  void stop() {
    on_thread([&] {
      server_->stop();
      return 0;
    });
  }
  void publish(const std::string& text) {
    on_thread([&] {
      site_.feed.publish(text);
      return 0;
    });
  }
  std::size_t subscribers() {
    return on_thread([&] { return site_.feed.subscriber_count(); });
  }
  std::vector<http::Request> requests() {
    return on_thread([&] { return site_.requests; });
  }
  std::uint16_t port() const { return port_; }

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  TestSite site_;
  std::unique_ptr<http::HttpServer> server_;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

// ---- clients -------------------------------------------------------------------------

struct HttpResult {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;
  std::string tls_version;  // "TLSv1.3", ...; empty over plain HTTP
};

template <typename Stream>
asio::awaitable<HttpResult> exchange(Stream& stream, std::uint16_t port, bhttp::verb method, const std::string& target,
                                     const std::string& body) {
  bhttp::request<bhttp::string_body> req{method, target, 11};
  req.set(bhttp::field::host, fmt::format("127.0.0.1:{}", port));
  if (!body.empty()) {
    req.set(bhttp::field::content_type, "application/json");
    req.body() = body;
  }
  req.prepare_payload();
  co_await bhttp::async_write(stream, req, asio::use_awaitable);
  beast::flat_buffer buffer;
  bhttp::response<bhttp::string_body> res;
  co_await bhttp::async_read(stream, buffer, res, asio::use_awaitable);
  HttpResult result;
  result.status = static_cast<int>(res.result_int());
  result.body = res.body();
  for (const auto& field : res) result.headers[std::string(field.name_string())] = std::string(field.value());
  co_return result;
}

HttpResult plain_request(std::uint16_t port, bhttp::verb method, const std::string& target, const std::string& body = {}) {
  return run_for<HttpResult>([&]() -> asio::awaitable<HttpResult> {
    beast::tcp_stream stream(co_await asio::this_coro::executor);
    stream.expires_after(10s);
    co_await stream.async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), asio::use_awaitable);
    co_return co_await exchange(stream, port, method, target, body);
  });
}

// A browser's view of TLS: trusts only `ca`, and checks that the certificate
// names `host` (an IP address or a DNS name) among its SANs.
struct Trust {
  fs::path ca;
  std::string host = "127.0.0.1";
  int max_version = 0;  // e.g. TLS1_2_VERSION; 0: the library's highest
};

ssl::context client_context(const Trust& trust) {
  ssl::context context(ssl::context::tls_client);
  context.load_verify_file(trust.ca.string());
  context.set_verify_mode(ssl::verify_peer);
  if (trust.max_version != 0) SSL_CTX_set_max_proto_version(context.native_handle(), trust.max_version);
  return context;
}

template <typename SslStream>
void expect_name(SslStream& stream, const Trust& trust) {
  stream.set_verify_callback(ssl::host_name_verification(trust.host));
  boost::system::error_code not_an_address;
  (void)asio::ip::make_address(trust.host, not_an_address);
  if (not_an_address) SSL_set_tlsext_host_name(stream.native_handle(), trust.host.c_str());  // SNI, as browsers send
}

HttpResult https_request(std::uint16_t port, const Trust& trust, bhttp::verb method, const std::string& target,
                         const std::string& body = {}) {
  ssl::context context = client_context(trust);
  return run_for<HttpResult>([&]() -> asio::awaitable<HttpResult> {
    beast::ssl_stream<beast::tcp_stream> stream(co_await asio::this_coro::executor, context);
    expect_name(stream, trust);
    beast::get_lowest_layer(stream).expires_after(10s);
    co_await beast::get_lowest_layer(stream).async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port),
                                                           asio::use_awaitable);
    co_await stream.async_handshake(ssl::stream_base::client, asio::use_awaitable);
    HttpResult result = co_await exchange(stream, port, method, target, body);
    result.tls_version = SSL_get_version(stream.native_handle());
    co_return result;
  });
}

// A WebSocket client, over TLS when given a Trust, reading on its own io_context.
template <bool Tls>
class FeedClient {
 public:
  using Lower = std::conditional_t<Tls, beast::ssl_stream<beast::tcp_stream>, beast::tcp_stream>;

  FeedClient(std::uint16_t port, const std::string& target, const Trust& trust = {})
    requires(!Tls)
      : context_(ssl::context::tls_client), ws_(io_) {
    open(port, target, trust);
  }
  FeedClient(std::uint16_t port, const std::string& target, const Trust& trust)
    requires(Tls)
      : context_(client_context(trust)), ws_(io_, context_) {
    open(port, target, trust);
  }

  std::optional<std::string> next(std::chrono::milliseconds timeout = 5s) {
    std::optional<std::string> text;
    beast::get_lowest_layer(ws_).expires_after(timeout);
    ws_.async_read(buffer_, [&](const boost::system::error_code& error, std::size_t) {
      if (error) return;
      text = beast::buffers_to_string(buffer_.data());
      buffer_.consume(buffer_.size());
    });
    io_.restart();
    io_.run();
    return text;
  }

  // The refusal when the upgrade was refused.
  const websocket::response_type& response() const { return response_; }
  bool open() const { return ws_.is_open(); }

 private:
  void open(std::uint16_t port, const std::string& target, const Trust& trust) {
    auto& lowest = beast::get_lowest_layer(ws_);
    lowest.expires_after(10s);
    lowest.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    if constexpr (Tls) {
      expect_name(ws_.next_layer(), trust);
      ws_.next_layer().handshake(ssl::stream_base::client);
    }
    boost::system::error_code error;
    ws_.handshake(response_, fmt::format("127.0.0.1:{}", port), target, error);
  }

  asio::io_context io_;
  ssl::context context_;
  websocket::stream<Lower> ws_;
  websocket::response_type response_;
  beast::flat_buffer buffer_;
};

// What a plain-HTTP client gets back on a port: every byte until the server
// closes (or `timeout`), and whether it closed.
struct RawResult {
  std::string bytes;
  bool closed = false;
};

RawResult raw_exchange(std::uint16_t port, const std::string& send, std::chrono::milliseconds timeout = 5s) {
  asio::io_context io;
  tcp::socket socket(io);
  socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  if (!send.empty()) asio::write(socket, asio::buffer(send));
  RawResult result;
  std::array<char, 4096> buffer;
  std::function<void()> read = [&] {
    socket.async_read_some(asio::buffer(buffer), [&](const boost::system::error_code& error, std::size_t n) {
      result.bytes.append(buffer.data(), n);
      if (error) {
        result.closed = error == asio::error::eof || error == asio::error::connection_reset;
        return;
      }
      read();
    });
  };
  read();
  io.run_for(timeout);
  return result;
}

// ---- the Site over plain HTTP --------------------------------------------------------

TEST(SiteServer, RequestsReachTheSiteAndItsAnswersReachTheClient) {
  SiteServer server;
  const auto page = plain_request(server.port(), bhttp::verb::get, "/s/seat-one/page");
  EXPECT_EQ(page.status, 200);
  EXPECT_EQ(page.body, "<p>the seat's page</p>");
  EXPECT_EQ(page.headers.at("Content-Type"), "text/html; charset=utf-8");
  const auto echo = plain_request(server.port(), bhttp::verb::post, "/s/seat-one/api/echo?x=1", R"({"a":"b"})");
  EXPECT_EQ(echo.status, 202);
  EXPECT_EQ(echo.body, R"({"a":"b"})");
  EXPECT_EQ(plain_request(server.port(), bhttp::verb::get, "/s/someone-else/page").status, 404);

  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[1].method, "POST");
  EXPECT_EQ(requests[1].target, "/s/seat-one/api/echo?x=1");
  EXPECT_EQ(requests[1].body, R"({"a":"b"})");
  EXPECT_EQ(requests[1].content_type, "application/json");
  EXPECT_EQ(requests[1].host, fmt::format("127.0.0.1:{}", server.port()));
}

TEST(SiteServer, AWebSocketOnAnyPathIsTheSitesToOpenOrRefuse) {
  SiteServer server;
  server.publish(R"({"seq":1})");
  server.publish(R"({"seq":2})");
  FeedClient<false> feed(server.port(), "/s/seat-one/feed?since=1");
  ASSERT_TRUE(feed.open()) << feed.response().result_int();
  EXPECT_EQ(feed.next(), R"({"seq":2})") << "remembered events after ?since= come first";
  for (int i = 0; i < 100 && server.subscribers() == 0; ++i) std::this_thread::sleep_for(10ms);
  server.publish(R"({"seq":3})");
  EXPECT_EQ(feed.next(), R"({"seq":3})");

  FeedClient<false> refused(server.port(), "/s/someone-else/feed");
  EXPECT_FALSE(refused.open());
  EXPECT_EQ(refused.response().result_int(), 403u) << "the Site's own refusal is sent";
  EXPECT_EQ(server.subscribers(), 1u);
}

// ---- HTTPS ---------------------------------------------------------------------------

class HttpsSiteTest : public ::testing::Test {
 protected:
  HttpsSiteTest() {
    pki::init_ca(pki_dir_, "exercise CA");
    files_ = pki::issue_server(pki_dir_, "exercise-host", {"127.0.0.1", "localhost"});
    pki::init_ca(other_dir_, "someone else's CA");
  }
  http::HttpServerOptions options() const {
    http::HttpServerOptions options;
    options.https = http::HttpsFiles{files_.certificate, files_.key};
    return options;
  }
  Trust trust(std::string host = "127.0.0.1") const { return {pki::ca_paths(pki_dir_).certificate, std::move(host)}; }

  TemporaryDirectory directory_;
  fs::path pki_dir_ = directory_ / "pki";
  fs::path other_dir_ = directory_ / "other";
  pki::Paths files_;
};

TEST_F(HttpsSiteTest, APageAndAWebSocketAreServedOverTlsVerifiedAgainstTheExerciseCa) {
  SiteServer server(options());
  const auto page = https_request(server.port(), trust(), bhttp::verb::get, "/s/seat-one/page");
  EXPECT_EQ(page.status, 200);
  EXPECT_EQ(page.body, "<p>the seat's page</p>");
  EXPECT_EQ(page.tls_version, "TLSv1.3");
  EXPECT_EQ(https_request(server.port(), trust("localhost"), bhttp::verb::get, "/s/seat-one/page").status, 200)
      << "the DNS name in the SANs verifies too";
  const auto echo = https_request(server.port(), trust(), bhttp::verb::post, "/s/seat-one/api/echo", R"({"x":1})");
  EXPECT_EQ(echo.status, 202);
  EXPECT_EQ(echo.body, R"({"x":1})");

  FeedClient<true> feed(server.port(), "/s/seat-one/feed", trust());
  ASSERT_TRUE(feed.open());
  for (int i = 0; i < 100 && server.subscribers() == 0; ++i) std::this_thread::sleep_for(10ms);
  server.publish(R"({"over":"wss"})");
  EXPECT_EQ(feed.next(), R"({"over":"wss"})");
  FeedClient<true> refused(server.port(), "/s/nobody/feed", trust());
  EXPECT_EQ(refused.response().result_int(), 403u);
}

TEST_F(HttpsSiteTest, TheCertificateIsRefusedForANameItDoesNotCarryOrByAnotherCa) {
  SiteServer server(options());
  EXPECT_THROW(https_request(server.port(), trust("exercise.example"), bhttp::verb::get, "/s/seat-one/page"),
               boost::system::system_error);
  EXPECT_THROW(https_request(server.port(), trust("127.0.0.2"), bhttp::verb::get, "/s/seat-one/page"),
               boost::system::system_error);
  EXPECT_THROW(https_request(server.port(), {pki::ca_paths(other_dir_).certificate}, bhttp::verb::get,
                             "/s/seat-one/page"),
               boost::system::system_error);
  EXPECT_EQ(https_request(server.port(), trust(), bhttp::verb::get, "/s/seat-one/page").status, 200);
}

TEST_F(HttpsSiteTest, Tls12BrowsersAreServedToo) {
  SiteServer server(options());
  Trust tls12 = trust();
  tls12.max_version = TLS1_2_VERSION;
  const auto page = https_request(server.port(), tls12, bhttp::verb::get, "/s/seat-one/page");
  EXPECT_EQ(page.status, 200);
  EXPECT_EQ(page.tls_version, "TLSv1.2");
}

TEST_F(HttpsSiteTest, PlainHttpOnTheTlsPortGetsNothingAndHarmsNoOtherConnection) {
  SiteServer server(options());
  FeedClient<true> feed(server.port(), "/s/seat-one/feed", trust());
  ASSERT_TRUE(feed.open());

  const auto plain = raw_exchange(server.port(), "GET /s/seat-one/page HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  EXPECT_TRUE(plain.closed) << "the server closes the connection";
  EXPECT_EQ(plain.bytes, "") << "not one byte goes back in the clear";
  // A client that refuses the certificate.
  EXPECT_THROW(https_request(server.port(), {pki::ca_paths(other_dir_).certificate}, bhttp::verb::get, "/"),
               boost::system::system_error);

  for (int i = 0; i < 100 && server.subscribers() == 0; ++i) std::this_thread::sleep_for(10ms);
  server.publish(R"({"still":"here"})");
  EXPECT_EQ(feed.next(), R"({"still":"here"})") << "the open WebSocket carries on";
  EXPECT_EQ(https_request(server.port(), trust(), bhttp::verb::get, "/s/seat-one/page").status, 200)
      << "and the next TLS client is served";
  EXPECT_EQ(server.requests().size(), 1u) << "the plain request never reached the Site";
}

TEST_F(HttpsSiteTest, AClientThatNeverCompletesTheHandshakeIsClosedAtTheDeadline) {
  auto short_deadline = options();
  short_deadline.handshake_timeout = 300ms;
  SiteServer server(short_deadline);
  const auto start = std::chrono::steady_clock::now();
  const auto silent = raw_exchange(server.port(), "", 5s);
  EXPECT_TRUE(silent.closed);
  EXPECT_EQ(silent.bytes, "");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  EXPECT_EQ(https_request(server.port(), trust(), bhttp::verb::get, "/s/seat-one/page").status, 200);
}

TEST_F(HttpsSiteTest, StoppingClosesOpenTlsWebSockets) {
  SiteServer server(options());
  FeedClient<true> feed(server.port(), "/s/seat-one/feed", trust());
  ASSERT_TRUE(feed.open());
  for (int i = 0; i < 100 && server.subscribers() == 0; ++i) std::this_thread::sleep_for(10ms);
  server.stop();
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(feed.next(5s), std::nullopt);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s) << "closed by stop(), not by the client's timeout";
}

TEST_F(HttpsSiteTest, AMissingOrMismatchedKeyIsRefusedNamingTheFile) {
  asio::io_context io;
  TestSite site;
  auto missing = options();
  missing.https->certificate = directory_ / "nowhere.crt";
  try {
    http::HttpServer server(io, site, missing);
    FAIL() << "a missing certificate must be refused";
  } catch (const std::runtime_error& error) {
    EXPECT_NE(std::string(error.what()).find("nowhere.crt"), std::string::npos) << error.what();
  }
  auto mismatched = options();
  mismatched.https->key = pki::gateway_paths(pki_dir_).key;  // another certificate's key
  try {
    http::HttpServer server(io, site, mismatched);
    FAIL() << "a key that does not match the certificate must be refused";
  } catch (const std::runtime_error& error) {
    EXPECT_NE(std::string(error.what()).find("gateway.key"), std::string::npos) << error.what();
  }
}

}  // namespace
}  // namespace icegate::testing
