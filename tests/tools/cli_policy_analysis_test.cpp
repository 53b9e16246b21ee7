// `icegate policy diff | matrix | import-spif` and `icegate label mark |
// check` through their run_* functions on the shipped policies, schemes and
// SPIFs, asserting output and exit codes; and the CLI11 declarations through
// a real parse.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/utf8.hpp"
#include "tests/support/files.hpp"
#include "tests/support/temporary_directory.hpp"
#include "tools/icegate/cmd_label.hpp"
#include "tools/icegate/cmd_policy_analysis.hpp"
#include "tools/icegate/commands.hpp"

namespace icegate::cli {
namespace {

namespace fs = std::filesystem;
using icegate::testing::read_file;
using icegate::testing::TemporaryDirectory;
using icegate::testing::write_file;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

const fs::path kPolicies = fs::path(ICEGATE_SOURCE_DIR) / "policies";
const fs::path kNeedToKnow = kPolicies / "need-to-know.yaml";
const fs::path kNeedToShare = kPolicies / "need-to-share.yaml";

class CliPolicyAnalysisTest : public ::testing::Test {
 protected:
  CliPolicyAnalysisTest() {
    // A policy with an error: an undefined organisation.
    write_file(dir_ / "broken.yaml", "policy: broken\nscheme: " + (kPolicies / "schemes/gpms-2008.yaml").string() +
                                    "\nnodes:\n  - {id: a, organisation: nowhere, role: r, vetting: v}\n");
  }

  std::ostringstream out_, err_;
  TemporaryDirectory dir_;
};

// ---- policy diff --------------------------------------------------------------

TEST_F(CliPolicyAnalysisTest, DiffFindsThePreBriefing) {
  PolicyDiffParams params{kNeedToKnow, kNeedToShare};
  EXPECT_EQ(run_policy_diff(params, out_, err_), exit_denied) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("FLOWS OPENED"));
  EXPECT_THAT(out_.str(), HasSubstr("FLOWS CLOSED"));
  EXPECT_THAT(out_.str(),
              HasSubstr("  bcu/bcu-commander -> council/chief-executive: operational-prebriefing, "
                        "consequence-management\n"
                        "    withheld -> released; NOT PROTECTIVELY MARKED to RESTRICTED (4 labels); 1 node "
                        "pair\n"
                        "    rules: no-ct-material-outside-policing -> prebriefing-to-strategic-leads\n"
                        "    e.g. bcu-commander -> council-chief-exec, operational-prebriefing for "
                        "consequence-management, label RESTRICTED/UK EYES ONLY\n"));
  EXPECT_TRUE(err_.str().empty()) << err_.str();
}

TEST_F(CliPolicyAnalysisTest, DiffAsJsonWithALimit) {
  PolicyDiffParams params{kNeedToKnow, kNeedToShare, true, 2};
  EXPECT_EQ(run_policy_diff(params, out_, err_), exit_denied);
  EXPECT_THAT(out_.str(), StartsWith("{\"old\":"));
  EXPECT_THAT(out_.str(), HasSubstr("\"equivalent\":false"));
  EXPECT_THAT(out_.str(), HasSubstr("\"kind\":\"opened\""));
  EXPECT_EQ(out_.str().back(), '\n');
}

TEST_F(CliPolicyAnalysisTest, DiffOfAPolicyWithItselfIsEquivalent) {
  PolicyDiffParams params{kNeedToShare, kNeedToShare};
  EXPECT_EQ(run_policy_diff(params, out_, err_), exit_ok);
  EXPECT_THAT(out_.str(), HasSubstr("equivalent: no decision differs"));
}

TEST_F(CliPolicyAnalysisTest, DiffErrors) {
  EXPECT_EQ(run_policy_diff({kNeedToShare, dir_ / "missing.yaml"}, out_, err_), exit_error);
  EXPECT_THAT(err_.str(), HasSubstr("cannot read policy file"));
  EXPECT_EQ(run_policy_diff({dir_ / "broken.yaml", kNeedToShare}, out_, err_), exit_invalid_policy);
  EXPECT_THAT(err_.str(), HasSubstr("broken.yaml:4:"));
  EXPECT_THAT(err_.str(), HasSubstr("error[P011]: "));
  EXPECT_EQ(run_policy_diff({}, out_, err_), exit_error);
  EXPECT_TRUE(out_.str().empty());
}

// ---- policy matrix -------------------------------------------------------------

TEST_F(CliPolicyAnalysisTest, MatrixAsCsv) {
  PolicyMatrixParams params;
  params.file = kNeedToShare;
  params.categories = {"operational-prebriefing"};
  EXPECT_EQ(run_policy_matrix(params, out_, err_), exit_ok) << err_.str();
  std::istringstream lines(out_.str());
  std::string header;
  std::getline(lines, header);
  EXPECT_THAT(header,
              StartsWith("organisation,kind,role,level,nodes,operational-prebriefing:NOT PROTECTIVELY MARKED,"));
  EXPECT_THAT(out_.str(), HasSubstr("birmingham-cc,council,chief-executive,strategic,council-chief-exec,RELEASE,"
                                    "RELEASE,RELEASE,RELEASE,OCCASIONAL,OCCASIONAL,OCCASIONAL,OCCASIONAL,REDACTED,"
                                    "REDACTED\r\n"));
}

TEST_F(CliPolicyAnalysisTest, MatrixAsHtmlToAFile) {
  PolicyMatrixParams params;
  params.file = kNeedToShare;
  params.format = "html";
  params.from = "ctu-analyst";
  params.output = dir_ / "matrix.html";
  EXPECT_EQ(run_policy_matrix(params, out_, err_), exit_ok) << err_.str();
  EXPECT_TRUE(out_.str().empty());
  const std::string html = read_file(params.output);
  EXPECT_THAT(html, StartsWith("<!DOCTYPE html>"));
  EXPECT_THAT(html, HasSubstr("from ctu-analyst"));
  EXPECT_THAT(html, Not(HasSubstr("http")));
}

TEST_F(CliPolicyAnalysisTest, MatrixErrors) {
  PolicyMatrixParams params;
  params.file = kNeedToShare;
  params.format = "pdf";
  EXPECT_EQ(run_policy_matrix(params, out_, err_), exit_error);
  EXPECT_THAT(err_.str(), HasSubstr("--format \"pdf\": use csv or html"));
  params.format = "csv";
  params.from = "nobody";
  EXPECT_EQ(run_policy_matrix(params, out_, err_), exit_error);
  EXPECT_THAT(err_.str(), HasSubstr("'nobody' is not a node of policy need-to-share"));
  params.file = dir_ / "broken.yaml";
  EXPECT_EQ(run_policy_matrix(params, out_, err_), exit_invalid_policy);
  EXPECT_TRUE(out_.str().empty());
}

// ---- policy import-spif --------------------------------------------------------

TEST_F(CliPolicyAnalysisTest, ImportSpifToStdout) {
  PolicyImportSpifParams params{kPolicies / "spif/gpms-2008.xml"};
  EXPECT_EQ(run_policy_import_spif(params, out_, err_), exit_ok) << err_.str();
  EXPECT_THAT(out_.str(), StartsWith("# Label scheme imported from the Open XML SPIF gpms-2008.xml"));
  EXPECT_THAT(out_.str(), HasSubstr("scheme: \"gpms-2008\"\n"));
  EXPECT_THAT(out_.str(),
              HasSubstr("      - name: \"UK EYES ONLY\"\n        excluded_at: [\"NOT PROTECTIVELY MARKED\", "
                        "\"PROTECT\"]\n"));
  EXPECT_TRUE(err_.str().empty()) << err_.str();
}

TEST_F(CliPolicyAnalysisTest, ImportSpifToAFileThenMarkLabelsWithIt) {
  PolicyImportSpifParams params{kPolicies / "spif/prevent-partnership.xml", dir_ / "partnership.yaml"};
  EXPECT_EQ(run_policy_import_spif(params, out_, err_), exit_ok) << err_.str();
  EXPECT_THAT(err_.str(), Not(HasSubstr("warning")));  // every rule and qualifier of this SPIF is imported
  EXPECT_THAT(err_.str(), HasSubstr("wrote scheme 'prevent-partnership-2014' (4 classifications, 5 tag sets, 9 "
                                    "categories) to "));
  std::ostringstream out, err;
  LabelMarkParams mark{{}, dir_ / "partnership.yaml", "OFFICIAL-SENSITIVE/REL POLICE/LOCSEN"};
  EXPECT_EQ(run_label_mark(mark, out, err), exit_ok) << err.str();
  EXPECT_EQ(out.str(), "OFFICIAL-SENSITIVE REL TO POLICE LOCSEN\n");
  out.str("");
  mark.label = "OFFICIAL-SENSITIVE/REL COUNCIL/REL POLICE";  // one prefix, the SPIF's separator
  EXPECT_EQ(run_label_mark(mark, out, err), exit_ok) << err.str();
  EXPECT_EQ(out.str(), "OFFICIAL-SENSITIVE REL TO POLICE, COUNCIL\n");
  mark.label = "OFFICIAL-SENSITIVE/REL HEALTH/LOCSEN";  // LOCSEN requires REL POLICE or REL COUNCIL
  EXPECT_EQ(run_label_mark(mark, out, err), exit_invalid_policy);
  EXPECT_THAT(err.str(),
              HasSubstr("category 'LOCSEN' requires one or more of REL POLICE, REL COUNCIL, and none is present"));
}

TEST_F(CliPolicyAnalysisTest, ImportSpifAsJson) {
  PolicyImportSpifParams params{kPolicies / "spif/gpms-2008.xml", {}, true};
  EXPECT_EQ(run_policy_import_spif(params, out_, err_), exit_ok);
  EXPECT_THAT(out_.str(), StartsWith("{\"file\":"));
  EXPECT_THAT(out_.str(), HasSubstr("\"imported\":true,\"errors\":0,\"warnings\":0,\"diagnostics\":[]"));
  EXPECT_THAT(out_.str(),
              HasSubstr("{\"name\":\"caveats\",\"type\":\"restrictive\",\"categories\":[\"UK EYES ONLY\"]}"));
}

TEST_F(CliPolicyAnalysisTest, ImportSpifErrors) {
  write_file(dir_ / "bad.xml",
        "<SPIF xmlns=\"http://www.xmlspif.org/spif\">\n  <securityPolicyId name=\"x\" id=\"1.2\"/>\n"
        "  <securityClassifications>\n    <securityClassification name=\"A\" lacv=\"one\" hierarchy=\"0\"/>\n"
        "  </securityClassifications>\n</SPIF>\n");
  PolicyImportSpifParams params{dir_ / "bad.xml", dir_ / "bad.yaml"};
  EXPECT_EQ(run_policy_import_spif(params, out_, err_), exit_invalid_policy);
  EXPECT_THAT(err_.str(), HasSubstr("bad.xml:4:5: error[S004]: classification 'A' lacv 'one' is not an integer"));
  EXPECT_FALSE(fs::exists(dir_ / "bad.yaml"));
  params.json = true;
  EXPECT_EQ(run_policy_import_spif(params, out_, err_), exit_invalid_policy);
  EXPECT_THAT(out_.str(), HasSubstr("\"imported\":false,\"errors\":1"));
  EXPECT_THAT(out_.str(), HasSubstr("\"code\":\"S004\",\"title\":\"bad value\",\"file\":"));
  EXPECT_EQ(run_policy_import_spif({dir_ / "none.xml"}, out_, err_), exit_error);
  EXPECT_THAT(err_.str(), HasSubstr("error[S010]"));
}

// ---- label mark and check ------------------------------------------------------

TEST_F(CliPolicyAnalysisTest, LabelMark) {
  LabelMarkParams params{kNeedToShare, {}, "SECRET/UK EYES ONLY"};
  EXPECT_EQ(run_label_mark(params, out_, err_), exit_ok);
  EXPECT_EQ(out_.str(), "SECRET UK EYES ONLY\n");
  std::ostringstream json, err;
  params.json = true;
  params.label = "PROTECT/UK EYES ONLY";
  EXPECT_EQ(run_label_mark(params, json, err), exit_invalid_policy);
  EXPECT_EQ(json.str(),
            "{\"label\":\"PROTECT/UK EYES ONLY\",\"marking\":\"PROTECT UK EYES ONLY\",\"valid\":false,\"problems\":"
            "[\"category 'UK EYES ONLY' is not allowed at PROTECT\"]}\n");
}

TEST_F(CliPolicyAnalysisTest, LabelMarkWithAScheme) {
  LabelMarkParams params{{}, kPolicies / "schemes/gsc-2014.yaml", "OFFICIAL-SENSITIVE/PERSONAL"};
  EXPECT_EQ(run_label_mark(params, out_, err_), exit_ok) << err_.str();
  EXPECT_EQ(out_.str(), "OFFICIAL-SENSITIVE PERSONAL\n");
  params.label = "OFFICIAL/PERSONAL";
  EXPECT_EQ(run_label_mark(params, out_, err_), exit_invalid_policy);
  EXPECT_THAT(err_.str(), HasSubstr("category 'PERSONAL' is not allowed at OFFICIAL"));
}

TEST_F(CliPolicyAnalysisTest, LabelMarkErrors) {
  EXPECT_EQ(run_label_mark({kNeedToShare, kPolicies / "schemes/gsc-2014.yaml", "SECRET"}, out_, err_), exit_error);
  EXPECT_THAT(err_.str(), HasSubstr("give exactly one of --policy and --scheme"));
  EXPECT_EQ(run_label_mark({kNeedToShare, {}, "SECRET//UK EYES ONLY"}, out_, err_), exit_error);
  EXPECT_THAT(err_.str(), HasSubstr("is not a label"));
  EXPECT_EQ(run_label_mark({dir_ / "broken.yaml", {}, "SECRET"}, out_, err_), exit_invalid_policy);
  EXPECT_TRUE(out_.str().empty());
}

TEST_F(CliPolicyAnalysisTest, LabelCheckANodeClearedOccasionally) {
  LabelCheckParams params;
  params.policy = kNeedToShare;
  params.node = "council-chief-exec";
  params.label = "SECRET/UK EYES ONLY";
  EXPECT_EQ(run_label_check(params, out_, err_), exit_ok) << err_.str();
  EXPECT_EQ(out_.str(),
            "label:      SECRET/UK EYES ONLY\n"
            "marking:    SECRET UK EYES ONLY\n"
            "valid:      yes, under scheme gpms-2008\n"
            "holder:     council-chief-exec, vetting BPSS (regular RESTRICTED, occasional SECRET), holds UK EYES ONLY\n"
            "clearance:  occasional: SECRET is above BPSS's regular ceiling RESTRICTED and within its occasional "
            "ceiling SECRET: seen occasionally, under the occasional allowance\n"
            "categories: every restrictive category held, and one of each permissive set's\n"
            "decision:   CLEARED OCCASIONALLY\n");
}

TEST_F(CliPolicyAnalysisTest, LabelCheckNotCleared) {
  LabelCheckParams params;
  params.policy = kNeedToShare;
  params.node = "street-warden";
  params.label = "RESTRICTED/UK EYES ONLY";
  EXPECT_EQ(run_label_check(params, out_, err_), exit_denied);
  EXPECT_THAT(out_.str(), HasSubstr("categories: missing restrictive category UK EYES ONLY\n"));
  EXPECT_THAT(out_.str(), HasSubstr("decision:   NOT CLEARED\n"));

  std::ostringstream out, err;
  params.node.clear();
  params.clearance = "BPSS";
  params.categories = "UK EYES ONLY";
  params.label = "TOP SECRET/UK EYES ONLY";
  params.json = true;
  EXPECT_EQ(run_label_check(params, out, err), exit_denied) << err.str();
  EXPECT_EQ(out.str(),
            "{\"label\":\"TOP SECRET/UK EYES ONLY\",\"marking\":\"TOP SECRET UK EYES ONLY\",\"valid\":true,"
            "\"problems\":[],\"holder\":{\"node\":null,\"vetting\":\"BPSS\",\"regular\":\"RESTRICTED\","
            "\"occasional\":\"SECRET\",\"categories\":[\"UK EYES ONLY\"]},\"clearance\":\"above clearance\","
            "\"missing_restrictive\":[],\"missing_permissive\":[],\"decision\":\"NOT CLEARED\"}\n");
}

// Issue 13 (9): an argument is bytes; the JSON that echoes it must be UTF-8.
TEST_F(CliPolicyAnalysisTest, LabelJsonIsValidUtf8WhateverTheLabel) {
  LabelCheckParams params;
  params.scheme = kPolicies / "schemes/gpms-2008.yaml";
  params.label = "SECRET/UK EYES \xff\xfe ONLY/\xed\xa0\x80";  // bytes that are no UTF-8, and a surrogate
  params.json = true;
  EXPECT_EQ(run_label_check(params, out_, err_), exit_invalid_policy) << err_.str();
  EXPECT_TRUE(icegate::testing::is_valid_utf8(out_.str())) << out_.str();
  EXPECT_THAT(out_.str(), HasSubstr("UK EYES \xef\xbf\xbd\xef\xbf\xbd ONLY"));
  EXPECT_THAT(out_.str(), HasSubstr(R"("valid":false)"));
}

TEST_F(CliPolicyAnalysisTest, LabelCheckValidityAlone) {
  LabelCheckParams params;
  params.scheme = kPolicies / "schemes/gpms-2008.yaml";
  params.label = "CONFIDENTIAL/UK EYES ONLY/PERSONAL";
  EXPECT_EQ(run_label_check(params, out_, err_), exit_ok) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("decision:   VALID\n"));
  std::ostringstream out, err;
  params.label = "PROTECT/UK EYES ONLY";
  EXPECT_EQ(run_label_check(params, out, err), exit_invalid_policy);
  EXPECT_THAT(out.str(), HasSubstr("valid:      no: category 'UK EYES ONLY' is not allowed at PROTECT\n"));
  EXPECT_THAT(out.str(), HasSubstr("decision:   INVALID LABEL\n"));
}

TEST_F(CliPolicyAnalysisTest, LabelCheckErrors) {
  LabelCheckParams params;
  params.scheme = kPolicies / "schemes/gpms-2008.yaml";
  params.node = "street-warden";
  params.label = "SECRET";
  EXPECT_EQ(run_label_check(params, out_, err_), exit_error);
  EXPECT_THAT(err_.str(), HasSubstr("a clearance check needs --policy"));
  params = {};
  params.policy = kNeedToShare;
  params.label = "SECRET";
  params.node = "nobody";
  EXPECT_EQ(run_label_check(params, out_, err_), exit_error);
  EXPECT_THAT(err_.str(), HasSubstr("'nobody' is not a node of policy need-to-share"));
  params.node.clear();
  params.clearance = "TS-ish";
  params.categories = "UK EYES ONLY, MARTIAN";
  EXPECT_EQ(run_label_check(params, out_, err_), exit_error);
  EXPECT_THAT(err_.str(), HasSubstr("--categories: 'MARTIAN' is not a category of scheme gpms-2008"));
  EXPECT_THAT(err_.str(), HasSubstr("--clearance: 'TS-ish' is not a vetting level of policy need-to-share (it has "
                                    "none, BPSS, CTC, SC, DV)"));
  params.clearance.clear();
  params.node = "street-warden";
  EXPECT_EQ(run_label_check(params, out_, err_), exit_error);
  EXPECT_THAT(err_.str(), HasSubstr("--categories goes with --clearance"));
  EXPECT_TRUE(out_.str().empty());
}

// ---- The declarations ----------------------------------------------------------

int parse(std::vector<std::string> arguments) {
  CLI::App app;
  int exit_code = -1;
  CLI::App* policy = app.add_subcommand("policy");
  add_policy_analysis_commands(*policy, exit_code);
  add_label_command(app, exit_code);
  std::reverse(arguments.begin(), arguments.end());  // CLI11 takes them reversed
  app.parse(arguments);
  return exit_code;
}

// ---- label translate --------------------------------------------------------

const fs::path kGpms = kPolicies / "schemes/gpms-2008.yaml";
const fs::path kGsc = kPolicies / "schemes/gsc-2014.yaml";

TEST_F(CliPolicyAnalysisTest, LabelTranslate) {
  LabelTranslateParams params{kGpms, kGsc, "SECRET/UK EYES ONLY"};
  EXPECT_EQ(run_label_translate(params, out_, err_), exit_ok) << err_.str();
  EXPECT_EQ(out_.str(),
            "label:      SECRET/UK EYES ONLY under gpms-2008\n"
            "translated: SECRET/UK EYES ONLY under gsc-2014\n"
            "marking:    SECRET UK EYES ONLY\n");
  EXPECT_EQ(err_.str(), "");
}

TEST_F(CliPolicyAnalysisTest, LabelTranslateSaysWhyThereIsNoFaithfulMapping) {
  LabelTranslateParams params{kGpms, kGsc, "CONFIDENTIAL/UK EYES ONLY"};
  EXPECT_EQ(run_label_translate(params, out_, err_), exit_denied);
  EXPECT_THAT(out_.str(), HasSubstr("translated: none: no faithful mapping to gsc-2014\n"));
  EXPECT_THAT(out_.str(), HasSubstr("why:        ambiguous: classification CONFIDENTIAL may be any of "
                                    "OFFICIAL-SENSITIVE, SECRET under gsc-2014"));
  std::ostringstream json, err;
  params.json = true;
  params.from = kGsc;
  params.to = kGpms;
  params.label = "OFFICIAL-SENSITIVE/LOCSEN";
  EXPECT_EQ(run_label_translate(params, json, err), exit_denied);
  EXPECT_THAT(json.str(), StartsWith("{\"label\":\"OFFICIAL-SENSITIVE/LOCSEN\",\"from\":\"gsc-2014\",\"to\":"
                                     "\"gpms-2008\",\"faithful\":false,\"translated\":null,\"marking\":null,"));
  EXPECT_THAT(json.str(), HasSubstr("{\"code\":\"ambiguous\",\"part\":\"OFFICIAL-SENSITIVE\",\"candidates\":"
                                    "[\"PROTECT\",\"RESTRICTED\",\"CONFIDENTIAL\"]"));
  EXPECT_THAT(json.str(), HasSubstr("{\"code\":\"unmapped\",\"part\":\"LOCSEN\",\"candidates\":[],"));
}

TEST_F(CliPolicyAnalysisTest, LabelTranslateGivesTheKeptOriginalBack) {
  LabelTranslateParams params{kGsc, kGpms, "OFFICIAL"};
  EXPECT_EQ(run_label_translate(params, out_, err_), exit_denied) << "OFFICIAL alone is one of three GPMS levels";
  std::ostringstream out, err;
  params.original = "PROTECT";
  EXPECT_EQ(run_label_translate(params, out, err), exit_ok) << err.str();
  EXPECT_THAT(out.str(), HasSubstr("translated: PROTECT under gpms-2008 (the original, given back)\n"));
  std::ostringstream out2, err2;
  params.original = "SECRET";  // not what OFFICIAL was made from
  EXPECT_EQ(run_label_translate(params, out2, err2), exit_denied);
}

TEST_F(CliPolicyAnalysisTest, LabelTranslateErrors) {
  EXPECT_EQ(run_label_translate({kGpms, kGsc, "PROTECT/UK EYES ONLY"}, out_, err_), exit_invalid_policy);
  EXPECT_THAT(out_.str(), HasSubstr("why:        invalid-label: PROTECT/UK EYES ONLY is not a valid label under "
                                    "gpms-2008"));
  std::ostringstream out, err;
  EXPECT_EQ(run_label_translate({kGpms, {}, "SECRET"}, out, err), exit_error);
  EXPECT_THAT(err.str(), HasSubstr("give both --from and --to"));
  EXPECT_EQ(run_label_translate({kGpms, kGsc, "SECRET//"}, out, err), exit_error);
  EXPECT_EQ(run_label_translate({kGpms, dir_ / "missing.yaml", "SECRET"}, out, err), exit_error);
  // A scheme whose equivalence names what the other scheme lacks is a broken file: 3.
  const fs::path broken = dir_ / "broken-equivalence.yaml";
  std::ofstream(broken) << "scheme: broken\nclassifications:\n  - name: LOW\nequivalences:\n  - to: gsc-2014\n"
                           "    classifications:\n      - name: LOW\n        to: OFICIAL\n";
  std::ostringstream out3, err3;
  EXPECT_EQ(run_label_translate({broken, kGsc, "LOW"}, out3, err3), exit_invalid_policy);
  EXPECT_THAT(err3.str(), HasSubstr(broken.string() + ":8:13: error[P045]: scheme gsc-2014 has no classification "
                                    "'OFICIAL'; did you mean 'OFFICIAL'?"));
}

TEST(CliPolicyAnalysisParseTest, TheCommandLineReachesTheRunFunctions) {
  TemporaryDirectory dir;
  EXPECT_EQ(parse({"policy", "diff", kNeedToShare.string(), kNeedToShare.string(), "--json"}), exit_ok);
  EXPECT_EQ(parse({"policy", "diff", kNeedToKnow.string(), kNeedToShare.string(), "--limit", "1"}), exit_denied);
  EXPECT_EQ(parse({"policy", "matrix", kNeedToShare.string(), "--format", "html", "--category", "feedback", "--purpose",
                   "prevent", "--by-node", "-o", (dir / "m.html").string()}),
            exit_ok);
  EXPECT_TRUE(fs::exists(dir / "m.html"));
  EXPECT_EQ(
      parse({"policy", "import-spif", (kPolicies / "spif/gpms-2008.xml").string(), "-o", (dir / "s.yaml").string()}),
      exit_ok);
  EXPECT_EQ(parse({"label", "mark", "--scheme", (dir / "s.yaml").string(), "SECRET/UK EYES ONLY"}), exit_ok);
  EXPECT_EQ(parse({"label", "check", "--policy", kNeedToShare.string(), "--clearance", "none", "SECRET"}), exit_denied);
  EXPECT_THROW(parse({"policy", "diff", kNeedToShare.string()}), CLI::RequiredError);
  EXPECT_THROW(parse({"label"}), CLI::RequiredError);
  const std::string gpms = (kPolicies / "schemes/gpms-2008.yaml").string();
  const std::string gsc = (kPolicies / "schemes/gsc-2014.yaml").string();
  EXPECT_EQ(parse({"label", "translate", "--from", gpms, "--to", gsc, "RESTRICTED"}), exit_ok);
  EXPECT_EQ(parse({"label", "translate", "--from", gsc, "--to", gpms, "--original", "RESTRICTED", "OFFICIAL"}), exit_ok);
  EXPECT_EQ(parse({"label", "translate", "--from", gpms, "--to", gsc, "CONFIDENTIAL", "--json"}), exit_denied);
  EXPECT_THROW(parse({"label", "translate", "--from", gpms, "RESTRICTED"}), CLI::RequiredError);
  const fs::path spif_data = fs::path(ICEGATE_SOURCE_DIR) / "tests/data/spif";
  EXPECT_EQ(parse({"policy", "import-spif", (spif_data / "gpms-2008-equivalences.xml").string(), "--with",
                   (spif_data / "gsc-2014.xml").string(), "-o", (dir / "e.yaml").string()}),
            exit_ok);
  EXPECT_EQ(parse({"label", "translate", "--from", (dir / "e.yaml").string(), "--to", gsc, "PROTECT"}), exit_ok);
}

// ---- A policy with peers -----------------------------------------------------------------

// A changed accreditation is a change `policy diff` reports, though no
// node-to-node decision differs; both files are in one folder, so that their
// peers' `ca` files resolve alike.
TEST_F(CliPolicyAnalysisTest, DiffReportsAPeersChangedAccreditation) {
  const std::string original = read_file(kPolicies / "federation" / "wm-ctu.yaml");
  std::string changed = original;
  const std::string ceiling = "max_classification: OFFICIAL-SENSITIVE";  // gw-birmingham's, the first
  ASSERT_NE(changed.find(ceiling), std::string::npos);
  changed.replace(changed.find(ceiling), ceiling.size(), "max_classification: SECRET");
  fs::create_directories(dir_ / "schemes");
  fs::create_directories(dir_ / "federation");
  write_file(dir_ / "schemes" / "gsc-2014.yaml", read_file(kPolicies / "schemes" / "gsc-2014.yaml"));
  write_file(dir_ / "federation" / "old.yaml", original);
  write_file(dir_ / "federation" / "new.yaml", changed);

  PolicyDiffParams same{dir_ / "federation" / "old.yaml", dir_ / "federation" / "old.yaml"};
  std::ostringstream same_out, same_err;
  EXPECT_EQ(run_policy_diff(same, same_out, same_err), exit_ok) << same_err.str();
  EXPECT_THAT(same_out.str(), HasSubstr("equivalent: no decision differs"));

  PolicyDiffParams params{dir_ / "federation" / "old.yaml", dir_ / "federation" / "new.yaml"};
  EXPECT_EQ(run_policy_diff(params, out_, err_), exit_denied) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("\npeer gw-birmingham changed: holds max_classification OFFICIAL-SENSITIVE -> SECRET\n"));
  EXPECT_THAT(out_.str(), Not(HasSubstr("equivalent")));
  EXPECT_THAT(out_.str(), Not(HasSubstr("peer gw-staffordshire")));

  params.json = true;
  std::ostringstream json, json_err;
  EXPECT_EQ(run_policy_diff(params, json, json_err), exit_denied) << json_err.str();
  EXPECT_THAT(json.str(), HasSubstr(R"("equivalent":false)"));
  EXPECT_THAT(json.str(), HasSubstr(R"("peers_changed":[{"peer":"gw-birmingham","changes":["holds )"
                                    R"(max_classification OFFICIAL-SENSITIVE -> SECRET"]}])"));
}

TEST_F(CliPolicyAnalysisTest, MatrixOfAPolicyWithPeers) {
  PolicyMatrixParams params;
  params.file = kPolicies / "federation" / "staffordshire.yaml";
  params.categories = {"tension-report"};
  EXPECT_EQ(run_policy_matrix(params, out_, err_), exit_ok) << err_.str();
  EXPECT_THAT(out_.str(), StartsWith("organisation,kind,role,level,nodes,tension-report:OFFICIAL,"));
  EXPECT_THAT(out_.str(), HasSubstr("staffs-police,npt,staffs-npt-inspector,tactical,staffs-npt-inspector-1,"));
  EXPECT_THAT(out_.str(), Not(HasSubstr("gw-")));  // peers are not nodes
}

}  // namespace
}  // namespace icegate::cli
