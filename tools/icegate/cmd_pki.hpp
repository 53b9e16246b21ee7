// `icegate pki ...`: create and manage the test PKI (gateway/pki).
//   pki init DIR [--force] [--gateway-id ID] [--address A]...
//                                                  a CA and the gateway certificate (a named gateway's
//                                                  has CN = ID, SANs A..., serverAuth and clientAuth)
//   pki issue DIR NODE_ID... [--days N] [--expired] node certificates
//   pki revoke DIR NODE_ID                         add a node to DIR/crl.pem
//   pki show DIR                                   every certificate, one per line
// Each run_* writes one line per action to `out`, errors to `err`, and returns
// exit_ok or exit_error (see commands.hpp).
#pragma once

#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

namespace icegate::cli {

struct PkiInitParams {
  std::filesystem::path dir;
  bool force = false;  // replace an existing CA (and drop its nodes and CRL)
  // The gateway's id (its certificate's Common Name, which peers name in
  // `peers:`) and the addresses its certificate names; "gateway" and none:
  // the certificate of a gateway that does not peer, as before.
  std::string gateway_id = "gateway";
  std::vector<std::string> addresses;
};

struct PkiIssueParams {
  std::filesystem::path dir;
  std::vector<std::string> node_ids;
  int days = 365;
  bool expired = false;  // for tests: validity ended yesterday
};

struct PkiRevokeParams {
  std::filesystem::path dir;
  std::string node_id;
};

struct PkiShowParams {
  std::filesystem::path dir;
};

int run_pki_init(const PkiInitParams& params, std::ostream& out, std::ostream& err);
int run_pki_issue(const PkiIssueParams& params, std::ostream& out, std::ostream& err);
int run_pki_revoke(const PkiRevokeParams& params, std::ostream& out, std::ostream& err);
int run_pki_show(const PkiShowParams& params, std::ostream& out, std::ostream& err);

}  // namespace icegate::cli
