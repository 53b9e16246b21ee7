// An exercise bundle: a whole exercise (scenario, policies and their label
// schemes, results) as one JSON file, to hand to another facilitator or keep.
//
//   {"bundle_version": 1,
//    "scenario": {"name": ..., "file": ..., "text": ...},
//    "files": [{"path": ..., "role": "policy" | "scheme" | "file", "text": ...}, ...],
//    "results": [RunResult, ...]}          (one, or two for a comparison: two
//                                           scripted runs, or two tables people
//                                           played; everything people did included)
//
// Paths are relative to the bundle's root: the nearest directory holding the
// scenario and every file. Keeping the files' layout around the scenario means
// the relative references between them (the scenario's `policy:`, a policy's
// `scheme:`) still resolve once extracted, and no path needs a ".." component.
//
// A bundle is untrusted input: extract_bundle refuses absolute paths, ".."
// components, duplicates and symbolic links before it writes anything.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "clients/exercise/results.hpp"

namespace icegate::exercise {

class BundleError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct BundleFile {
  std::string path;  // relative, '/'-separated
  std::string role;  // "policy", "scheme" or "file"
  std::string text;  // the file's bytes
};

struct Bundle {
  int bundle_version = 1;
  std::string scenario_name;
  std::string scenario_file;  // relative, '/'-separated
  std::string scenario_text;
  std::vector<BundleFile> files;  // policies in the order given, each followed by its scheme
  std::vector<RunResult> results;

  // The bundle paths of the policy files, in the order given to make_bundle.
  std::vector<std::string> policy_paths() const;
};

// Gathers the exercise's files: the scenario; each policy and the scheme file
// its `scheme:` names; the scenario's own default `policy:` and any `.csv`
// file a top-level key of the scenario names (its inject list); and
// `extra_files`. Throws BundleError naming a file that cannot be read or parsed.
Bundle make_bundle(const std::filesystem::path& scenario_file, const std::vector<std::filesystem::path>& policy_files,
                   std::vector<RunResult> results, const std::vector<std::filesystem::path>& extra_files = {});

std::string to_json(const Bundle& bundle);
Bundle parse_bundle(std::string_view json);

// make_bundle, written to `bundle_path`.
void write_bundle(const std::filesystem::path& bundle_path, const std::filesystem::path& scenario_file,
                  const std::vector<std::filesystem::path>& policy_files, const std::vector<RunResult>& results,
                  const std::vector<std::filesystem::path>& extra_files = {});
Bundle read_bundle(const std::filesystem::path& bundle_path);

// Why `path` may not be written out of a bundle, or nothing when it may.
std::optional<std::string> unsafe_bundle_path(std::string_view path);

// Writes the scenario and every file under `dir` (created if need be) and
// returns the scenario's path there. Checks every path first: on any problem
// it throws BundleError and writes nothing. Existing files are replaced only
// with `overwrite`.
std::filesystem::path extract_bundle(const Bundle& bundle, const std::filesystem::path& dir, bool overwrite = false);

// The largest bundle read_bundle accepts, and the largest file make_bundle reads.
inline constexpr std::size_t kMaxBundleBytes = 512u << 20;
inline constexpr std::size_t kMaxBundledFileBytes = 64u << 20;

}  // namespace icegate::exercise
