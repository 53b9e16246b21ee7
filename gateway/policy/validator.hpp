// Internal: stage 2, syntax tree to validated Policy.
//
// Checks the shape of the tree (known keys, types, required keys) and its
// meaning (unique ids, every name defined, orderings). Every problem found is
// reported; a bad entry is left out and the rest is still checked, and an
// entry whose id is sound still counts as defined, so one mistake does not
// cascade into a page of "undefined" errors. Nothing is thrown.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "gateway/policy/checker.hpp"  // edit_distance, exposed for tests
#include "gateway/policy/diagnostics.hpp"
#include "gateway/policy/model.hpp"
#include "gateway/policy/syntax.hpp"

namespace icegate::policy {

struct SchemeValidationResult {
  std::optional<LabelScheme> scheme;  // absent when diagnostics has errors
  Diagnostics diagnostics;
};

// Validates a label scheme: a scheme file's root, or a policy's inline `scheme:` mapping.
SchemeValidationResult validate_scheme(const SyntaxNode& root);

// What a policy's `scheme:` key names when it names a file: the path as
// written (relative to the policy file) and where it is written. Absent when
// the key is missing, inline, or of the wrong type (validate_policy reports those).
struct SchemeReference {
  std::string path;
  SourceLocation location;
};
std::optional<SchemeReference> scheme_file_reference(const SyntaxNode& policy_root);
// The scheme files a policy's `accept_schemes:` names, as written; entries of
// the wrong type are left out (validate_policy reports them).
std::vector<SchemeReference> accepted_scheme_references(const SyntaxNode& policy_root);

struct ValidationResult {
  std::optional<Policy> policy;  // absent when diagnostics has errors
  Diagnostics diagnostics;
};

// Validates a policy. `scheme_file_root` is the parsed scheme file when
// `scheme:` names one; pass nullptr when it could not be read or parsed (the
// caller has reported why): the policy is then checked without the scheme and
// no classification or category name is reported as undefined. An inline
// `scheme:` mapping ignores `scheme_file_root`. Policy::file and
// Policy::version are left for the loader to fill in.
ValidationResult validate_policy(const SyntaxNode& policy_root, const SyntaxNode* scheme_file_root);

}  // namespace icegate::policy
