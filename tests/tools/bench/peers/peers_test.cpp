// The bench's peers: the plan and the broker configurations it generates, and
// then the real brokers started from those configurations over mutual TLS on
// loopback: a message gets through, a client without a certificate is
// refused, and publishing or subscribing outside the ACL / permissions is
// refused. Finally each workload shape runs briefly through each Target.
// Tests that need a broker skip when its binary is not installed.
#include <gtest/gtest.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <nats/nats.h>
#include <openssl/ssl.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <fstream>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/temporary_directory.hpp"
#include "tools/bench/peers/peers.hpp"
#include "tools/bench/peers/plan.hpp"
#include "tools/bench/peers/targets.hpp"
#include "tools/bench/latency.hpp"
#include "tools/bench/process.hpp"

namespace icegate::bench::peers {
namespace {

using namespace std::chrono_literals;
using icegate::testing::TemporaryDirectory;

constexpr auto event_timeout = 15s;  // a wait for an event, not a timing assertion

Workload small_relay() {
  Workload workload;
  workload.id = "W1";
  workload.shape = Shape::relay;
  workload.senders = 3;
  workload.receivers = 2;
  workload.window = 4;
  workload.warmup = 200ms;
  workload.duration = 400ms;
  return workload;
}

void write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path) << text;
}

// ---------------------------------------------------------------- the plan

TEST(PeerPlan, RelaySendsEachSenderToReceiverIModR) {
  const Plan plan = make_plan(small_relay());
  ASSERT_EQ(plan.senders, (std::vector<std::string>{"send-0", "send-1", "send-2"}));
  ASSERT_EQ(plan.receivers, (std::vector<std::string>{"recv-0", "recv-1"}));
  EXPECT_EQ(plan.sender_channel, (std::vector<std::size_t>{0, 1, 0}));
  EXPECT_EQ(plan.channels[0].mqtt_topic, "icegate/inbox/recv-0");
  EXPECT_EQ(plan.channels[1].nats_subject, "inbox.recv-1");
  EXPECT_EQ(plan.readers_per_message(2), 1u);
}

TEST(PeerPlan, FanOutIsOneChannelReadByEveryRecipient) {
  Workload workload;
  workload.id = "W2";
  workload.shape = Shape::fan_out;
  workload.senders = 1;
  workload.recipients_per_message = 200;
  const Plan plan = make_plan(workload);
  ASSERT_EQ(plan.channels.size(), 1u);
  EXPECT_EQ(plan.receivers.size(), 200u);
  EXPECT_EQ(plan.readers_per_message(0), 200u);
  EXPECT_EQ(plan.channels[0].mqtt_topic, "icegate/broadcast/W2");
}

TEST(PeerPlan, IdleConnectionsShareAPoolOfIdentities) {
  Workload workload;
  workload.id = "W5";
  workload.shape = Shape::idle;
  workload.connections = 5000;
  const Plan plan = make_plan(workload);
  EXPECT_EQ(plan.idle_connections, 5000u);
  EXPECT_EQ(plan.idle_identities.size(), idle_identity_pool);
}

TEST(PeerPlan, RefusesWhatPeersCannotRunNamingTheField) {
  Workload workload = small_relay();
  workload.senders = 0;
  try {
    make_plan(workload);
    FAIL() << "a workload without senders was planned";
  } catch (const std::invalid_argument& error) {
    EXPECT_STREQ(error.what(), "W1: senders must be at least 1");
  }
  workload = small_relay();
  workload.id = "W4";
  workload.shape = Shape::reconnect;
  EXPECT_THROW(make_plan(workload), std::invalid_argument);
}

TEST(PeerPlan, MosquittoAclGrantsOnlyOwnInboxAndDestination) {
  const auto acl = mosquitto_acl(make_plan(small_relay()));
  EXPECT_NE(acl.find("user recv-0\ntopic read icegate/inbox/recv-0\n"), std::string::npos) << acl;
  EXPECT_NE(acl.find("user send-1\ntopic write icegate/inbox/recv-1\n"), std::string::npos) << acl;
  EXPECT_EQ(acl.find("pattern"), std::string::npos) << acl;
  EXPECT_EQ(acl.find("#"), acl.find("# Generated")) << "no wildcard grants: " << acl;
}

TEST(PeerPlan, NatsUsersAreCertificateSubjectsWithAllowLists) {
  PkiFiles pki{.directory = "/pki", .ca_certificate = "/pki/ca.crt",
               .server_certificate = "/pki/gateway.crt", .server_key = "/pki/gateway.key"};
  const auto text = nats_configuration(4222, pki, make_plan(small_relay()));
  EXPECT_NE(text.find("verify_and_map: true"), std::string::npos);
  EXPECT_NE(text.find(R"({ user: "CN=recv-0", permissions: { publish: { deny: ">" }, subscribe: { allow: ["inbox.recv-0"] } } })"),
            std::string::npos) << text;
  EXPECT_NE(text.find(R"({ user: "CN=send-2", permissions: { publish: { allow: ["inbox.recv-0"] }, subscribe: { deny: ">" } } })"),
            std::string::npos) << text;
}

TEST(LatencyHistogram, QuantilesAreWithinABucket) {
  LatencyHistogram histogram;
  for (std::int64_t value = 1; value <= 100000; ++value) histogram.record(value * 1000);  // 1 us .. 100 ms
  EXPECT_EQ(histogram.count(), 100000u);
  EXPECT_NEAR(histogram.quantile_ns(0.5), 50e6, 50e6 * 0.02);
  EXPECT_NEAR(histogram.quantile_ns(0.99), 99e6, 99e6 * 0.02);
  EXPECT_NEAR(histogram.quantile_ns(0.999), 99.9e6, 99.9e6 * 0.02);
  for (std::size_t bucket = 0; bucket + 1 < LatencyHistogram::bucket_count; ++bucket) {
    ASSERT_EQ(LatencyHistogram::bucket_high(bucket) + 1, LatencyHistogram::bucket_low(bucket + 1)) << bucket;
    ASSERT_EQ(LatencyHistogram::bucket_of(LatencyHistogram::bucket_low(bucket)), bucket);
  }
}

// ---------------------------------------------------------------- Mosquitto

// A libmosquitto client on its own thread (mosquitto_loop_start), recording
// what the broker answered.
class MqttProbe {
 public:
  MqttProbe(const std::string& client_id, const PkiFiles& pki, std::optional<std::string> identity) {
    handle_ = mosquitto_new(client_id.c_str(), true, this);
    mosquitto_int_option(handle_, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    if (identity) {
      const auto certificate = pki.client_certificate(*identity).string();
      const auto key = pki.client_key(*identity).string();
      mosquitto_tls_set(handle_, pki.ca_certificate.c_str(), nullptr, certificate.c_str(), key.c_str(), nullptr);
    } else {
      mosquitto_tls_set(handle_, pki.ca_certificate.c_str(), nullptr, nullptr, nullptr, nullptr);
    }
    mosquitto_tls_opts_set(handle_, SSL_VERIFY_PEER, "tlsv1.3", nullptr);
    mosquitto_connect_v5_callback_set(handle_, [](mosquitto*, void* self, int rc, int, const mosquitto_property*) {
      static_cast<MqttProbe*>(self)->record([&](MqttProbe& p) { p.connack_ = rc; });
    });
    mosquitto_disconnect_v5_callback_set(handle_, [](mosquitto*, void* self, int, const mosquitto_property*) {
      static_cast<MqttProbe*>(self)->record([&](MqttProbe& p) { p.disconnected_ = true; });
    });
    mosquitto_subscribe_v5_callback_set(handle_, [](mosquitto*, void* self, int, int count, const int* granted, const mosquitto_property*) {
      static_cast<MqttProbe*>(self)->record([&](MqttProbe& p) { p.subacks_.push_back(count > 0 ? granted[0] : -1); });
    });
    mosquitto_publish_v5_callback_set(handle_, [](mosquitto*, void* self, int, int reason, const mosquitto_property*) {
      static_cast<MqttProbe*>(self)->record([&](MqttProbe& p) { p.pubacks_.push_back(reason); });
    });
    mosquitto_message_v5_callback_set(handle_, [](mosquitto*, void* self, const mosquitto_message* message, const mosquitto_property*) {
      std::string text(static_cast<const char*>(message->payload), static_cast<std::size_t>(message->payloadlen));
      static_cast<MqttProbe*>(self)->record([&](MqttProbe& p) { p.messages_.push_back(message->topic + std::string(" ") + text); });
    });
  }
  ~MqttProbe() {
    mosquitto_disconnect(handle_);
    mosquitto_loop_stop(handle_, true);
    mosquitto_destroy(handle_);
  }

  // The connect's own result (0, or an error such as a refused handshake).
  int connect(std::uint16_t port) {
    const int rc = mosquitto_connect(handle_, "127.0.0.1", port, 30);
    mosquitto_loop_start(handle_);
    return rc;
  }
  void subscribe(const std::string& topic) { mosquitto_subscribe(handle_, nullptr, topic.c_str(), 1); }
  void publish(const std::string& topic, const std::string& text) {
    mosquitto_publish(handle_, nullptr, topic.c_str(), static_cast<int>(text.size()), text.data(), 1, false);
  }

  // Waits (up to event_timeout) until `ready` holds; returns whether it did.
  template <typename Predicate>
  bool wait(Predicate ready) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, event_timeout, [&] { return ready(*this); });
  }

  std::optional<int> connack_;
  bool disconnected_ = false;
  std::vector<int> subacks_, pubacks_;
  std::vector<std::string> messages_;

 private:
  template <typename Change>
  void record(Change change) {
    {
      std::lock_guard lock(mutex_);
      change(*this);
    }
    changed_.notify_all();
  }

  mosquitto* handle_ = nullptr;
  std::mutex mutex_;
  std::condition_variable changed_;
};

class MosquittoConfig : public ::testing::Test {
 protected:
  void SetUp() override {
    binary_ = find_program("mosquitto");
    if (binary_.empty()) GTEST_SKIP() << "mosquitto is not installed";
    mosquitto_lib_init();
    plan_ = make_plan(small_relay());
    pki_ = ensure_pki(directory_ / "pki", plan_.identities());
    MosquittoSettings settings;
    settings.port = port_ = pick_free_port();
    settings.acl_file = directory_ / "acl";
    settings.persistence_directory = directory_ / "persistence";
    if (::geteuid() == 0) settings.run_as_user = "root";
    std::filesystem::create_directories(settings.persistence_directory);
    write_file(settings.acl_file, mosquitto_acl(plan_));
    write_file(directory_ / "mosquitto.conf", mosquitto_configuration(settings, pki_));
    broker_.emplace(std::vector<std::string>{binary_.string(), "-c", (directory_ / "mosquitto.conf").string()},
                    directory_ / "mosquitto.log");
    broker_->wait_for_port(port_, 15s);
  }

  TemporaryDirectory directory_;
  std::filesystem::path binary_;
  Plan plan_;
  PkiFiles pki_;
  std::uint16_t port_ = 0;
  std::optional<ChildProcess> broker_;
};

TEST_F(MosquittoConfig, AMessageGetsThroughOverTlsWithClientCertificates) {
  MqttProbe receiver("recv-0", pki_, "recv-0");
  MqttProbe sender("send-0", pki_, "send-0");
  ASSERT_EQ(receiver.connect(port_), MOSQ_ERR_SUCCESS);
  ASSERT_TRUE(receiver.wait([](auto& p) { return p.connack_.has_value(); })) << tail_of_file(directory_ / "mosquitto.log");
  ASSERT_EQ(*receiver.connack_, 0);
  receiver.subscribe("icegate/inbox/recv-0");
  ASSERT_TRUE(receiver.wait([](auto& p) { return !p.subacks_.empty(); }));
  EXPECT_EQ(receiver.subacks_[0], 1);  // granted QoS 1

  ASSERT_EQ(sender.connect(port_), MOSQ_ERR_SUCCESS);
  ASSERT_TRUE(sender.wait([](auto& p) { return p.connack_.has_value(); }));
  sender.publish("icegate/inbox/recv-0", "hello");
  ASSERT_TRUE(sender.wait([](auto& p) { return !p.pubacks_.empty(); }));
  EXPECT_EQ(sender.pubacks_[0], 0);
  ASSERT_TRUE(receiver.wait([](auto& p) { return !p.messages_.empty(); }));
  EXPECT_EQ(receiver.messages_[0], "icegate/inbox/recv-0 hello");
}

TEST_F(MosquittoConfig, AClientWithoutACertificateIsRefused) {
  MqttProbe anonymous("anonymous", pki_, std::nullopt);
  const int rc = anonymous.connect(port_);
  if (rc == MOSQ_ERR_SUCCESS) {
    // The handshake may fail after connect() returned: then no CONNACK 0 comes.
    ASSERT_TRUE(anonymous.wait([](auto& p) { return p.disconnected_ || p.connack_.has_value(); }));
    EXPECT_NE(anonymous.connack_.value_or(-1), 0);
  }
}

TEST_F(MosquittoConfig, PublishingOrReadingOutsideTheAclIsRefused) {
  MqttProbe owner("recv-0", pki_, "recv-0");
  MqttProbe other("recv-1", pki_, "recv-1");
  MqttProbe sender("send-0", pki_, "send-0");  // may write only icegate/inbox/recv-0
  MqttProbe allowed("send-1", pki_, "send-1");  // may write only icegate/inbox/recv-1
  for (auto* probe : {&owner, &other, &sender, &allowed}) {
    ASSERT_EQ(probe->connect(port_), MOSQ_ERR_SUCCESS);
    ASSERT_TRUE(probe->wait([](auto& p) { return p.connack_ == 0; })) << tail_of_file(directory_ / "mosquitto.log");
  }
  owner.subscribe("icegate/inbox/recv-0");
  // Mosquitto 2.0 grants a subscription to someone else's inbox and applies
  // the read ACL to each message instead: recv-1 must never see recv-0's mail.
  other.subscribe("icegate/inbox/recv-0");
  other.subscribe("icegate/inbox/recv-1");
  ASSERT_TRUE(owner.wait([](auto& p) { return p.subacks_.size() == 1; }));
  ASSERT_TRUE(other.wait([](auto& p) { return p.subacks_.size() == 2; }));

  sender.publish("icegate/inbox/recv-1", "not for you");
  ASSERT_TRUE(sender.wait([](auto& p) { return !p.pubacks_.empty(); }));
  EXPECT_EQ(sender.pubacks_[0], MQTT_RC_NOT_AUTHORIZED);

  sender.publish("icegate/inbox/recv-0", "for recv-0");
  ASSERT_TRUE(owner.wait([](auto& p) { return !p.messages_.empty(); }));
  EXPECT_EQ(owner.messages_, (std::vector<std::string>{"icegate/inbox/recv-0 for recv-0"}));
  // Routed to every matching subscriber at once: by now recv-1 would have it.
  allowed.publish("icegate/inbox/recv-1", "for recv-1");
  ASSERT_TRUE(other.wait([](auto& p) { return !p.messages_.empty(); }));
  EXPECT_EQ(other.messages_, (std::vector<std::string>{"icegate/inbox/recv-1 for recv-1"}));
}

// ---------------------------------------------------------------- NATS

// Thread-per-connection libnats (the plain API) for the configuration checks.
struct NatsProbe {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::string> messages, errors;

  static void on_message(natsConnection*, natsSubscription*, natsMsg* message, void* closure) {
    auto& self = *static_cast<NatsProbe*>(closure);
    {
      std::lock_guard lock(self.mutex);
      self.messages.emplace_back(natsMsg_GetData(message), static_cast<std::size_t>(natsMsg_GetDataLength(message)));
    }
    natsMsg_Destroy(message);
    self.changed.notify_all();
  }
  static void on_error(natsConnection* connection, natsSubscription*, natsStatus, void* closure) {
    auto& self = *static_cast<NatsProbe*>(closure);
    const char* text = nullptr;
    natsConnection_GetLastError(connection, &text);
    {
      std::lock_guard lock(self.mutex);
      self.errors.emplace_back(text ? text : "");
    }
    self.changed.notify_all();
  }
  template <typename Predicate>
  bool wait(Predicate ready) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, event_timeout, [&] { return ready(*this); });
  }
};

class NatsConfig : public ::testing::Test {
 protected:
  void SetUp() override {
    binary_ = find_program("nats-server");
    if (binary_.empty()) GTEST_SKIP() << "nats-server is not installed";
    plan_ = make_plan(small_relay());
    pki_ = ensure_pki(directory_ / "pki", plan_.identities());
    port_ = pick_free_port();
    write_file(directory_ / "nats-server.conf", nats_configuration(port_, pki_, plan_));
    server_.emplace(std::vector<std::string>{binary_.string(), "-c", (directory_ / "nats-server.conf").string()},
                    directory_ / "nats-server.log");
    server_->wait_for_port(port_, 15s);
  }
  void TearDown() override {
    for (auto* connection : connections_) {
      natsConnection_Close(connection);
      natsConnection_Destroy(connection);
    }
  }

  // A probe that outlives the connections: libnats calls its handlers from
  // its own threads until TearDown closes them, so a probe on the test's
  // stack would be written to after the test body returned (seen as "stack
  // smashing detected" in CI).
  NatsProbe& new_probe() { return probes_.emplace_back(); }

  // Connects as `identity` (no client certificate when nullopt).
  natsStatus connect(std::optional<std::string> identity, NatsProbe& probe, natsConnection** connection) {
    natsOptions* options = nullptr;
    natsOptions_Create(&options);
    const auto url = "tls://127.0.0.1:" + std::to_string(port_);
    natsOptions_SetURL(options, url.c_str());
    natsOptions_SetSecure(options, true);
    natsOptions_LoadCATrustedCertificates(options, pki_.ca_certificate.c_str());
    natsOptions_SetExpectedHostname(options, "localhost");
    natsOptions_SetAllowReconnect(options, false);
    natsOptions_SetErrorHandler(options, &NatsProbe::on_error, &probe);
    if (identity) {
      natsOptions_LoadCertificatesChain(options, pki_.client_certificate(*identity).c_str(),
                                        pki_.client_key(*identity).c_str());
    }
    const natsStatus status = natsConnection_Connect(connection, options);
    natsOptions_Destroy(options);
    if (status == NATS_OK) connections_.push_back(*connection);
    return status;
  }

  TemporaryDirectory directory_;
  std::filesystem::path binary_;
  Plan plan_;
  PkiFiles pki_;
  std::uint16_t port_ = 0;
  std::optional<ChildProcess> server_;
  std::list<NatsProbe> probes_;  // members outlive TearDown, which closes the connections
  std::vector<natsConnection*> connections_;
};

TEST_F(NatsConfig, AMessageGetsThroughOverTlsWithClientCertificates) {
  NatsProbe& receiver_probe = new_probe();
  NatsProbe& sender_probe = new_probe();
  natsConnection* receiver = nullptr;
  natsConnection* sender = nullptr;
  ASSERT_EQ(connect("recv-0", receiver_probe, &receiver), NATS_OK) << nats_GetLastError(nullptr) << tail_of_file(directory_ / "nats-server.log");
  natsSubscription* subscription = nullptr;
  ASSERT_EQ(natsConnection_Subscribe(&subscription, receiver, "inbox.recv-0", &NatsProbe::on_message, &receiver_probe), NATS_OK);
  ASSERT_EQ(natsConnection_FlushTimeout(receiver, 10000), NATS_OK);
  ASSERT_EQ(connect("send-0", sender_probe, &sender), NATS_OK) << nats_GetLastError(nullptr);
  ASSERT_EQ(natsConnection_PublishString(sender, "inbox.recv-0", "hello"), NATS_OK);
  ASSERT_EQ(natsConnection_FlushTimeout(sender, 10000), NATS_OK);
  ASSERT_TRUE(receiver_probe.wait([](auto& p) { return !p.messages.empty(); }));
  EXPECT_EQ(receiver_probe.messages[0], "hello");
  EXPECT_TRUE(sender_probe.errors.empty());
  natsSubscription_Destroy(subscription);
}

TEST_F(NatsConfig, AClientWithoutACertificateIsRefused) {
  NatsProbe& probe = new_probe();
  natsConnection* connection = nullptr;
  EXPECT_NE(connect(std::nullopt, probe, &connection), NATS_OK);
}

TEST_F(NatsConfig, PublishingOrSubscribingOutsideThePermissionsIsRefused) {
  NatsProbe& other_probe = new_probe();
  NatsProbe& sender_probe = new_probe();
  natsConnection* other = nullptr;
  natsConnection* sender = nullptr;
  ASSERT_EQ(connect("recv-1", other_probe, &other), NATS_OK) << nats_GetLastError(nullptr);
  ASSERT_EQ(connect("send-0", sender_probe, &sender), NATS_OK) << nats_GetLastError(nullptr);

  natsSubscription* stolen = nullptr;
  natsSubscription* own = nullptr;
  ASSERT_EQ(natsConnection_Subscribe(&stolen, other, "inbox.recv-0", &NatsProbe::on_message, &other_probe), NATS_OK);
  ASSERT_TRUE(other_probe.wait([](auto& p) { return !p.errors.empty(); }));
  EXPECT_NE(other_probe.errors[0].find("Permissions Violation for Subscription to \"inbox.recv-0\""), std::string::npos)
      << other_probe.errors[0];
  ASSERT_EQ(natsConnection_Subscribe(&own, other, "inbox.recv-1", &NatsProbe::on_message, &other_probe), NATS_OK);
  ASSERT_EQ(natsConnection_FlushTimeout(other, 10000), NATS_OK);

  ASSERT_EQ(natsConnection_PublishString(sender, "inbox.recv-1", "not for you"), NATS_OK);
  ASSERT_TRUE(sender_probe.wait([](auto& p) { return !p.errors.empty(); }));
  EXPECT_NE(sender_probe.errors[0].find("Permissions Violation for Publish to \"inbox.recv-1\""), std::string::npos)
      << sender_probe.errors[0];

  // send-1 may publish to recv-1: its message arrives, and it is the only one.
  NatsProbe& allowed_probe = new_probe();
  natsConnection* allowed = nullptr;
  ASSERT_EQ(connect("send-1", allowed_probe, &allowed), NATS_OK);
  ASSERT_EQ(natsConnection_PublishString(allowed, "inbox.recv-1", "for you"), NATS_OK);
  ASSERT_EQ(natsConnection_FlushTimeout(allowed, 10000), NATS_OK);
  ASSERT_TRUE(other_probe.wait([](auto& p) { return !p.messages.empty(); }));
  EXPECT_EQ(other_probe.messages, (std::vector<std::string>{"for you"}));
  natsSubscription_Destroy(stolen);
  natsSubscription_Destroy(own);
}

// ---------------------------------------------------------------- the targets

struct ShapeCase {
  const char* target;
  Workload workload;
};

void PrintTo(const ShapeCase& shape_case, std::ostream* out) {
  *out << shape_case.target << " " << shape_case.workload.id;
}

std::vector<ShapeCase> shape_cases() {
  std::vector<ShapeCase> cases;
  for (const char* target : {"mosquitto", "nats"}) {
    Workload relay = small_relay();
    Workload fan_out = small_relay();
    fan_out.id = "W2";
    fan_out.shape = Shape::fan_out;
    fan_out.senders = 1;
    fan_out.receivers = 0;
    fan_out.recipients_per_message = 20;
    Workload fan_in = small_relay();
    fan_in.id = "W3";
    fan_in.shape = Shape::fan_in;
    fan_in.senders = 40;
    fan_in.receivers = 2;
    Workload idle = small_relay();
    idle.id = "W5";
    idle.shape = Shape::idle;
    idle.connections = 60;
    for (auto& workload : {relay, fan_out, fan_in, idle}) cases.push_back({target, workload});
  }
  return cases;
}

class PeerTargetRun : public ::testing::TestWithParam<ShapeCase> {
 protected:
  // One work dir for every run, as in `icegate-bench`: certificates are issued once.
  static void SetUpTestSuite() { work_ = new TemporaryDirectory; }
  static void TearDownTestSuite() {
    delete work_;
    work_ = nullptr;
  }
  static TemporaryDirectory* work_;
};
TemporaryDirectory* PeerTargetRun::work_ = nullptr;

TEST_P(PeerTargetRun, RunsTheWorkloadWithoutErrors) {
  const std::string target_name = GetParam().target;  // not a structured binding: clang 14 cannot capture one
  const Workload& workload = GetParam().workload;
  auto targets = peer_targets();
  auto found = std::find_if(targets.begin(), targets.end(), [&](auto& t) { return t->name() == target_name; });
  ASSERT_NE(found, targets.end());
  if (auto why = (*found)->unavailable(workload); !why.empty()) GTEST_SKIP() << why;

  Environment environment;
  environment.work_dir = work_->path();
  const Result result = (*found)->run(workload, environment);
  ASSERT_TRUE(result.ran) << result.skipped;
  EXPECT_EQ(result.target, target_name);
  EXPECT_EQ(result.workload, workload.id);
  EXPECT_EQ(result.errors, 0u) << result.note;
  EXPECT_EQ(result.problem, "");
  EXPECT_GT(result.server_rss_bytes, 0u);
  if (workload.shape == Shape::idle) {
    EXPECT_EQ(result.connections, workload.connections) << result.note;
  } else {
    EXPECT_GT(result.sent, 0u);
    EXPECT_GT(result.delivered, 0u);
    EXPECT_GT(result.p50_us, 0);
    EXPECT_LE(result.p50_us, result.p99_us);
    EXPECT_LE(result.p99_us, result.p999_us);
    EXPECT_GT(result.server_cpu_seconds, 0) << "the broker did the work";
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, PeerTargetRun, ::testing::ValuesIn(shape_cases()),
                         [](const auto& info) { return std::string(info.param.target) + "_" + info.param.workload.id; });

TEST(PeerTargets, AreMosquittoThenNats) {
  auto targets = peer_targets();
  ASSERT_EQ(targets.size(), 2u);
  EXPECT_EQ(targets[0]->name(), "mosquitto");
  EXPECT_EQ(targets[1]->name(), "nats");
  Workload reconnect = small_relay();
  reconnect.id = "W4";
  reconnect.shape = Shape::reconnect;
  EXPECT_FALSE(targets[0]->unavailable(reconnect).empty());
  EXPECT_FALSE(targets[1]->unavailable(reconnect).empty());
}

}  // namespace
}  // namespace icegate::bench::peers
