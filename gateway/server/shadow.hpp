// The shadow policy (`icegate serve --shadow-policy P2`): every submission is
// decided under P2 as well as under the enforced policy, and each difference
// is recorded (a `shadow_difference` audit record in the submission's own
// transaction, icegate_shadow_differences_total, the dashboard). Nothing P2
// decides is enforced: the router calls compare() after its own decisions are
// made and uses nothing it returns, so deliveries are what they would be
// without it. Its cost on the submit path is one decide() per recipient and a
// comparison.
//
// P2's occasional-release allowance is kept apart from the gateway's (in
// memory: it starts afresh with the gateway).
//
// Confined to the gateway's io_context thread, like the router.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "gateway/audit/audit.hpp"
#include "gateway/model/message.hpp"
#include "gateway/policy/engine.hpp"
#include "gateway/policy/replay.hpp"
#include "gateway/server/observer.hpp"

namespace icegate::server {

// A difference's portion changes as a JSON array, in portion order: the same
// text in the audit record's detail and in the dashboard's event.
std::string changes_json(const ShadowDifference& difference);

class ShadowPolicy {
 public:
  ShadowPolicy(std::shared_ptr<const policy::CompiledPolicy> policy, GatewayMetrics& metrics);

  const std::shared_ptr<const policy::CompiledPolicy>& policy() const { return policy_; }
  // A reload: decisions use `policy` from the next submission.
  void set_policy(std::shared_ptr<const policy::CompiledPolicy> policy);

  // Decides `message` for each recipient under the shadow policy and compares
  // with `enforced` (the enforced policy's decision for each recipient, before
  // any embargo or consent hold). For each recipient that differs, appends a
  // copy of `prototype` (kind shadow_difference, its time and node set) to
  // `records` and tells `observer` (if any); counts each portion changed.
  void compare(const Message& message, const std::vector<const RecipientDecision*>& enforced,
               const audit::AuditRecord& prototype, std::vector<audit::AuditRecord>& records, Observer* observer);

 private:
  std::shared_ptr<const policy::CompiledPolicy> policy_;
  GatewayMetrics& metrics_;
  policy::OccasionalLedger ledger_;
};

}  // namespace icegate::server
