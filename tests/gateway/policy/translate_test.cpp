// Labels across schemes: the shipped equivalences between GPMS (2008) and GSC
// (2014), every label of each scheme through them and back, the labels that
// cannot be mapped, and the `equivalences:` section's errors with positions.
#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "gateway/policy/diff.hpp"
#include "gateway/policy/spif.hpp"
#include "gateway/policy/translate.hpp"
#include "tests/gateway/policy/policy_test_support.hpp"

namespace icegate::policy {
namespace {

using testing::joined;
using testing::rendered;
using testing::TempDir;

const std::string kSchemes = ICEGATE_SOURCE_DIR "/policies/schemes/";

std::shared_ptr<const CompiledPolicy> shipped(const std::string& name) {
  LoadResult loaded = load_scheme(kSchemes + name + ".yaml");
  EXPECT_TRUE(loaded.policy) << joined(rendered(loaded.diagnostics));
  EXPECT_TRUE(loaded.diagnostics.empty()) << "a shipped scheme has warnings:\n" << joined(rendered(loaded.diagnostics));
  return loaded.policy;
}

// Every label valid under `scheme`: each classification with each subset of
// the categories, kept when the scheme says it is valid.
std::vector<Label> every_valid_label(const CompiledPolicy& scheme) {
  const LabelScheme& source = scheme.source().scheme;
  std::vector<Label> labels;
  const std::size_t n = source.categories.size();
  for (const Classification& classification : source.classifications) {
    for (std::size_t mask = 0; mask < (std::size_t{1} << n); ++mask) {
      Label label{classification.name, {}};
      for (std::size_t i = 0; i < n; ++i) {
        if (mask & (std::size_t{1} << i)) label.categories.push_back(source.categories[i].name);
      }
      normalise(label);
      if (scheme.label_problems(label).empty()) labels.push_back(label);
    }
  }
  return labels;
}

Label parse(const std::string& text) { return *parse_label_text(text); }

class ShippedEquivalences : public ::testing::Test {
 protected:
  void SetUp() override {
    gpms_ = shipped("gpms-2008");
    gsc_ = shipped("gsc-2014");
    ASSERT_TRUE(gpms_ && gsc_);
  }
  LabelTranslation to_gsc(const std::string& label) { return translate_label(*gpms_, *gsc_, parse(label)); }
  LabelTranslation to_gpms(const std::string& label) { return translate_label(*gsc_, *gpms_, parse(label)); }

  std::shared_ptr<const CompiledPolicy> gpms_, gsc_;
};

TEST_F(ShippedEquivalences, EachSchemesEquivalenceNamesOnlyTheOthersNames) {
  EXPECT_TRUE(check_equivalence(gpms_->source().scheme, gsc_->source().scheme, {}).empty());
  EXPECT_TRUE(check_equivalence(gsc_->source().scheme, gpms_->source().scheme, {}).empty());
}

TEST_F(ShippedEquivalences, TheTransitionGuidanceMappings) {
  for (const auto& [from, to] : std::map<std::string, std::string>{
           {"NOT PROTECTIVELY MARKED", "OFFICIAL"},
           {"PROTECT", "OFFICIAL"},
           {"RESTRICTED", "OFFICIAL"},
           {"SECRET", "SECRET"},
           {"SECRET/UK EYES ONLY", "SECRET/UK EYES ONLY"},
           {"TOP SECRET/UK EYES ONLY", "TOP SECRET/UK EYES ONLY"}}) {
    const LabelTranslation translation = to_gsc(from);
    ASSERT_TRUE(translation.faithful()) << from << ": " << translation.reason();
    EXPECT_EQ(label_text(*translation.translated), to) << from;
    EXPECT_EQ(label_text(translation.original), from) << "the original is kept as given";
  }
}

TEST_F(ShippedEquivalences, ConfidentialIsOneOfTwoAndTheTranslatorDoesNotPick) {
  const LabelTranslation translation = to_gsc("CONFIDENTIAL");
  EXPECT_FALSE(translation.faithful());
  ASSERT_EQ(translation.issues.size(), 1u);
  EXPECT_EQ(translation.issues[0].problem, TranslationProblem::ambiguous);
  EXPECT_EQ(translation.issues[0].part, "CONFIDENTIAL");
  EXPECT_EQ(translation.issues[0].candidates, (std::vector<std::string>{"OFFICIAL-SENSITIVE", "SECRET"}));
  EXPECT_NE(translation.reason().find("depending on the material"), std::string::npos) << translation.reason();
}

TEST_F(ShippedEquivalences, AMappedLabelTheOtherSchemeForbidsIsRefusedNotTrimmed) {
  // UK EYES ONLY carries across, but GSC puts no caveat on plain OFFICIAL:
  // dropping it would downgrade, raising OFFICIAL would upgrade. Neither.
  const LabelTranslation caveat = to_gsc("RESTRICTED/UK EYES ONLY");
  EXPECT_FALSE(caveat.faithful());
  ASSERT_EQ(caveat.issues.size(), 1u);
  EXPECT_EQ(caveat.issues[0].problem, TranslationProblem::invalid_result);
  EXPECT_NE(caveat.reason().find("OFFICIAL/UK EYES ONLY"), std::string::npos) << caveat.reason();
  // A GPMS descriptor on RESTRICTED material: GSC descriptors go only with OFFICIAL-SENSITIVE.
  EXPECT_EQ(to_gsc("RESTRICTED/PERSONAL").issues.at(0).problem, TranslationProblem::invalid_result);
}

TEST_F(ShippedEquivalences, APartWithNoCounterpartIsUnmappedWithItsNote) {
  const LabelTranslation translation = to_gpms("OFFICIAL-SENSITIVE/LOCSEN");
  EXPECT_FALSE(translation.faithful());
  // Both parts are reported, not just the first.
  ASSERT_EQ(translation.issues.size(), 2u);
  EXPECT_EQ(translation.issues[0].problem, TranslationProblem::ambiguous);
  EXPECT_EQ(translation.issues[1].problem, TranslationProblem::unmapped);
  EXPECT_EQ(translation.issues[1].part, "LOCSEN");
  EXPECT_NE(translation.issues[1].message.find("location-sensitive"), std::string::npos);
}

TEST_F(ShippedEquivalences, AnInvalidLabelIsNotTranslated) {
  const LabelTranslation translation = to_gsc("PROTECT/UK EYES ONLY");
  EXPECT_FALSE(translation.faithful());
  ASSERT_EQ(translation.issues.size(), 1u);
  EXPECT_EQ(translation.issues[0].problem, TranslationProblem::invalid_label);
}

// The round trip GPMS -> GSC -> GPMS, for every GPMS label. Where the
// forward mapping is faithful, the way back either lands on the original or
// says it cannot choose among candidates that include the original; and with
// the original kept beside the translation it always comes back exactly.
// Every label that does not map is reported with a reason.
TEST_F(ShippedEquivalences, RoundTripsOfEveryGpmsLabel) {
  const std::vector<Label> labels = every_valid_label(*gpms_);
  ASSERT_GT(labels.size(), 20u);
  std::set<std::string> faithful, exact_both_ways;
  for (const Label& label : labels) {
    const std::string text = label_text(label);
    const LabelTranslation there = translate_label(*gpms_, *gsc_, label);
    if (!there.faithful()) {
      EXPECT_FALSE(there.issues.empty()) << text;
      for (const TranslationIssue& issue : there.issues) EXPECT_FALSE(issue.message.empty()) << text;
      continue;
    }
    faithful.insert(text);
    EXPECT_TRUE(gsc_->label_problems(*there.translated).empty()) << text;
    const LabelTranslation back = translate_label(*gsc_, *gpms_, *there.translated);
    if (back.faithful()) {
      EXPECT_EQ(*back.translated, label) << text << " came back as " << label_text(*back.translated);
      exact_both_ways.insert(text);
    } else {
      ASSERT_FALSE(back.issues.empty()) << text;
      for (const TranslationIssue& issue : back.issues) {
        ASSERT_EQ(issue.problem, TranslationProblem::ambiguous) << text << ": " << issue.message;
        const bool is_classification = issue.part == there.translated->classification;
        const std::string& expected = is_classification ? label.classification : issue.part;
        EXPECT_NE(std::find(issue.candidates.begin(), issue.candidates.end(), expected), issue.candidates.end())
            << text << ": the way back does not offer the original " << expected;
      }
    }
    const LabelTranslation restored = translate_label(*gsc_, *gpms_, *there.translated, &label);
    ASSERT_TRUE(restored.faithful()) << text;
    EXPECT_TRUE(restored.restored) << text;
    EXPECT_EQ(*restored.translated, label) << text;
  }
  // By the transition guidance: every level but CONFIDENTIAL, no descriptor
  // (GSC's are only for OFFICIAL-SENSITIVE), UK EYES ONLY only where GSC
  // allows a caveat.
  EXPECT_EQ(faithful, (std::set<std::string>{"NOT PROTECTIVELY MARKED", "PROTECT", "RESTRICTED", "SECRET",
                                             "SECRET/UK EYES ONLY", "TOP SECRET", "TOP SECRET/UK EYES ONLY"}));
  EXPECT_EQ(exact_both_ways,
            (std::set<std::string>{"SECRET", "SECRET/UK EYES ONLY", "TOP SECRET", "TOP SECRET/UK EYES ONLY"}));
}

TEST_F(ShippedEquivalences, AKeptOriginalComesBackOnlyIfItIsWhatTheLabelWasMadeFrom) {
  const Label official = parse("OFFICIAL");
  const Label secret = parse("SECRET");
  const LabelTranslation wrong = translate_label(*gsc_, *gpms_, official, &secret);
  EXPECT_FALSE(wrong.restored);
  EXPECT_FALSE(wrong.faithful()) << "SECRET is not what OFFICIAL was made from";
}

TEST_F(ShippedEquivalences, EveryGscLabelEitherRoundTripsOrSaysWhy) {
  for (const Label& label : every_valid_label(*gsc_)) {
    const LabelTranslation there = translate_label(*gsc_, *gpms_, label);
    if (!there.faithful()) {
      EXPECT_FALSE(there.reason().empty()) << label_text(label);
      continue;
    }
    const LabelTranslation back = translate_label(*gpms_, *gsc_, *there.translated);
    ASSERT_TRUE(back.faithful()) << label_text(label) << ": " << back.reason();
    EXPECT_EQ(*back.translated, label);
  }
}

// ---- The gateway's step ---------------------------------------------------------

TEST(TranslateSubmitted, UnderTheOwnSchemeOrNoneTheMessageIsUntouched) {
  auto gsc = load_scheme(kSchemes + "gsc-2014.yaml");
  ASSERT_TRUE(gsc.policy);
  Message message;
  message.portions.push_back({"1", parse("SECRET"), "body"});
  const Message before = message;
  EXPECT_FALSE(translate_submitted_labels(*gsc.policy, message));
  EXPECT_EQ(message.portions[0].label, before.portions[0].label);
  EXPECT_TRUE(message.original_scheme.empty());
  message.label_scheme = "gsc-2014";
  EXPECT_FALSE(translate_submitted_labels(*gsc.policy, message));
  EXPECT_TRUE(message.portions[0].original_label.classification.empty());
}

TEST(TranslateSubmitted, ASchemeThePolicyDoesNotAcceptIsRefused) {
  auto gsc = load_scheme(kSchemes + "gsc-2014.yaml");
  ASSERT_TRUE(gsc.policy);
  Message message;
  message.label_scheme = "gpms-2008";
  message.portions.push_back({"1", parse("SECRET"), "body"});
  auto refusal = translate_submitted_labels(*gsc.policy, message);
  ASSERT_TRUE(refusal);
  EXPECT_NE(refusal->find("does not accept labels under scheme gpms-2008"), std::string::npos) << *refusal;
  EXPECT_EQ(message.portions[0].label, parse("SECRET"));
}

TEST(TranslateSubmitted, ASenderCannotClaimAnOriginalLabel) {
  auto gsc = load_scheme(kSchemes + "gsc-2014.yaml");
  ASSERT_TRUE(gsc.policy);
  Message message;
  message.portions.push_back({"1", parse("OFFICIAL"), "body", parse("RESTRICTED")});
  auto refusal = translate_submitted_labels(*gsc.policy, message);
  ASSERT_TRUE(refusal);
  EXPECT_NE(refusal->find("set by the gateway"), std::string::npos);
}

// ---- The `equivalences:` section: errors with positions ------------------------

TEST(EquivalenceValidation, EveryMistakeIsReportedWithItsPosition) {
  TempDir dir("equivalences");
  const auto file = dir.write("bad.yaml", R"(scheme: bad
classifications:
  - name: LOW
  - name: HIGH
tag_sets:
  - name: caveats
    type: restrictive
    categories:
      - name: EYES
equivalences:
  - to: bad
  - to: other
    classifications:
      - name: LOW
        to: L
      - name: LOW
        to: L2
      - name: HIHG
        to: H
      - name: HIGH
        one_of: [H]
    categories:
      - name: EYES
        none: true
  - to: other
)");
  LoadResult loaded = load_scheme(file);
  EXPECT_FALSE(loaded.policy);
  const std::string f = file.string();
  EXPECT_EQ(rendered(loaded.diagnostics),
            (std::vector<std::string>{
                f + ":11:9: error[P040]: scheme bad declares an equivalence to itself",
                f + ":16:15: error[P042]: 'LOW' is mapped twice (the first is at " + f + ":14:15)",
                f + ":18:15: error[P041]: undefined classification 'HIHG'; did you mean 'HIGH'?",
                f + ":21:17: error[P043]: 'one_of' of mapping of 'HIGH' needs two or more different names; for "
                    "one, write 'to'",
                f + ":24:15: error[P043]: mapping of 'EYES' has 'none' but no 'note': the note is the reason a "
                    "refused sender reads",
                f + ":25:9: error[P040]: a second equivalence to scheme other (the first is at " + f + ":12:9)",
            }));
}

TEST(EquivalenceValidation, ANameMissingFromTheOtherSchemeIsLocatedInTheFileThatNamesIt) {
  TempDir dir("equivalence-targets");
  const auto from = dir.write("from.yaml", R"(scheme: from
classifications:
  - name: LOW
equivalences:
  - to: gsc-2014
    classifications:
      - name: LOW
        to: OFICIAL
)");
  LoadResult loaded = load_scheme(from);
  ASSERT_TRUE(loaded.policy) << joined(rendered(loaded.diagnostics));
  auto gsc = load_scheme(kSchemes + "gsc-2014.yaml");
  ASSERT_TRUE(gsc.policy);
  const Diagnostics problems =
      check_equivalence(loaded.policy->source().scheme, gsc.policy->source().scheme, {"policy.yaml", 3, 5});
  EXPECT_EQ(rendered(problems), (std::vector<std::string>{from.string() +
                                                          ":8:13: error[P045]: scheme gsc-2014 has no classification "
                                                          "'OFICIAL'; did you mean 'OFFICIAL'?"}));
  const Diagnostics none =
      check_equivalence(gsc.policy->source().scheme, loaded.policy->source().scheme, {"policy.yaml", 3, 5});
  EXPECT_EQ(rendered(none), (std::vector<std::string>{"policy.yaml:3:5: error[P046]: scheme gsc-2014 declares no "
                                                      "equivalence to from, so its labels cannot be translated "
                                                      "into it"}));
}

TEST(EquivalenceValidation, ANameLeftUnmappedIsAWarningThatSaysHowToSaySo) {
  TempDir dir("equivalence-gaps");
  const auto file = dir.write("gaps.yaml", R"(scheme: gaps
classifications:
  - name: LOW
  - name: HIGH
equivalences:
  - to: other
    classifications:
      - name: LOW
        to: L
)");
  LoadResult loaded = load_scheme(file);
  ASSERT_TRUE(loaded.policy);
  EXPECT_EQ(rendered(loaded.diagnostics),
            (std::vector<std::string>{file.string() +
                                      ":6:5: warning[P044]: classification 'HIGH' has no mapping to other: labels "
                                      "carrying it cannot be translated (write it with `none: true` and a note to "
                                      "say so)"}));
}

// ---- A policy's accept_schemes ---------------------------------------------------

TEST(AcceptSchemes, APolicyLoadsTheSchemesItAcceptsAndChecksTheirEquivalences) {
  auto loaded = load_policy(ICEGATE_SOURCE_DIR "/tests/data/gsc-2014-policy.yaml");
  ASSERT_TRUE(loaded.policy) << joined(rendered(loaded.diagnostics));
  const Policy& policy = loaded.policy->source();
  ASSERT_EQ(policy.accepted_schemes.size(), 1u);
  EXPECT_TRUE(policy.accepted_scheme("gpms-2008"));
  EXPECT_FALSE(policy.accepted_scheme("gsc-2014"));
}

TEST(AcceptSchemes, ASchemeWithNoEquivalenceToThePolicysIsRefusedAtItsEntry) {
  TempDir dir("accept");
  dir.write("own.yaml", "scheme: own\nclassifications:\n  - name: LOW\n");
  dir.write("other.yaml", "scheme: other\nclassifications:\n  - name: L\n");
  const auto policy = dir.write("policy.yaml", R"(policy: p
scheme: own.yaml
accept_schemes:
  - other.yaml
  - missing.yaml
)");
  auto loaded = load_policy(policy);
  EXPECT_FALSE(loaded.policy);
  const std::string text = joined(rendered(loaded.diagnostics));
  EXPECT_NE(text.find(policy.string() + ":4:5: error[P046]: scheme other declares no equivalence to own"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(policy.string() + ":5:5: error[P046]: cannot accept scheme file"), std::string::npos) << text;
}

}  // namespace
}  // namespace icegate::policy
