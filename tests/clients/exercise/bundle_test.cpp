// Exercise bundles: a scenario, the shipped policies and their scheme go in
// with the results, come out byte for byte where the scenario finds them, and
// a hostile bundle cannot write outside the directory it is extracted into.
#include "clients/exercise/bundle.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "clients/exercise/report.hpp"
#include "tests/clients/exercise/sample_run.hpp"
#include "tests/support/temporary_directory.hpp"

namespace icegate::exercise {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using testing::expect_same;
using ::testing::HasSubstr;
using testing::sample_comparison;
using testing::sample_run;

std::string read_bytes(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  EXPECT_TRUE(in) << file;
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void write_bytes(const fs::path& file, const std::string& text) {
  fs::create_directories(file.parent_path());
  std::ofstream out(file, std::ios::binary);
  out << text;
}

// The layout of the repository: scenarios/ beside policies/, policies naming
// schemes/ by relative path. The policies are the shipped ones.
struct ExerciseFiles {
  icegate::testing::TemporaryDirectory dir;
  fs::path scenario = dir / "scenarios/operation-nicole.yaml";
  fs::path need_to_know = dir / "policies/need-to-know.yaml";
  fs::path need_to_share = dir / "policies/need-to-share.yaml";
  fs::path scheme = dir / "policies/schemes/gpms-2008.yaml";
  fs::path csv = dir / "scenarios/nicole-injects.csv";

  ExerciseFiles() {
    const fs::path source = ICEGATE_SOURCE_DIR;
    fs::create_directories(scheme.parent_path());
    fs::copy_file(source / "policies/need-to-know.yaml", need_to_know);
    fs::copy_file(source / "policies/need-to-share.yaml", need_to_share);
    fs::copy_file(source / "policies/schemes/gpms-2008.yaml", scheme);
    // CRLF, UTF-8 and a tab: bytes must survive the JSON round trip unchanged.
    write_bytes(scenario,
                "name: operation-nicole\r\n"
                "title: \"Operation Nicole \xe2\x80\x93 a CT arrest in Sparkhill\"\r\n"
                "policy: ../policies/need-to-know.yaml\r\n"
                "injects_csv: nicole-injects.csv\r\n"
                "t0: 2024-06-14T05:00:00Z\r\n"
                "injects:\r\n"
                "  - {id: I01, at: T-48h, from: ctu-sio, synopsis: \"intelligence\tof a plot\"}\r\n");
    write_bytes(csv, "id,at,from,synopsis\nI02,T-24h,ctu-sio,\"pre-briefing, embargoed\"\n");
  }
};

TEST(Bundle, RoundTripsTheScenarioPoliciesSchemeAndResults) {
  ExerciseFiles files;
  const Comparison c = sample_comparison();
  const fs::path bundle_file = files.dir / "nicole.icegate.json";
  write_bundle(bundle_file, files.scenario, {files.need_to_know, files.need_to_share}, {c.first, c.second});

  const Bundle bundle = read_bundle(bundle_file);
  EXPECT_EQ(bundle.bundle_version, 1);
  EXPECT_EQ(bundle.scenario_name, "operation-nicole");
  EXPECT_EQ(bundle.scenario_file, "scenarios/operation-nicole.yaml");
  EXPECT_EQ(bundle.scenario_text, read_bytes(files.scenario));
  std::vector<std::string> paths, roles;
  for (const BundleFile& file : bundle.files) {
    paths.push_back(file.path);
    roles.push_back(file.role);
  }
  // The scheme once, though both policies name it; the CSV the scenario names.
  EXPECT_THAT(paths, ElementsAre("policies/need-to-know.yaml", "policies/schemes/gpms-2008.yaml",
                                 "policies/need-to-share.yaml", "scenarios/nicole-injects.csv"));
  EXPECT_THAT(roles, ElementsAre("policy", "scheme", "policy", "file"));
  EXPECT_THAT(bundle.policy_paths(), ElementsAre("policies/need-to-know.yaml", "policies/need-to-share.yaml"));
  ASSERT_EQ(bundle.results.size(), 2u);
  expect_same(c.first, bundle.results[0]);
  expect_same(c.second, bundle.results[1]);

  icegate::testing::TemporaryDirectory out;
  const fs::path scenario = extract_bundle(bundle, out.path() / "imported");
  EXPECT_EQ(scenario, fs::canonical(out.path()) / "imported/scenarios/operation-nicole.yaml");
  EXPECT_EQ(read_bytes(scenario), read_bytes(files.scenario));
  for (const auto& [original, relative] : {std::pair{files.need_to_know, "policies/need-to-know.yaml"},
                                           std::pair{files.need_to_share, "policies/need-to-share.yaml"},
                                           std::pair{files.scheme, "policies/schemes/gpms-2008.yaml"},
                                           std::pair{files.csv, "scenarios/nicole-injects.csv"}}) {
    EXPECT_EQ(read_bytes(out.path() / "imported" / relative), read_bytes(original)) << relative;
  }
  // The scenario's relative reference to its policy resolves where it was extracted.
  EXPECT_TRUE(fs::is_regular_file(scenario.parent_path() / "../policies/need-to-know.yaml"));
}

// Two tables played by people under two policies: everything they did, the
// media, the evaluators' ratings and the improvement plan come back from the
// bundle field by field, and `exercise report BUNDLE` renders the same pages.
TEST(Bundle, KeepsEverythingPeopleDidAndRendersTheSameReportsAgain) {
  ExerciseFiles files;
  const Comparison c = testing::sample_played_comparison();
  const fs::path bundle_file = files.dir / "played.icegate.json";
  write_bundle(bundle_file, files.scenario, {files.need_to_know, files.need_to_share}, {c.first, c.second});
  const Bundle bundle = read_bundle(bundle_file);
  ASSERT_EQ(bundle.results.size(), 2u);
  expect_same(c.first, bundle.results[0]);
  expect_same(c.second, bundle.results[1]);
  ASSERT_FALSE(bundle.results[0].human_actions.empty());

  Scenario scenario;
  scenario.objectives = c.first.objectives;
  const Comparison read{bundle.results[0], bundle.results[1]};
  EXPECT_EQ(to_html(read.first, &scenario), to_html(c.first, &scenario));
  EXPECT_EQ(to_html(read.first), to_html(c.first));
  EXPECT_EQ(to_html(read, &scenario), to_html(c, &scenario));
  EXPECT_EQ(to_json(read), to_json(c));
  EXPECT_EQ(to_mermaid(read.second), to_mermaid(c.second));
  EXPECT_NE(to_html(read.first).find("<section id=\"human-actions\">"), std::string::npos);
}

TEST(Bundle, OneRunAndFilesOnlyInOneDirectory) {
  icegate::testing::TemporaryDirectory dir;
  write_bytes(dir / "scenario.yaml", "name: feedback-loop\n");
  write_bytes(dir / "policy.yaml", "policy: demo\nscheme: {classifications: [{name: OFFICIAL}]}\n");
  const Bundle bundle = make_bundle(dir / "scenario.yaml", {dir / "policy.yaml"}, {sample_run()});
  EXPECT_EQ(bundle.scenario_file, "scenario.yaml");
  ASSERT_EQ(bundle.files.size(), 1u);  // an inline scheme is no file
  EXPECT_EQ(bundle.files[0].path, "policy.yaml");
  const Bundle read = parse_bundle(to_json(bundle));
  ASSERT_EQ(read.results.size(), 1u);
  expect_same(sample_run(), read.results[0]);
  EXPECT_EQ(read.files[0].text, bundle.files[0].text);
}

TEST(Bundle, NamesAMissingSchemeFile) {
  icegate::testing::TemporaryDirectory dir;
  write_bytes(dir / "scenario.yaml", "name: x\n");
  write_bytes(dir / "policy.yaml", "policy: demo\nscheme: schemes/missing.yaml\n");
  try {
    make_bundle(dir / "scenario.yaml", {dir / "policy.yaml"}, {});
    ADD_FAILURE() << "a missing scheme file was not noticed";
  } catch (const BundleError& error) {
    EXPECT_THAT(error.what(), HasSubstr("missing.yaml"));
  }
}

TEST(Bundle, RejectsAnotherVersionAndBrokenJson) {
  Bundle bundle;
  bundle.scenario_file = "s.yaml";
  std::string json = to_json(bundle);
  EXPECT_NO_THROW(parse_bundle(json));
  json.replace(json.find("\"bundle_version\": 1"), 19, "\"bundle_version\": 2");
  EXPECT_THROW(parse_bundle(json), BundleError);
  EXPECT_THROW(parse_bundle("{\"bundle_version\": 1, \"scenario\": "), BundleError);
  EXPECT_THROW(parse_bundle("{\"bundle_version\": 1, \"scenario\": {\"name\": \"x\"}, \"files\": [], \"results\": []}"),
               BundleError);
}

TEST(BundlePaths, RefuseEscapesAndAbsolutePaths) {
  for (const char* path : {"../evil.yaml", "policies/../../evil.yaml", "/etc/cron.d/evil", "..", "a/..//b",
                           "policies\\..\\evil.yaml", "dir/", ""}) {
    EXPECT_TRUE(unsafe_bundle_path(path).has_value()) << path;
  }
  for (const char* path : {"scenario.yaml", "policies/schemes/gpms-2008.yaml", "./policies/x.yaml", "a..b/c..yaml"}) {
    EXPECT_FALSE(unsafe_bundle_path(path).has_value()) << path;
  }
}

// A bundle with `bad_path` among good files: refused, and nothing written.
void expect_refused(const std::string& bad_path, const std::string& why) {
  Bundle bundle;
  bundle.scenario_file = "scenarios/s.yaml";
  bundle.scenario_text = "name: s\n";
  bundle.files = {{"policies/p.yaml", "policy", "policy: p\n"}, {bad_path, "file", "owned\n"}};
  icegate::testing::TemporaryDirectory out;
  try {
    extract_bundle(bundle, out.path() / "x");
    ADD_FAILURE() << "extracted " << bad_path;
  } catch (const BundleError& error) {
    EXPECT_THAT(error.what(), HasSubstr(why)) << bad_path;
  }
  EXPECT_FALSE(fs::exists(out.path() / "x/scenarios/s.yaml")) << bad_path;
  EXPECT_FALSE(fs::exists(out.path() / "evil.yaml")) << bad_path;
}

TEST(BundleExtract, RefusesPathTraversalAndWritesNothing) {
  expect_refused("../evil.yaml", "'..'");
  expect_refused("policies/../../evil.yaml", "'..'");
  expect_refused("/tmp/icegate-evil.yaml", "absolute");
  expect_refused("policies/p.yaml", "twice");
  expect_refused("policies/p.yaml/inner", "also a file");
  EXPECT_FALSE(fs::exists("/tmp/icegate-evil.yaml"));
}

TEST(BundleExtract, RefusesToFollowASymbolicLinkOutOfTheDirectory) {
  icegate::testing::TemporaryDirectory out, elsewhere;
  fs::create_directories(out.path() / "x");
  fs::create_directory_symlink(elsewhere.path(), out.path() / "x/policies");
  Bundle bundle;
  bundle.scenario_file = "s.yaml";
  bundle.files = {{"policies/p.yaml", "policy", "policy: p\n"}};
  EXPECT_THROW(extract_bundle(bundle, out.path() / "x"), BundleError);
  EXPECT_FALSE(fs::exists(elsewhere.path() / "p.yaml"));
  EXPECT_FALSE(fs::exists(out.path() / "x/s.yaml"));
}

TEST(BundleExtract, ReplacesExistingFilesOnlyWhenAsked) {
  icegate::testing::TemporaryDirectory out;
  Bundle bundle;
  bundle.scenario_file = "s.yaml";
  bundle.scenario_text = "name: new\n";
  write_bytes(out.path() / "s.yaml", "name: old\n");
  EXPECT_THROW(extract_bundle(bundle, out.path()), BundleError);
  EXPECT_EQ(read_bytes(out.path() / "s.yaml"), "name: old\n");
  extract_bundle(bundle, out.path(), /*overwrite=*/true);
  EXPECT_EQ(read_bytes(out.path() / "s.yaml"), "name: new\n");
}

}  // namespace
}  // namespace icegate::exercise
