// Who talks to whom in one workload, and the broker configurations that
// allow exactly that: every client is its own identity (certificate CN =
// client id), receivers may read only their own inbox (or, for the fan-out,
// the one broadcast topic), senders may write only where the workload sends.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "tools/bench/workload.hpp"

namespace icegate::bench::peers {

// A destination: an MQTT topic and a NATS subject, who reads it, who writes it.
struct Channel {
  std::string mqtt_topic;    // "icegate/inbox/recv-3", "icegate/broadcast/W2"
  std::string nats_subject;  // "inbox.recv-3", "broadcast.W2"
  std::vector<std::size_t> readers;  // indices into Plan::receivers
  std::vector<std::size_t> writers;  // indices into Plan::senders
};

struct Plan {
  std::string workload_id;
  std::vector<std::string> senders;    // client ids, which are also certificate CNs
  std::vector<std::string> receivers;
  std::vector<std::size_t> sender_channel;  // the channel sender i publishes to
  std::vector<Channel> channels;
  // W5: connections open at once, and the identities they take in turn.
  std::size_t idle_connections = 0;
  std::vector<std::string> idle_identities;

  // Every identity the plan needs a certificate for.
  std::vector<std::string> identities() const;
  // Deliveries one message from sender i makes.
  std::size_t readers_per_message(std::size_t sender) const {
    return channels[sender_channel[sender]].readers.size();
  }
};

// How many distinct identities W5's idle connections share (certificate
// issuing writes and fsyncs two files each; thousands would take minutes).
inline constexpr std::size_t idle_identity_pool = 256;

// W1/W0/W3: sender i sends to receiver (i mod R)'s inbox. W2: one broadcast
// channel read by `recipients_per_message` receivers. W5: idle identities.
// Throws std::invalid_argument naming the field when the workload cannot be
// planned (no senders, no receivers, a shape peers do not run).
Plan make_plan(const Workload& workload);

// The certificates a broker and its clients use, all from one CA made with
// gateway/pki (the broker presents the "gateway" server certificate: SAN
// 127.0.0.1 and localhost).
struct PkiFiles {
  std::filesystem::path directory;
  std::filesystem::path ca_certificate;
  std::filesystem::path server_certificate;
  std::filesystem::path server_key;
  std::filesystem::path client_certificate(const std::string& id) const;
  std::filesystem::path client_key(const std::string& id) const;
};

// Creates the CA in `directory` if there is none, and issues a certificate for
// every id that has none yet, so reruns in one work dir reuse them.
PkiFiles ensure_pki(const std::filesystem::path& directory, const std::vector<std::string>& ids);

struct MosquittoSettings {
  std::uint16_t port = 0;
  std::filesystem::path acl_file;
  std::filesystem::path persistence_directory;  // ends up as persistence_location
  std::string run_as_user;  // `user`: mosquitto drops root privileges to "mosquitto" unless told
  std::size_t max_queued_messages = 100000;
};

// mosquitto.conf: one TLS 1.3 listener on 127.0.0.1 with require_certificate,
// use_identity_as_username, the acl_file, persistence.
std::string mosquitto_configuration(const MosquittoSettings& settings, const PkiFiles& pki);
// The acl_file: per user, `topic read` for the channels it reads and `topic
// write` for the ones it writes; nothing else (idle users get no topic at all).
std::string mosquitto_acl(const Plan& plan);

// nats-server.conf: TLS with verify_and_map, one user per identity (named by
// its certificate subject, "CN=recv-3") with publish and subscribe allow lists
// and deny ">" for the direction it does not use.
std::string nats_configuration(std::uint16_t port, const PkiFiles& pki, const Plan& plan);

}  // namespace icegate::bench::peers
