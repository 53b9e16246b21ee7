// TLS contexts for the gateway and its nodes: TLS 1.3 only, both sides
// present certificates from the PKI directory (gateway/pki).
//
// Why the client needs no host name check here: DIR's CA issues serverAuth
// only to the gateway (node certificates carry clientAuth alone), and OpenSSL
// checks the "ssl_server" purpose when a client verifies its peer. So any
// certificate that verifies against DIR/ca.crt as a server is the gateway's.
// Callers that connect by name may still add ssl::host_name_verification.
#include "gateway/transport/tls.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "gateway/pki/pki.hpp"

namespace icegate::transport {
namespace {

namespace fs = std::filesystem;
namespace ssl = boost::asio::ssl;

struct BioDeleter {
  void operator()(BIO* bio) const noexcept { BIO_free_all(bio); }
};
struct X509Deleter {
  void operator()(X509* certificate) const noexcept { X509_free(certificate); }
};
struct X509CrlDeleter {
  void operator()(X509_CRL* crl) const noexcept { X509_CRL_free(crl); }
};

std::string drain_openssl_errors() {
  std::string text = pki::drain_openssl_errors();
  return text.empty() ? "unknown OpenSSL error" : text;
}

[[noreturn]] void fail_loading(std::string_view what, const fs::path& file, std::string_view reason) {
  throw std::runtime_error(fmt::format("cannot load {} {}: {}", what, file.string(), reason));
}

void require_file(std::string_view what, const fs::path& file) {
  std::error_code error;
  if (!fs::is_regular_file(file, error)) fail_loading(what, file, "no such file");
}

// NSS key log lines ("CLIENT_HANDSHAKE_TRAFFIC_SECRET <random> <secret>")
// appended to $SSLKEYLOGFILE, so Wireshark can decrypt captured sessions.
// The file holds session secrets, hence mode 0600 when it is created.
void append_key_log_line(const SSL* /*ssl*/, const char* line) {
  static std::mutex file_mutex;  // guards interleaving of lines from concurrent handshakes
  const char* file = std::getenv("SSLKEYLOGFILE");
  if (file == nullptr || *file == '\0') return;
  std::string text(line);
  text += '\n';
  const std::lock_guard lock(file_mutex);
  const int descriptor = ::open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (descriptor < 0) return;  // a debugging aid must never break a handshake
  const ssize_t ignored = ::write(descriptor, text.data(), text.size());
  (void)ignored;
  ::close(descriptor);
}

// What both sides share: TLS 1.3 only, no compression or renegotiation, and
// the key log when asked for.
//
// Each side sends only its own certificate (and any chain its certificate
// file holds), not the CA: SSL_MODE_NO_AUTO_CHAIN. Without it OpenSSL builds
// the chain from the trust store on every handshake, which means a full
// X509_verify_cert of our own certificate (an ECDSA verify) on each side,
// and the peer then decodes the CA certificate too (in OpenSSL 3.0 each
// certificate's key costs a decoder set-up). The CA is useless to the peer,
// which must trust it already. Measured with tools/bench/handshake_bench:
// about -30% of the gateway's CPU per handshake (docs/PERFORMANCE.md, W4).
ssl::context make_tls13_context(ssl::context::method method) {
  ssl::context context(method);
  SSL_CTX* native = context.native_handle();
  if (SSL_CTX_set_min_proto_version(native, TLS1_3_VERSION) != 1 ||
      SSL_CTX_set_max_proto_version(native, TLS1_3_VERSION) != 1) {
    throw std::runtime_error("cannot restrict TLS to version 1.3: " + drain_openssl_errors());
  }
  context.set_options(ssl::context::default_workarounds | ssl::context::no_compression);
  SSL_CTX_set_mode(native, SSL_MODE_NO_AUTO_CHAIN);
  const char* key_log = std::getenv("SSLKEYLOGFILE");
  if (key_log != nullptr && *key_log != '\0') SSL_CTX_set_keylog_callback(native, append_key_log_line);
  return context;
}

void load_trusted_ca(ssl::context& context, const fs::path& ca_certificate) {
  require_file("CA certificate", ca_certificate);
  boost::system::error_code error;
  context.load_verify_file(ca_certificate.string(), error);
  if (error) fail_loading("CA certificate", ca_certificate, error.message());
}

void load_own_credentials(ssl::context& context, const fs::path& certificate, const fs::path& key) {
  require_file("certificate", certificate);
  require_file("private key", key);
  boost::system::error_code error;
  context.use_certificate_chain_file(certificate.string(), error);
  if (error) fail_loading("certificate", certificate, error.message());
  context.use_private_key_file(key.string(), ssl::context::pem, error);
  if (error) fail_loading("private key", key, error.message());
  if (SSL_CTX_check_private_key(context.native_handle()) != 1) {
    fail_loading("private key", key, fmt::format("does not match {}: {}", certificate.string(), drain_openssl_errors()));
  }
}

std::unique_ptr<X509, X509Deleter> read_certificate(const fs::path& file) {
  std::unique_ptr<BIO, BioDeleter> bio{BIO_new_file(file.c_str(), "rb")};
  if (!bio) fail_loading("CA certificate", file, drain_openssl_errors());
  std::unique_ptr<X509, X509Deleter> certificate{PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)};
  if (!certificate) fail_loading("CA certificate", file, drain_openssl_errors());
  return certificate;
}

// Adds DIR/crl.pem to the server's trust store and turns on revocation checks
// for client certificates. The CRL's signature is checked here, at load time:
// a CRL the CA did not sign would otherwise refuse every client later on.
void load_revocation_list(ssl::context& context, const fs::path& crl_file, const fs::path& ca_certificate) {
  std::unique_ptr<BIO, BioDeleter> bio{BIO_new_file(crl_file.c_str(), "rb")};
  if (!bio) fail_loading("CRL", crl_file, drain_openssl_errors());
  std::unique_ptr<X509_CRL, X509CrlDeleter> crl{PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr)};
  if (!crl) fail_loading("CRL", crl_file, drain_openssl_errors());
  const auto ca = read_certificate(ca_certificate);
  if (X509_CRL_verify(crl.get(), X509_get0_pubkey(ca.get())) != 1) {
    ERR_clear_error();
    fail_loading("CRL", crl_file, fmt::format("not signed by the CA {}", ca_certificate.string()));
  }
  X509_STORE* store = SSL_CTX_get_cert_store(context.native_handle());
  if (X509_STORE_add_crl(store, crl.get()) != 1) fail_loading("CRL", crl_file, drain_openssl_errors());
  // CRL_CHECK covers the leaf (the node); the CA itself is our own root.
  if (X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK) != 1) {
    fail_loading("CRL", crl_file, drain_openssl_errors());
  }
}

// The node CA, kept with the context for allow_peer_without_crl (ex_data;
// freed with the context).
void free_node_ca(void* /*parent*/, void* certificate, CRYPTO_EX_DATA* /*data*/, int /*index*/, long /*argl*/,
                  void* /*argp*/) {
  X509_free(static_cast<X509*>(certificate));
}

int node_ca_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, free_node_ca);
  return index;
}

// DIR/crl.pem turns on CRL checks for every client chain, but it is DIR's CA's
// list: a peer's certificate has none, and OpenSSL would refuse it with
// "unable to get certificate CRL". That one error is forgiven for a chain that
// ends at another CA than the node CA (a peer's; TrustAnchors decides what it
// may be); a node's chain is checked as before.
int allow_peer_without_crl(int preverified, X509_STORE_CTX* context) {
  if (preverified == 1 || X509_STORE_CTX_get_error(context) != X509_V_ERR_UNABLE_TO_GET_CRL) return preverified;
  SSL* ssl = static_cast<SSL*>(X509_STORE_CTX_get_ex_data(context, SSL_get_ex_data_X509_STORE_CTX_idx()));
  if (ssl == nullptr) return preverified;
  const X509* node_ca = static_cast<const X509*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), node_ca_index()));
  STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(context);
  if (node_ca == nullptr || chain == nullptr || sk_X509_num(chain) < 2) return preverified;
  const X509* anchor = sk_X509_value(chain, sk_X509_num(chain) - 1);
  if (X509_cmp(anchor, node_ca) == 0) return preverified;
  X509_STORE_CTX_set_error(context, X509_V_OK);  // so that SSL_get_verify_result reports success
  return 1;
}

void load_peer_cas(ssl::context& context, const std::vector<PeerCa>& peers) {
  SSL_CTX* native = context.native_handle();
  for (const PeerCa& peer : peers) {
    try {
      require_file("CA certificate", peer.certificate);
      const auto certificate = read_certificate(peer.certificate);
      if (X509_STORE_add_cert(SSL_CTX_get_cert_store(native), certificate.get()) != 1) {
        const unsigned long error = ERR_peek_last_error();
        // The same CA named by two peers (or the node CA) is already there.
        if (ERR_GET_REASON(error) != X509_R_CERT_ALREADY_IN_HASH_TABLE)
          fail_loading("CA certificate", peer.certificate, drain_openssl_errors());
        ERR_clear_error();
      }
      if (SSL_CTX_add_client_CA(native, certificate.get()) != 1)
        fail_loading("CA certificate", peer.certificate, drain_openssl_errors());
    } catch (const std::runtime_error& error) {
      throw std::runtime_error(fmt::format("peer {}: {}", peer.peer_id, error.what()));
    }
  }
}

}  // namespace

ssl::context make_server_context(const fs::path& pki_dir, const ServerContextOptions& options) {
  const pki::Paths ca = pki::ca_paths(pki_dir);
  const pki::Paths gateway = pki::gateway_paths(pki_dir);

  ssl::context context = make_tls13_context(ssl::context::tls_server);
  SSL_CTX* native = context.native_handle();
  context.set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
  load_trusted_ca(context, ca.certificate);
  // Tell clients which CA we accept, so one holding several certificates picks ours.
  if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(ca.certificate.c_str())) {
    SSL_CTX_set_client_CA_list(native, names);
  } else {
    fail_loading("CA certificate", ca.certificate, drain_openssl_errors());
  }
  load_own_credentials(context, gateway.certificate, gateway.key);

  // Resumed sessions skip the client certificate; OpenSSL refuses to resume
  // with verify_peer unless sessions are tied to a context id.
  static constexpr unsigned char session_id_context[] = "icegate-gateway";
  SSL_CTX_set_session_id_context(native, session_id_context, sizeof session_id_context - 1);
  // No node resumes a session (each connection is a full handshake, so the
  // client certificate is checked, against the current CRL, every time), so
  // TLS 1.3's two NewSessionTickets per handshake would be pure cost: OpenSSL
  // 3.0 deep-copies the session for each (i2d/d2i, which decodes the client
  // certificate again) and encrypts it. Measured on W4: about a quarter of
  // the server's CPU per handshake. Nor is there a session cache to fill.
  if (SSL_CTX_set_num_tickets(native, 0) != 1) {
    throw std::runtime_error("cannot turn off TLS session tickets: " + drain_openssl_errors());
  }
  SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_OFF);

  const fs::path crl_file = pki::crl_path(pki_dir);
  std::error_code error;
  if (fs::exists(crl_file, error)) load_revocation_list(context, crl_file, ca.certificate);
  if (!options.peer_cas.empty()) {
    load_peer_cas(context, options.peer_cas);
    if (SSL_CTX_set_ex_data(native, node_ca_index(), read_certificate(ca.certificate).release()) != 1)
      throw std::runtime_error("cannot keep the node CA with the TLS context: " + drain_openssl_errors());
    SSL_CTX_set_verify(native, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, allow_peer_without_crl);
  }
  // After the trust store is complete: the cache empties itself whenever
  // the store changes, so it is installed on the final one.
  if (options.verified_chain_cache) enable_verified_chain_cache(native, options.cache);
  return context;
}

ClientCredentials node_credentials(const fs::path& pki_dir, std::string_view node_id) {
  const pki::Paths node = pki::node_paths(pki_dir, node_id);  // throws PkiError on a bad id
  return {pki::ca_paths(pki_dir).certificate, node.certificate, node.key};
}

ssl::context make_client_context(const ClientCredentials& credentials) {
  ssl::context context = make_tls13_context(ssl::context::tls_client);
  context.set_verify_mode(ssl::verify_peer);
  load_trusted_ca(context, credentials.ca_certificate);
  load_own_credentials(context, credentials.certificate, credentials.key);
  return context;
}

X509* verified_anchor(SSL* ssl) {
  if (ssl == nullptr || SSL_get_verify_result(ssl) != X509_V_OK) return nullptr;
  STACK_OF(X509)* chain = SSL_get0_verified_chain(ssl);
  if (chain == nullptr || sk_X509_num(chain) < 1) return nullptr;
  return sk_X509_value(chain, sk_X509_num(chain) - 1);
}

std::optional<std::string> peer_common_name(SSL* ssl) {
  if (ssl == nullptr) return std::nullopt;
  // Only a certificate that passed verification is an identity.
  if (SSL_get_verify_result(ssl) != X509_V_OK) return std::nullopt;
  return pki::subject_common_name(SSL_get0_peer_certificate(ssl));
}

}  // namespace icegate::transport
