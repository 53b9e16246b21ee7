// Microbenchmarks for the label binding (gateway/federation/binding.hpp,
// issue 18 point 4): what binding a forwarded message costs its origin
// gateway, and what checking it costs every later hop, for a 1 KB message of
// four portions, with the PKI's own key type (ECDSA P-256, `icegate pki`'s).
// The certificates are issued by gateway/pki into a temporary directory.
//
//   BM_BindingSign     federation::bind_labels with the OriginGateway (key
//                      and certificate) loaded once: the four portion
//                      digests, the canonical bytes, the signature
//   BM_BindingVerify   federation::verify at a later hop with a pki::TrustedCa
//                      loaded once (which keeps the origin's certificate
//                      parsed after the first message): checking its chain
//                      and validity, the signature, the fields and the digests
//   BM_BindingSignReadingTheFiles, BM_BindingVerifyReadingTheCa   the same,
//                      reading and decoding the key and certificate, or the
//                      CA and the origin's certificate, every time (as
//                      pki::sign and pki::check_signature do)
//   BM_BindingVerifyRedacted   the same after a hop withheld two portions
//   BM_PortionDigests  only the four digests (the part that grows with the
//                      message; the rest is per message)
//   BM_FloorSign, BM_FloorVerify   the same signature and checks with the
//                      key, the origin's certificate and the CA parsed once,
//                      outside the loop, OpenSSL called directly: the floor
//                      the two above should be close to
// Counters: route_bytes, what the Route (with the certificate) adds to the
// Forward frame. How to run them and the figures: docs/PERFORMANCE.md.
#include <benchmark/benchmark.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "gateway/federation/binding.hpp"
#include "gateway/pki/pki.hpp"
#include "gateway/wire/codec.hpp"

namespace {

using icegate::ForwardedMessage;
using icegate::Message;
namespace federation = icegate::federation;
namespace pki = icegate::pki;

constexpr std::size_t kBodyBytes = 1024;  // the four bodies together
// Signed now: the certificate, issued at start, must be valid when it signs.
const std::int64_t kNowUnixMs =
    std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();

// The origin gateway's PKI, made once and removed at exit.
class OriginPki {
 public:
  OriginPki() {
    std::string pattern = (std::filesystem::temp_directory_path() / "icegate-binding-bench-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed for " + pattern);
    dir_ = pattern;
    pki::init_ca(dir_, "West Midlands CA");
    pki::IssueOptions options;
    options.sync = false;
    paths_ = pki::issue_node(dir_, "gw-wm", options);
    gateway_.emplace(paths_.key, paths_.certificate);
  }
  ~OriginPki() {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  const std::filesystem::path& key() const { return paths_.key; }
  const pki::Paths& paths() const { return paths_; }
  const federation::OriginGateway& gateway() const { return *gateway_; }
  std::filesystem::path ca() const { return pki::ca_paths(dir_).certificate; }

 private:
  std::filesystem::path dir_;
  pki::Paths paths_;
  std::optional<federation::OriginGateway> gateway_;
};

const OriginPki& origin() {
  static const OriginPki pki;
  return pki;
}

Message four_portion_message() {
  Message message;
  message.id = "3f2b8c1e-9a4d-4e7b-8c21-5d6f7a8b9c0d";
  message.originator = "ctu-birmingham-east-ct-analyst";
  message.created_unix_ms = kNowUnixMs;
  message.addressees = {{icegate::AddresseeKind::organisation, "birmingham-cc"}};
  message.category = "ct-problem-profile";
  message.purpose = "prevent";
  message.title = "CT neighbourhood problem profile: Sparkhill, third quarter";
  message.label = {"SECRET", {"UK EYES ONLY"}};
  const std::string body(kBodyBytes / 4, 'x');
  message.portions = {{"1", {"OFFICIAL", {}}, body},
                      {"2", {"SECRET", {"UK EYES ONLY"}}, body},
                      {"3", {"OFFICIAL-SENSITIVE", {"PERSONAL"}}, body},
                      {"4", {"OFFICIAL", {}}, body}};
  message.handling.originator_control = true;
  message.handling.not_after_unix_ms = kNowUnixMs + 86'400'000;
  federation::salt_portions(message);
  return message;
}

ForwardedMessage bound_message() {
  const Message message = four_portion_message();
  return {message, federation::bind_labels(message, origin().gateway(), kNowUnixMs)};
}

void BM_BindingSign(benchmark::State& state) {
  Message message = four_portion_message();
  for (auto _ : state) {
    federation::salt_portions(message);  // a fresh salt per portion, as the origin draws for each message
    auto route = federation::bind_labels(message, origin().gateway(), kNowUnixMs);
    benchmark::DoNotOptimize(route);
  }
  state.SetItemsProcessed(state.iterations());
  icegate::v1::Forward forward;
  icegate::wire::encode(bound_message(), forward);
  state.counters["route_bytes"] = static_cast<double>(forward.route().ByteSizeLong());
}

void BM_BindingSignReadingTheFiles(benchmark::State& state) {
  const Message message = four_portion_message();
  for (auto _ : state) {
    const federation::OriginGateway gateway(origin().paths().key, origin().paths().certificate);
    auto route = federation::bind_labels(message, gateway, kNowUnixMs);
    benchmark::DoNotOptimize(route);
  }
  state.SetItemsProcessed(state.iterations());
}

void verify_loop(benchmark::State& state, const ForwardedMessage& forwarded, bool read_the_ca) {
  const std::filesystem::path ca_file = origin().ca();
  const pki::TrustedCa ca(ca_file);
  for (auto _ : state) {
    auto failure =
        read_the_ca ? federation::verify(forwarded, pki::TrustedCa(ca_file)) : federation::verify(forwarded, ca);
    if (failure) {
      state.SkipWithError(failure->text.c_str());
      break;
    }
    benchmark::DoNotOptimize(failure);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_BindingVerify(benchmark::State& state) { verify_loop(state, bound_message(), false); }

void BM_BindingVerifyReadingTheCa(benchmark::State& state) { verify_loop(state, bound_message(), true); }

void BM_BindingVerifyRedacted(benchmark::State& state) {
  ForwardedMessage forwarded = bound_message();
  forwarded.message.portions.erase(forwarded.message.portions.begin() + 1, forwarded.message.portions.begin() + 3);
  verify_loop(state, forwarded, false);
}

void BM_PortionDigests(benchmark::State& state) {
  const Message message = four_portion_message();
  for (auto _ : state) {
    for (const auto& portion : message.portions) benchmark::DoNotOptimize(federation::portion_digest(portion));
  }
  state.SetItemsProcessed(state.iterations());
}

// ---- The floor: OpenSSL with everything parsed once ----

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using StorePtr = std::unique_ptr<X509_STORE, Deleter<X509_STORE, X509_STORE_free>>;
using StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, Deleter<X509_STORE_CTX, X509_STORE_CTX_free>>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, Deleter<EVP_MD_CTX, EVP_MD_CTX_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

BioPtr memory_bio(const std::string& text) {
  return BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

void BM_FloorSign(benchmark::State& state) {
  const std::string key_pem = read_file(origin().key());
  const PkeyPtr key(PEM_read_bio_PrivateKey(memory_bio(key_pem).get(), nullptr, nullptr, nullptr));
  const ForwardedMessage forwarded = bound_message();
  const std::string bytes = federation::canonical_bytes(forwarded.route);
  for (auto _ : state) {
    // The digests and canonical bytes as bind_labels makes them, then the signature.
    std::vector<icegate::Sha256Digest> digests;
    for (const auto& portion : forwarded.message.portions) digests.push_back(federation::portion_digest(portion));
    benchmark::DoNotOptimize(digests);
    std::string canonical = federation::canonical_bytes(forwarded.route);
    MdCtxPtr context(EVP_MD_CTX_new());
    std::size_t size = 0;
    const auto* data = reinterpret_cast<const unsigned char*>(canonical.data());
    if (!key || EVP_DigestSignInit(context.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1 ||
        EVP_DigestSign(context.get(), nullptr, &size, data, canonical.size()) != 1) {
      state.SkipWithError("cannot sign");
      break;
    }
    std::string signature(size, '\0');
    EVP_DigestSign(context.get(), reinterpret_cast<unsigned char*>(signature.data()), &size, data, canonical.size());
    benchmark::DoNotOptimize(signature);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_FloorVerify(benchmark::State& state) {
  const ForwardedMessage forwarded = bound_message();
  const std::string ca_pem = read_file(origin().ca());
  const X509Ptr ca(PEM_read_bio_X509(memory_bio(ca_pem).get(), nullptr, nullptr, nullptr));
  const X509Ptr certificate(
      PEM_read_bio_X509(memory_bio(forwarded.route.binding.certificate_pem).get(), nullptr, nullptr, nullptr));
  const StorePtr store(X509_STORE_new());
  X509_STORE_add_cert(store.get(), ca.get());
  const std::string& signature = forwarded.route.binding.signature;
  for (auto _ : state) {
    StoreCtxPtr chain(X509_STORE_CTX_new());
    X509_STORE_CTX_init(chain.get(), store.get(), certificate.get(), nullptr);
    X509_STORE_CTX_set_time(chain.get(), 0, static_cast<time_t>(forwarded.route.binding.signed_unix_ms / 1000));
    const std::string canonical = federation::canonical_bytes(forwarded.route);
    MdCtxPtr context(EVP_MD_CTX_new());
    const bool good =
        X509_verify_cert(chain.get()) == 1 &&
        EVP_DigestVerifyInit(context.get(), nullptr, EVP_sha256(), nullptr, X509_get0_pubkey(certificate.get())) ==
            1 &&
        EVP_DigestVerify(context.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                         reinterpret_cast<const unsigned char*>(canonical.data()), canonical.size()) == 1;
    if (!good) {
      state.SkipWithError("does not verify");
      break;
    }
    for (const auto& portion : forwarded.message.portions)
      benchmark::DoNotOptimize(federation::portion_digest(portion));
  }
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK(BM_BindingSign)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_BindingSignReadingTheFiles)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_BindingVerify)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_BindingVerifyReadingTheCa)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_BindingVerifyRedacted)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_PortionDigests)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_FloorSign)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_FloorVerify)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
