// A node written without the node library: a TLS connection with a node's
// certificate that sends whatever bytes a test chooses, when it chooses, and
// records every frame the gateway sends back with the time it arrived. For
// tests of what the gateway does with a client that does not behave.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>

#include "gateway/transport/tls.hpp"
#include "gateway/wire/framing.hpp"
#include "tests/support/gateway_fixture.hpp"

namespace icegate::testing {

class RawNode {
 public:
  using Clock = std::chrono::steady_clock;

  struct Options {
    bool hello = true;          // say Hello and wait for Welcome
    bool reading = true;        // read what the gateway sends (false: never read)
    int receive_buffer = 0;     // SO_RCVBUF before connecting (0: the system's)
    std::string software_version = "raw test node";
  };

  RawNode(const RunningGateway& gateway, const std::string& node_id) : RawNode(gateway, node_id, Options{}) {}
  RawNode(const RunningGateway& gateway, const std::string& node_id, Options options)
      : RawNode(transport::node_credentials(gateway.pki_dir(), node_id), gateway.address(), gateway.port(), node_id,
                std::move(options)) {}
  // Any credentials, to any gateway: a peer gateway's, or an impostor's.
  // `node_id` is what Hello says.
  RawNode(const transport::ClientCredentials& credentials, const std::string& host, std::uint16_t port,
          const std::string& node_id, Options options)
      : node_id_(node_id), context_(transport::make_client_context(credentials)), stream_(io_, context_) {
    auto& socket = stream_.lowest_layer();
    socket.open(boost::asio::ip::tcp::v4());
    if (options.receive_buffer > 0)
      socket.set_option(boost::asio::socket_base::receive_buffer_size(options.receive_buffer));
    socket.connect({boost::asio::ip::make_address(host), port});
    stream_.handshake(boost::asio::ssl::stream_base::client);
    started_ = Clock::now();
    thread_ = std::thread([this] { io_.run(); });
    if (options.reading) boost::asio::post(io_, [this] { read_next(); });
    if (options.hello) {
      v1::Frame hello;
      hello.mutable_hello()->set_node_id(node_id);
      hello.mutable_hello()->set_protocol_version(wire::protocol_version);
      hello.mutable_hello()->set_software_version(options.software_version);
      send_frame(hello);
      if (options.reading) welcome_ = next_frame(5s);
    }
  }

  ~RawNode() {
    boost::asio::post(io_, [this] {
      boost::system::error_code ignored;
      stream_.lowest_layer().close(ignored);
    });
    work_.reset();
    io_.stop();
    thread_.join();
  }

  RawNode(const RawNode&) = delete;
  RawNode& operator=(const RawNode&) = delete;

  // Whether the gateway answered Hello with Welcome.
  bool welcomed() const { return welcome_ && welcome_->has_welcome(); }
  Clock::time_point started() const { return started_; }

  // Writes `bytes` as they are; true when they were written.
  bool send(std::string bytes) {
    std::promise<bool> done;
    auto result = done.get_future();
    boost::asio::post(io_, [this, &done, bytes = std::move(bytes)] {
      // Writes are queued one after another: bytes stay in order.
      writes_.push_back({std::move(bytes), &done});
      if (writes_.size() == 1) write_next();
    });
    return result.get();
  }
  bool send_frame(const v1::Frame& frame) { return send(wire::encode_frame(frame)); }
  // Queues `bytes` for writing and returns at once (for a gateway that may
  // stop reading: the write completes when it reads again).
  void send_later(std::string bytes) {
    boost::asio::post(io_, [this, bytes = std::move(bytes)]() mutable {
      writes_.push_back({std::move(bytes), nullptr});
      if (writes_.size() == 1) write_next();
    });
  }

  // Starts reading now (for a node made with reading = false).
  void start_reading() {
    boost::asio::post(io_, [this] { read_next(); });
  }

  // The next frame from the gateway, or nullopt when none came within
  // `timeout` or the connection closed first.
  std::optional<v1::Frame> next_frame(std::chrono::milliseconds timeout = 5s) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, timeout, [this] { return !frames_.empty() || closed_; });
    if (frames_.empty()) return std::nullopt;
    auto frame = std::move(frames_.front().second);
    frames_.pop_front();
    return frame;
  }

  // The next Error frame (others skipped), with when it arrived.
  std::optional<std::pair<Clock::time_point, v1::Error>> next_error(std::chrono::milliseconds timeout = 5s) {
    const auto until = Clock::now() + timeout;
    while (Clock::now() < until) {
      std::unique_lock lock(mutex_);
      changed_.wait_until(lock, until, [this] { return !frames_.empty() || closed_; });
      if (frames_.empty()) return std::nullopt;
      auto [at, frame] = std::move(frames_.front());
      frames_.pop_front();
      if (frame.has_error()) return std::make_pair(at, frame.error());
    }
    return std::nullopt;
  }

  // When the gateway closed the connection, once it has (waiting up to `timeout`).
  std::optional<Clock::time_point> closed_at(std::chrono::milliseconds timeout = 5s) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, timeout, [this] { return closed_; });
    return closed_ ? std::optional(closed_time_) : std::nullopt;
  }
  bool closed() {
    std::lock_guard lock(mutex_);
    return closed_;
  }

 private:
  struct Write {
    std::string bytes;
    std::promise<bool>* done;
  };

  void write_next() {
    boost::asio::async_write(stream_, boost::asio::buffer(writes_.front().bytes),
                             [this](const boost::system::error_code& error, std::size_t) {
                               if (writes_.front().done) writes_.front().done->set_value(!error);
                               writes_.pop_front();
                               if (!writes_.empty()) write_next();
                             });
  }

  void read_next() {
    boost::asio::async_read(stream_, boost::asio::buffer(header_),
                            [this](const boost::system::error_code& error, std::size_t) {
                              if (error) return close();
                              body_.resize(wire::decode_length(header_));
                              boost::asio::async_read(stream_, boost::asio::buffer(body_),
                                                      [this](const boost::system::error_code& error, std::size_t) {
                                                        if (error) return close();
                                                        v1::Frame frame;
                                                        frame.ParseFromString(body_);
                                                        {
                                                          std::lock_guard lock(mutex_);
                                                          frames_.emplace_back(Clock::now(), std::move(frame));
                                                        }
                                                        changed_.notify_all();
                                                        read_next();
                                                      });
                            });
  }

  void close() {
    {
      std::lock_guard lock(mutex_);
      if (!closed_) closed_time_ = Clock::now();
      closed_ = true;
    }
    changed_.notify_all();
  }

  std::string node_id_;
  boost::asio::io_context io_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_{io_.get_executor()};
  boost::asio::ssl::context context_;
  boost::asio::ssl::stream<boost::asio::ip::tcp::socket> stream_;
  std::thread thread_;
  Clock::time_point started_;
  std::optional<v1::Frame> welcome_;
  std::deque<Write> writes_;  // on the io thread only
  unsigned char header_[wire::frame_header_bytes]{};
  std::string body_;
  std::mutex mutex_;  // guards what follows
  std::condition_variable changed_;
  std::deque<std::pair<Clock::time_point, v1::Frame>> frames_;
  bool closed_ = false;
  Clock::time_point closed_time_;
};

}  // namespace icegate::testing
