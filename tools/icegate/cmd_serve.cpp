#include "tools/icegate/cmd_serve.hpp"

#include <charconv>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <fmt/format.h>
#include <fmt/ostream.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "gateway/http/access.hpp"
#include "gateway/http/dashboard.hpp"
#include "gateway/http/http_server.hpp"
#include "gateway/policy/engine.hpp"
#include "gateway/server/gateway.hpp"
#include "gateway/server/logging.hpp"
#include "tools/icegate/commands.hpp"

namespace icegate::cli {

namespace asio = boost::asio;

bool split_host_port(const std::string& text, std::string& host, std::uint16_t& port, std::string& error) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon + 1 == text.size()) {
    error = fmt::format("'{}' is not HOST:PORT", text);
    return false;
  }
  host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  const std::string port_text = text.substr(colon + 1);
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
  if (ec != std::errc{} || end != port_text.data() + port_text.size() || value > 65535) {
    error = fmt::format("'{}' in '{}' is not a port number", port_text, text);
    return false;
  }
  if (host.empty()) {
    error = fmt::format("'{}' has no host", text);
    return false;
  }
  port = static_cast<std::uint16_t>(value);
  return true;
}

namespace {

// Writes `port` to `file` through a temporary name, so a reader never sees half a number.
void write_port_file(const std::filesystem::path& file, unsigned port) {
  const auto temporary = file.string() + ".tmp";
  std::ofstream(temporary) << port << '\n';
  std::error_code ignored;
  std::filesystem::rename(temporary, file, ignored);
}

}  // namespace

bool parse_http_address(const std::string& text, asio::ip::tcp::endpoint& endpoint, std::string& error) {
  std::string host;
  std::uint16_t port = 0;
  if (!split_host_port(text, host, port, error)) return false;
  if (host == "localhost") host = "127.0.0.1";
  boost::system::error_code address_error;
  const auto address = asio::ip::make_address(host, address_error);
  if (address_error) {
    error = fmt::format("'{}' is not an IP address (or localhost)", host);
    return false;
  }
  endpoint = {address, port};
  return true;
}

std::string check_http_token(const std::string& token) {
  if (token.empty()) return {};
  if (token.size() < 16) return "the token must be at least 16 characters long";
  for (const char c : token)
    if (c <= ' ' || c > '~') return "the token must be printable ASCII without spaces";
  return {};
}

void configure_logging(const std::string& level) {
  server::install_logger(spdlog::stderr_color_mt("icegate"), level);
}

int run_serve(const ServeParams& params, std::ostream& out, std::ostream& err) {
  std::string host;
  std::uint16_t port = 0;
  std::string error;
  if (!split_host_port(params.listen, host, port, error)) {
    fmt::print(err, "icegate serve: --listen: {}\n", error);
    return exit_error;
  }
  boost::system::error_code address_error;
  const auto address = asio::ip::make_address(host, address_error);
  if (address_error) {
    fmt::print(err, "icegate serve: --listen: '{}' is not an IP address\n", host);
    return exit_error;
  }

  asio::ip::tcp::endpoint http_endpoint;
  if (!params.http.empty() && !parse_http_address(params.http, http_endpoint, error)) {
    fmt::print(err, "icegate serve: --http: {}\n", error);
    return exit_error;
  }
  if (const auto problem = check_http_token(params.http_token); !problem.empty()) {
    fmt::print(err, "icegate serve: --http-token: {}\n", problem);
    return exit_error;
  }
  if (params.http.empty() && (!params.http_token.empty() || !params.http_port_file.empty())) {
    fmt::print(err, "icegate serve: --http-token and --http-port-file need --http\n");
    return exit_error;
  }

  auto loaded = server::load_policy_giving_memory_back(params.policy);
  for (const auto& diagnostic : loaded.diagnostics.sorted()) fmt::print(err, "{}\n", policy::to_string(diagnostic));
  if (!loaded.policy) {
    fmt::print(err, "icegate serve: policy {} has {} error(s); not starting\n", params.policy.string(),
               loaded.diagnostics.error_count());
    return exit_invalid_policy;
  }

  // The shadow policy is checked like the enforced one: a bad file stops the start, with every error located.
  std::shared_ptr<const policy::CompiledPolicy> shadow_policy;
  if (!params.shadow_policy.empty()) {
    std::error_code missing;
    if (!std::filesystem::is_regular_file(params.shadow_policy, missing)) {
      fmt::print(err, "icegate serve: --shadow-policy: cannot read policy file {}\n", params.shadow_policy.string());
      return exit_error;
    }
    auto shadow = server::load_policy_giving_memory_back(params.shadow_policy);
    for (const auto& diagnostic : shadow.diagnostics.sorted()) fmt::print(err, "{}\n", policy::to_string(diagnostic));
    if (!shadow.policy) {
      fmt::print(err, "icegate serve: shadow policy {} has {} error(s); not starting\n", params.shadow_policy.string(),
                 shadow.diagnostics.error_count());
      return exit_invalid_policy;
    }
    shadow_policy = std::move(shadow.policy);
  }

  std::error_code fs_error;
  std::filesystem::create_directories(params.data, fs_error);
  if (fs_error) {
    fmt::print(err, "icegate serve: cannot create data directory {}: {}\n", params.data.string(), fs_error.message());
    return exit_error;
  }

  server::GatewayConfig config;
  config.listen = {address, port};
  config.pki_dir = params.pki;
  config.policy_file = params.policy;
  config.shadow_policy_file = params.shadow_policy;
  config.data_dir = params.data;
  config.max_frame_bytes = params.max_frame_bytes;
  config.handshake_timeout = std::chrono::milliseconds(params.handshake_timeout_ms);
  config.idle_timeout = std::chrono::milliseconds(params.idle_timeout_ms);
  config.log_frames = params.frames;
  config.watch_policy = params.watch;
  config.message_limits.max_portions = params.max_portions;
  config.message_limits.max_addressees = params.max_addressees;
  config.max_connections = params.max_connections;
  config.audit_head_records = params.audit_head_records;
  config.audit_head_interval = std::chrono::milliseconds(params.audit_head_interval_ms);
  config.durable_fsync = !params.no_fsync;
  config.verify_cache = !params.no_verify_cache;
  config.threads = params.threads;

  asio::io_context io(1);
  // Destroyed in reverse order: the dashboard's server, the dashboard, then the gateway it watches.
  std::unique_ptr<server::Gateway> gateway;
  std::unique_ptr<http::Dashboard> dashboard;
  std::unique_ptr<http::HttpServer> http_server;
  try {
    gateway = std::make_unique<server::Gateway>(io, config, loaded.policy);
    if (shadow_policy) gateway->set_shadow_policy(shadow_policy);
    gateway->start();
  } catch (const std::exception& e) {  // a bad PKI, an unopenable store, a port in use
    fmt::print(err, "icegate serve: {}\n", e.what());
    return exit_error;
  }
  if (!params.port_file.empty()) write_port_file(params.port_file, gateway->local_endpoint().port());
  if (!params.http.empty()) {
    const auto access = http::access_for(http_endpoint.address().to_string(), params.http_token);
    dashboard = std::make_unique<http::Dashboard>(*gateway, access);
    http::HttpServerOptions options;
    options.listen = http_endpoint;
    http_server = std::make_unique<http::HttpServer>(io, *dashboard, options);
    try {
      http_server->start();
    } catch (const std::exception& e) {
      fmt::print(err, "icegate serve: --http {}: {}\n", params.http, e.what());
      return exit_error;
    }
    const auto bound = http_server->local_endpoint();
    // The URL (with a made-up token, the only place it is shown) goes to stdout, once.
    fmt::print(out, "dashboard: {}\n", http::dashboard_url(bound.address().to_string(), bound.port(), access));
    out.flush();
    spdlog::info("dashboard on {}:{}{}", bound.address().to_string(), bound.port(),
                 access.token.empty() ? " (loopback: no token)" : " (access token required)");
    if (!params.http_port_file.empty()) write_port_file(params.http_port_file, bound.port());
  }

  // Shutdown by cancellation (docs/ARCHITECTURE.md, "Shutdown"): SIGINT or
  // SIGTERM makes the gateway emit a cancellation to its listener, its loops
  // and every session. Each session finishes what it is writing (within the
  // write deadline) and closes; when the last one has ended and the store has
  // committed what they left, the gateway calls back, the dashboard stops, and
  // io.run() returns because nothing is left to do. No timer waits for that.
  asio::signal_set stop_signals(io, SIGINT, SIGTERM);
  asio::signal_set reload_signals(io, SIGHUP);
  stop_signals.async_wait([&](const boost::system::error_code& error, int signal) {
    if (error) return;
    spdlog::info("signal {}: shutting down", signal);
    reload_signals.cancel();
    gateway->stop([&] {
      // /healthz said 503 while draining; now the dashboard goes too.
      if (http_server) http_server->stop();
    });
  });
  std::function<void()> wait_reload = [&] {
    reload_signals.async_wait([&](const boost::system::error_code& error, int) {
      if (error) return;
      spdlog::info("SIGHUP: reloading {}{}", params.policy.string(),
                   params.shadow_policy.empty() ? "" : " and the shadow policy " + params.shadow_policy.string());
      gateway->reload_policy();
      wait_reload();
    });
  };
  wait_reload();

  io.run();
  spdlog::info("gateway stopped");
  return exit_ok;
}

void add_serve_command(CLI::App& root, int& exit_code) {
  auto params = std::make_shared<ServeParams>();
  CLI::App* serve = root.add_subcommand("serve", "Run the gateway");
  serve->add_option("--policy", params->policy, "Policy file (YAML)")->required()->check(CLI::ExistingFile);
  serve->add_option("--shadow-policy", params->shadow_policy,
                    "Also decide every submission under this policy, enforcing nothing, and record each difference "
                    "(audit shadow_difference records, /metrics, the dashboard); reloaded with --policy");
  serve->add_option("--pki", params->pki, "PKI directory (see icegate pki init)")->required()->check(CLI::ExistingDirectory);
  serve->add_option("--listen", params->listen, "Address to listen on, HOST:PORT (port 0 picks one)")->capture_default_str();
  serve->add_option("--data", params->data, "Data directory")->capture_default_str();
  serve->add_option("--port-file", params->port_file, "Write the bound port here once listening");
  serve->add_option("--max-frame-bytes", params->max_frame_bytes, "Largest frame accepted")
      ->check(CLI::Range(64u, 64u << 20))
      ->capture_default_str();
  serve->add_option("--handshake-timeout", params->handshake_timeout_ms, "Milliseconds for the TLS handshake and Hello")
      ->check(CLI::Range(10, 600'000))
      ->capture_default_str();
  serve->add_option("--idle-timeout", params->idle_timeout_ms, "Milliseconds a session may be silent")
      ->check(CLI::Range(100, 86'400'000))
      ->capture_default_str();
  serve->add_flag("--frames", params->frames, "Log every frame in and out");
  serve->add_flag("--watch", params->watch, "Reload the policy when its file changes");
  serve->add_option("--max-portions", params->max_portions, "Portions per message at most")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 20))
      ->capture_default_str();
  serve->add_option("--max-addressees", params->max_addressees, "Addressees per message at most")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 20))
      ->capture_default_str();
  serve->add_option("--max-connections", params->max_connections, "Open connections at most")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 24))
      ->capture_default_str();
  serve->add_option("--audit-head-records", params->audit_head_records,
                    "Send each peer gateway a newly signed audit head once the trail has grown by this many records")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1} << 40))
      ->capture_default_str();
  serve->add_option("--audit-head-interval", params->audit_head_interval_ms,
                    "Milliseconds after which a peer gateway is sent a newly signed audit head if the trail has grown "
                    "at all")
      ->check(CLI::Range(10, 86'400'000))
      ->capture_default_str();
  serve->add_option("--threads", params->threads,
                    fmt::format("Threads that run the connections (TLS, framing, decoding), spread round-robin; "
                                "one of them also runs every decision, the store's completions and the dashboard. "
                                "0 (the default): one per core ({} here). 1: everything on one thread",
                                server::session_threads({.threads = 0})))
      ->check(CLI::Range(std::size_t{0}, std::size_t{1024}));
  serve->add_flag("--no-fsync", params->no_fsync,
                  "Do not fsync each group commit (survives a gateway crash, not a power cut)");
  serve->add_flag("--no-verify-cache", params->no_verify_cache,
                  "Verify every client certificate chain in full, even one verified minutes ago "
                  "(by default a node reconnecting with the same chain within 5 minutes is not re-checked)");
  serve->add_option("--http", params->http,
                    "Serve the dashboard (page, API, WebSocket feed, /metrics, /healthz) on HOST:PORT, "
                    "e.g. 127.0.0.1:8080; port 0 picks one. Loopback needs no token");
  serve->add_option("--http-token", params->http_token,
                    "Access token for the dashboard (at least 16 characters). Required beyond loopback: "
                    "without it a random one is made and printed once with the URL");
  serve->add_option("--http-port-file", params->http_port_file, "Write the dashboard's bound port here");
  serve->add_option("--log-level", params->log_level, "trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}))
      ->capture_default_str();
  serve->callback([params, &exit_code] {
    configure_logging(params->log_level);
    exit_code = run_serve(*params, std::cout, std::cerr);
  });
}

}  // namespace icegate::cli
