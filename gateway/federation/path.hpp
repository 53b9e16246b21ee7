// Following one request across gateways, for `icegate policy explain --via/--at`
// (issue 18, point 7): the sender's gateway's policy, any in between, and the
// recipient's, each a Hop (hop.hpp) as the gateways themselves run it, so
// that explain never re-implements a hop. The binding is real: each gateway
// signs and verifies with a throwaway PKI made for the explanation (a CA and
// the gateway's certificate per policy, in a scratch directory), because a
// hop refuses what does not verify and explain must follow the same path.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gateway/federation/hop.hpp"
#include "gateway/model/message.hpp"
#include "gateway/policy/engine.hpp"

namespace icegate::federation {

// A gateway on the path that translated the labels it received, which its
// origin marked under another scheme (docs/FEDERATION.md, "Different schemes").
struct PathTranslation {
  struct PortionLabels {
    std::string id;
    Label as_signed;   // under from_scheme, as the origin bound it
    Label translated;  // under to_scheme, what that gateway decided on
  };
  std::string gateway;
  std::string from_scheme;
  std::string to_scheme;
  std::vector<PortionLabels> portions;
};

struct PathExplanation {
  std::vector<std::string> gateways;  // the ids of the gateways reached, in order (the first: the sender's)
  std::vector<PeerForward> hops;      // hops[k]: what gateways[k] sent its next peer
  std::vector<PathTranslation> translations;  // each gateway that translated, in path order
  // Set when a gateway refused the frame it was sent.
  std::optional<Refused> refused;
  std::string refused_at;
  // The recipient's decision at the last gateway, when the message got there.
  std::optional<LocalDecision> destination;
  // Set when the request could not be followed to the last policy: why, in one sentence.
  std::string problem;
};

// Follows `message` (its originator a node of policies[0], its addressees as
// the sender wrote them) from the first policy's gateway through each next
// one, to `recipient` at the last. Each gateway's id is the peer id the
// previous gateway routes to; the first's is the one peer of the second's
// policy that the first does not name. `scratch` is an empty directory for
// the throwaway PKIs.
PathExplanation follow_path(const std::vector<std::shared_ptr<const policy::CompiledPolicy>>& policies,
                            const Message& message, const std::string& recipient,
                            const std::filesystem::path& scratch);

}  // namespace icegate::federation
