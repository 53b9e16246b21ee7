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
  // OpenSSL's SSL_MODE_RELEASE_BUFFERS on every connection: what idle
  // connections would cost if the transport freed its TLS buffers between
  // records (the gateway does not, so the relay does not by default).
  bool release_buffers = false;
  // No TLS 1.3 session tickets (SSL_CTX_set_num_tickets 0): what a handshake
  // would cost if the server did not issue tickets nobody uses (no icegate
  // client resumes). The gateway issues OpenSSL's default two, so does the relay.
  bool no_session_tickets = false;
};

// Runs until SIGTERM or SIGINT. Returns 0 after a clean stop, 1 when it
// cannot start (the reason written to `err`).
int run_relay(const RelayParams& params, std::ostream& err);

}  // namespace icegate::bench
