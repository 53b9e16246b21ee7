// load_policy: read, parse, validate and compile, collecting every problem.
#include <fmt/format.h>

#include "gateway/model/digest.hpp"
#include "gateway/policy/engine.hpp"
#include "gateway/policy/parser.hpp"
#include "gateway/policy/spif.hpp"
#include "gateway/policy/translate.hpp"
#include "gateway/policy/validator.hpp"

namespace icegate::policy {
namespace {

// "sha256:<hex>" over the policy text followed by the scheme text: the
// version changes when either file does.
std::string version_of(std::string_view policy_text, std::string_view scheme_text) {
  return "sha256:" + Sha256{}.update(policy_text).update(scheme_text).finish_hex();
}

}  // namespace

LoadResult load_policy_text(std::string_view text, const std::filesystem::path& file) {
  LoadResult result;
  const std::string file_name = file.string();
  ParseResult parsed = parse_policy_file(text, file_name);
  result.diagnostics.append(parsed.diagnostics);
  if (!parsed.root) return result;

  // A scheme named by path is its own file: its problems carry its own name.
  std::optional<SyntaxNode> scheme_root;
  std::string scheme_text;
  if (auto reference = scheme_file_reference(*parsed.root)) {
    const std::filesystem::path scheme_path = (file.parent_path() / reference->path).lexically_normal();
    std::string error;
    if (auto content = read_text_file(scheme_path, error)) {
      scheme_text = std::move(*content);
      ParseResult scheme = parse_policy_file(scheme_text, scheme_path.string());
      result.diagnostics.append(scheme.diagnostics);
      scheme_root = std::move(scheme.root);
    } else {
      result.diagnostics.error(Code::P007, reference->location,
                               fmt::format("cannot read scheme file '{}': {}", scheme_path.string(), error));
    }
  }

  ValidationResult validated = validate_policy(*parsed.root, scheme_root ? &*scheme_root : nullptr);
  result.diagnostics.append(validated.diagnostics);
  if (result.diagnostics.has_errors() || !validated.policy) return result;

  Policy policy = std::move(*validated.policy);
  // A peer's CA file, like the scheme file, is named relative to the policy
  // file. It is read only by `policy check` and the peer link
  // (check_peer_files): the policy's meaning does not depend on it.
  for (Peer& peer : policy.peers) peer.ca = (file.parent_path() / peer.ca).lexically_normal().string();
  // Schemes the policy accepts besides its own: each must translate into it.
  std::string accepted_texts;
  for (const SchemeReference& reference : accepted_scheme_references(*parsed.root)) {
    const std::filesystem::path path = (file.parent_path() / reference.path).lexically_normal();
    LoadResult accepted = load_scheme(path);
    result.diagnostics.append(accepted.diagnostics);
    if (!accepted.policy) {
      result.diagnostics.error(Code::P046, reference.location,
                               fmt::format("cannot accept scheme file '{}': it did not load", path.string()));
      continue;
    }
    const LabelScheme& other = accepted.policy->source().scheme;
    if (other.name == policy.scheme.name) {
      result.diagnostics.error(Code::P046, reference.location,
                               fmt::format("'{}' is scheme {}, the policy's own", path.string(), other.name));
      continue;
    }
    if (policy.accepted_scheme(other.name)) {
      result.diagnostics.error(Code::P046, reference.location,
                               fmt::format("scheme {} is accepted twice", other.name));
      continue;
    }
    result.diagnostics.append(check_equivalence(other, policy.scheme, reference.location));
    std::string error;
    accepted_texts += read_text_file(path, error).value_or("");
    policy.accepted_schemes.push_back({path.string(), std::move(accepted.policy), reference.location});
  }
  if (result.diagnostics.has_errors()) return result;
  policy.file = file_name;
  policy.version = version_of(text, scheme_text + accepted_texts);
  result.policy = std::make_shared<const CompiledPolicy>(std::move(policy));
  return result;
}

LoadResult load_policy(const std::filesystem::path& file) {
  std::string error;
  auto text = read_text_file(file, error);
  if (!text) {
    LoadResult result;
    result.diagnostics.error(Code::P007, SourceLocation{file.string(), 0, 0},
                             fmt::format("cannot read policy file: {}", error));
    return result;
  }
  return load_policy_text(*text, file);
}

}  // namespace icegate::policy
