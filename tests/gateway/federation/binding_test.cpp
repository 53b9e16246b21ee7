// The label binding (gateway/federation/binding.hpp): a message its origin
// gateway bound verifies at a later hop, also once a transit hop has withheld
// portions; every change in transit, and every certificate that is not the
// origin's, is refused with its own reason. Each forwarded message goes
// through the wire (encode, serialize, parse, decode) as a hop receives it.
#include "gateway/federation/binding.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "gateway/model/clock.hpp"
#include "gateway/pki/pki.hpp"
#include "gateway/wire/codec.hpp"
#include "tests/support/temporary_directory.hpp"

namespace icegate::federation {
namespace {

using icegate::testing::TemporaryDirectory;
using ::testing::HasSubstr;

// Two regions' PKIs: the origin gateway gw-wm's, which also issued gw-bham
// (another gateway) and gw-old (expired), and another region's.
class Pkis {
 public:
  Pkis() {
    pki::init_ca(origin_dir(), "West Midlands CA");
    pki::init_ca(other_dir(), "Yorkshire CA");
    pki::issue_node(origin_dir(), "gw-wm");
    pki::issue_node(origin_dir(), "gw-bham");
    pki::IssueOptions expired;
    expired.already_expired = true;
    pki::issue_node(origin_dir(), "gw-old", expired);
    pki::issue_node(other_dir(), "gw-wm");  // the same name under another CA
  }
  std::filesystem::path origin_dir() const { return temporary_ / "wm"; }
  std::filesystem::path other_dir() const { return temporary_ / "yorkshire"; }
  pki::TrustedCa origin_ca() const { return pki::TrustedCa(pki::ca_paths(origin_dir()).certificate); }

 private:
  TemporaryDirectory temporary_;
};

class BindingTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { pkis_ = new Pkis; }
  static void TearDownTestSuite() {
    delete pkis_;
    pkis_ = nullptr;
  }

  static Message sample() {
    Message message;
    message.id = make_uuid();
    message.originator = "ctu-wm";
    message.created_unix_ms = to_unix_ms(SystemClock().now());
    message.addressees = {{AddresseeKind::organisation, "birmingham-cc"}};
    message.category = "ct-problem-profile";
    message.purpose = "prevent";
    message.title = "Sparkhill profile";
    message.label = {"SECRET", {"UK EYES ONLY"}};
    message.portions = {{"1", {"OFFICIAL", {}}, "Summary for partners."},
                        {"2", {"SECRET", {"UK EYES ONLY"}}, "Source reporting: withheld below SECRET."},
                        {"3", {"OFFICIAL-SENSITIVE", {"PERSONAL"}}, "Named individuals."},
                        {"4", {"OFFICIAL", {}}, "Actions for the council."}};
    message.handling.originator_control = true;
    message.handling.no_onward_sharing = true;
    message.handling.not_after_unix_ms = message.created_unix_ms + 86'400'000;
    return message;
  }

  // The origin's side: the message bound by `gateway` of `dir`'s PKI.
  static ForwardedMessage bound_by(const std::string& gateway, const std::filesystem::path& dir,
                                   Message message = sample()) {
    const pki::Paths paths = pki::node_paths(dir, gateway);
    const OriginGateway origin(paths.key, paths.certificate);
    salt_portions(message);
    Route route = bind_labels(message, origin, to_unix_ms(SystemClock().now()));
    return {std::move(message), std::move(route)};
  }
  static ForwardedMessage bound() { return bound_by("gw-wm", pkis_->origin_dir()); }

  // What the next hop decodes from the frame it receives.
  static ForwardedMessage over_the_wire(const ForwardedMessage& forwarded) {
    v1::Frame frame;
    wire::encode(forwarded, *frame.mutable_forward());
    v1::Frame received;
    EXPECT_TRUE(received.ParseFromString(frame.SerializeAsString()));
    wire::DecodeProblem problem;
    auto decoded = wire::decode(received.forward(), wire::ForwardLimits{}, problem);
    EXPECT_TRUE(decoded) << wire::to_string(problem);
    return decoded.value_or(forwarded);
  }

  static std::optional<BindingFailure> check(const ForwardedMessage& forwarded) {
    return verify(over_the_wire(forwarded), pkis_->origin_ca());
  }

  static void expect_refused(const ForwardedMessage& forwarded, BindingProblem problem, const std::string& naming) {
    const auto failure = check(forwarded);
    ASSERT_TRUE(failure) << "verified, but expected " << to_string(problem);
    EXPECT_EQ(failure->problem, problem) << to_string(failure->problem) << ": " << failure->text;
    EXPECT_THAT(failure->text, HasSubstr(naming));
  }

  static inline Pkis* pkis_ = nullptr;
};

TEST_F(BindingTest, AMessageBoundAtTheOriginVerifiesAtTheNextHop) {
  const ForwardedMessage forwarded = bound();
  EXPECT_EQ(forwarded.route.origin_gateway, "gw-wm");
  EXPECT_EQ(forwarded.route.hop_count, 1u);
  EXPECT_EQ(forwarded.route.binding.portion_digests.size(), 4u);
  const auto failure = check(forwarded);
  EXPECT_FALSE(failure) << failure->text;
}

TEST_F(BindingTest, ARedactedMessageStillVerifiesTwoHopsOnAndCarriesNoTraceOfWhatWasWithheld) {
  // gw-bham (transit) withholds portion 2 for its next peer, narrows the
  // addressees and recomputes the overall label: none of which is bound.
  ForwardedMessage forwarded = over_the_wire(bound());
  const std::string withheld_salt = forwarded.message.portions[1].salt;
  forwarded.message.portions.erase(forwarded.message.portions.begin() + 1);
  forwarded.message.label = {"OFFICIAL-SENSITIVE", {"PERSONAL"}};
  forwarded.message.addressees = {{AddresseeKind::node, "council-prevent"}};
  forwarded.route = onward(forwarded.route, "gw-bham");
  EXPECT_EQ(forwarded.route.hop_count, 2u);
  EXPECT_EQ(forwarded.route.via, std::vector<std::string>{"gw-bham"});

  const auto failure = check(forwarded);
  EXPECT_FALSE(failure) << failure->text;

  // On the wire to the third gateway: the withheld portion's digest, opaque,
  // and nothing of its label or body.
  v1::Frame frame;
  wire::encode(forwarded, *frame.mutable_forward());
  const std::string bytes = frame.SerializeAsString();
  EXPECT_EQ(bytes.find("Source reporting"), std::string::npos);
  EXPECT_EQ(bytes.find("UK EYES ONLY"), std::string::npos);
  EXPECT_EQ(bytes.find("SECRET"), std::string::npos);
  ASSERT_EQ(withheld_salt.size(), portion_salt_bytes);
  EXPECT_EQ(bytes.find(withheld_salt), std::string::npos) << "its salt left with it";
  EXPECT_EQ(forwarded.route.binding.portion_digests.size(), 4u);
}

// A hop a portion is withheld from still sees its digest. Without the salt,
// which left with the portion, a guess of the portion (its id, label and
// whole body: a short body, or a previous version the hop has seen) cannot
// be confirmed against that digest.
TEST_F(BindingTest, AWithheldPortionsDigestDoesNotConfirmAGuessOfIt) {
  const ForwardedMessage forwarded = over_the_wire(bound());
  const Sha256Digest& digest = forwarded.route.binding.portion_digests[1];
  Portion guess = sample().portions[1];  // exactly right, but for the salt
  ASSERT_TRUE(guess.salt.empty());
  EXPECT_NE(portion_digest(guess), digest);
  guess.salt = std::string(portion_salt_bytes, '\0');
  EXPECT_NE(portion_digest(guess), digest);
  guess.salt = forwarded.message.portions[1].salt;  // what only a hop holding the portion has
  EXPECT_EQ(portion_digest(guess), digest);
}

TEST_F(BindingTest, EachBindingSaltsEachPortionAfreshAndAnUnsaltedPortionIsNotBound) {
  const ForwardedMessage first = bound(), second = bound();
  for (std::size_t i = 0; i < first.message.portions.size(); ++i) {
    EXPECT_EQ(first.message.portions[i].salt.size(), portion_salt_bytes);
    EXPECT_NE(first.message.portions[i].salt, second.message.portions[i].salt) << "portion " << i;
    for (std::size_t j = 0; j < i; ++j) EXPECT_NE(first.message.portions[i].salt, first.message.portions[j].salt);
  }
  // A sender's own salt is replaced, never used.
  Message chosen = sample();
  for (Portion& portion : chosen.portions) portion.salt = std::string(portion_salt_bytes, 'x');
  salt_portions(chosen);
  for (const Portion& portion : chosen.portions) EXPECT_NE(portion.salt, std::string(portion_salt_bytes, 'x'));
  // The origin refuses to bind what is not salted.
  const pki::Paths paths = pki::node_paths(pkis_->origin_dir(), "gw-wm");
  const OriginGateway origin(paths.key, paths.certificate);
  try {
    bind_labels(sample(), origin, 0);
    FAIL() << "an unsalted message was bound";
  } catch (const std::invalid_argument& error) {
    EXPECT_THAT(error.what(), HasSubstr("portion '1' (portions[0]) is not salted"));
  }
  // A hop that drops a portion's salt has altered the portion.
  ForwardedMessage stripped = bound();
  stripped.message.portions[0].salt.clear();
  expect_refused(stripped, BindingProblem::portion_not_bound, "portion '1' (portions[0])");
}

TEST_F(BindingTest, AnAlteredLabelIsRefusedNamingThePortion) {
  ForwardedMessage forwarded = bound();
  forwarded.message.portions[2].label = {"OFFICIAL", {}};  // PERSONAL stripped in transit
  expect_refused(forwarded, BindingProblem::portion_not_bound, "portion '3' (portions[2])");
}

TEST_F(BindingTest, AnAlteredBodyIsRefusedNamingThePortion) {
  ForwardedMessage forwarded = bound();
  forwarded.message.portions[3].body += " And one more.";
  expect_refused(forwarded, BindingProblem::portion_not_bound, "portion '4' (portions[3])");
}

TEST_F(BindingTest, ARenamedPortionIsRefused) {
  ForwardedMessage forwarded = bound();
  forwarded.message.portions[0].id = "1a";
  expect_refused(forwarded, BindingProblem::portion_not_bound, "portion '1a'");
}

TEST_F(BindingTest, APortionAddedInTransitIsRefused) {
  ForwardedMessage forwarded = bound();
  forwarded.message.portions.push_back({"5", {"OFFICIAL", {}}, "Added by a hop."});
  expect_refused(forwarded, BindingProblem::portion_not_bound, "portion '5' (portions[4])");
}

TEST_F(BindingTest, ADuplicatedPortionIsRefused) {
  // The codec refuses a repeated portion id; a hop's own code could still
  // build one, so the binding refuses it too (checked without the wire).
  ForwardedMessage forwarded = bound();
  forwarded.message.portions.insert(forwarded.message.portions.begin() + 2, forwarded.message.portions[1]);
  const auto failure = verify(forwarded, pkis_->origin_ca());
  ASSERT_TRUE(failure);
  EXPECT_EQ(failure->problem, BindingProblem::portion_duplicated) << failure->text;
  EXPECT_EQ(failure->text, "portion '2' (portions[2]) is present twice");
}

TEST_F(BindingTest, PortionOrderIsBoundSoAReorderedListIsRefused) {
  ForwardedMessage forwarded = bound();
  std::swap(forwarded.message.portions[1], forwarded.message.portions[3]);
  expect_refused(forwarded, BindingProblem::portion_out_of_order,
                 "portion '3' (portions[2]) comes after portion '4', but the origin gateway sent it before");
}

struct CaveatCase {
  const char* name;
  void (*alter)(Handling&);
  const char* field;
};

class CaveatStripped : public BindingTest, public ::testing::WithParamInterface<CaveatCase> {};

TEST_P(CaveatStripped, IsRefusedNamingTheCaveat) {
  ForwardedMessage forwarded = bound();
  GetParam().alter(forwarded.message.handling);
  expect_refused(forwarded, BindingProblem::caveat_altered, GetParam().field);
}

INSTANTIATE_TEST_SUITE_P(
    Caveats, CaveatStripped,
    ::testing::Values(
        CaveatCase{"originator_control", [](Handling& h) { h.originator_control = false; },
                   "handling.originator_control: the origin gateway signed true, the message carries false"},
        CaveatCase{"no_onward_sharing", [](Handling& h) { h.no_onward_sharing = false; },
                   "handling.no_onward_sharing"},
        CaveatCase{"expiry", [](Handling& h) { h.not_after_unix_ms = 0; }, "handling.not_after_unix_ms"},
        CaveatCase{"embargo_time", [](Handling& h) { h.not_before_unix_ms = 1; }, "handling.not_before_unix_ms"},
        CaveatCase{"embargo_event", [](Handling& h) { h.not_before_event = "operation-start"; },
                   "handling.not_before_event"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST_F(BindingTest, AnAlteredBoundFieldIsRefusedNamingTheField) {
  ForwardedMessage forwarded = bound();
  forwarded.message.category = "tension-report";
  expect_refused(forwarded, BindingProblem::field_altered,
                 "category: the origin gateway signed 'ct-problem-profile', the message carries 'tension-report'");
  forwarded = bound();
  forwarded.message.derived_from = make_uuid();
  expect_refused(forwarded, BindingProblem::field_altered, "derived_from");
}

TEST_F(BindingTest, AlteringTheSignedValuesTooBreaksTheSignature) {
  // A hop that changes the caveat and the binding's copy of it alike.
  ForwardedMessage forwarded = bound();
  forwarded.message.handling.no_onward_sharing = false;
  forwarded.route.binding.fields.handling.no_onward_sharing = false;
  expect_refused(forwarded, BindingProblem::bad_signature, "its signature does not verify");
  // Or drops a withheld portion's digest, or moves the signing time.
  forwarded = bound();
  forwarded.route.binding.portion_digests.pop_back();
  forwarded.message.portions.pop_back();
  expect_refused(forwarded, BindingProblem::bad_signature, "route.binding");
  forwarded = bound();
  forwarded.route.binding.signed_unix_ms -= 1000;
  expect_refused(forwarded, BindingProblem::bad_signature, "route.binding");
}

TEST_F(BindingTest, ATruncatedSignatureIsRefused) {
  ForwardedMessage forwarded = bound();
  forwarded.route.binding.signature.resize(forwarded.route.binding.signature.size() - 1);
  expect_refused(forwarded, BindingProblem::bad_signature, "its signature does not verify with its certificate's key");
}

TEST_F(BindingTest, ABindingFromAnotherCaIsRefused) {
  // gw-wm's name, but under the other region's CA.
  expect_refused(bound_by("gw-wm", pkis_->other_dir()), BindingProblem::certificate_not_from_ca, "(gw-wm)");
}

TEST_F(BindingTest, ABindingByAnExpiredCertificateIsRefused) {
  expect_refused(bound_by("gw-old", pkis_->origin_dir()), BindingProblem::certificate_not_valid_then, "expired");
}

TEST_F(BindingTest, ABindingReSignedByAnotherGatewayOfTheSameCaIsRefused) {
  // A tampering transit hop alters a label and signs anew with its own key,
  // keeping the origin's name in the route.
  Message altered = sample();
  altered.portions[1].label = {"OFFICIAL", {}};
  ForwardedMessage forwarded = bound_by("gw-bham", pkis_->origin_dir(), altered);
  forwarded.route.origin_gateway = "gw-wm";
  expect_refused(forwarded, BindingProblem::origin_mismatch,
                 "route.origin_gateway: is 'gw-wm', but the binding is signed by 'gw-bham'");
}

TEST_F(BindingTest, AnUnknownVersionOrAnUnreadableCertificateIsRefused) {
  ForwardedMessage forwarded = bound();
  forwarded.route.binding.version = 2;
  auto failure = verify(forwarded, pkis_->origin_ca());  // the codec refuses version 2 already
  ASSERT_TRUE(failure);
  EXPECT_EQ(failure->problem, BindingProblem::unknown_version);

  forwarded = bound();
  forwarded.route.binding.certificate_pem = "not a certificate";
  expect_refused(forwarded, BindingProblem::unreadable_certificate, "not a PEM certificate");
}

TEST_F(BindingTest, OneTrustedCaKeptForManyMessagesTellsTheirSignersApart) {
  // A hop keeps its peer's CA loaded, and with it the signers' certificates
  // parsed: a certificate seen before must not stand in for another.
  const pki::TrustedCa ca = pkis_->origin_ca();
  Message altered = sample();
  altered.portions[1].label = {"OFFICIAL", {}};
  ForwardedMessage resigned = bound_by("gw-bham", pkis_->origin_dir(), altered);
  resigned.route.origin_gateway = "gw-wm";
  for (int round = 0; round < 2; ++round) {
    EXPECT_FALSE(verify(bound(), ca));
    EXPECT_EQ(verify(resigned, ca).value().problem, BindingProblem::origin_mismatch);
    EXPECT_EQ(verify(bound_by("gw-wm", pkis_->other_dir()), ca).value().problem,
              BindingProblem::certificate_not_from_ca);
    EXPECT_EQ(verify(bound_by("gw-old", pkis_->origin_dir()), ca).value().problem,
              BindingProblem::certificate_not_valid_then);
  }
}

TEST_F(BindingTest, AnOriginWhoseKeyCannotBeReadIsRefusedNamingTheFile) {
  const pki::Paths paths = pki::node_paths(pkis_->origin_dir(), "gw-wm");
  const std::filesystem::path missing = pkis_->origin_dir() / "nodes" / "gw-missing.key";
  try {
    OriginGateway origin(missing, paths.certificate);
    FAIL() << "a missing key was accepted";
  } catch (const pki::PkiError& error) {
    EXPECT_THAT(error.what(), HasSubstr(missing.string()));
  }
}

TEST_F(BindingTest, EachProblemHasItsOwnCode) {
  std::vector<std::string> codes;
  for (int i = 0; i <= static_cast<int>(BindingProblem::portion_out_of_order); ++i)
    codes.emplace_back(to_string(static_cast<BindingProblem>(i)));
  std::vector<std::string> unique = codes;
  std::sort(unique.begin(), unique.end());
  unique.erase(std::unique(unique.begin(), unique.end()), unique.end());
  EXPECT_EQ(unique.size(), codes.size());
  EXPECT_EQ(codes.size(), 11u);
}

// The byte strings are a contract between gateways of different builds: they
// are pinned here, built by hand from their definition in binding.hpp.
std::string be32(std::uint32_t n) {
  return {static_cast<char>(n >> 24), static_cast<char>(n >> 16), static_cast<char>(n >> 8), static_cast<char>(n)};
}
std::string text(std::string_view s) { return be32(static_cast<std::uint32_t>(s.size())) + std::string(s); }

TEST(BindingBytes, APortionDigestIsOverTheDomainTheSaltTheIdTheLabelAndTheBodysHash) {
  // Categories out of order: the digest is over the sorted, unique set.
  const Portion portion{"p1", {"SECRET", {"UK EYES ONLY", "PERSONAL", "PERSONAL"}}, "body", {}, "0123456789abcdef"};
  const Sha256Digest body = sha256("body");
  const std::string expected = text("icegate portion digest v1") + text("0123456789abcdef") + text("p1") +
                               text("SECRET") + be32(2) +
                               text("PERSONAL") + text("UK EYES ONLY") + text("") + be32(0) +
                               text(std::string_view(reinterpret_cast<const char*>(body.data()), body.size()));
  EXPECT_EQ(portion_digest(portion), sha256(expected));
}

TEST(BindingBytes, TheSignedBytesAreLengthPrefixedSoFieldsCannotSlideIntoEachOther) {
  Route route;
  route.origin_gateway = "gw-wm";
  route.binding.fields.category = "ab";
  route.binding.fields.purpose = "c";
  Route slid = route;
  slid.binding.fields.category = "a";
  slid.binding.fields.purpose = "bc";
  EXPECT_NE(canonical_bytes(route), canonical_bytes(slid));
  EXPECT_EQ(canonical_bytes(route).substr(0, 28), text("icegate label binding v1"));
  EXPECT_EQ(canonical_bytes(route).substr(28, 4), be32(1));  // the version
}

}  // namespace
}  // namespace icegate::federation
