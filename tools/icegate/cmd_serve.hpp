// `icegate serve`: run the gateway until SIGINT or SIGTERM.
//   serve --policy FILE --pki DIR [--listen HOST:PORT] [--data DIR] [--port-file FILE]
//         [--max-frame-bytes N] [--max-portions N] [--max-addressees N] [--max-connections N]
//         [--handshake-timeout MS] [--idle-timeout MS] [--frames] [--watch] [--no-fsync]
//         [--http HOST:PORT [--http-token TOKEN] [--http-port-file FILE]]
// --http serves the dashboard (docs/DASHBOARD.md) on the gateway's own thread.
// SIGHUP (or, with --watch, a change to the file) reloads the policy; an
// invalid new policy is refused with every error logged, and the old one stays.
// With --shadow-policy P2 every submission is also decided under P2, which is
// never enforced; each difference is recorded (audit, /metrics, dashboard),
// and P2 is reloaded whenever the policy is.
// Exit codes: 0 after a clean shutdown, 1 on a start-up error, 3 if the policy
// (or the shadow policy) is invalid.
#pragma once

#include <cstdint>
#include <filesystem>
#include <ostream>
#include <string>

#include <boost/asio/ip/tcp.hpp>

namespace icegate::cli {

struct ServeParams {
  std::filesystem::path policy;
  std::filesystem::path shadow_policy;  // decided under too, never enforced ("": none)
  std::filesystem::path pki;
  std::string listen = "127.0.0.1:7443";
  std::filesystem::path data = "icegate-data";
  std::filesystem::path port_file;  // written once listening, for scripts that bind port 0
  std::uint32_t max_frame_bytes = 1u << 20;
  int handshake_timeout_ms = 10'000;
  int idle_timeout_ms = 60'000;
  bool frames = false;  // log every frame in and out
  bool watch = false;   // reload the policy when its file changes
  std::size_t max_portions = 256;
  std::size_t max_addressees = 1024;
  std::size_t max_connections = 20'000;
  // GatewayConfig::audit_head_records and audit_head_interval (peers witness each other's trail).
  std::int64_t audit_head_records = 1000;
  int audit_head_interval_ms = 10'000;
  std::size_t threads = 0;  // threads that run connections (GatewayConfig::threads); 0: one per core
  bool no_fsync = false;  // no fdatasync of the WAL per group commit: survives a crash, not power loss
  bool no_verify_cache = false;  // verify every client chain in full (GatewayConfig::verify_cache)
  std::string log_level = "info";
  std::string http;                      // dashboard address, HOST:PORT; empty: no dashboard
  std::string http_token;                // required beyond loopback; made up (and printed) when not given
  std::filesystem::path http_port_file;  // the dashboard's bound port, for scripts that use port 0
};

int run_serve(const ServeParams& params, std::ostream& out, std::ostream& err);

// "127.0.0.1:7443" / "[::1]:7443" / "localhost:7443" into host and port;
// false (and `error`) when malformed.
bool split_host_port(const std::string& text, std::string& host, std::uint16_t& port, std::string& error);
// A dashboard address (--http): an IP address or localhost, and a port.
bool parse_http_address(const std::string& text, boost::asio::ip::tcp::endpoint& endpoint, std::string& error);
// Why an --http-token is unusable, or empty when it is fine (or not given).
std::string check_http_token(const std::string& token);

}  // namespace icegate::cli
