// Mosquitto as a peer: the broker started from a generated configuration
// (TLS 1.3 listener, require_certificate, use_identity_as_username, acl_file,
// persistence), and the load driven through libmosquitto from one epoll loop
// (mosquitto_socket + mosquitto_loop_read/write/misc), not a thread per client.
//
// Choices, also given in each Result's note:
// - MQTT v5, QoS 1. The window is counted twice: a sender has at most
//   `window` publishes the broker has not acknowledged (PUBACK), and at most
//   `window` messages its receivers have not yet received. PUBACKs alone
//   let Mosquitto queue without bound for slow receivers (at W3, 2,000
//   senders' windows queued for 4 receivers: seconds of latency, and the
//   measured interval delivered almost nothing); the receipt bound is the
//   one NATS uses too.
// - Receivers connect with clean_session=false and a session expiry of an
//   hour, so their sessions are persistent and Mosquitto keeps their QoS 1
//   messages in its store (which it writes to persistence_location at
//   autosave and on exit, not per message: no fsync before PUBACK).
// - W2 is one topic with 200 subscribers: the broker's natural fan-out, with
//   no per-recipient decision.
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <openssl/ssl.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <deque>
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

constexpr int keepalive_seconds = 60;
constexpr std::size_t handshakes_in_flight = 64;  // below mosquitto's listen backlog of 100
constexpr std::size_t descriptors_per_client = 3;  // the socket and libmosquitto's socket pair

std::string reason_text(int reason) { return fmt::format("{} ({})", mosquitto_reason_string(reason), reason); }

class MqttLoad;

enum class Role { sender, receiver, idle };

struct MqttClient final : EventLoop::Handler {
  MqttLoad* load = nullptr;
  mosquitto* handle = nullptr;
  std::string client_id;
  std::string identity;  // certificate CN
  Role role = Role::idle;
  std::size_t index = 0;  // into Plan::senders or Plan::receivers
  int fd = -1;
  std::uint32_t interest = 0;
  bool connecting = false, connected = false, closed = false, ready_queued = false;
  std::size_t in_flight = 0;  // senders: publishes not yet PUBACKed

  ~MqttClient() override {
    if (handle) mosquitto_destroy(handle);
  }
  void on_event(std::uint32_t events) override;
};

// Drives every client of one run from the calling thread.
class MqttLoad {
 public:
  MqttLoad(const Plan& plan, const Workload& workload, const PkiFiles& pki, std::uint16_t port, Meter& meter)
      : plan_(plan), workload_(workload), pki_(pki), port_(port), meter_(meter) {}

  ~MqttLoad() {
    stopping_ = true;
    for (auto& client : clients_) {
      if (client->handle && client->connected && !client->closed) mosquitto_disconnect(client->handle);
    }
  }

  void add_client(Role role, std::size_t index, std::string client_id, std::string identity) {
    auto client = std::make_unique<MqttClient>();
    client->load = this;
    client->role = role;
    client->index = index;
    client->client_id = std::move(client_id);
    client->identity = std::move(identity);
    if (role == Role::sender) senders_.push_back(client.get());
    clients_.push_back(std::move(client));
  }

  // Connects every client (at most `handshakes_in_flight` at a time) and waits
  // for every CONNACK and SUBACK. Throws when that takes longer than `timeout`.
  void connect_all(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::size_t next = 0;
    while (true) {
      while (next < clients_.size() && connecting_ < handshakes_in_flight) start_connecting(*clients_[next++]);
      if (next == clients_.size() && connecting_ == 0 && subscriptions_pending_ == 0) break;
      loop_.run_once(std::chrono::milliseconds(50));
      if (std::chrono::steady_clock::now() > deadline) {
        throw std::runtime_error(fmt::format(
            "mosquitto: {} of {} clients connected after {} s ({} SUBACKs outstanding); first errors: {}",
            connected_, clients_.size(), std::chrono::duration_cast<std::chrono::seconds>(timeout).count(),
            subscriptions_pending_, meter_.error_summary()));
      }
    }
  }

  std::size_t connected() const { return connected_; }

  // Runs the loop until `until`, sending when `sending`.
  void run_until(std::chrono::steady_clock::time_point until) {
    while (true) {
      const auto now = std::chrono::steady_clock::now();
      if (now >= until) return;
      if (now >= next_misc_) {
        for (auto& client : clients_) {
          if (client->connected && !client->closed && mosquitto_loop_misc(client->handle) != MOSQ_ERR_SUCCESS) {
            client_failed(*client, "keepalive failed");
          }
        }
        next_misc_ = now + std::chrono::seconds(1);
      }
      pump();
      const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(until - now);
      loop_.run_once(std::clamp(wait, std::chrono::milliseconds(0), std::chrono::milliseconds(50)));
    }
  }

  void start_sending() {
    sending_ = true;
    for (auto* sender : senders_) make_ready(*sender);
  }
  void stop_sending() { sending_ = false; }

  // Runs the loop until every delivery owed has arrived (and every PUBACK),
  // or `timeout`; returns whether it all arrived.
  bool drain(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      const bool acknowledged = std::all_of(senders_.begin(), senders_.end(), [](const MqttClient* sender) {
        return sender->in_flight == 0 || sender->closed;
      });
      if (acknowledged && meter_.owed_total() == 0) return true;
      loop_.run_once(std::chrono::milliseconds(20));
    }
    return false;
  }

  void handle_event(MqttClient& client, std::uint32_t events) {
    if (client.closed) return;
    int rc = MOSQ_ERR_SUCCESS;
    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
      rc = mosquitto_loop_read(client.handle, 1);
      // A TLS record can hold several MQTT packets; what OpenSSL has already
      // decrypted is not visible to epoll, so read it out now.
      while (rc == MOSQ_ERR_SUCCESS && !client.closed) {
        auto* ssl = static_cast<SSL*>(mosquitto_ssl_get(client.handle));
        if (ssl == nullptr || SSL_pending(ssl) <= 0) break;
        rc = mosquitto_loop_read(client.handle, 1);
      }
    }
    if (rc == MOSQ_ERR_SUCCESS && !client.closed && (events & EPOLLOUT)) rc = mosquitto_loop_write(client.handle, 1);
    if (rc != MOSQ_ERR_SUCCESS) {
      client_failed(client, mosquitto_strerror(rc));
      return;
    }
    update_interest(client);
  }

  // libmosquitto callbacks.
  void on_connect(MqttClient& client, int reason) {
    if (client.connecting) {
      client.connecting = false;
      --connecting_;
    }
    if (reason != 0) {
      client_failed(client, "CONNACK refused: " + reason_text(reason));
      return;
    }
    client.connected = true;
    ++connected_;
    if (client.role != Role::receiver) return;
    for (const auto& channel : plan_.channels) {
      if (std::find(channel.readers.begin(), channel.readers.end(), client.index) == channel.readers.end()) continue;
      const int rc = mosquitto_subscribe_v5(client.handle, nullptr, channel.mqtt_topic.c_str(), 1, 0, nullptr);
      if (rc != MOSQ_ERR_SUCCESS) {
        client_failed(client, std::string("SUBSCRIBE failed: ") + mosquitto_strerror(rc));
        return;
      }
      ++subscriptions_pending_;
    }
  }

  void on_subscribe(MqttClient& client, int count, const int* granted) {
    --subscriptions_pending_;
    for (int i = 0; i < count; ++i) {
      if (granted[i] >= 0x80) meter_.error(client.client_id + ": subscription refused: " + reason_text(granted[i]));
    }
  }

  void on_publish(MqttClient& client, int reason) {
    if (client.in_flight > 0) --client.in_flight;
    if (reason >= 0x80) {
      meter_.error(client.client_id + ": publish refused: " + reason_text(reason));
      meter_.release(client.index, static_cast<std::int64_t>(plan_.readers_per_message(client.index)));
    }
    make_ready(client);
  }

  void on_message(const mosquitto_message* message) {
    if (auto sender = meter_.delivered(message->payload, static_cast<std::size_t>(message->payloadlen))) {
      make_ready(*senders_[*sender]);
    }
  }

  void on_disconnect(MqttClient& client, int rc) {
    if (!stopping_) client_failed(client, std::string("disconnected: ") + mosquitto_strerror(rc));
  }

 private:
  void start_connecting(MqttClient& client) {
    const bool persistent = client.role == Role::receiver;
    client.handle = mosquitto_new(client.client_id.c_str(), !persistent, &client);
    if (client.handle == nullptr) throw std::runtime_error("mosquitto_new failed for " + client.client_id);
    mosquitto_int_option(client.handle, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    mosquitto_int_option(client.handle, MOSQ_OPT_TCP_NODELAY, 1);
    mosquitto_max_inflight_messages_set(client.handle, 0);  // the window is ours, not the library's queue
    const auto certificate = pki_.client_certificate(client.identity).string();
    const auto key = pki_.client_key(client.identity).string();
    int rc = mosquitto_tls_set(client.handle, pki_.ca_certificate.c_str(), nullptr, certificate.c_str(), key.c_str(), nullptr);
    if (rc == MOSQ_ERR_SUCCESS) rc = mosquitto_tls_opts_set(client.handle, SSL_VERIFY_PEER, "tlsv1.3", nullptr);
    if (rc != MOSQ_ERR_SUCCESS) {
      throw std::runtime_error(fmt::format("mosquitto TLS settings for {} ({}): {}", client.client_id, certificate,
                                           mosquitto_strerror(rc)));
    }
    mosquitto_connect_v5_callback_set(client.handle, [](mosquitto*, void* self, int reason, int, const mosquitto_property*) {
      auto& c = *static_cast<MqttClient*>(self);
      c.load->on_connect(c, reason);
    });
    mosquitto_subscribe_v5_callback_set(client.handle, [](mosquitto*, void* self, int, int count, const int* granted, const mosquitto_property*) {
      auto& c = *static_cast<MqttClient*>(self);
      c.load->on_subscribe(c, count, granted);
    });
    mosquitto_publish_v5_callback_set(client.handle, [](mosquitto*, void* self, int, int reason, const mosquitto_property*) {
      auto& c = *static_cast<MqttClient*>(self);
      c.load->on_publish(c, reason);
    });
    mosquitto_message_v5_callback_set(client.handle, [](mosquitto*, void* self, const mosquitto_message* message, const mosquitto_property*) {
      static_cast<MqttClient*>(self)->load->on_message(message);
    });
    mosquitto_disconnect_v5_callback_set(client.handle, [](mosquitto*, void* self, int rc, const mosquitto_property*) {
      auto& c = *static_cast<MqttClient*>(self);
      c.load->on_disconnect(c, rc);
    });

    mosquitto_property* properties = nullptr;
    if (persistent) mosquitto_property_add_int32(&properties, MQTT_PROP_SESSION_EXPIRY_INTERVAL, 3600);
    client.connecting = true;
    ++connecting_;
    rc = mosquitto_connect_bind_v5(client.handle, "127.0.0.1", port_, keepalive_seconds, nullptr, properties);
    mosquitto_property_free_all(&properties);
    if (rc != MOSQ_ERR_SUCCESS) {
      client_failed(client, std::string("connect failed: ") +
                                (rc == MOSQ_ERR_ERRNO ? std::strerror(errno) : mosquitto_strerror(rc)));
      return;
    }
    update_interest(client);
  }

  void update_interest(MqttClient& client) {
    if (client.closed) return;
    const int fd = mosquitto_socket(client.handle);
    if (fd < 0) return;
    const std::uint32_t wanted = EPOLLIN | (mosquitto_want_write(client.handle) ? EPOLLOUT : 0u);
    if (fd != client.fd) {
      client.fd = fd;
      client.interest = wanted;
      loop_.add(fd, wanted, &client);
    } else if (wanted != client.interest) {
      client.interest = wanted;
      loop_.modify(fd, wanted, &client);
    }
  }

  void client_failed(MqttClient& client, const std::string& why) {
    if (client.closed) return;
    client.closed = true;
    if (client.connecting) {
      client.connecting = false;
      --connecting_;
    }
    if (client.connected) --connected_;
    client.connected = false;
    meter_.error(client.client_id + ": " + why);
    if (client.fd >= 0) loop_.remove(client.fd);
  }

  void make_ready(MqttClient& client) {
    if (client.role != Role::sender || client.ready_queued || !sending_) return;
    client.ready_queued = true;
    ready_.push_back(&client);
  }

  void pump() {
    const auto window = std::max<std::size_t>(workload_.window, 1);
    while (!ready_.empty() && sending_) {
      auto& sender = *ready_.front();
      ready_.pop_front();
      sender.ready_queued = false;
      if (!sender.connected || sender.closed) continue;
      const auto& topic = plan_.channels[plan_.sender_channel[sender.index]].mqtt_topic;
      const auto deliveries = static_cast<std::int64_t>(plan_.readers_per_message(sender.index));
      const auto owed_limit = deliveries * static_cast<std::int64_t>(window);
      while (sender.in_flight < window) {
        if (!meter_.try_reserve(sender.index, deliveries, owed_limit)) break;
        meter_.stamp(payload_, sender.index);
        const int rc = mosquitto_publish_v5(sender.handle, nullptr, topic.c_str(), static_cast<int>(payload_.size()),
                                            payload_.data(), 1, false, nullptr);
        if (rc != MOSQ_ERR_SUCCESS) {
          meter_.release(sender.index, deliveries);
          client_failed(sender, std::string("publish failed: ") + mosquitto_strerror(rc));
          break;
        }
        ++sender.in_flight;
        meter_.sent(sender.index);
      }
      update_interest(sender);
    }
  }

  const Plan& plan_;
  const Workload& workload_;
  const PkiFiles& pki_;
  std::uint16_t port_;
  Meter& meter_;
  EventLoop loop_;
  std::vector<std::unique_ptr<MqttClient>> clients_;
  std::vector<MqttClient*> senders_;
  std::deque<MqttClient*> ready_;
  std::vector<unsigned char> payload_ = meter_.blank_payload();
  std::size_t connecting_ = 0, connected_ = 0, subscriptions_pending_ = 0;
  bool sending_ = false, stopping_ = false;
  std::chrono::steady_clock::time_point next_misc_{};
};

void MqttClient::on_event(std::uint32_t events) { load->handle_event(*this, events); }

class MosquittoTarget final : public Target {
 public:
  MosquittoTarget() : binary_(find_program("mosquitto")) {
    static std::once_flag once;
    std::call_once(once, [] { mosquitto_lib_init(); });
  }

  std::string name() const override { return "mosquitto"; }

  std::string unavailable(const Workload& workload) const override {
    if (binary_.empty()) return "mosquitto not installed (no mosquitto on PATH or in /usr/sbin)";
    if (workload.shape == Shape::reconnect) return "W4 (reconnect) is not run against the peers";
    return {};
  }

  Result run(const Workload& workload, const Environment& environment) override {
    return run_guarded(*this, workload, [&] { return run_checked(workload, environment); });
  }

 private:
  Result run_checked(const Workload& workload, const Environment& environment) {
    Result result;
    result.target = name();
    result.workload = workload.id;
    Plan plan = make_plan(workload);
    std::string note;

    // Each client takes its socket and libmosquitto's socket pair; the broker,
    // which inherits the limit, one descriptor per client.
    const std::size_t idle = fit_idle_connections(plan, descriptors_per_client, note);
    const std::size_t active = plan.senders.size() + plan.receivers.size();

    const auto directory = fresh_run_directory(environment, name(), workload.id);
    const auto pki = ensure_pki(peer_pki_directory(environment), plan.identities());
    MosquittoSettings settings;
    settings.port = pick_free_port();
    settings.acl_file = directory / "acl";
    settings.persistence_directory = directory / "persistence";
    if (::geteuid() == 0) settings.run_as_user = "root";
    std::filesystem::create_directories(settings.persistence_directory);
    write_file(settings.acl_file, mosquitto_acl(plan));
    const auto configuration = directory / "mosquitto.conf";
    write_file(configuration, mosquitto_configuration(settings, pki));

    ChildProcess broker({binary_.string(), "-c", configuration.string()}, directory / "mosquitto.log");
    broker.wait_for_port(settings.port, std::chrono::seconds(15));

    Meter meter(plan, workload.message_bytes);
    MqttLoad load(plan, workload, pki, settings.port, meter);
    const auto connect_timeout =
        std::max<std::chrono::milliseconds>(connect_timeout_floor, std::chrono::milliseconds(20 * (active + idle)));

    // The clients run on this thread's event loop: waiting means running it.
    const auto run_for = [&load](std::chrono::milliseconds span) { load.run_until(std::chrono::steady_clock::now() + span); };
    if (workload.shape == Shape::idle) {
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      const auto before = broker.sample();
      for (std::size_t i = 0; i < idle; ++i) {
        load.add_client(Role::idle, i, fmt::format("idle-connection-{}", i),
                        plan.idle_identities[i % plan.idle_identities.size()]);
      }
      load.connect_all(connect_timeout);
      const auto [interval_start, after] = measure(meter, broker, workload, run_for);
      meter.fill(result, interval_start, after);
      result.connections = load.connected();
      set_bytes_per_connection(result, before, after);
      note += fmt::format("idle MQTT v5 sessions (clean start), {} identities shared in turn. ", plan.idle_identities.size());
    } else {
      for (std::size_t r = 0; r < plan.receivers.size(); ++r) load.add_client(Role::receiver, r, plan.receivers[r], plan.receivers[r]);
      for (std::size_t s = 0; s < plan.senders.size(); ++s) load.add_client(Role::sender, s, plan.senders[s], plan.senders[s]);
      load.connect_all(connect_timeout);
      load.start_sending();
      const auto [interval_start, after] = measure(meter, broker, workload, run_for);
      load.stop_sending();
      if (!load.drain(drain_timeout)) report_undrained(meter);
      meter.fill(result, interval_start, after);
      note += "MQTT v5 QoS 1, window counted in PUBACKs and in receipts at the receivers; TCP_NODELAY on; receivers have persistent sessions (clean_session=false, "
              "expiry 1 h) so Mosquitto keeps their messages in its store, saved to disk at autosave and exit, "
              "not per message. ";
      if (workload.shape == Shape::fan_out) {
        note += fmt::format("Fan-out is one topic with {} subscribers: the broker makes no per-recipient decision. ",
                            plan.receivers.size());
      }
    }
    finish_result(result, meter, std::move(note));
    // The destructor of `load` disconnects the clients, then the broker stops.
    return result;
  }

  std::filesystem::path binary_;
};

}  // namespace

std::unique_ptr<Target> make_mosquitto_target() { return std::make_unique<MosquittoTarget>(); }

}  // namespace icegate::bench::peers
