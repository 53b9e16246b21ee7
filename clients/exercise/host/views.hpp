// The JSON the pages read (docs/HOSTING.md), made from a Table's copies with
// the project's JSON writer. Markings and colours come from the policy's
// scheme, so a page shows what the policy says, never what it guesses.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "clients/exercise/table.hpp"

namespace icegate::policy {
class CompiledPolicy;
}

namespace icegate::exercise::host {

// "[a,b]" from already-encoded JSON values.
std::string json_array(const std::vector<std::string>& values);
std::string label_json(const Label& label);
std::string clock_json(const TableStatus& status);
// `policy` may be null (before the runner has set it): markings fall back to the label's text.
std::string portion_json(const policy::CompiledPolicy* policy, const Portion& portion);
std::string withheld_json(const policy::CompiledPolicy* policy, const WithheldPortion& withheld);
// `gateway`: the gateway that decided for the outcome's node, across several ("" leaves it out).
std::string outcome_json(const ActionOutcome& outcome, const std::string& gateway = {});
std::string media_json(const MediaRelease& media);
// What a policy lets a message name: its nodes, roles, lists and organisations; its label scheme.
std::string directory_json(const policy::CompiledPolicy* policy);
std::string scheme_json(const policy::CompiledPolicy* policy);

struct SeatViewInput {
  std::uint64_t version = 0;
  std::string table;  // "" for a single table
  std::string node;
  const policy::CompiledPolicy* policy = nullptr;
  TableStatus status;
  SeatView seat;
  int pages_open = 0;
  // Across several gateways: the seat's own, and who decides for a node ("" with one).
  std::string gateway;
  std::function<std::string(const std::string&)> gateway_of;
};
std::string seat_view_json(const SeatViewInput& input);

}  // namespace icegate::exercise::host
