#include "tools/bench/load.hpp"

#include <charconv>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <unordered_map>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <fmt/format.h>

#include "gateway/transport/frame_stream.hpp"
#include "gateway/transport/tls.hpp"
#include "gateway/wire/codec.hpp"
#include "gateway/wire/framing.hpp"
#include "tools/bench/process.hpp"

namespace icegate::bench {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr std::string_view kTitlePrefix = "bench t=";
constexpr std::size_t kReadChunk = 16 * 1024;

enum PhaseValue : int { warming_up = 0, measuring = 1, draining = 2 };

std::int64_t steady_nanoseconds() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now().time_since_epoch()).count();
}

// Counters of one io thread. Written only on that thread; read by the
// coordinating thread while traffic runs, hence atomic (relaxed: no
// ordering is implied between them).
struct ThreadStats {
  std::atomic<std::uint64_t> sent{0}, delivered{0}, errors{0};
  std::atomic<std::uint64_t> total_sent{0}, accepted{0}, refused{0}, total_delivered{0}, redacted{0}, receipts{0},
      total_errors{0};
  LatencySamples latencies;  // this thread only; read after the connections are done
  std::string first_error;   // likewise

  void reset() {
    for (auto* counter : {&sent, &delivered, &errors, &total_sent, &accepted, &refused, &total_delivered, &redacted,
                          &receipts, &total_errors})
      counter->store(0);
    latencies.clear();
    first_error.clear();
  }
  static void bump(std::atomic<std::uint64_t>& counter) {
    counter.store(counter.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
};

}  // namespace

// What every connection of one run shares.
struct Shared {
  std::atomic<int> phase{warming_up};
  std::atomic<std::size_t> running{0};  // reader and writer coroutines not yet finished
};

class Connection;

// A sender's end-to-end window, shared with the receivers (which may run on
// other threads): deliveries its messages still owe. A sender may have at
// most `window` messages unacknowledged by the server AND at most
// window x deliveries-per-message deliveries not yet received, as the peer
// targets count theirs; otherwise a server that acknowledges before it
// delivers (the relay) lets senders queue without bound for slow receivers.
struct SenderFlow {
  std::atomic<std::int64_t> owed{0};
  std::atomic<bool> waiting{false};  // the sender stopped on `owed`: wake it when it drops
  std::int64_t limit = 0;
  std::int64_t deliveries_per_message = 1;
  asio::any_io_executor executor;
  std::weak_ptr<Connection> sender;
};
using SenderFlows = std::unordered_map<std::string, std::shared_ptr<SenderFlow>>;

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(asio::io_context& io, ssl::context& tls, std::string node, ThreadStats& stats, Shared& shared)
      : stream_(io, tls), node_(std::move(node)), stats_(stats), shared_(shared), wake_(io), watchdog_(io) {}

  const std::string& node() const { return node_; }

  // TCP, TLS, Hello, Welcome. Empty on success, else why not.
  asio::awaitable<std::string> establish(tcp::endpoint server, std::chrono::milliseconds timeout) {
    auto self = shared_from_this();
    watchdog_.expires_after(timeout);
    asio::co_spawn(stream_.get_executor(), [self]() -> asio::awaitable<void> {
      auto [error] = co_await self->watchdog_.async_wait(use_tuple);
      if (!error) {
        self->timed_out_ = true;
        boost::system::error_code ignored;
        self->stream_.lowest_layer().close(ignored);
      }
    }, asio::detached);
    std::string why = co_await handshake(server);
    watchdog_.cancel();
    if (timed_out_) why = fmt::format("no Welcome within {} ms", timeout.count());
    if (!why.empty()) {
      boost::system::error_code ignored;
      stream_.lowest_layer().close(ignored);
    }
    co_return why;
  }

  // Makes this connection a sender: every message is `message`, with a fresh
  // id and the send time in its title, and at most `window` unacknowledged.
  void make_sender(const Message& message, std::size_t window, std::shared_ptr<SenderFlow> flow) {
    wire::encode(message, *submit_.mutable_submit()->mutable_message());
    window_ = window;
    flow_ = std::move(flow);
  }
  // Where a receiver finds the window of a delivery's originator.
  void set_flows(const SenderFlows* flows) { flows_ = flows; }
  // On the connection's thread: the writer looks again at what it may send.
  void wake() { wake_.cancel(); }

  // Starts the reader and the writer (a sender starts sending at once).
  void start() {
    auto self = shared_from_this();
    read_buffer_.resize(kReadChunk);
    shared_.running += 2;
    asio::co_spawn(stream_.get_executor(), [self]() { return self->reader(); }, asio::detached);
    asio::co_spawn(stream_.get_executor(), [self]() { return self->writer(); }, asio::detached);
  }

  // On the connection's thread.
  void close() {
    closing_ = true;
    boost::system::error_code ignored;
    stream_.lowest_layer().close(ignored);
    wake_.cancel();
  }

 private:
  asio::awaitable<std::string> handshake(tcp::endpoint server) {
    auto [connect_error] = co_await stream_.lowest_layer().async_connect(server, use_tuple);
    if (connect_error) co_return "connect: " + connect_error.message();
    boost::system::error_code ignored;
    stream_.lowest_layer().set_option(tcp::no_delay(true), ignored);
    auto [tls_error] = co_await stream_.async_handshake(ssl::stream_base::client, use_tuple);
    if (tls_error) co_return "TLS handshake: " + transport::describe(tls_error);
    v1::Frame hello;
    hello.mutable_hello()->set_node_id(node_);
    hello.mutable_hello()->set_software_version("icegate-bench");
    hello.mutable_hello()->set_protocol_version(wire::protocol_version);
    const std::string bytes = wire::encode_frame(hello);
    auto [write_error, written] = co_await asio::async_write(stream_, asio::buffer(bytes), use_tuple);
    // Even when the Hello could not be written, the server may have said why
    // (an Error straight after the handshake, e.g. UNKNOWN_NODE): read on.
    // The Welcome is read frame by frame: nothing may follow it into a buffer
    // that an idle connection would then have to keep.
    unsigned char header[wire::frame_header_bytes];
    auto [header_error, header_read] = co_await asio::async_read(stream_, asio::buffer(header), use_tuple);
    if (header_error && write_error) co_return "sending Hello: " + transport::describe(write_error);
    if (header_error) co_return "waiting for Welcome: " + transport::describe(header_error);
    const std::uint32_t length = wire::decode_length(header);
    if (wire::check_length(length, wire::default_max_frame_bytes) != wire::FrameError::none)
      co_return fmt::format("a frame of {} bytes instead of Welcome", length);
    std::string body(length, '\0');
    auto [body_error, body_read] = co_await asio::async_read(stream_, asio::buffer(body), use_tuple);
    if (body_error) co_return "reading Welcome: " + transport::describe(body_error);
    v1::Frame frame;
    if (wire::parse_frame(body, frame) != wire::FrameError::none) co_return "an unreadable frame instead of Welcome";
    if (frame.has_error())
      co_return fmt::format("refused: {}: {}", v1::ErrorCode_Name(frame.error().code()), frame.error().message());
    if (!frame.has_welcome()) co_return "the first frame was not Welcome";
    co_return std::string();
  }

  void fail(std::string why) {
    ThreadStats::bump(stats_.total_errors);
    if (shared_.phase.load(std::memory_order_relaxed) == measuring) ThreadStats::bump(stats_.errors);
    if (stats_.first_error.empty()) stats_.first_error = fmt::format("{}: {}", node_, why);
  }

  asio::awaitable<void> reader() {
    auto self = shared_from_this();
    wire::FrameDecoder decoder;
    v1::Frame frame;
    while (!closing_) {
      auto [error, read] = co_await stream_.async_read_some(asio::buffer(read_buffer_), use_tuple);
      if (error) {
        if (!closing_) fail("connection lost: " + transport::describe(error));
        break;
      }
      decoder.feed(std::string_view(read_buffer_.data(), read));
      bool broken = false;
      while (!broken) {
        const auto status = decoder.next(frame);
        if (status == wire::FrameDecoder::Status::need_more) break;
        if (status == wire::FrameDecoder::Status::error) {
          fail(fmt::format("bad frame from the server: {}", wire::to_string(decoder.error())));
          broken = true;
          break;
        }
        handle(frame);
      }
      if (broken) break;
    }
    closing_ = true;
    wake_.cancel();
    --shared_.running;
  }

  void handle(const v1::Frame& frame) {
    switch (frame.body_case()) {
      case v1::Frame::kDeliver: {
        const auto& deliver = frame.deliver();
        ThreadStats::bump(stats_.total_delivered);
        if (deliver.decision() == v1::DECISION_RELEASE_REDACTED) ThreadStats::bump(stats_.redacted);
        if (shared_.phase.load(std::memory_order_relaxed) == measuring) {
          ThreadStats::bump(stats_.delivered);
          const std::string& title = deliver.message().title();
          std::int64_t sent_at = 0;
          if (title.starts_with(kTitlePrefix))
            std::from_chars(title.data() + kTitlePrefix.size(), title.data() + title.size(), sent_at);
          if (sent_at > 0) stats_.latencies.add(steady_nanoseconds() - sent_at);
        }
        if (flows_)
          if (auto it = flows_->find(deliver.message().originator()); it != flows_->end()) {
            SenderFlow& flow = *it->second;
            flow.owed.fetch_sub(1);
            if (flow.waiting.exchange(false))
              asio::post(flow.executor, [weak = flow.sender] {
                if (auto sender = weak.lock()) sender->wake();
              });
          }
        v1::Frame ack;
        ack.mutable_ack()->set_message_id(deliver.message().id());
        ack.mutable_ack()->set_ok(true);
        pending_ += wire::encode_frame(ack);
        wake_.cancel();
        return;
      }
      case v1::Frame::kAck:
        if (window_ > 0 && in_flight_ > 0) --in_flight_;
        if (frame.ack().ok()) {
          ThreadStats::bump(stats_.accepted);
        } else {
          ThreadStats::bump(stats_.refused);
          if (flow_) flow_->owed.fetch_sub(flow_->deliveries_per_message);  // nothing will arrive
          fail(fmt::format("message {} refused", frame.ack().message_id()));
        }
        wake_.cancel();
        return;
      case v1::Frame::kReceipt: ThreadStats::bump(stats_.receipts); return;
      case v1::Frame::kError:
        fail(fmt::format("Error {}: {}", v1::ErrorCode_Name(frame.error().code()), frame.error().message()));
        return;
      default: return;  // Heartbeat, review requests: nothing to do here
    }
  }

  void fill() {
    if (window_ == 0) return;
    const int phase = shared_.phase.load(std::memory_order_relaxed);
    if (phase == draining) return;
    auto* message = submit_.mutable_submit()->mutable_message();
    while (in_flight_ < window_) {
      if (flow_ && flow_->owed.load() + flow_->deliveries_per_message > flow_->limit) {
        // Say we wait before looking again, so that a receiver that has just
        // taken a delivery either sees the flag or left `owed` for us to see.
        flow_->waiting.store(true);
        if (flow_->owed.load() + flow_->deliveries_per_message > flow_->limit) break;
        flow_->waiting.store(false);
      }
      if (flow_) flow_->owed.fetch_add(flow_->deliveries_per_message);
      message->set_id(make_uuid());
      message->set_title(fmt::format("{}{}", kTitlePrefix, steady_nanoseconds()));
      pending_ += wire::encode_frame(submit_);
      ++in_flight_;
      ThreadStats::bump(stats_.total_sent);
      if (phase == measuring) ThreadStats::bump(stats_.sent);
    }
  }

  asio::awaitable<void> writer() {
    auto self = shared_from_this();
    std::string writing;
    while (!closing_) {
      fill();
      if (pending_.empty()) {
        wake_.expires_at(SteadyClock::time_point::max());
        co_await wake_.async_wait(use_tuple);
        continue;
      }
      writing.swap(pending_);
      auto [error, written] = co_await asio::async_write(stream_, asio::buffer(writing), use_tuple);
      writing.clear();
      if (error) {
        if (!closing_) fail("write failed: " + transport::describe(error));
        break;
      }
    }
    closing_ = true;
    boost::system::error_code ignored;
    stream_.lowest_layer().close(ignored);
    --shared_.running;
  }

  transport::TlsStream stream_;
  std::string node_;
  ThreadStats& stats_;
  Shared& shared_;
  asio::steady_timer wake_;      // the writer sleeps on it; cancel() wakes it
  asio::steady_timer watchdog_;  // the deadline of establish()
  bool timed_out_ = false;
  bool closing_ = false;
  std::vector<char> read_buffer_;
  std::string pending_;  // frames to write, appended whole
  v1::Frame submit_;     // a sender's message, re-stamped for each Submit
  std::size_t window_ = 0;
  std::size_t in_flight_ = 0;  // Submits not yet acknowledged
  std::shared_ptr<SenderFlow> flow_;    // a sender's end-to-end window
  const SenderFlows* flows_ = nullptr;  // a receiver's view of every sender's
};

struct LoadGenerator::Impl {
  struct Worker {
    asio::io_context io{1};
    asio::executor_work_guard<asio::io_context::executor_type> guard = asio::make_work_guard(io);
    ThreadStats stats;
    std::vector<std::shared_ptr<Connection>> connections;  // this thread only, or after a join point
    std::thread thread;
  };

  LoadOptions options;
  std::vector<std::unique_ptr<Worker>> workers;
  std::map<std::string, std::shared_ptr<ssl::context>> contexts;  // coordinating thread fills; io threads read
  Shared shared;

  explicit Impl(LoadOptions o) : options(std::move(o)) {
    for (std::size_t i = 0; i < std::max<std::size_t>(options.threads, 1); ++i) {
      auto worker = std::make_unique<Worker>();
      worker->thread = std::thread([w = worker.get()] { w->io.run(); });
      workers.push_back(std::move(worker));
    }
  }

  ~Impl() {
    for (auto& worker : workers) {
      worker->guard.reset();
      asio::post(worker->io, [w = worker.get()] {
        for (auto& connection : w->connections) connection->close();
      });
    }
    for (auto& worker : workers) {
      // Give the coroutines a moment to finish, then stop whatever is left.
      const auto until = SteadyClock::now() + 5s;
      while (shared.running.load() > 0 && SteadyClock::now() < until) std::this_thread::sleep_for(2ms);
      worker->io.stop();
      worker->thread.join();
      worker->connections.clear();
    }
  }

  tcp::endpoint server() const { return {asio::ip::make_address("127.0.0.1"), options.port}; }

  // Runs `f` on every worker's thread and waits for all of them.
  template <typename F>
  void on_every_worker(F f) {
    std::atomic<std::size_t> done{0};
    for (auto& worker : workers)
      asio::post(worker->io, [&, w = worker.get()] {
        f(*w);
        ++done;
      });
    while (done.load() < workers.size()) std::this_thread::sleep_for(1ms);
  }
};

LoadGenerator::LoadGenerator(LoadOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
LoadGenerator::~LoadGenerator() = default;

void LoadGenerator::prepare(const std::vector<std::string>& nodes) {
  for (const auto& node : nodes) {
    if (impl_->contexts.contains(node)) continue;
    auto context = std::make_shared<ssl::context>(
        transport::make_client_context(transport::node_credentials(impl_->options.pki_dir, node)));
    impl_->contexts.emplace(node, std::move(context));
  }
}

ConnectReport LoadGenerator::connect(const std::vector<std::string>& nodes, std::size_t concurrency) {
  prepare(nodes);
  ConnectReport report;
  report.attempted = nodes.size();
  if (nodes.empty()) return report;
  auto& workers = impl_->workers;
  std::atomic<std::size_t> finished{0}, connected{0};
  std::atomic<std::int64_t> last_done{0};
  std::mutex report_mutex;  // guards report.first_error and report.latencies
  const auto start = SteadyClock::now();
  const std::size_t per_worker = std::max<std::size_t>(concurrency / workers.size(), 1);
  for (std::size_t w = 0; w < workers.size(); ++w) {
    Impl::Worker* worker = workers[w].get();
    // This worker's share of the nodes, taken one by one by its connectors.
    auto mine = std::make_shared<std::vector<std::string>>();
    for (std::size_t i = w; i < nodes.size(); i += workers.size()) mine->push_back(nodes[i]);
    auto next = std::make_shared<std::size_t>(0);  // this worker's thread only
    const std::size_t connectors = std::min(per_worker, mine->size());
    for (std::size_t c = 0; c < connectors; ++c) {
      asio::co_spawn(worker->io, [&, worker, mine, next]() -> asio::awaitable<void> {
        while (*next < mine->size()) {
          const std::string& node = (*mine)[(*next)++];
          auto connection = std::make_shared<Connection>(worker->io, *impl_->contexts.at(node), node,
                                                         worker->stats, impl_->shared);
          const auto attempt = SteadyClock::now();
          std::string why = co_await connection->establish(impl_->server(), impl_->options.connect_timeout);
          const std::lock_guard lock(report_mutex);
          if (why.empty()) {
            report.latencies.add(std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now() - attempt).count());
            worker->connections.push_back(std::move(connection));
            ++connected;
          } else if (report.first_error.empty()) {
            report.first_error = fmt::format("{}: {}", node, why);
          }
          // The latest completion, whichever thread it is on.
          const std::int64_t done_at = (SteadyClock::now() - start).count();
          for (std::int64_t seen = last_done.load(); done_at > seen && !last_done.compare_exchange_weak(seen, done_at);) {
          }
          ++finished;
        }
      }, asio::detached);
    }
  }
  while (finished.load() < nodes.size()) std::this_thread::sleep_for(1ms);
  report.connected = connected.load();
  report.seconds = std::chrono::duration<double>(SteadyClock::duration(last_done.load())).count();
  return report;
}

void LoadGenerator::close_all() {
  impl_->on_every_worker([](Impl::Worker& worker) {
    for (auto& connection : worker.connections) connection->close();
  });
  const auto until = SteadyClock::now() + 10s;
  while (impl_->shared.running.load() > 0 && SteadyClock::now() < until) std::this_thread::sleep_for(1ms);
  impl_->on_every_worker([](Impl::Worker& worker) { worker.connections.clear(); });
}

std::size_t LoadGenerator::open_connections() const {
  std::size_t open = 0;
  for (const auto& worker : impl_->workers) open += worker->connections.size();
  return open;
}

TrafficReport LoadGenerator::run_traffic(const Scenario& scenario, std::size_t window, std::chrono::milliseconds warmup,
                                         std::chrono::milliseconds duration, std::chrono::milliseconds drain_timeout,
                                         const std::function<void(Phase)>& on_phase) {
  TrafficReport report;
  Shared& shared = impl_->shared;
  shared.phase = warming_up;
  for (auto& worker : impl_->workers) worker->stats.reset();

  // Receivers first, so that nothing sent is owed to someone not yet there.
  const std::size_t concurrency = 128;
  for (const auto* group : {&scenario.receivers, &scenario.senders}) {
    const ConnectReport connected = connect(*group, concurrency);
    if (connected.connected != connected.attempted) {
      close_all();
      throw std::runtime_error(fmt::format("only {} of {} nodes connected; first failure: {}", connected.connected,
                                           connected.attempted, connected.first_error));
    }
  }

  // Each sender's message: its addressee, the portions, the category and purpose.
  std::map<std::string, Message> messages;
  for (std::size_t i = 0; i < scenario.senders.size(); ++i) {
    Message message;
    message.originator = scenario.senders[i];
    message.addressees = {scenario.addressee_of_sender[i]};
    message.category = scenario.category;
    message.purpose = scenario.purpose;
    int number = 0;
    for (const auto& spec : scenario.portions)
      message.portions.push_back({std::to_string(++number), Label{spec.classification, {}},
                                  std::string(spec.body_bytes, static_cast<char>('a' + number % 26))});
    messages.emplace(scenario.senders[i], std::move(message));
  }
  SenderFlows flows;
  std::mutex flows_mutex;  // guards flows while the workers fill it
  const std::size_t effective_window = std::max<std::size_t>(window, 1);
  impl_->on_every_worker([&](Impl::Worker& worker) {
    for (auto& connection : worker.connections) {
      if (auto it = messages.find(connection->node()); it != messages.end()) {
        auto flow = std::make_shared<SenderFlow>();
        flow->deliveries_per_message = static_cast<std::int64_t>(std::max<std::size_t>(scenario.deliveries_per_message, 1));
        flow->limit = flow->deliveries_per_message * static_cast<std::int64_t>(effective_window);
        flow->executor = worker.io.get_executor();
        flow->sender = connection;
        connection->make_sender(it->second, effective_window, flow);
        const std::lock_guard lock(flows_mutex);
        flows.emplace(connection->node(), std::move(flow));
      }
    }
  });
  // `flows` is complete before any connection starts, and read-only after.
  impl_->on_every_worker([&](Impl::Worker& worker) {
    for (auto& connection : worker.connections) connection->set_flows(&flows);
  });
  impl_->on_every_worker([](Impl::Worker& worker) {
    for (auto& connection : worker.connections) connection->start();
  });

  std::this_thread::sleep_for(warmup);
  shared.phase = measuring;
  const auto started = SteadyClock::now();
  const double cpu_started = own_cpu_seconds();
  if (on_phase) on_phase(Phase::measuring);
  std::this_thread::sleep_for(duration);
  shared.phase = draining;
  report.seconds = std::chrono::duration<double>(SteadyClock::now() - started).count();
  report.client_cpu_seconds = own_cpu_seconds() - cpu_started;
  if (on_phase) on_phase(Phase::draining);

  auto sum = [&](std::atomic<std::uint64_t> ThreadStats::*counter) {
    std::uint64_t total = 0;
    for (const auto& worker : impl_->workers) total += (worker->stats.*counter).load();
    return total;
  };
  const auto drain_until = SteadyClock::now() + drain_timeout;
  while (SteadyClock::now() < drain_until) {
    const auto answered = sum(&ThreadStats::accepted) + sum(&ThreadStats::refused);
    const auto expected = sum(&ThreadStats::accepted) * scenario.deliveries_per_message;
    if (answered == sum(&ThreadStats::total_sent) && sum(&ThreadStats::total_delivered) >= expected) {
      report.drained = true;
      break;
    }
    std::this_thread::sleep_for(5ms);
  }
  close_all();

  report.sent = sum(&ThreadStats::sent);
  report.delivered = sum(&ThreadStats::delivered);
  report.errors = sum(&ThreadStats::errors);
  report.total_sent = sum(&ThreadStats::total_sent);
  report.total_accepted = sum(&ThreadStats::accepted);
  report.total_refused = sum(&ThreadStats::refused);
  report.total_delivered = sum(&ThreadStats::total_delivered);
  report.total_redacted = sum(&ThreadStats::redacted);
  report.total_receipts = sum(&ThreadStats::receipts);
  report.total_errors = sum(&ThreadStats::total_errors);
  for (auto& worker : impl_->workers) {
    report.latencies.merge(worker->stats.latencies);
    if (report.first_error.empty()) report.first_error = worker->stats.first_error;
  }
  return report;
}

}  // namespace icegate::bench
