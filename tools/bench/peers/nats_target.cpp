// nats-server as a peer: started from a generated configuration (TLS with
// verify_and_map, one user per certificate subject with publish and subscribe
// allow lists), and driven through libnats.
//
// libnats normally runs a read thread and a flusher thread per connection,
// which does not scale to thousands of connections on two cores. Here every
// connection is attached to one epoll loop through natsOptions_SetEventLoop
// (no read thread), with natsOptions_SetSendAsap (no flusher thread) and the
// global message delivery pool of one thread (no thread per subscription).
//
// Choices, also given in each Result's note:
// - NATS core publish/subscribe: no acknowledgement and no durability
//   (JetStream is not used). The window is therefore counted in receipts: a
//   sender has at most `window` messages its receivers have not yet received.
// - nats-server 2.9 has no tls min_version; both ends offer TLS 1.3, so the
//   handshake settles on 1.3, but a TLS 1.2 client would be accepted.
#include <nats/nats.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "tools/bench/peers/event_loop.hpp"
#include "tools/bench/peers/meter.hpp"
#include "tools/bench/peers/targets.hpp"
#include "tools/bench/process.hpp"

namespace icegate::bench::peers {
namespace {

constexpr std::size_t descriptors_per_client = 1;

std::string last_error(natsStatus status) {
  const char* text = nats_GetLastError(nullptr);
  return text && *text ? text : natsStatus_GetText(status);
}

// One connection's socket on the epoll loop. libnats calls the add/remove
// callbacks with the connection's lock held, so they never overlap for one socket.
struct NatsSocket final : EventLoop::Handler {
  EventLoop* loop = nullptr;
  natsConnection* connection = nullptr;
  int fd = -1;
  bool reading = false, writing = false;
  std::atomic<bool> attached{false};

  void on_event(std::uint32_t events) override {
    if (!attached.load()) return;
    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) natsConnection_ProcessReadEvent(connection);
    if ((events & EPOLLOUT) && attached.load()) natsConnection_ProcessWriteEvent(connection);
  }
  void update() {
    if (!attached.load()) return;
    loop->modify(fd, (reading ? EPOLLIN : 0u) | (writing ? EPOLLOUT : 0u), this);
  }
};

class NatsLoad {
 public:
  NatsLoad(const Plan& plan, const Workload& workload, const PkiFiles& pki, std::uint16_t port, Meter& meter)
      : plan_(plan), workload_(workload), pki_(pki), port_(port), meter_(meter) {
    loop_thread_ = std::thread([this] {
      while (!stop_loop_.load()) loop_.run_once(std::chrono::milliseconds(50));
    });
  }

  ~NatsLoad() {
    sending_ = false;
    stopping_ = true;
    // Unsubscribing first makes the delivery thread drop what it still holds
    // for these subscriptions instead of calling on_message on a dead load.
    for (auto* subscription : subscriptions_) natsSubscription_Unsubscribe(subscription);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    stop_loop_ = true;
    loop_.wake();
    loop_thread_.join();
    for (auto* subscription : subscriptions_) natsSubscription_Destroy(subscription);
    for (auto* connection : connections_) {
      natsConnection_Close(connection);
      natsConnection_Destroy(connection);
    }
    for (auto& [id, options] : options_) natsOptions_Destroy(options);
  }

  // Connects `identity` (sequentially: natsConnection_Connect blocks until the
  // TLS handshake and the CONNECT/PING/PONG exchange are done).
  natsConnection* connect(const std::string& identity) {
    natsConnection* connection = nullptr;
    const natsStatus status = natsConnection_Connect(&connection, options_for(identity));
    if (status != NATS_OK) throw std::runtime_error(fmt::format("nats: {} cannot connect: {}", identity, last_error(status)));
    connections_.push_back(connection);
    return connection;
  }

  void connect_receivers() {
    for (std::size_t r = 0; r < plan_.receivers.size(); ++r) {
      auto* connection = connect(plan_.receivers[r]);
      for (const auto& channel : plan_.channels) {
        if (std::find(channel.readers.begin(), channel.readers.end(), r) == channel.readers.end()) continue;
        natsSubscription* subscription = nullptr;
        const natsStatus status =
            natsConnection_Subscribe(&subscription, connection, channel.nats_subject.c_str(), &NatsLoad::on_message, this);
        if (status != NATS_OK) {
          throw std::runtime_error(fmt::format("nats: {} cannot subscribe to {}: {}", plan_.receivers[r],
                                               channel.nats_subject, last_error(status)));
        }
        subscriptions_.push_back(subscription);
      }
      // The PONG to this PING means the server has registered the subscriptions.
      const natsStatus status = natsConnection_FlushTimeout(connection, 10000);
      if (status != NATS_OK) {
        throw std::runtime_error(fmt::format("nats: {}: no PONG after subscribing: {}", plan_.receivers[r], last_error(status)));
      }
    }
  }

  void connect_senders() {
    for (const auto& sender : plan_.senders) senders_.push_back(connect(sender));
  }

  void start_sending() {
    sending_ = true;
    for (std::size_t s = 0; s < senders_.size(); ++s) refill(s);
  }
  void stop_sending() { sending_ = false; }

  bool drain(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (meter_.owed_total() == 0) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return meter_.owed_total() == 0;
  }

  std::size_t connected() const { return connections_.size(); }

 private:
  natsOptions* options_for(const std::string& identity) {
    if (auto found = options_.find(identity); found != options_.end()) return found->second;
    natsOptions* options = nullptr;
    natsStatus status = natsOptions_Create(&options);
    const auto url = fmt::format("tls://127.0.0.1:{}", port_);
    const auto certificate = pki_.client_certificate(identity).string();
    const auto key = pki_.client_key(identity).string();
    if (status == NATS_OK) status = natsOptions_SetURL(options, url.c_str());
    if (status == NATS_OK) status = natsOptions_SetName(options, identity.c_str());
    if (status == NATS_OK) status = natsOptions_SetSecure(options, true);
    if (status == NATS_OK) status = natsOptions_LoadCATrustedCertificates(options, pki_.ca_certificate.c_str());
    if (status == NATS_OK) status = natsOptions_LoadCertificatesChain(options, certificate.c_str(), key.c_str());
    if (status == NATS_OK) status = natsOptions_SetExpectedHostname(options, "localhost");
    if (status == NATS_OK) status = natsOptions_SetAllowReconnect(options, false);
    if (status == NATS_OK) status = natsOptions_SetTimeout(options, 20000);
    if (status == NATS_OK) status = natsOptions_SetPingInterval(options, 10 * 60 * 1000);
    if (status == NATS_OK) status = natsOptions_SetSendAsap(options, true);
    if (status == NATS_OK) status = natsOptions_UseGlobalMessageDelivery(options, true);
    if (status == NATS_OK) status = natsOptions_SetErrorHandler(options, &NatsLoad::on_error, this);
    if (status == NATS_OK) {
      status = natsOptions_SetEventLoop(options, this, &NatsLoad::attach, &NatsLoad::read_add_remove,
                                        &NatsLoad::write_add_remove, &NatsLoad::detach);
    }
    if (status != NATS_OK) {
      natsOptions_Destroy(options);
      throw std::runtime_error(fmt::format("nats options for {} ({}): {}", identity, certificate, last_error(status)));
    }
    options_.emplace(identity, options);
    return options;
  }

  // Publishes for `sender` while its receivers owe fewer than `window`
  // messages' deliveries. Called from the control thread and the delivery thread.
  void refill(std::size_t sender) {
    thread_local std::vector<unsigned char> payload;
    if (payload.size() != meter_.payload_bytes()) payload = meter_.blank_payload();
    const auto deliveries = static_cast<std::int64_t>(plan_.readers_per_message(sender));
    const auto limit = deliveries * static_cast<std::int64_t>(std::max<std::size_t>(workload_.window, 1));
    const auto& subject = plan_.channels[plan_.sender_channel[sender]].nats_subject;
    while (sending_.load(std::memory_order_relaxed) && meter_.try_reserve(sender, deliveries, limit)) {
      meter_.stamp(payload, sender);
      const natsStatus status = natsConnection_Publish(senders_[sender], subject.c_str(), payload.data(),
                                                       static_cast<int>(payload.size()));
      if (status != NATS_OK) {
        meter_.release(sender, deliveries);
        meter_.error(fmt::format("{}: publish failed: {}", plan_.senders[sender], natsStatus_GetText(status)));
        return;
      }
      meter_.sent(sender);
    }
  }

  static void on_message(natsConnection*, natsSubscription*, natsMsg* message, void* closure) {
    auto& self = *static_cast<NatsLoad*>(closure);
    const auto sender = self.meter_.delivered(natsMsg_GetData(message), static_cast<std::size_t>(natsMsg_GetDataLength(message)));
    natsMsg_Destroy(message);
    if (sender && self.sending_.load(std::memory_order_relaxed)) self.refill(*sender);
  }

  static void on_error(natsConnection* connection, natsSubscription*, natsStatus error, void* closure) {
    auto& self = *static_cast<NatsLoad*>(closure);
    const char* text = nullptr;
    natsConnection_GetLastError(connection, &text);
    self.meter_.error(fmt::format("asynchronous error: {}{}{}", natsStatus_GetText(error), text && *text ? ": " : "",
                                  text ? text : ""));
  }

  static natsStatus attach(void** user_data, void* loop, natsConnection* connection, natsSock socket) {
    auto& self = *static_cast<NatsLoad*>(loop);
    if (*user_data != nullptr) return NATS_ILLEGAL_STATE;  // a reconnect: disabled
    auto handler = std::make_unique<NatsSocket>();
    handler->loop = &self.loop_;
    handler->connection = connection;
    handler->fd = socket;
    handler->reading = true;
    handler->attached = true;
    try {
      self.loop_.add(socket, EPOLLIN, handler.get());
    } catch (const std::exception& error) {
      self.meter_.error(error.what());
      return NATS_SYS_ERROR;
    }
    *user_data = handler.get();
    std::lock_guard lock(self.sockets_mutex_);
    self.sockets_.push_back(std::move(handler));
    return NATS_OK;
  }

  static natsStatus read_add_remove(void* user_data, bool add) {
    auto& handler = *static_cast<NatsSocket*>(user_data);
    handler.reading = add;
    handler.update();
    return NATS_OK;
  }

  static natsStatus write_add_remove(void* user_data, bool add) {
    auto& handler = *static_cast<NatsSocket*>(user_data);
    handler.writing = add;
    handler.update();
    return NATS_OK;
  }

  static natsStatus detach(void* user_data) {
    auto& handler = *static_cast<NatsSocket*>(user_data);
    handler.attached = false;
    handler.loop->remove(handler.fd);
    return NATS_OK;  // the handler itself lives until the load is destroyed
  }

  const Plan& plan_;
  const Workload& workload_;
  const PkiFiles& pki_;
  std::uint16_t port_;
  Meter& meter_;
  EventLoop loop_;
  std::atomic<bool> stop_loop_{false}, sending_{false}, stopping_{false};
  std::thread loop_thread_;
  std::map<std::string, natsOptions*> options_;  // per identity, control thread only
  std::vector<natsConnection*> connections_;     // control thread only
  std::vector<natsConnection*> senders_;         // index = sender; fixed before sending starts
  std::vector<natsSubscription*> subscriptions_;
  std::mutex sockets_mutex_;  // guards sockets_ (attach runs on the connecting thread)
  std::vector<std::unique_ptr<NatsSocket>> sockets_;
};

class NatsTarget final : public Target {
 public:
  NatsTarget() : binary_(find_program("nats-server")) {}

  std::string name() const override { return "nats"; }

  std::string unavailable(const Workload& workload) const override {
    if (binary_.empty()) return "nats-server not installed (no nats-server on PATH or in /usr/sbin)";
    if (workload.shape == Shape::reconnect) return "W4 (reconnect) is not run against the peers";
    return {};
  }

  Result run(const Workload& workload, const Environment& environment) override {
    return run_guarded(*this, workload, [&] { return run_checked(workload, environment); });
  }

 private:
  static void open_library() {
    static std::once_flag once;
    static natsStatus status = NATS_OK;
    std::call_once(once, [] {
      status = nats_Open(-1);
      if (status == NATS_OK) status = nats_SetMessageDeliveryPoolSize(1);
    });
    if (status != NATS_OK) throw std::runtime_error(std::string("nats_Open: ") + natsStatus_GetText(status));
  }

  Result run_checked(const Workload& workload, const Environment& environment) {
    open_library();
    Result result;
    result.target = name();
    result.workload = workload.id;
    Plan plan = make_plan(workload);
    std::string note;

    const std::size_t idle = fit_idle_connections(plan, descriptors_per_client, note);

    const auto directory = fresh_run_directory(environment, name(), workload.id);
    const auto pki = ensure_pki(peer_pki_directory(environment), plan.identities());
    const auto port = pick_free_port();
    const auto configuration = directory / "nats-server.conf";
    write_file(configuration, nats_configuration(port, pki, plan));

    ChildProcess server({binary_.string(), "-c", configuration.string()}, directory / "nats-server.log");
    server.wait_for_port(port, std::chrono::seconds(15));

    Meter meter(plan, workload.message_bytes);
    NatsLoad load(plan, workload, pki, port, meter);

    // libnats runs the clients on its own threads: waiting is sleeping.
    const auto sleep_for = [](std::chrono::milliseconds span) { std::this_thread::sleep_for(span); };
    if (workload.shape == Shape::idle) {
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      const auto before = server.sample();
      for (std::size_t i = 0; i < idle; ++i) load.connect(plan.idle_identities[i % plan.idle_identities.size()]);
      const auto [interval_start, after] = measure(meter, server, workload, sleep_for);
      meter.fill(result, interval_start, after);
      result.connections = load.connected();
      set_bytes_per_connection(result, before, after);
      note += fmt::format("idle NATS connections, {} identities shared in turn. ", plan.idle_identities.size());
    } else {
      load.connect_receivers();
      load.connect_senders();
      load.start_sending();
      const auto [interval_start, after] = measure(meter, server, workload, sleep_for);
      load.stop_sending();
      if (!load.drain(drain_timeout)) report_undrained(meter);
      meter.fill(result, interval_start, after);
      note += "NATS core publish/subscribe: no acknowledgement, no durability (no JetStream); the window is counted "
              "in receipts at the receivers. nats-server 2.9 cannot require TLS 1.3 (no min_version); it negotiates 1.3 "
              "with these clients. ";
      if (workload.shape == Shape::fan_out) {
        note += fmt::format("Fan-out is one subject with {} subscribers: the server makes no per-recipient decision. ",
                            plan.receivers.size());
      }
    }
    finish_result(result, meter, std::move(note));
    return result;
  }

  std::filesystem::path binary_;
};

}  // namespace

std::unique_ptr<Target> make_nats_target() { return std::make_unique<NatsTarget>(); }

}  // namespace icegate::bench::peers
