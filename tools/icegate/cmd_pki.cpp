// `icegate pki`: a thin layer over gateway/pki. Arguments are checked before
// any work; each action prints one line; errors go to `err` with exit_error.
#include "tools/icegate/cmd_pki.hpp"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <iostream>
#include <memory>
#include <system_error>

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <fmt/ostream.h>

#include "gateway/model/clock.hpp"
#include "gateway/pki/pki.hpp"
#include "tools/icegate/cli_output.hpp"
#include "tools/icegate/commands.hpp"

namespace icegate::cli {
namespace {

namespace fs = std::filesystem;

constexpr int max_days = 36500;

std::string utc_date(std::chrono::system_clock::time_point time) { return format_utc(time, UtcStyle::date); }

std::string utc_date_time(std::chrono::system_clock::time_point time) {
  return format_utc(time, UtcStyle::readable);
}

// "(ECDSA P-256, valid until 2027-11-21)" or "(ECDSA P-256, expired 2025-11-20)".
std::string validity_note(const pki::CertificateInfo& info) {
  const bool expired = info.not_after <= std::chrono::system_clock::now();
  return fmt::format("({}, {} {})", info.key_type, expired ? "expired" : "valid until", utc_date(info.not_after));
}


}  // namespace

int run_pki_init(const PkiInitParams& params, std::ostream& out, std::ostream& err) {
  if (params.dir.empty()) {
    print_error(err, "pki init: a directory is required");
    return exit_error;
  }
  const pki::Paths ca = pki::ca_paths(params.dir);
  if (fs::exists(ca.certificate) && !params.force) {
    print_error(err, fmt::format("{} already holds a CA ({}); pass --force to replace it "
                                 "(node certificates and the CRL are removed)",
                                 params.dir.string(), ca.certificate.string()));
    return exit_error;
  }
  try {
    const pki::GatewayCertificate gateway_certificate{params.gateway_id, params.addresses};
    // A named gateway's CA is named after it, so that a peer's logs and
    // `pki show` say whose CA a certificate chains to.
    const std::string ca_name =
        gateway_certificate.named() ? fmt::format("icegate {} CA", params.gateway_id) : "icegate test CA";
    pki::init_ca(params.dir, ca_name, params.force, pki::KeyType::ecdsa_p256, gateway_certificate);
    const pki::CertificateInfo ca_info = pki::read_certificate_info(ca.certificate);
    fmt::print(out, "created CA \"{}\": {} {}\n", ca_info.common_name, ca.certificate.string(),
               validity_note(ca_info));
    const pki::Paths gateway = pki::gateway_paths(params.dir);
    const pki::CertificateInfo gateway_info = pki::read_certificate_info(gateway.certificate);
    fmt::print(out, "issued {}: {} {}\n", gateway_info.common_name, gateway.certificate.string(),
               validity_note(gateway_info));
  } catch (const pki::PkiError& error) {
    print_error(err, error.what());
    return exit_error;
  }
  return exit_ok;
}

int run_pki_issue(const PkiIssueParams& params, std::ostream& out, std::ostream& err) {
  // Check every argument before issuing anything, so a typo issues nothing.
  bool arguments_ok = true;
  if (params.node_ids.empty()) {
    print_error(err, "pki issue: at least one node id is required");
    arguments_ok = false;
  }
  for (const std::string& node_id : params.node_ids) {
    if (!pki::valid_node_id(node_id)) {
      print_error(err, fmt::format("invalid node id \"{}\": use 1 to 64 of A-Z a-z 0-9 . _ -", node_id));
      arguments_ok = false;
    }
  }
  if (!params.expired && (params.days < 1 || params.days > max_days)) {
    print_error(err, fmt::format("--days must be between 1 and {}, not {}", max_days, params.days));
    arguments_ok = false;
  }
  if (!fs::exists(pki::ca_paths(params.dir).certificate)) {
    print_error(err, fmt::format("no CA in {}: run `icegate pki init {}` first", params.dir.string(),
                                 params.dir.string()));
    arguments_ok = false;
  }
  if (!arguments_ok) return exit_error;

  pki::IssueOptions options;
  options.validity = std::chrono::hours(24) * params.days;
  options.already_expired = params.expired;
  for (const std::string& node_id : params.node_ids) {
    try {
      const pki::Paths paths = pki::issue_node(params.dir, node_id, options);
      const pki::CertificateInfo info = pki::read_certificate_info(paths.certificate);
      fmt::print(out, "issued {}: {} {}\n", node_id, paths.certificate.string(), validity_note(info));
    } catch (const pki::PkiError& error) {
      print_error(err, error.what());
      return exit_error;
    }
  }
  return exit_ok;
}

int run_pki_revoke(const PkiRevokeParams& params, std::ostream& out, std::ostream& err) {
  if (!pki::valid_node_id(params.node_id)) {
    print_error(err, fmt::format("invalid node id \"{}\": use 1 to 64 of A-Z a-z 0-9 . _ -", params.node_id));
    return exit_error;
  }
  try {
    const pki::Paths paths = pki::node_paths(params.dir, params.node_id);
    if (fs::exists(paths.certificate) && pki::is_revoked(params.dir, paths.certificate)) {
      fmt::print(out, "already revoked {}: {}\n", params.node_id, pki::crl_path(params.dir).string());
      return exit_ok;
    }
    pki::revoke_node(params.dir, params.node_id);
    const pki::CertificateInfo info = pki::read_certificate_info(paths.certificate);
    fmt::print(out, "revoked {} (serial {}): {} (restart the gateway to apply)\n", params.node_id,
               info.serial_hex, pki::crl_path(params.dir).string());
  } catch (const pki::PkiError& error) {
    print_error(err, error.what());
    return exit_error;
  }
  return exit_ok;
}

int run_pki_show(const PkiShowParams& params, std::ostream& out, std::ostream& err) {
  const pki::Paths ca = pki::ca_paths(params.dir);
  if (!fs::exists(ca.certificate)) {
    print_error(err, fmt::format("no CA in {}: {} not found", params.dir.string(), ca.certificate.string()));
    return exit_error;
  }
  try {
    const auto now = std::chrono::system_clock::now();
    auto show = [&](std::string_view kind, const fs::path& certificate, bool revoked) {
      const pki::CertificateInfo info = pki::read_certificate_info(certificate);
      const std::string_view status = revoked ? "revoked" : info.not_after <= now ? "expired" : "valid";
      fmt::print(out, "{:<7} {:<24} serial {:<32}  not after {}  {:<7}  {}\n", kind, info.common_name,
                 info.serial_hex, utc_date_time(info.not_after), status, certificate.string());
    };
    show("ca", ca.certificate, false);
    const pki::Paths gateway = pki::gateway_paths(params.dir);
    if (fs::exists(gateway.certificate)) show("gateway", gateway.certificate, false);

    std::vector<fs::path> node_certificates;
    const fs::path nodes = params.dir / "nodes";
    std::error_code error;
    if (fs::is_directory(nodes, error)) {
      for (const fs::directory_entry& entry : fs::directory_iterator(nodes)) {
        if (entry.is_regular_file() && entry.path().extension() == ".crt") {
          node_certificates.push_back(entry.path());
        }
      }
    }
    std::sort(node_certificates.begin(), node_certificates.end());
    for (const fs::path& certificate : node_certificates) {
      show("node", certificate, pki::is_revoked(params.dir, certificate));
    }
  } catch (const std::exception& error) {  // PkiError, or filesystem_error from listing nodes/
    print_error(err, error.what());
    return exit_error;
  }
  return exit_ok;
}

void add_pki_command(CLI::App& root, int& exit_code) {
  CLI::App* pki = root.add_subcommand("pki", "Create and manage the test PKI (CA, gateway and node certificates)");
  pki->require_subcommand(1);

  auto init = std::make_shared<PkiInitParams>();
  CLI::App* init_command = pki->add_subcommand("init", "Create a CA and the gateway certificate in DIR");
  init_command->add_option("dir", init->dir, "PKI directory")->required();
  init_command->add_flag("--force", init->force, "Replace an existing CA (removes node certificates and the CRL)");
  init_command->add_option("--gateway-id", init->gateway_id,
                           "The gateway's id: its certificate's Common Name, as peers name it in `peers:` "
                           "(a named gateway's certificate can also dial peers: clientAuth)")
      ->capture_default_str();
  init_command->add_option("--address", init->addresses,
                           "An IP address or DNS name the gateway's certificate names (repeat for more; "
                           "default localhost, 127.0.0.1, ::1)");
  init_command->callback([init, &exit_code] { exit_code = run_pki_init(*init, std::cout, std::cerr); });

  auto issue = std::make_shared<PkiIssueParams>();
  CLI::App* issue_command = pki->add_subcommand("issue", "Issue node certificates signed by DIR's CA");
  issue_command->add_option("dir", issue->dir, "PKI directory")->required();
  issue_command->add_option("node_ids", issue->node_ids, "Node ids ([A-Za-z0-9._-]{1,64})")->required();
  issue_command->add_option("--days", issue->days, "Validity in days")
      ->check(CLI::Range(1, max_days))
      ->capture_default_str();
  issue_command->add_flag("--expired", issue->expired, "Issue certificates that expired yesterday (for tests)");
  issue_command->callback([issue, &exit_code] { exit_code = run_pki_issue(*issue, std::cout, std::cerr); });

  auto revoke = std::make_shared<PkiRevokeParams>();
  CLI::App* revoke_command = pki->add_subcommand("revoke", "Revoke a node certificate (adds it to DIR/crl.pem)");
  revoke_command->add_option("dir", revoke->dir, "PKI directory")->required();
  revoke_command->add_option("node_id", revoke->node_id, "Node id")->required();
  revoke_command->callback([revoke, &exit_code] { exit_code = run_pki_revoke(*revoke, std::cout, std::cerr); });

  auto show = std::make_shared<PkiShowParams>();
  CLI::App* show_command = pki->add_subcommand("show", "List the CA, gateway and node certificates");
  show_command->add_option("dir", show->dir, "PKI directory")->required();
  show_command->callback([show, &exit_code] { exit_code = run_pki_show(*show, std::cout, std::cerr); });
}

}  // namespace icegate::cli
