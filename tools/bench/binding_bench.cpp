// Microbenchmarks for the label binding (gateway/federation/binding.hpp,
// issue 18 point 4): what binding a forwarded message costs its origin
// gateway, and what checking it costs every later hop, for a 1 KB message of
// four portions, with the PKI's own key type (ECDSA P-256, `icegate pki`'s).
// The certificates are issued by gateway/pki into a temporary directory.
//
//   BM_BindingSign     federation::bind_labels: the four portion digests, the
//                      canonical bytes, and pki::sign (which reads the PEM
//                      key file each time, as the origin would today)
//   BM_BindingVerify   federation::verify at a later hop: reading the CA
//                      file, parsing the certificate, checking its chain and
//                      validity, the signature, the fields and the digests
//   BM_BindingVerifyRedacted   the same after a hop withheld two portions
//   BM_PortionDigests  only the four digests (the part that grows with the
//                      message; the rest is per message)
// Counters: route_bytes, what the Route (with the certificate) adds to the
// Forward frame. How to run them and the figures: docs/PERFORMANCE.md.
#include <benchmark/benchmark.h>

#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>

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
    certificate_pem_ = pki::read_certificate_pem(paths_.certificate);
  }
  ~OriginPki() {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  const std::filesystem::path& key() const { return paths_.key; }
  const std::string& certificate_pem() const { return certificate_pem_; }
  std::filesystem::path ca() const { return pki::ca_paths(dir_).certificate; }

 private:
  std::filesystem::path dir_;
  pki::Paths paths_;
  std::string certificate_pem_;
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
  return message;
}

ForwardedMessage bound_message() {
  const Message message = four_portion_message();
  return {message, federation::bind_labels(message, origin().key(), origin().certificate_pem(), kNowUnixMs)};
}

void BM_BindingSign(benchmark::State& state) {
  const Message message = four_portion_message();
  for (auto _ : state) {
    auto route = federation::bind_labels(message, origin().key(), origin().certificate_pem(), kNowUnixMs);
    benchmark::DoNotOptimize(route);
  }
  state.SetItemsProcessed(state.iterations());
  icegate::v1::Forward forward;
  icegate::wire::encode(bound_message(), forward);
  state.counters["route_bytes"] = static_cast<double>(forward.route().ByteSizeLong());
}

void verify_loop(benchmark::State& state, const ForwardedMessage& forwarded) {
  const std::filesystem::path ca = origin().ca();
  for (auto _ : state) {
    auto failure = federation::verify(forwarded, ca);
    if (failure) {
      state.SkipWithError(failure->text.c_str());
      break;
    }
    benchmark::DoNotOptimize(failure);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_BindingVerify(benchmark::State& state) { verify_loop(state, bound_message()); }

void BM_BindingVerifyRedacted(benchmark::State& state) {
  ForwardedMessage forwarded = bound_message();
  forwarded.message.portions.erase(forwarded.message.portions.begin() + 1, forwarded.message.portions.begin() + 3);
  verify_loop(state, forwarded);
}

void BM_PortionDigests(benchmark::State& state) {
  const Message message = four_portion_message();
  for (auto _ : state) {
    for (const auto& portion : message.portions) benchmark::DoNotOptimize(federation::portion_digest(portion));
  }
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK(BM_BindingSign)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_BindingVerify)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_BindingVerifyRedacted)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_PortionDigests)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
