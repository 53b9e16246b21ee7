// `icegate audit`: a thin layer over gateway/audit. Arguments are all checked
// (and every mistake reported) before the database is opened.
#include "tools/icegate/cmd_audit.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <chrono>
#include <exception>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <fmt/ostream.h>

#include "gateway/audit/audit.hpp"
#include "gateway/audit/trace.hpp"
#include "gateway/audit/witness.hpp"
#include "gateway/model/clock.hpp"
#include "gateway/pki/pki.hpp"
#include "gateway/model/json_value.hpp"
#include "tools/icegate/cli_output.hpp"
#include "tools/icegate/commands.hpp"

namespace icegate::cli {
namespace {

constexpr std::array<std::string_view, 3> output_formats = {"text", "jsonl", "csv"};
constexpr std::array<std::string_view, 4> decisions = {"RELEASE", "RELEASE_REDACTED", "HOLD", "DENY"};


template <std::size_t size>
bool is_one_of(std::string_view value, const std::array<std::string_view, size>& allowed) {
  return std::find(allowed.begin(), allowed.end(), value) != allowed.end();
}

template <std::size_t size>
std::string listed(const std::array<std::string_view, size>& values) {
  return fmt::format("{}", fmt::join(values, ", "));
}

// Exactly `count` decimal digits at text[position...], advancing position.
bool read_digits(std::string_view text, std::size_t& position, std::size_t count, int& value) {
  if (position + count > text.size()) return false;
  const char* begin = text.data() + position;
  if (!std::all_of(begin, begin + count, [](char c) { return c >= '0' && c <= '9'; })) return false;
  std::from_chars(begin, begin + count, value);
  position += count;
  return true;
}

bool read_char(std::string_view text, std::size_t& position, char expected) {
  if (position >= text.size() || text[position] != expected) return false;
  ++position;
  return true;
}

std::optional<std::int64_t> parse_iso_8601_utc(std::string_view text) {
  std::size_t position = 0;
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!read_digits(text, position, 4, year) || !read_char(text, position, '-') ||
      !read_digits(text, position, 2, month) || !read_char(text, position, '-') ||
      !read_digits(text, position, 2, day) || !read_char(text, position, 'T') ||
      !read_digits(text, position, 2, hour) || !read_char(text, position, ':') ||
      !read_digits(text, position, 2, minute) || !read_char(text, position, ':') ||
      !read_digits(text, position, 2, second)) {
    return std::nullopt;
  }
  int milliseconds = 0;
  if (read_char(text, position, '.')) {
    // 1 to 9 digits; what is below a millisecond is dropped.
    const std::size_t start = position;
    while (position < text.size() && text[position] >= '0' && text[position] <= '9') ++position;
    const std::size_t digits = position - start;
    if (digits < 1 || digits > 9) return std::nullopt;
    for (std::size_t index = 0; index < 3; ++index) {
      milliseconds = milliseconds * 10 + (index < digits ? text[start + index] - '0' : 0);
    }
  }
  const std::string_view zone = text.substr(position);
  if (zone != "Z" && zone != "+00:00") return std::nullopt;

  using namespace std::chrono;
  const year_month_day date{std::chrono::year{year}, std::chrono::month{static_cast<unsigned>(month)},
                            std::chrono::day{static_cast<unsigned>(day)}};
  if (!date.ok() || hour > 23 || minute > 59 || second > 59) return std::nullopt;
  const auto time = sys_days{date} + hours{hour} + minutes{minute} + seconds{second} +
                    std::chrono::milliseconds{milliseconds};
  return time.time_since_epoch().count();
}

// The time given for `option`, or an error printed to `err`.
bool parse_time_option(std::string_view option, const std::string& text, std::optional<std::int64_t>& value,
                       std::ostream& err) {
  if (text.empty()) return true;
  value = parse_time_argument(text);
  if (value) return true;
  print_error(err, fmt::format("{} \"{}\" is not a time: use ISO-8601 UTC like 2026-11-21T06:00:00Z, "
                               "or Unix milliseconds like 1795240800000",
                               option, text));
  return false;
}

boost::json::array problems_json(const std::vector<audit::VerifyProblem>& problems) {
  boost::json::array array;
  for (const audit::VerifyProblem& problem : problems)
    array.push_back(
        boost::json::object{{"seq", problem.seq}, {"kind", audit::to_string(problem.kind)}, {"text", problem.text}});
  return array;
}

// A peer's trail given with --witnesses-from whose own chain does not verify:
// its witnesses were not used, and the verification fails.
void write_verify_json(std::ostream& out, const audit::VerifyReport& report,
                       const std::vector<audit::UnverifiedPeerTrail>& refused_peers) {
  boost::json::object json = {{"intact", report.intact() && refused_peers.empty()},
                              {"records", report.records},
                              {"head_hash", report.head_hash},
                              {"problems", problems_json(report.problems)}};
  if (!refused_peers.empty()) {
    boost::json::array peers;
    for (const auto& peer : refused_peers)
      peers.push_back(boost::json::object{{"database", peer.database().string()},
                                          {"witnesses_used", false},
                                          {"problems", problems_json(peer.problems())}});
    json["unverified_peer_trails"] = std::move(peers);
  }
  out << json::serialize(json) << '\n';
}

}  // namespace

std::optional<std::int64_t> parse_time_argument(std::string_view text) {
  if (!text.empty() && text.size() <= 18 &&
      std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    std::int64_t value = 0;
    std::from_chars(text.data(), text.data() + text.size(), value);
    return value;
  }
  return parse_iso_8601_utc(text);
}

int run_audit_verify(const AuditVerifyParams& params, std::ostream& out, std::ostream& err) {
  if (params.dir.empty()) {
    print_error(err, "audit verify: a data directory is required");
    return exit_error;
  }
  if ((!params.witnesses.empty() || !params.witnesses_from.empty()) && params.ca.empty()) {
    print_error(err, fmt::format("audit verify: {} needs --ca, the CA certificate that issued the signing gateway's",
                                 params.witnesses.empty() ? "--witnesses-from" : "--witness"));
    return exit_error;
  }
  audit::VerifyReport report;
  std::vector<audit::UnverifiedPeerTrail> refused_peers;  // their witnesses are not used
  try {
    std::vector<audit::Witness> witnesses;
    for (const auto& file : params.witnesses) witnesses.push_back(audit::read_witness(file));
    for (const auto& peer_dir : params.witnesses_from) {
      // The peer's own chain is verified before any witness is read from it.
      std::vector<audit::Witness> kept;
      try {
        kept = audit::witnesses_from(peer_dir, params.ca);
      } catch (const audit::UnverifiedPeerTrail& refused) {
        refused_peers.push_back(refused);
        continue;
      }
      // A peer that witnessed nothing of this gateway proves nothing: said, not passed over.
      if (kept.empty())
        throw audit::WitnessError(fmt::format("{}: its trail holds no witness of a head signed by a certificate {} "
                                              "issued",
                                              peer_dir.string(), params.ca.string()));
      std::move(kept.begin(), kept.end(), std::back_inserter(witnesses));
    }
    report = audit::verify(params.dir);
    if (!witnesses.empty()) {
      auto found = audit::check_witnesses(params.dir, witnesses, params.ca);
      report.problems.insert(report.problems.end(), found.begin(), found.end());
      std::stable_sort(report.problems.begin(), report.problems.end(),
                       [](const audit::VerifyProblem& a, const audit::VerifyProblem& b) { return a.seq < b.seq; });
    }
  } catch (const std::exception& error) {
    print_error(err, error.what());
    return exit_error;
  }
  if (params.json) {
    write_verify_json(out, report, refused_peers);
  } else {
    for (const auto& peer : refused_peers) fmt::print(out, "peer trail {}\n", peer.what());
    for (const audit::VerifyProblem& problem : report.problems) {
      fmt::print(out, "seq {}: {}: {}\n", problem.seq, audit::to_string(problem.kind), problem.text);
    }
    if (!report.intact()) {
      fmt::print(out, "NOT INTACT: {} {} in {} records, head {}\n", report.problems.size(),
                 report.problems.size() == 1 ? "problem" : "problems", report.records, report.head_hash);
    } else if (!refused_peers.empty()) {
      fmt::print(out, "NOT VERIFIED: {} peer trail{} given with --witnesses-from do{} not verify; the chain alone: {} "
                      "records, head {}\n",
                 refused_peers.size(), refused_peers.size() == 1 ? "" : "s", refused_peers.size() == 1 ? "es" : "",
                 report.records, report.head_hash);
    } else {
      fmt::print(out, "intact: {} records, head {}\n", report.records, report.head_hash);
    }
  }
  return report.intact() && refused_peers.empty() ? exit_ok : exit_denied;
}

int run_audit_trace(const AuditTraceParams& params, std::ostream& out, std::ostream& err) {
  if (params.message_id.empty() || params.trails.empty()) {
    print_error(err, "audit trace: a message id and at least one data directory are required");
    return exit_error;
  }
  std::vector<audit::TraceInput> inputs;
  bool arguments_ok = true;
  for (const std::string& trail : params.trails) {
    audit::TraceInput input;
    // GATEWAY=DIR names the trail's gateway; a directory whose own name has
    // '=' in it can still be given as ./name=x.
    const auto equals = trail.find('=');
    if (equals != std::string::npos && trail.find('/') > equals) {
      input.gateway = trail.substr(0, equals);
      input.dir = trail.substr(equals + 1);
      if (input.gateway.empty() || input.dir.empty()) {
        print_error(err, fmt::format("audit trace: \"{}\": use DIR or GATEWAY=DIR", trail));
        arguments_ok = false;
        continue;
      }
    } else {
      input.dir = trail;
    }
    if (!std::filesystem::exists(audit::database_path(input.dir))) {
      print_error(err, fmt::format("audit trace: {}: no audit trail here ({} does not exist)", input.dir.string(),
                                   audit::database_path(input.dir).string()));
      arguments_ok = false;
      continue;
    }
    inputs.push_back(std::move(input));
  }
  if (!arguments_ok) return exit_error;
  audit::Trace trace;
  try {
    trace = audit::trace(params.message_id, inputs);
  } catch (const std::exception& error) {
    print_error(err, error.what());
    return exit_error;
  }
  if (params.json) out << audit::trace_json(trace);
  else audit::write_trace_text(out, trace);
  return trace.consistent() ? exit_ok : exit_denied;
}

int run_audit_head(const AuditHeadParams& params, std::ostream& out, std::ostream& err) {
  try {
    const pki::Paths gateway = pki::gateway_paths(params.pki);
    const std::int64_t now = params.now_unix_ms != 0 ? params.now_unix_ms : to_unix_ms(SystemClock().now());
    const audit::SignedHead head = audit::sign_head(params.dir, gateway.key, gateway.certificate, now);
    const std::string text = audit::to_witness_json(head);
    if (!write_output(params.out, text, out, err)) return exit_error;
    if (!params.out.empty())
      fmt::print(err, "signed head: {} records, hash {}, written to {}\n", head.seq, head.hash, params.out.string());
    return exit_ok;
  } catch (const audit::WitnessError& error) {
    print_error(err, error.what());
    return exit_denied;
  } catch (const std::exception& error) {
    print_error(err, error.what());
    return exit_error;
  }
}

int run_audit_query(const AuditQueryParams& params, std::ostream& out, std::ostream& err) {
  bool arguments_ok = true;
  if (params.dir.empty()) {
    print_error(err, "audit query: a data directory is required");
    arguments_ok = false;
  }
  if (!is_one_of(params.format, output_formats)) {
    print_error(err, fmt::format("--format \"{}\": use one of {}", params.format, listed(output_formats)));
    arguments_ok = false;
  }
  audit::QueryFilter filter;
  if (!params.node.empty()) filter.node = params.node;
  if (!params.message_id.empty()) filter.message_id = params.message_id;
  if (!params.decision.empty()) {
    std::string decision = params.decision;
    std::transform(decision.begin(), decision.end(), decision.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    if (is_one_of(decision, decisions)) {
      filter.decision = decision;
    } else {
      print_error(err, fmt::format("--decision \"{}\": use one of {}", params.decision, listed(decisions)));
      arguments_ok = false;
    }
  }
  if (!params.kind.empty()) {
    if (is_one_of(params.kind, audit::record_kinds)) {
      filter.kind = params.kind;
    } else {
      print_error(err, fmt::format("--kind \"{}\": use one of {}", params.kind, listed(audit::record_kinds)));
      arguments_ok = false;
    }
  }
  arguments_ok = parse_time_option("--since", params.since, filter.since_unix_ms, err) && arguments_ok;
  arguments_ok = parse_time_option("--until", params.until, filter.until_unix_ms, err) && arguments_ok;
  if (filter.since_unix_ms && filter.until_unix_ms && *filter.since_unix_ms > *filter.until_unix_ms) {
    print_error(err, fmt::format("--since {} is after --until {}", params.since, params.until));
    arguments_ok = false;
  }
  if (!arguments_ok) return exit_error;

  std::vector<audit::StoredRecord> records;
  try {
    records = audit::query(params.dir, filter);
  } catch (const std::exception& error) {
    print_error(err, error.what());
    return exit_error;
  }
  if (params.format == "jsonl") {
    audit::write_jsonl(out, records);
  } else if (params.format == "csv") {
    audit::write_csv(out, records);
  } else {
    audit::write_text(out, records);
    if (records.empty()) fmt::print(err, "no records match\n");
  }
  return exit_ok;
}

void add_audit_command(CLI::App& root, int& exit_code) {
  CLI::App* audit_command =
      root.add_subcommand("audit", "Verify and query the audit trail in a gateway's data directory");
  audit_command->require_subcommand(1);

  auto verify = std::make_shared<AuditVerifyParams>();
  CLI::App* verify_command = audit_command->add_subcommand(
      "verify", "Check the hash chain of DIR/icegate.db (exit 0 intact, 2 problems found, 1 error)");
  verify_command->add_option("dir", verify->dir, "The gateway's data directory")->required();
  verify_command->add_flag("--json", verify->json, "Print the report as one JSON object");
  verify_command->add_option("--witness", verify->witnesses,
                             "A signed head (audit head) to check the trail against: a trail cut before it, or "
                             "rewritten at or before it, is named. Repeatable")
      ->check(CLI::ExistingFile);
  verify_command->add_option("--witnesses-from", verify->witnesses_from,
                             "A peer gateway's data directory: the signed heads of this gateway it kept as witness "
                             "records in its trail are checked as --witness files are, once the peer's own chain "
                             "verifies (a peer trail that does not is named and its witnesses not used). Repeatable")
      ->check(CLI::ExistingDirectory);
  verify_command->add_option("--ca", verify->ca,
                             "The CA certificate that issued the signing gateway's (for --witness and "
                             "--witnesses-from)")
      ->check(CLI::ExistingFile);
  verify_command->callback([verify, &exit_code] { exit_code = run_audit_verify(*verify, std::cout, std::cerr); });

  auto trace = std::make_shared<AuditTraceParams>();
  CLI::App* trace_command = audit_command->add_subcommand(
      "trace", "Rebuild one message's path across gateways from their trails, verifying each chain and each hop "
               "(exit 0 consistent, 2 problems found, 1 error)");
  trace_command->add_option("message", trace->message_id, "The message id")->required();
  trace_command->add_option("trails", trace->trails,
                            "Each gateway's data directory, as DIR or GATEWAY=DIR (the gateway's id, where the "
                            "trails cannot tell it)")
      ->required();
  trace_command->add_flag("--json", trace->json, "Print the trace as one JSON object");
  trace_command->callback([trace, &exit_code] { exit_code = run_audit_trace(*trace, std::cout, std::cerr); });

  auto head = std::make_shared<AuditHeadParams>();
  CLI::App* head_command = audit_command->add_subcommand(
      "head", "Sign the head of DIR's trail (intact only) with the gateway's key, for a peer to keep as a witness");
  head_command->add_option("dir", head->dir, "The gateway's data directory")->required();
  head_command->add_option("--pki", head->pki, "PKI directory: signs with gateway.key")
      ->required()
      ->check(CLI::ExistingDirectory);
  head_command->add_option("--out", head->out, "Write the witness here rather than to standard output");
  head_command->callback([head, &exit_code] { exit_code = run_audit_head(*head, std::cout, std::cerr); });

  auto query = std::make_shared<AuditQueryParams>();
  CLI::App* query_command =
      audit_command->add_subcommand("query", "Print audit records, in seq order, that match every filter given");
  query_command->add_option("dir", query->dir, "The gateway's data directory")->required();
  query_command->add_option("--node", query->node, "Acting node or recipient");
  query_command->add_option("--message", query->message_id, "Message id");
  query_command->add_option("--decision", query->decision, "RELEASE, RELEASE_REDACTED, HOLD or DENY");
  query_command->add_option("--kind", query->kind, "Record kind (decision, hold, connection, ...)");
  query_command->add_option("--since", query->since, "From this time, inclusive (2026-11-21T06:00:00Z or Unix ms)");
  query_command->add_option("--until", query->until, "Up to this time, inclusive");
  query_command->add_option("--format", query->format, "text, jsonl or csv")->capture_default_str();
  query_command->callback([query, &exit_code] { exit_code = run_audit_query(*query, std::cout, std::cerr); });
}

}  // namespace icegate::cli
