// W0's server: a raw mutual-TLS relay built from the gateway's own transport
// (gateway/transport's TLS contexts, read_frame, write_bytes and Deadline
// watchdog), with the policy, the store and the audit trail left out. It is
// the ceiling the gateway is compared against: what the same connections,
// frames and I/O pattern cost when nothing is decided and nothing is written.
//
// For each connection it checks the certificate (CN = node id) and Hello
// like the gateway, answers Welcome, and then for each Submit forwards the
// Submit's bytes as a Deliver to the connection of the first addressee (a
// node) and Acks the sender at once. Acks from recipients are read and
// dropped. One io_context thread, one reader and one writer coroutine per
// connection with a bounded outbound queue, as in gateway/server.
#pragma once

#include <cstdint>
#include <filesystem>
#include <ostream>
#include <string>

namespace icegate::bench {

struct RelayParams {
  std::filesystem::path pki;
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;                 // 0: pick one
  std::filesystem::path port_file;        // written (by rename) once listening
  std::size_t outbound_queue_limit = 1024;
  // Keep each connection's TLS record buffers (clear OpenSSL's
  // SSL_MODE_RELEASE_BUFFERS, which transport::TlsStream sets): what freeing
  // them between records costs in throughput, against what it saves idle
  // connections (W5). The gateway releases them, so does the relay by default.
  bool keep_buffers = false;
};

// Runs until SIGTERM or SIGINT. Returns 0 after a clean stop, 1 when it
// cannot start (the reason written to `err`).
int run_relay(const RelayParams& params, std::ostream& err);

}  // namespace icegate::bench
