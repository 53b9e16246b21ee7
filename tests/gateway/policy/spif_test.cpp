// policy::import_spif and friends: the shipped SPIFs import to schemes that
// load and behave as the SPIF says; broken SPIFs give every problem, located
// and coded; scheme-only loading; clearance checks.
#include "gateway/policy/spif.hpp"

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "gateway/policy/diff.hpp"
#include "gateway/policy/parser.hpp"
#include "gateway/policy/validator.hpp"
#include "tests/gateway/policy/policy_test_support.hpp"

namespace icegate::policy {
namespace {

using testing::joined;
using testing::rendered;
using testing::TempDir;

const std::string kSpifDir = ICEGATE_SOURCE_DIR "/policies/spif/";

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

Label label(std::string_view text) { return *parse_label_text(text); }

using testing::codes;

// ---- gpms-2008.xml mirrors schemes/gpms-2008.yaml ---------------------------

TEST(SpifImportTest, TheGpmsSpifImportsToTheShippedScheme) {
  const SpifImport imported = import_spif(kSpifDir + "gpms-2008.xml");
  ASSERT_TRUE(imported.scheme) << joined(rendered(imported.diagnostics));
  EXPECT_TRUE(imported.diagnostics.empty()) << joined(rendered(imported.diagnostics));

  auto shipped = load_scheme(ICEGATE_SOURCE_DIR "/policies/schemes/gpms-2008.yaml");
  ASSERT_TRUE(shipped.policy) << joined(rendered(shipped.diagnostics));
  const LabelScheme& expected = shipped.policy->source().scheme;
  const LabelScheme& actual = *imported.scheme;
  EXPECT_EQ(actual.name, expected.name);
  ASSERT_EQ(actual.classifications.size(), expected.classifications.size());
  for (std::size_t i = 0; i < expected.classifications.size(); ++i) {
    const Classification& a = actual.classifications[i];
    const Classification& e = expected.classifications[i];
    EXPECT_EQ(a.name, e.name);
    EXPECT_EQ(a.marking.empty() ? a.name : a.marking, e.marking.empty() ? e.name : e.marking);
    EXPECT_EQ(a.colour, e.colour) << a.name;
    EXPECT_EQ(a.text_colour, e.text_colour) << a.name;
  }
  ASSERT_EQ(actual.tag_sets.size(), expected.tag_sets.size());
  for (std::size_t i = 0; i < expected.tag_sets.size(); ++i) {
    EXPECT_EQ(actual.tag_sets[i].name, expected.tag_sets[i].name);
    EXPECT_EQ(actual.tag_sets[i].type, expected.tag_sets[i].type);
    EXPECT_EQ(actual.tag_sets[i].categories, expected.tag_sets[i].categories);
  }
  ASSERT_EQ(actual.categories.size(), expected.categories.size());
  for (std::size_t i = 0; i < expected.categories.size(); ++i) {
    EXPECT_EQ(actual.categories[i].name, expected.categories[i].name);
    EXPECT_EQ(actual.categories[i].excluded_at, expected.categories[i].excluded_at);
    EXPECT_EQ(actual.categories[i].requires_categories, expected.categories[i].requires_categories);
  }
  EXPECT_NE(imported.yaml.find("# Label scheme imported from the Open XML SPIF gpms-2008.xml"), std::string::npos);
}

TEST(SpifImportTest, NeedToShareDecidesAlikeOnTheImportedScheme) {
  const SpifImport imported = import_spif(kSpifDir + "gpms-2008.xml");
  ASSERT_TRUE(imported.scheme);
  TempDir dir("spif-need-to-share");
  const auto scheme = dir.write("gpms-imported.yaml", imported.yaml);
  std::string text = read_file(ICEGATE_SOURCE_DIR "/policies/need-to-share.yaml");
  const std::string line = "scheme: schemes/gpms-2008.yaml";
  ASSERT_NE(text.find(line), std::string::npos);
  text.replace(text.find(line), line.size(), "scheme: gpms-imported.yaml");
  const auto policy_file = dir.write("need-to-share.yaml", text);

  LoadResult shipped = load_policy(ICEGATE_SOURCE_DIR "/policies/need-to-share.yaml");
  LoadResult imported_policy = load_policy(policy_file);
  ASSERT_TRUE(shipped.policy);
  ASSERT_TRUE(imported_policy.policy) << joined(rendered(imported_policy.diagnostics));
  const PolicyDiff diff = diff_policies(*shipped.policy, *imported_policy.policy);
  EXPECT_TRUE(diff.equivalent()) << diff.groups.size() << " groups differ";
  EXPECT_EQ(imported_policy.policy->display_marking(label("SECRET/UK EYES ONLY")), "SECRET UK EYES ONLY");
}

// ---- prevent-partnership.xml: every tag type, required and excluded ---------

class PartnershipSpif : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    imported_ = new SpifImport(import_spif(kSpifDir + "prevent-partnership.xml"));
    ASSERT_TRUE(imported_->scheme) << joined(rendered(imported_->diagnostics));
    dir_ = new TempDir("spif-partnership");
    dir_->write("partnership.yaml", imported_->yaml);
    // Three partners holding different categories, and one rule sending everything.
    const auto file = dir_->write("policy.yaml", R"(policy: partnership
scheme: partnership.yaml
vetting:
  - {name: SC, regular: SECRET, occasional: TOP SECRET}
  - {name: BPSS, regular: OFFICIAL-SENSITIVE, occasional: SECRET}
organisations:
  - {id: ctu, kind: ctu}
  - {id: council, kind: council}
  - {id: health, kind: health}
roles:
  - {id: officer}
nodes:
  - {id: ctu-officer, organisation: ctu, role: officer, vetting: SC,
     categories: [UK EYES ONLY, REL POLICE, NICOLE, GATEWAY PARTNERS]}
  - {id: council-officer, organisation: council, role: officer, vetting: BPSS,
     categories: [UK EYES ONLY, REL COUNCIL, GATEWAY PARTNERS]}
  - {id: health-officer, organisation: health, role: officer, vetting: BPSS,
     categories: [REL HEALTH, CONSEQUENCE GROUP]}
information_categories: [report]
purposes: [prevent]
rules:
  - {id: share-everything, effect: permit}
)");
    LoadResult result = load_policy(file);
    ASSERT_TRUE(result.policy) << joined(rendered(result.diagnostics));
    policy_ = new std::shared_ptr<const CompiledPolicy>(result.policy);
  }
  static void TearDownTestSuite() {
    delete policy_;
    delete dir_;
    delete imported_;
  }

  // The decision for one portion labelled `text` sent by ctu-officer to `recipient`.
  static PortionDecision decide(std::string_view recipient, std::string_view text) {
    const std::vector<Label> labels = {label(text)};
    return (*policy_)->decide({"ctu-officer", recipient, "report", "prevent", labels, false}).portions.front();
  }

  static SpifImport* imported_;
  static TempDir* dir_;
  static std::shared_ptr<const CompiledPolicy>* policy_;
};
SpifImport* PartnershipSpif::imported_ = nullptr;
TempDir* PartnershipSpif::dir_ = nullptr;
std::shared_ptr<const CompiledPolicy>* PartnershipSpif::policy_ = nullptr;

TEST_F(PartnershipSpif, ImportsWithoutAWarning) {
  // Every rule and marking qualifier of the SPIF has its equivalent in the scheme.
  EXPECT_TRUE(imported_->diagnostics.empty()) << joined(rendered(imported_->diagnostics));
  const LabelScheme& scheme = *imported_->scheme;
  EXPECT_EQ(scheme.name, "prevent-partnership-2014");
  // Ordered by hierarchy, not by position in the file; colour names and #rgb normalised.
  std::vector<std::string> names;
  for (const Classification& c : scheme.classifications) names.push_back(c.name);
  EXPECT_EQ(names, (std::vector<std::string>{"OFFICIAL", "OFFICIAL-SENSITIVE", "SECRET", "TOP SECRET"}));
  EXPECT_EQ(scheme.classifications[0].colour, "#ffffff");
  EXPECT_EQ(scheme.classifications[0].text_colour, "#000000");
  EXPECT_EQ(scheme.classifications[2].colour, "#ffa500");
  // Tag types: enumerated takes its enumType.
  std::vector<std::pair<std::string, TagSetType>> sets;
  for (const TagSet& set : scheme.tag_sets) sets.emplace_back(set.name, set.type);
  EXPECT_EQ(sets, (std::vector<std::pair<std::string, TagSetType>>{{"caveats", TagSetType::restrictive},
                                                                   {"releasable-to", TagSetType::permissive},
                                                                   {"operation-codewords", TagSetType::restrictive},
                                                                   {"partnership-groups", TagSetType::permissive},
                                                                   {"descriptors", TagSetType::informative}}));
}

TEST_F(PartnershipSpif, MarkingsUseThePhrasesAndQualifiers) {
  const CompiledPolicy& policy = **policy_;
  // The tag's prefix once, its separator between its categories.
  EXPECT_EQ(policy.display_marking(label("OFFICIAL-SENSITIVE/REL HEALTH/REL POLICE")),
            "OFFICIAL-SENSITIVE REL TO POLICE, HEALTH");
  EXPECT_EQ(policy.display_marking(label("OFFICIAL-SENSITIVE/REL COUNCIL/LOCSEN")),
            "OFFICIAL-SENSITIVE REL TO COUNCIL LOCSEN");
  EXPECT_EQ(policy.display_marking(label("SECRET/NICOLE/UK EYES ONLY")), "SECRET UK EYES ONLY OPERATION NICOLE");
}

TEST_F(PartnershipSpif, ValidityFollowsExcludedClassesAndRequiredCategories) {
  const CompiledPolicy& policy = **policy_;
  EXPECT_FALSE(policy.label_problems(label("OFFICIAL/UK EYES ONLY")).empty());  // excludedClass
  EXPECT_FALSE(policy.label_problems(label("OFFICIAL-SENSITIVE/NICOLE/UK EYES ONLY")).empty());
  EXPECT_FALSE(policy.label_problems(label("SECRET/NICOLE")).empty());  // requires UK EYES ONLY
  EXPECT_TRUE(policy.label_problems(label("SECRET/NICOLE/UK EYES ONLY")).empty());
  // LOCSEN requires REL POLICE or REL COUNCIL (oneOrMore).
  EXPECT_FALSE(policy.label_problems(label("OFFICIAL-SENSITIVE/LOCSEN")).empty());
  EXPECT_FALSE(policy.label_problems(label("OFFICIAL-SENSITIVE/LOCSEN/REL HEALTH")).empty());
  EXPECT_TRUE(policy.label_problems(label("OFFICIAL-SENSITIVE/LOCSEN/REL POLICE")).empty());
  EXPECT_TRUE(policy.label_problems(label("OFFICIAL-SENSITIVE/LOCSEN/REL COUNCIL")).empty());
  EXPECT_FALSE(policy.label_problems(label("SECRET/PERSONAL")).empty());  // only at OFFICIAL-SENSITIVE
  EXPECT_TRUE(policy.label_problems(label("OFFICIAL-SENSITIVE/PERSONAL")).empty());
}

TEST_F(PartnershipSpif, AccessFollowsTheTagTypes) {
  // Permissive: one of the label's releasability groups suffices.
  EXPECT_TRUE(decide("council-officer", "OFFICIAL-SENSITIVE/REL COUNCIL/REL POLICE").released);
  const PortionDecision police_only = decide("council-officer", "OFFICIAL-SENSITIVE/REL POLICE");
  EXPECT_FALSE(police_only.released);
  EXPECT_EQ(police_only.reason, PortionReason::missing_category);
  // Enumerated restrictive: the codeword must be held.
  // (The council officer sees SECRET only occasionally, so ask the clearance check.)
  auto codeword =
      check_clearance(**policy_, "BPSS", {"UK EYES ONLY", "REL COUNCIL"}, label("SECRET/NICOLE/UK EYES ONLY"));
  ASSERT_TRUE(codeword);
  EXPECT_EQ(codeword->missing_restrictive, std::vector<std::string>{"NICOLE"});
  EXPECT_FALSE(codeword->cleared());
  EXPECT_TRUE(
      check_clearance(**policy_, "SC", {"UK EYES ONLY", "NICOLE"}, label("SECRET/NICOLE/UK EYES ONLY"))->cleared());
  // Restrictive: health holds no UK EYES ONLY.
  EXPECT_EQ(decide("health-officer", "OFFICIAL-SENSITIVE/UK EYES ONLY").reason, PortionReason::missing_category);
  EXPECT_TRUE(decide("council-officer", "OFFICIAL-SENSITIVE/UK EYES ONLY").released);
  // Enumerated permissive: either group.
  EXPECT_TRUE(decide("health-officer", "OFFICIAL/CONSEQUENCE GROUP/GATEWAY PARTNERS").released);
  EXPECT_TRUE(decide("council-officer", "OFFICIAL/CONSEQUENCE GROUP/GATEWAY PARTNERS").released);
  EXPECT_FALSE(decide("health-officer", "OFFICIAL/GATEWAY PARTNERS").released);
  // Informative: no effect on access.
  EXPECT_TRUE(decide("health-officer", "OFFICIAL-SENSITIVE/PERSONAL").released);
  // Hierarchy: BPSS sees SECRET only occasionally.
  EXPECT_EQ(decide("council-officer", "SECRET").reason, PortionReason::occasional_unavailable);

  auto check = check_clearance(**policy_, "BPSS", {"REL COUNCIL"}, label("SECRET/REL COUNCIL/REL HEALTH"));
  ASSERT_TRUE(check);
  EXPECT_TRUE(check->cleared());
  EXPECT_EQ(check->level, ClearanceLevel::occasional);
}

// ---- Problems, located and coded --------------------------------------------

SpifImport import_text(std::string_view text) { return import_spif_text(text, "test.xml"); }

constexpr std::string_view kHead = R"(<?xml version="1.0"?>
<SPIF xmlns="http://www.xmlspif.org/spif" schemaVersion="2.1">
  <securityPolicyId name="t" id="1.2.3"/>
)";

TEST(SpifProblemTest, MalformedXmlIsLocated) {
  const SpifImport imported = import_text("<SPIF>\n  <securityPolicyId name=\"t\">\n</SPIF>\n");
  EXPECT_FALSE(imported.scheme);
  ASSERT_EQ(rendered(imported.diagnostics).size(), 1u);
  EXPECT_EQ(rendered(imported.diagnostics).front(),
            "test.xml:3:3: error[S001]: XML is not well-formed: mismatched tag");
}

TEST(SpifProblemTest, NotASpif) {
  const SpifImport imported = import_text("<policy xmlns=\"urn:other\"/>");
  EXPECT_EQ(codes(imported.diagnostics), std::vector<Code>{Code::S002});
  EXPECT_NE(rendered(imported.diagnostics).front().find("test.xml:1:1: error[S002]"), std::string::npos);
}

TEST(SpifProblemTest, EveryProblemIsReportedInFileOrder) {
  const std::string text = std::string(kHead) + R"(  <securityClassifications>
    <securityClassification name="LOW" lacv="1" hierarchy="0"/>
    <securityClassification name="LOW" lacv="2" hierarchy="1"/>
    <securityClassification name="MID" lacv="x" hierarchy="2"/>
    <securityClassification name="HIGH" lacv="4"/>
    <securityClassification name="TOP" lacv="1" hierarchy="0" color="chartreuse-ish"/>
  </securityClassifications>
  <securityCategoryTagSets>
    <securityCategoryTagSet name="set" id="1.2.3.1">
      <securityCategoryTag name="odd" tagType="magic">
        <tagCategory name="A" lacv="1"/>
      </securityCategoryTag>
      <securityCategoryTag name="enum" tagType="enumerated">
        <tagCategory name="B" lacv="1"/>
      </securityCategoryTag>
      <securityCategoryTag name="good" tagType="restrictive">
        <tagCategory name="C" lacv="1">
          <excludedClass>NOWHERE</excludedClass>
          <requiredCategory operation="all">
            <categoryGroup tagSetRef="missing" tagType="restrictive" lacv="1"/>
          </requiredCategory>
        </tagCategory>
        <tagCategory name="C" lacv="2"/>
        <tagCategory name="D" lacv="1"/>
      </securityCategoryTag>
    </securityCategoryTagSet>
  </securityCategoryTagSets>
</SPIF>
)";
  const SpifImport imported = import_text(text);
  EXPECT_FALSE(imported.scheme);
  EXPECT_TRUE(imported.yaml.empty());
  const std::vector<std::string> lines = rendered(imported.diagnostics);
  EXPECT_EQ(lines, (std::vector<std::string>{
                       "test.xml:6:5: error[S006]: duplicate classification name 'LOW'",
                       "test.xml:7:5: error[S004]: classification 'MID' lacv 'x' is not an integer",
                       "test.xml:8:5: error[S003]: classification 'HIGH' has no hierarchy attribute",
                       "test.xml:9:5: error[S007]: classification 'TOP' has lacv 1, as 'LOW' does",
                       "test.xml:9:5: error[S008]: classification 'TOP' has hierarchy 0, as 'LOW' does: a scheme "
                       "ranks classifications in a strict order",
                       "test.xml:9:5: warning[S102]: colour 'chartreuse-ish' of classification 'TOP' is not #rgb, "
                       "#rrggbb or a known colour name; left out",
                       "test.xml:13:7: error[S004]: tag 'odd' of tag set 'set' has tagType 'magic': use restrictive, "
                       "permissive, enumerated or informative",
                       "test.xml:16:7: error[S003]: tag 'enum' of tag set 'set' is enumerated but has no enumType "
                       "(restrictive or permissive)",
                       "test.xml:21:11: error[S009]: excludedClass 'NOWHERE' of category 'C' of tag 'good' of tag "
                       "set 'set' names no securityClassification",
                       "test.xml:23:13: error[S009]: categoryGroup tagSetRef 'missing' names no "
                       "securityCategoryTagSet",
                       "test.xml:26:9: error[S006]: category name 'C' is used twice (also at line 20): a scheme's "
                       "category names are unique across every tag set",
                       "test.xml:27:9: error[S007]: category 'D' of tag 'good' of tag set 'set' has lacv 1, as 'C' "
                       "of the same tag set and tag type does",
                   }))
      << joined(lines);
}

TEST(SpifProblemTest, NoClassifications) {
  const SpifImport imported = import_text(std::string(kHead) + "  <securityClassifications/>\n</SPIF>\n");
  EXPECT_EQ(codes(imported.diagnostics), std::vector<Code>{Code::S005});
}

TEST(SpifProblemTest, WhatASchemeCannotSayIsAWarning) {
  const std::string text = std::string(kHead) + R"(  <securityClassifications>
    <securityClassification name="LOW" lacv="1" hierarchy="0" obsolete="true">
      <requiredCategory operation="all">
        <categoryGroup tagSetRef="set" tagType="permissive" lacv="1"/>
      </requiredCategory>
    </securityClassification>
    <securityClassification name="HIGH" lacv="2" hierarchy="1">
      <markingData phrase="HIGH"><code>suppressClassName</code></markingData>
    </securityClassification>
  </securityClassifications>
  <securityCategoryTagSets>
    <securityCategoryTagSet name="set" id="1.2.3.1">
      <securityCategoryTag name="rel" tagType="permissive">
        <tagCategory name="A" lacv="1">
          <excludedCategory tagSetRef="set" tagType="permissive" lacv="2"/>
        </tagCategory>
        <tagCategory name="B" lacv="2">
          <requiredCategory operation="oneOrMore">
            <categoryGroup tagSetRef="set" tagType="permissive" lacv="1"/>
            <categoryGroup tagSetRef="set" tagType="permissive" lacv="3"/>
          </requiredCategory>
        </tagCategory>
        <tagCategory name="C" lacv="3"/>
        <markingQualifier>
          <qualifier markingQualifier="REL " qualifierCode="prefix"/>
          <qualifier markingQualifier="/" qualifierCode="separator"/>
        </markingQualifier>
      </securityCategoryTag>
    </securityCategoryTagSet>
  </securityCategoryTagSets>
  <markingQualifier>
    <qualifier markingQualifier="[" qualifierCode="prefix"/>
  </markingQualifier>
</SPIF>
)";
  const SpifImport imported = import_text(text);
  ASSERT_TRUE(imported.scheme) << joined(rendered(imported.diagnostics));
  // What is left: the obsolete classification, suppressClassName and the
  // policy-wide qualifier.
  EXPECT_EQ(codes(imported.diagnostics), (std::vector<Code>{Code::S104, Code::S101, Code::S103}))
      << joined(rendered(imported.diagnostics));
  EXPECT_FALSE(imported.diagnostics.has_errors());
  // The tag's qualifiers go on its tag set, the category rules on the categories.
  const LabelScheme& scheme = *imported.scheme;
  EXPECT_EQ(scheme.tag_sets[0].marking_prefix, "REL ");
  EXPECT_EQ(scheme.tag_sets[0].marking_separator, "/");
  EXPECT_EQ(scheme.categories[0].marking, "");
  EXPECT_EQ(scheme.categories[0].excludes, std::vector<std::string>{"B"});
  EXPECT_EQ(scheme.categories[1].requires_any_of, (std::vector<std::vector<std::string>>{{"A", "C"}}));
  EXPECT_EQ(scheme.classifications[0].requires_categories, std::vector<std::string>{"A"});
}

TEST(SpifProblemTest, AnUnreadableFile) {
  const SpifImport imported = import_spif(kSpifDir + "no-such-file.xml");
  EXPECT_EQ(codes(imported.diagnostics), std::vector<Code>{Code::S010});
}

TEST(SpifRuleTest, ARuleOverItsOwnTagIsRestatedWithoutTheCategory) {
  // A scheme category may not name itself (P027), but a SPIF rule over its
  // own tag may: requiring itself is always met, and being the only one of a
  // group excludes the rest of it.
  const std::string text = std::string(kHead) + R"(  <securityClassifications>
    <securityClassification name="LOW" lacv="1" hierarchy="0"/>
  </securityClassifications>
  <securityCategoryTagSets>
    <securityCategoryTagSet name="set" id="1.2.3.1">
      <securityCategoryTag name="caveats" tagType="restrictive">
        <tagCategory name="A" lacv="1">
          <requiredCategory operation="all">
            <categoryGroup tagSetRef="set" tagType="restrictive" all="true"/>
          </requiredCategory>
        </tagCategory>
        <tagCategory name="B" lacv="2">
          <requiredCategory operation="onlyOne">
            <categoryGroup tagSetRef="set" tagType="restrictive" all="true"/>
          </requiredCategory>
          <requiredCategory operation="oneOrMore">
            <categoryGroup tagSetRef="set" tagType="restrictive" all="true"/>
          </requiredCategory>
        </tagCategory>
        <tagCategory name="C" lacv="3"/>
      </securityCategoryTag>
    </securityCategoryTagSet>
  </securityCategoryTagSets>
</SPIF>
)";
  const SpifImport imported = import_text(text);
  ASSERT_TRUE(imported.scheme) << joined(rendered(imported.diagnostics));
  EXPECT_TRUE(imported.diagnostics.empty()) << joined(rendered(imported.diagnostics));
  const LabelScheme& scheme = *imported.scheme;
  EXPECT_EQ(scheme.categories[0].requires_categories, (std::vector<std::string>{"B", "C"}));
  EXPECT_EQ(scheme.categories[1].excludes, (std::vector<std::string>{"A", "C"}));
  EXPECT_TRUE(scheme.categories[1].requires_any_of.empty());
  EXPECT_TRUE(scheme.categories[1].requires_exactly_one_of.empty());
}

// ---- Markings and rules a real SPIF has (issue 13) ---------------------------

// The imported scheme, loaded back from its YAML as `icegate label` would.
std::shared_ptr<const CompiledPolicy> load_imported(const SpifImport& imported, std::string_view name) {
  TempDir dir(std::string("spif-") + std::string(name));
  LoadResult loaded = load_scheme(dir.write("scheme.yaml", imported.yaml));
  EXPECT_TRUE(loaded.policy) << joined(rendered(loaded.diagnostics)) << "\n" << imported.yaml;
  return loaded.policy;
}

TEST(SpifMarkingTest, APortionMarkingPhraseIsNotThePageMarking) {
  // PLAIN's only phrase is its portion marking (P) and HEALTH's is H: the page
  // marking falls back to their names, and a page phrase beats a portion one
  // wherever it is written.
  const std::string text = std::string(kHead) + R"spif(  <securityClassifications>
    <securityClassification name="PLAIN" lacv="1" hierarchy="0">
      <markingData phrase="P"><code>portionMarking</code></markingData>
    </securityClassification>
    <securityClassification name="HIGH" lacv="2" hierarchy="1">
      <markingData phrase="(H)"><code>portionMarking</code></markingData>
      <markingData phrase="HIGH SECRET"><code>pageTopBottom</code></markingData>
      <markingData phrase="HS"><code>waterMark</code></markingData>
    </securityClassification>
  </securityClassifications>
  <securityCategoryTagSets>
    <securityCategoryTagSet name="Releasable to" id="1.2.3.1">
      <securityCategoryTag name="rel" tagType="permissive">
        <tagCategory name="HEALTH" lacv="1">
          <markingData phrase="H"><code>portionMarking</code></markingData>
        </tagCategory>
        <markingQualifier markingCode="pageTopBottom">
          <qualifier markingQualifier="REL TO " qualifierCode="prefix"/>
        </markingQualifier>
      </securityCategoryTag>
    </securityCategoryTagSet>
  </securityCategoryTagSets>
</SPIF>
)spif";
  const SpifImport imported = import_text(text);
  ASSERT_TRUE(imported.scheme) << joined(rendered(imported.diagnostics));
  auto scheme = load_imported(imported, "portion");
  ASSERT_TRUE(scheme);
  EXPECT_EQ(scheme->display_marking(label("PLAIN/HEALTH")), "PLAIN REL TO HEALTH");
  EXPECT_EQ(scheme->display_marking(label("HIGH")), "HIGH SECRET");
}

TEST(SpifMarkingTest, QualifiersFollowLanguageAndMarkingCode) {
  // English (any case, with or without a region) or no language; the page
  // qualifiers, not the portion marking's; and the first of equals, not the last.
  const std::string text = std::string(kHead) + R"spif(  <securityClassifications>
    <securityClassification name="LOW" lacv="1" hierarchy="0">
      <markingData phrase="BAS" xml:lang="fr"/>
      <markingData phrase="Low" xml:lang="EN-GB"/>
      <markingQualifier markingCode="pageTopBottom">
        <qualifier markingQualifier=" (UK)" qualifierCode="suffix" xml:lang="En"/>
        <qualifier markingQualifier=" (R-U)" qualifierCode="suffix" xml:lang="fr"/>
      </markingQualifier>
      <markingQualifier markingCode="portionMarking">
        <qualifier markingQualifier="-P" qualifierCode="suffix"/>
      </markingQualifier>
    </securityClassification>
  </securityClassifications>
  <securityCategoryTagSets>
    <securityCategoryTagSet name="Releasable to" id="1.2.3.1">
      <securityCategoryTag name="rel" tagType="permissive">
        <tagCategory name="NZL" lacv="1"/>
        <markingQualifier markingCode="pageTopBottom">
          <qualifier markingQualifier="Releasable to " qualifierCode="prefix" xml:lang="en-GB"/>
          <qualifier markingQualifier="Communicable a " qualifierCode="prefix" xml:lang="fr"/>
          <qualifier markingQualifier="Also to " qualifierCode="prefix"/>
        </markingQualifier>
        <markingQualifier markingCode="portionMarking">
          <qualifier markingQualifier="REL " qualifierCode="prefix"/>
        </markingQualifier>
      </securityCategoryTag>
    </securityCategoryTagSet>
  </securityCategoryTagSets>
</SPIF>
)spif";
  const SpifImport imported = import_text(text);
  ASSERT_TRUE(imported.scheme) << joined(rendered(imported.diagnostics));
  auto scheme = load_imported(imported, "qualifiers");
  ASSERT_TRUE(scheme);
  EXPECT_EQ(scheme->display_marking(label("LOW/NZL")), "Low (UK) Releasable to NZL");
}

TEST(SpifRuleTest, RequiredClassAndSingleSelectionSurviveImport) {
  // ALPHA only at HIGH (the attribute), CHARLIE only at MID or HIGH (the
  // elements); one codeword per label (singleSelection).
  const std::string text = std::string(kHead) + R"spif(  <securityClassifications>
    <securityClassification name="LOW" lacv="1" hierarchy="0"/>
    <securityClassification name="MID" lacv="2" hierarchy="1"/>
    <securityClassification name="HIGH" lacv="3" hierarchy="2"/>
  </securityClassifications>
  <securityCategoryTagSets>
    <securityCategoryTagSet name="Codewords" id="1.2.3.1">
      <securityCategoryTag name="codewords" tagType="enumerated" enumType="restrictive" singleSelection="true">
        <tagCategory name="ALPHA" lacv="1" requiredClass="HIGH"/>
        <tagCategory name="BRAVO" lacv="2"/>
        <tagCategory name="CHARLIE" lacv="3">
          <requiredClass>MID</requiredClass>
          <requiredClass>HIGH</requiredClass>
        </tagCategory>
      </securityCategoryTag>
    </securityCategoryTagSet>
  </securityCategoryTagSets>
</SPIF>
)spif";
  const SpifImport imported = import_text(text);
  ASSERT_TRUE(imported.scheme) << joined(rendered(imported.diagnostics));
  EXPECT_TRUE(imported.diagnostics.empty()) << joined(rendered(imported.diagnostics));
  auto scheme = load_imported(imported, "required-class");
  ASSERT_TRUE(scheme);
  EXPECT_FALSE(scheme->label_problems(label("LOW/ALPHA")).empty());
  EXPECT_FALSE(scheme->label_problems(label("MID/ALPHA")).empty());
  EXPECT_TRUE(scheme->label_problems(label("HIGH/ALPHA")).empty());
  EXPECT_FALSE(scheme->label_problems(label("LOW/CHARLIE")).empty());
  EXPECT_TRUE(scheme->label_problems(label("MID/CHARLIE")).empty());
  EXPECT_TRUE(scheme->label_problems(label("LOW/BRAVO")).empty());
  EXPECT_FALSE(scheme->label_problems(label("HIGH/ALPHA/BRAVO")).empty());
}

TEST(SpifRuleTest, OneOfSeveralAndExcludedCategoriesSurviveImport) {
  // LOCSEN needs one or more of two release groups; SINGLE exactly one of
  // them; BRAVO may not go with any release group (all="true") and ALPHA not
  // with POLICE (by lacv).
  const std::string text = std::string(kHead) + R"spif(  <securityClassifications>
    <securityClassification name="LOW" lacv="1" hierarchy="0"/>
  </securityClassifications>
  <securityCategoryTagSets>
    <securityCategoryTagSet name="Releasable to" id="1.2.3.1">
      <securityCategoryTag name="rel" tagType="enumerated" enumType="permissive">
        <tagCategory name="POLICE" lacv="1"/>
        <tagCategory name="COUNCIL" lacv="2"/>
      </securityCategoryTag>
    </securityCategoryTagSet>
    <securityCategoryTagSet name="Other" id="1.2.3.2">
      <securityCategoryTag name="descriptors" tagType="tagType7">
        <tagCategory name="LOCSEN" lacv="1">
          <requiredCategory operation="oneOrMore">
            <categoryGroup tagSetRef="Releasable to" tagType="enumerated" enumType="permissive" lacv="1"/>
            <categoryGroup tagSetRef="Releasable to" tagType="enumerated" enumType="permissive" lacv="2"/>
          </requiredCategory>
        </tagCategory>
        <tagCategory name="SINGLE" lacv="2">
          <requiredCategory operation="onlyOne">
            <categoryGroup tagSetRef="Releasable to" tagType="enumerated" enumType="permissive" all="true"/>
          </requiredCategory>
        </tagCategory>
      </securityCategoryTag>
      <securityCategoryTag name="codewords" tagType="restrictive">
        <tagCategory name="ALPHA" lacv="1">
          <excludedCategory tagSetRef="Releasable to" tagType="enumerated" enumType="permissive" lacv="1"/>
        </tagCategory>
        <tagCategory name="BRAVO" lacv="2">
          <excludedCategory tagSetRef="Releasable to" tagType="enumerated" enumType="permissive" all="true"/>
        </tagCategory>
      </securityCategoryTag>
    </securityCategoryTagSet>
  </securityCategoryTagSets>
</SPIF>
)spif";
  const SpifImport imported = import_text(text);
  ASSERT_TRUE(imported.scheme) << joined(rendered(imported.diagnostics));
  EXPECT_TRUE(imported.diagnostics.empty()) << joined(rendered(imported.diagnostics));
  auto scheme = load_imported(imported, "one-of");
  ASSERT_TRUE(scheme);
  EXPECT_FALSE(scheme->label_problems(label("LOW/LOCSEN")).empty());
  EXPECT_TRUE(scheme->label_problems(label("LOW/LOCSEN/COUNCIL")).empty());
  EXPECT_TRUE(scheme->label_problems(label("LOW/LOCSEN/COUNCIL/POLICE")).empty());
  EXPECT_FALSE(scheme->label_problems(label("LOW/SINGLE")).empty());
  EXPECT_TRUE(scheme->label_problems(label("LOW/SINGLE/POLICE")).empty());
  EXPECT_FALSE(scheme->label_problems(label("LOW/SINGLE/POLICE/COUNCIL")).empty());
  EXPECT_FALSE(scheme->label_problems(label("LOW/ALPHA/POLICE")).empty());
  EXPECT_TRUE(scheme->label_problems(label("LOW/ALPHA/COUNCIL")).empty());
  EXPECT_FALSE(scheme->label_problems(label("LOW/BRAVO/COUNCIL")).empty());
  EXPECT_TRUE(scheme->label_problems(label("LOW/BRAVO")).empty());
}

TEST(SpifRuleTest, AClassificationsRequiredCategoriesSurviveImport) {
  const std::string text = std::string(kHead) + R"spif(  <securityClassifications>
    <securityClassification name="UNCLASSIFIED" lacv="1" hierarchy="0"/>
    <securityClassification name="CONFIDENTIAL" lacv="2" hierarchy="1">
      <requiredCategory operation="oneOrMore">
        <categoryGroup tagSetRef="Releasable To" tagType="permissive" lacv="1"/>
        <categoryGroup tagSetRef="Releasable To" tagType="permissive" lacv="2"/>
      </requiredCategory>
    </securityClassification>
  </securityClassifications>
  <securityCategoryTagSets>
    <securityCategoryTagSet name="Releasable To" id="1.2.3.1">
      <securityCategoryTag name="rel" tagType="permissive">
        <tagCategory name="MOCK" lacv="1"/>
        <tagCategory name="PHONY" lacv="2"/>
        <tagCategory name="OTHER" lacv="3"/>
      </securityCategoryTag>
    </securityCategoryTagSet>
  </securityCategoryTagSets>
</SPIF>
)spif";
  const SpifImport imported = import_text(text);
  ASSERT_TRUE(imported.scheme) << joined(rendered(imported.diagnostics));
  EXPECT_TRUE(imported.diagnostics.empty()) << joined(rendered(imported.diagnostics));
  auto scheme = load_imported(imported, "classification-rules");
  ASSERT_TRUE(scheme);
  EXPECT_FALSE(scheme->label_problems(label("CONFIDENTIAL/OTHER")).empty());
  EXPECT_TRUE(scheme->label_problems(label("CONFIDENTIAL/PHONY")).empty());
  EXPECT_TRUE(scheme->label_problems(label("UNCLASSIFIED")).empty());
}

TEST(SpifMarkingTest, TheTagSeparatorJoinsItsCategories) {
  const std::string text = std::string(kHead) + R"spif(  <securityClassifications>
    <securityClassification name="OFFICIAL" lacv="1" hierarchy="0"/>
  </securityClassifications>
  <securityCategoryTagSets>
    <securityCategoryTagSet name="Releasable to" id="1.2.3.1">
      <securityCategoryTag name="rel" tagType="permissive">
        <tagCategory name="REL POLICE" lacv="1"><markingData phrase="POLICE"/></tagCategory>
        <tagCategory name="REL LA" lacv="2"><markingData phrase="LOCAL AUTHORITY"/></tagCategory>
        <markingQualifier markingCode="pageTopBottom">
          <qualifier markingQualifier="REL TO " qualifierCode="prefix"/>
          <qualifier markingQualifier=", " qualifierCode="separator"/>
          <qualifier markingQualifier="." qualifierCode="suffix"/>
        </markingQualifier>
      </securityCategoryTag>
    </securityCategoryTagSet>
  </securityCategoryTagSets>
</SPIF>
)spif";
  const SpifImport imported = import_text(text);
  ASSERT_TRUE(imported.scheme) << joined(rendered(imported.diagnostics));
  EXPECT_TRUE(imported.diagnostics.empty()) << joined(rendered(imported.diagnostics));
  auto scheme = load_imported(imported, "separator");
  ASSERT_TRUE(scheme);
  EXPECT_EQ(scheme->display_marking(label("OFFICIAL/REL LA/REL POLICE")), "OFFICIAL REL TO POLICE, LOCAL AUTHORITY.");
  EXPECT_EQ(scheme->display_marking(label("OFFICIAL/REL LA")), "OFFICIAL REL TO LOCAL AUTHORITY.");
}

TEST(SpifProblemTest, ANameWithASlashIsRefused) {
  // A label is written CLASSIFICATION/CATEGORY/...: such a name could never be on one.
  const std::string text = std::string(kHead) + R"spif(  <securityClassifications>
    <securityClassification name="LOW/ISH" lacv="1" hierarchy="0"/>
    <securityClassification name="HIGH" lacv="2" hierarchy="1"/>
  </securityClassifications>
  <securityCategoryTagSets>
    <securityCategoryTagSet name="Releasable to" id="1.2.3.1">
      <securityCategoryTag name="rel" tagType="permissive">
        <tagCategory name="POLICE/FIRE" lacv="1"/>
        <tagCategory name="COUNCIL" lacv="2"/>
      </securityCategoryTag>
    </securityCategoryTagSet>
  </securityCategoryTagSets>
</SPIF>
)spif";
  const SpifImport imported = import_text(text);
  EXPECT_FALSE(imported.scheme);
  EXPECT_TRUE(imported.yaml.empty());
  EXPECT_EQ(rendered(imported.diagnostics),
            (std::vector<std::string>{
                "test.xml:5:5: error[S011]: classification name 'LOW/ISH' contains '/', which separates the parts "
                "of a label (CLASSIFICATION/CATEGORY/...), so it could never be written on one",
                "test.xml:11:9: error[S011]: category name 'POLICE/FIRE' of tag 'rel' of tag set 'Releasable to' "
                "contains '/', which separates the parts of a label (CLASSIFICATION/CATEGORY/...), so it could "
                "never be written on one",
            }))
      << joined(rendered(imported.diagnostics));
}

// ---- Scheme files and clearance ---------------------------------------------

TEST(SchemeYamlTest, RoundTripsThroughTheValidator) {
  auto shipped = load_scheme(ICEGATE_SOURCE_DIR "/policies/schemes/gsc-2014.yaml");
  ASSERT_TRUE(shipped.policy) << joined(rendered(shipped.diagnostics));
  const LabelScheme& scheme = shipped.policy->source().scheme;
  const std::string yaml = scheme_to_yaml(scheme, "a header\n\nsecond line");
  EXPECT_EQ(yaml.rfind("# a header\n#\n# second line\nscheme: \"gsc-2014\"\n", 0), 0u) << yaml;
  ParseResult parsed = parse_policy_file(yaml, "round-trip.yaml");
  ASSERT_TRUE(parsed.root);
  SchemeValidationResult validated = validate_scheme(*parsed.root);
  ASSERT_TRUE(validated.scheme) << joined(rendered(validated.diagnostics));
  EXPECT_EQ(validated.scheme->classifications.size(), scheme.classifications.size());
  EXPECT_EQ(validated.scheme->categories.size(), scheme.categories.size());
  EXPECT_EQ(validated.scheme->categories[1].excluded_at, scheme.categories[1].excluded_at);
}

TEST(SchemeLoadTest, ASchemeAloneAnswersLabelQuestions) {
  auto scheme = load_scheme(ICEGATE_SOURCE_DIR "/policies/schemes/gsc-2014.yaml");
  ASSERT_TRUE(scheme.policy);
  EXPECT_EQ(scheme.policy->display_marking(label("OFFICIAL-SENSITIVE/PERSONAL")), "OFFICIAL-SENSITIVE PERSONAL");
  EXPECT_FALSE(scheme.policy->label_problems(label("OFFICIAL/PERSONAL")).empty());
  auto missing = load_scheme(ICEGATE_SOURCE_DIR "/policies/schemes/nothing.yaml");
  EXPECT_FALSE(missing.policy);
  EXPECT_EQ(codes(missing.diagnostics), std::vector<Code>{Code::P007});
}

TEST(ClearanceTest, VettingCeilingsAndCategories) {
  LoadResult result = load_policy(ICEGATE_SOURCE_DIR "/policies/need-to-share.yaml");
  ASSERT_TRUE(result.policy);
  const CompiledPolicy& policy = *result.policy;
  auto occasional = check_clearance(policy, "BPSS", {"UK EYES ONLY"}, label("SECRET/UK EYES ONLY"));
  ASSERT_TRUE(occasional);
  EXPECT_EQ(occasional->level, ClearanceLevel::occasional);
  EXPECT_TRUE(occasional->cleared());
  EXPECT_EQ(occasional->regular_ceiling, "RESTRICTED");
  EXPECT_EQ(occasional->occasional_ceiling, "SECRET");
  auto above = check_clearance(policy, "BPSS", {"UK EYES ONLY"}, label("TOP SECRET"));
  EXPECT_EQ(above->level, ClearanceLevel::above_clearance);
  EXPECT_FALSE(above->cleared());
  auto missing = check_clearance(policy, "BPSS", {}, label("RESTRICTED/UK EYES ONLY"));
  EXPECT_EQ(missing->level, ClearanceLevel::regular);
  EXPECT_EQ(missing->missing_restrictive, std::vector<std::string>{"UK EYES ONLY"});
  EXPECT_FALSE(missing->cleared());
  auto invalid = check_clearance(policy, "SC", {}, label("PROTECT/UK EYES ONLY"));
  EXPECT_FALSE(invalid->valid());
  EXPECT_FALSE(invalid->cleared());
  EXPECT_FALSE(check_clearance(policy, "nobody", {}, label("SECRET")));
}

// ---- Equivalences: equivalentPolicies and equivalent values --------------------

const std::string kSpifData = ICEGATE_SOURCE_DIR "/tests/data/spif/";

std::string describe(const EquivalenceMapping& mapping) {
  std::string text = mapping.name + (mapping.kind == EquivalenceKind::exact    ? " to"
                                     : mapping.kind == EquivalenceKind::one_of ? " one_of"
                                                                               : " none");
  for (const EquivalenceName& target : mapping.targets) text += " " + target.name;
  return text;
}

std::vector<std::string> describe(const std::vector<EquivalenceMapping>& mappings) {
  std::vector<std::string> lines;
  for (const EquivalenceMapping& mapping : mappings) lines.push_back(describe(mapping));
  return lines;
}

TEST(SpifEquivalenceTest, EquivalentValuesImportAsTheShippedEquivalences) {
  const SpifImport imported =
      import_spif(kSpifData + "gpms-2008-equivalences.xml", {kSpifData + "gsc-2014.xml"});
  ASSERT_TRUE(imported.scheme) << joined(rendered(imported.diagnostics));
  EXPECT_TRUE(imported.diagnostics.empty()) << joined(rendered(imported.diagnostics));
  ASSERT_EQ(imported.scheme->equivalences.size(), 1u);
  const SchemeEquivalence& actual = imported.scheme->equivalences[0];

  auto shipped = load_scheme(ICEGATE_SOURCE_DIR "/policies/schemes/gpms-2008.yaml");
  ASSERT_TRUE(shipped.policy);
  const SchemeEquivalence* expected = shipped.policy->source().scheme.equivalence_to("gsc-2014");
  ASSERT_TRUE(expected);
  EXPECT_EQ(actual.to, "gsc-2014");
  EXPECT_EQ(describe(actual.classifications), describe(expected->classifications));
  EXPECT_EQ(describe(actual.categories), describe(expected->categories));
  EXPECT_EQ(describe(actual.classifications).at(3), "CONFIDENTIAL one_of OFFICIAL-SENSITIVE SECRET");

  // The YAML written says the same, and loads back as a scheme.
  EXPECT_NE(imported.yaml.find("equivalences:\n  - to: \"gsc-2014\"\n"), std::string::npos) << imported.yaml;
  EXPECT_NE(imported.yaml.find("      - name: \"CONFIDENTIAL\"\n        one_of: [\"OFFICIAL-SENSITIVE\", \"SECRET\"]\n"),
            std::string::npos)
      << imported.yaml;
  TempDir dir("spif-equivalences");
  auto reloaded = load_scheme(dir.write("gpms.yaml", imported.yaml));
  ASSERT_TRUE(reloaded.policy) << joined(rendered(reloaded.diagnostics));
  EXPECT_EQ(describe(reloaded.policy->source().scheme.equivalences.at(0).classifications),
            describe(expected->classifications));
}

TEST(SpifEquivalenceTest, WithoutTheOtherPolicysSpifTheEquivalencesAreLeftOutWithAWarning) {
  const SpifImport imported = import_spif(kSpifData + "gpms-2008-equivalences.xml");
  ASSERT_TRUE(imported.scheme) << joined(rendered(imported.diagnostics));
  EXPECT_TRUE(imported.scheme->equivalences.empty());
  EXPECT_EQ(rendered(imported.diagnostics),
            std::vector<std::string>{kSpifData + "gpms-2008-equivalences.xml:14:5: warning[S110]: equivalences to "
                                     "gsc-2014 left out: its values (lacv) can be read only from its own SPIF; give "
                                     "that SPIF too (icegate policy import-spif --with)"});
}

TEST(SpifEquivalenceTest, UnresolvableAndMisdirectedEquivalentsAreReported) {
  const SpifImport other = import_spif_text(R"(<SPIF xmlns="http://www.xmlspif.org/spif">
  <securityPolicyId name="other" id="9.9"/>
  <securityClassifications>
    <securityClassification name="O" lacv="7" hierarchy="0"/>
  </securityClassifications>
</SPIF>
)",
                                            "other.xml");
  ASSERT_TRUE(other.scheme) << joined(rendered(other.diagnostics));
  const std::string text = std::string(kHead) + R"(  <equivalentPolicies>
    <equivalentPolicy name="other" id="9.9"/>
  </equivalentPolicies>
  <securityClassifications>
    <securityClassification name="LOW" lacv="1" hierarchy="0">
      <equivalentClassification policyRef="other" lacv="8" applied="encrypt"/>
      <equivalentClassification policyRef="nobody" lacv="7" applied="encrypt"/>
      <equivalentClassification policyRef="other" lacv="7" applied="decrypt"/>
    </securityClassification>
  </securityClassifications>
</SPIF>
)";
  const SpifImport imported = import_spif_text(text, "test.xml", {other.values});
  EXPECT_FALSE(imported.scheme);
  EXPECT_EQ(rendered(imported.diagnostics),
            (std::vector<std::string>{
                "test.xml:9:7: error[S031]: equivalentClassification names no classification of other with lacv 8",
                "test.xml:10:7: error[S030]: policyRef 'nobody' names no equivalentPolicy of this SPIF",
                "test.xml:11:7: warning[S111]: an equivalent applied on decrypt says how other's labels read under "
                "this policy: that belongs to other's scheme's equivalences; left out",
            }));
}

}  // namespace
}  // namespace icegate::policy
