// End to end: a gateway whose policy is under GSC (2014) and accepts GPMS
// (2008) labels; real TLS nodes on loopback. A node marking under GPMS has
// its labels translated before the decision, and recipients get the original
// beside the translation; a label with no faithful mapping is refused with
// its reason; a node that never says which scheme (every node built before
// Message.label_scheme existed) is under the policy's own.
#include <gtest/gtest.h>

#include "gateway/audit/audit.hpp"
#include "tests/support/gateway_fixture.hpp"

namespace icegate::testing {
namespace {

const std::vector<std::string> kNodes{"ctu-wm", "ctio-east", "council-prevent"};

Label label(std::string classification, std::vector<std::string> categories = {}) {
  return {std::move(classification), std::move(categories)};
}

const Portion* portion(const Message& message, const std::string& id) {
  for (const Portion& p : message.portions)
    if (p.id == id) return &p;
  return nullptr;
}

class LabelsAcrossSchemes : public ::testing::Test {
 protected:
  LabelsAcrossSchemes()
      : gateway_(std::make_unique<RunningGateway>(source_path("tests/data/gsc-2014-policy.yaml"), kNodes,
                                                  server::GatewayConfig{}, directory_.path())) {}

  // A two-level product marked under GPMS, to both the CTIO and the council.
  Message gpms_product() {
    Message message = make_message("ctu-wm", {{AddresseeKind::node, "ctio-east"}, {AddresseeKind::node, "council-prevent"}},
                                   "ct-problem-profile", "prevent",
                                   {{label("SECRET", {"UK EYES ONLY"}), "secret body"},
                                    {label("RESTRICTED"), "partner version"}});
    message.label_scheme = "gpms-2008";
    return message;
  }

  TemporaryDirectory directory_;
  std::unique_ptr<RunningGateway> gateway_;
};

TEST_F(LabelsAcrossSchemes, GpmsLabelsAreTranslatedAndRecipientsGetBoth) {
  auto sender = gateway_->connect("ctu-wm");
  auto ctio = gateway_->connect("ctio-east");
  auto council = gateway_->connect("council-prevent");
  const Message message = gpms_product();
  sender->submit(message);

  auto full = next_of<node::Delivery>(*ctio);
  ASSERT_TRUE(full);
  EXPECT_EQ(full->decision, Decision::release);
  EXPECT_EQ(full->message.label_scheme, "gsc-2014");
  EXPECT_EQ(full->message.original_scheme, "gpms-2008");
  ASSERT_EQ(full->message.portions.size(), 2u);
  const Portion* secret = portion(full->message, "1");
  const Portion* partner = portion(full->message, "2");
  ASSERT_TRUE(secret && partner);
  EXPECT_EQ(secret->label, label("SECRET", {"UK EYES ONLY"}));
  EXPECT_EQ(secret->original_label, label("SECRET", {"UK EYES ONLY"}));
  EXPECT_EQ(partner->label, label("OFFICIAL"));
  EXPECT_EQ(partner->original_label, label("RESTRICTED"));

  // The council (BPSS, up to OFFICIAL-SENSITIVE) is decided on the GSC label:
  // the translated OFFICIAL portion, not the SECRET one.
  auto partial = next_of<node::Delivery>(*council);
  ASSERT_TRUE(partial);
  EXPECT_EQ(partial->decision, Decision::release_redacted);
  ASSERT_EQ(partial->message.portions.size(), 1u);
  EXPECT_EQ(partial->message.portions[0].label, label("OFFICIAL"));
  EXPECT_EQ(partial->message.portions[0].original_label, label("RESTRICTED"));
  EXPECT_EQ(partial->message.original_scheme, "gpms-2008");
  ASSERT_EQ(partial->withheld.size(), 1u);
  EXPECT_EQ(partial->withheld[0].label, label("SECRET", {"UK EYES ONLY"}));

  auto receipt = next_of<node::Receipt>(*sender);
  ASSERT_TRUE(receipt);
  EXPECT_EQ(receipt->outcomes.size(), 2u);

  // The audit record keeps the originals beside the translations.
  gateway_.reset();
  const auto translated = audit::query(directory_.path() / "data", {.kind = "labels_translated"});
  ASSERT_EQ(translated.size(), 1u);
  EXPECT_EQ(translated[0].record.message_id, message.id);
  const std::string& detail = translated[0].record.detail;
  EXPECT_NE(detail.find("\"original_scheme\":\"gpms-2008\""), std::string::npos) << detail;
  EXPECT_NE(detail.find("\"original_label\":\"RESTRICTED\",\"label\":\"OFFICIAL\""), std::string::npos) << detail;
}

TEST_F(LabelsAcrossSchemes, ALabelWithNoFaithfulMappingIsRefusedWithItsReason) {
  auto sender = gateway_->connect("ctu-wm");
  auto ctio = gateway_->connect("ctio-east");
  Message message = make_message("ctu-wm", {{AddresseeKind::node, "ctio-east"}}, "ct-problem-profile", "prevent",
                                 {{label("RESTRICTED"), "fine"}, {label("CONFIDENTIAL"), "which is it?"}});
  message.label_scheme = "gpms-2008";
  sender->submit(message);
  auto error = next_of<node::ErrorNotice>(*sender);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->code, "INVALID_LABEL");
  EXPECT_EQ(error->message_id, message.id);
  EXPECT_NE(error->text.find("portion '2' label CONFIDENTIAL under gpms-2008 has no faithful mapping to gsc-2014"),
            std::string::npos)
      << error->text;
  EXPECT_NE(error->text.find("any of OFFICIAL-SENSITIVE, SECRET"), std::string::npos) << error->text;
  EXPECT_FALSE(next_of<node::Delivery>(*ctio, 300ms)) << "nothing of a refused message is delivered";

  // A caveat GSC does not allow on OFFICIAL is refused too, not dropped.
  Message caveat = make_message("ctu-wm", {{AddresseeKind::node, "ctio-east"}}, "ct-problem-profile", "prevent",
                                {{label("RESTRICTED", {"UK EYES ONLY"}), "caveated"}});
  caveat.label_scheme = "gpms-2008";
  sender->submit(caveat);
  auto second = next_of<node::ErrorNotice>(*sender);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->code, "INVALID_LABEL");
  EXPECT_NE(second->text.find("would be OFFICIAL/UK EYES ONLY"), std::string::npos) << second->text;
}

TEST_F(LabelsAcrossSchemes, AMessageThatNamesNoSchemeIsUnderThePolicysOwn) {
  auto sender = gateway_->connect("ctu-wm");
  auto ctio = gateway_->connect("ctio-east");
  // What a node built before label_scheme existed sends: no scheme, GSC labels.
  Message old_style = make_message("ctu-wm", {{AddresseeKind::node, "ctio-east"}}, "ct-problem-profile", "prevent",
                                   {{label("OFFICIAL-SENSITIVE"), "body"}});
  sender->submit(old_style);
  auto delivery = next_of<node::Delivery>(*ctio);
  ASSERT_TRUE(delivery);
  EXPECT_EQ(delivery->message.portions.at(0).label, label("OFFICIAL-SENSITIVE"));
  EXPECT_TRUE(delivery->message.portions.at(0).original_label.classification.empty());
  EXPECT_TRUE(delivery->message.label_scheme.empty());
  EXPECT_TRUE(delivery->message.original_scheme.empty());

  // And a GPMS label with no scheme named is not guessed at: it is invalid under GSC.
  Message unnamed = make_message("ctu-wm", {{AddresseeKind::node, "ctio-east"}}, "ct-problem-profile", "prevent",
                                 {{label("RESTRICTED"), "body"}});
  sender->submit(unnamed);
  auto error = next_of<node::ErrorNotice>(*sender);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->code, "INVALID_LABEL");
}

TEST_F(LabelsAcrossSchemes, ASchemeThePolicyDoesNotAcceptIsRefused) {
  auto sender = gateway_->connect("ctu-wm");
  Message message = make_message("ctu-wm", {{AddresseeKind::node, "ctio-east"}}, "ct-problem-profile", "prevent",
                                 {{label("SECRET"), "body"}});
  message.label_scheme = "nato";
  sender->submit(message);
  auto error = next_of<node::ErrorNotice>(*sender);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->code, "INVALID_LABEL");
  EXPECT_NE(error->text.find("does not accept labels under scheme nato (it accepts gsc-2014, gpms-2008)"),
            std::string::npos)
      << error->text;
}

}  // namespace
}  // namespace icegate::testing
