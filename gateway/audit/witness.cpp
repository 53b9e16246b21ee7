// Signed audit heads and witnesses: see witness.hpp.
#include "gateway/audit/witness.hpp"

#include <algorithm>
#include <fstream>
#include <optional>
#include <sstream>

#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include "gateway/audit/database.hpp"
#include "gateway/model/clock.hpp"
#include "gateway/model/digest.hpp"
#include "gateway/model/json_value.hpp"
#include "gateway/pki/pki.hpp"

namespace icegate::audit {

namespace {

std::optional<std::string> from_hex(std::string_view text) {
  if (text.size() % 2 != 0) return std::nullopt;
  std::string bytes;
  bytes.reserve(text.size() / 2);
  const auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < text.size(); i += 2) {
    const int high = digit(text[i]);
    const int low = digit(text[i + 1]);
    if (high < 0 || low < 0) return std::nullopt;
    bytes.push_back(static_cast<char>(high * 16 + low));
  }
  return bytes;
}

bool is_hash(std::string_view text) {
  return text.size() == 64 &&
         std::all_of(text.begin(), text.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// The trail as a witness check reads it: its last seq, and the hash at a seq.
class TrailReader {
 public:
  explicit TrailReader(const std::filesystem::path& data_dir)
      : db_(detail::open_read_only(data_dir)),
        hash_at_(db_, "SELECT hash FROM audit WHERE seq = ?1", detail::audit_errors, "cannot read a record's hash") {
    sqlite::Statement last(db_, "SELECT coalesce(max(seq), 0) FROM audit", detail::audit_errors,
                           "cannot read the last seq");
    if (last.next("cannot read the last seq")) last_seq_ = last.integer(0);
  }
  std::int64_t last_seq() const { return last_seq_; }
  std::optional<std::string> hash_at(std::int64_t seq) {
    hash_at_.reset();
    hash_at_.bind(1, seq);
    if (!hash_at_.next("cannot read a record's hash")) return std::nullopt;
    return hash_at_.text(0);
  }

 private:
  sqlite::Connection db_;
  sqlite::Statement hash_at_;
  std::int64_t last_seq_ = 0;
};

std::string short_hash(std::string_view hash) { return std::string(hash.substr(0, 16)); }

}  // namespace

UnverifiedPeerTrail::UnverifiedPeerTrail(std::filesystem::path database, std::vector<VerifyProblem> problems)
    : WitnessError(fmt::format("{}: the peer's trail does not verify, so none of its witnesses is used: seq {}: {}: {}{}",
                               database.string(), problems.at(0).seq, to_string(problems.at(0).kind),
                               problems.at(0).text,
                               problems.size() > 1 ? fmt::format(" (and {} more problem{})", problems.size() - 1,
                                                                 problems.size() == 2 ? "" : "s")
                                                   : "")),
      database_(std::move(database)),
      problems_(std::move(problems)) {}

std::string signed_bytes(const SignedHead& head) {
  return fmt::format("{}\nseq {}\nhash {}\nsigned_unix_ms {}\n", signed_head_format, head.seq, head.hash,
                     head.signed_unix_ms);
}

SignedHead sign_head(const std::filesystem::path& data_dir, const std::filesystem::path& key,
                     const std::filesystem::path& certificate, std::int64_t now_unix_ms) {
  const VerifyReport report = verify(data_dir);
  if (!report.intact()) {
    const VerifyProblem& first = report.problems.front();
    throw WitnessError(fmt::format("{}: the trail does not verify (seq {}: {}: {}); a head is signed only for an "
                                   "intact trail",
                                   database_path(data_dir).string(), first.seq, to_string(first.kind), first.text));
  }
  SignedHead head;
  head.seq = report.records;  // intact: seqs run 1..records
  head.hash = report.head_hash;
  head.signed_unix_ms = now_unix_ms;
  head.certificate_pem = pki::read_certificate_pem(certificate);
  head.signature = pki::sign(key, signed_bytes(head));
  return head;
}

SignedHead sign_head(const TrailHead& trail_head, const pki::SigningKey& key, std::string certificate_pem,
                     std::int64_t now_unix_ms) {
  SignedHead head;
  head.seq = trail_head.seq;
  head.hash = trail_head.hash;
  head.signed_unix_ms = now_unix_ms;
  head.certificate_pem = std::move(certificate_pem);
  head.signature = key.sign(signed_bytes(head));
  return head;
}

namespace {
boost::json::object witness_object(const SignedHead& head) {
  return {
      {"format", signed_head_format},
      {"gateway", pki::pem_common_name(head.certificate_pem)},
      {"seq", head.seq},
      {"hash", head.hash},
      {"signed_unix_ms", head.signed_unix_ms},
      {"signed_at", format_utc(head.signed_unix_ms)},
      {"signature", to_hex(reinterpret_cast<const std::uint8_t*>(head.signature.data()), head.signature.size())},
      {"certificate", head.certificate_pem},
  };
}
}  // namespace

AuditRecord witness_record(const std::string& peer_id, const SignedHead& head) {
  boost::json::object detail = witness_object(head);
  detail["peer_gateway"] = true;
  AuditRecord record;
  record.kind = "witness";
  record.node = peer_id;
  record.detail = boost::json::serialize(detail);
  return record;
}

std::vector<Witness> witnesses_from(const std::filesystem::path& peer_dir, const std::filesystem::path& ca) {
  if (!std::filesystem::exists(database_path(peer_dir)))
    throw WitnessError(fmt::format("{}: no audit trail here ({} does not exist)", peer_dir.string(),
                                   database_path(peer_dir).string()));
  // A witness is only as good as the trail that keeps it: a peer whose own
  // chain was altered may hold witness records altered with it.
  VerifyReport peer = verify(peer_dir);
  if (!peer.intact()) throw UnverifiedPeerTrail(database_path(peer_dir), std::move(peer.problems));
  const pki::TrustedCa trusted(ca);
  QueryFilter filter;
  filter.kind = "witness";
  std::vector<Witness> witnesses;
  for (const StoredRecord& stored : query(peer_dir, filter)) {
    const std::string source = fmt::format("{} seq {}", peer_dir.string(), stored.seq);
    SignedHead head = parse_witness(stored.record.detail, source);
    // The heads of the other gateways this peer witnesses: not ours to check.
    const pki::SignatureCheck check =
        trusted.check_signature(head.certificate_pem, signed_bytes(head), head.signature, head.signed_unix_ms);
    if (check.problem == pki::SignatureProblem::not_issued_by_ca ||
        check.problem == pki::SignatureProblem::unreadable_certificate)
      continue;
    witnesses.push_back({source, std::move(head)});
  }
  return witnesses;
}

std::optional<TrailHead> last_witnessed(const std::filesystem::path& data_dir, const std::string& peer_id) {
  const sqlite::Connection db = detail::open_read_only(data_dir);
  sqlite::Statement last(db, detail::select_columns() + " WHERE kind = 'witness' AND node = ?1 ORDER BY seq DESC LIMIT 1",
                         detail::audit_errors, "cannot read the last witness record");
  last.bind(1, peer_id);
  if (!last.next("cannot read the last witness record")) return std::nullopt;
  const StoredRecord stored = detail::read_stored_record(last);
  const SignedHead head =
      parse_witness(stored.record.detail, fmt::format("{} seq {}", database_path(data_dir).string(), stored.seq));
  return TrailHead{head.seq, head.hash};
}

std::string to_witness_json(const SignedHead& head) { return json::pretty(witness_object(head)) + "\n"; }

SignedHead parse_witness(std::string_view text, std::string_view source) {
  const auto fail = [source](std::string_view why) { throw WitnessError(fmt::format("{}: {}", source, why)); };
  const json::ParseResult parsed = json::parse(text);
  if (!parsed.error.empty()) fail(fmt::format("not JSON: {}", parsed.error));
  if (!parsed.value.is_object()) fail("not a witness: expected a JSON object");
  const auto string_member = [&](std::string_view key) -> std::string {
    const boost::json::value* value = json::member(parsed.value, key);
    if (value == nullptr || !value->is_string()) fail(fmt::format("\"{}\" is missing or not a string", key));
    return std::string(value->get_string());
  };
  const auto integer_member = [&](std::string_view key) -> std::int64_t {
    const boost::json::value* value = json::member(parsed.value, key);
    if (value == nullptr || !value->is_int64()) fail(fmt::format("\"{}\" is missing or not an integer", key));
    return value->get_int64();
  };
  if (const std::string format = string_member("format"); format != signed_head_format)
    fail(fmt::format("\"format\" is \"{}\", not \"{}\"", format, signed_head_format));
  SignedHead head;
  head.seq = integer_member("seq");
  if (head.seq < 0) fail(fmt::format("\"seq\" {} is negative", head.seq));
  head.hash = string_member("hash");
  if (!is_hash(head.hash)) fail("\"hash\" is not 64 lower-case hex digits");
  head.signed_unix_ms = integer_member("signed_unix_ms");
  const std::optional<std::string> signature = from_hex(string_member("signature"));
  if (!signature || signature->empty()) fail("\"signature\" is not hex");
  head.signature = *signature;
  head.certificate_pem = string_member("certificate");
  return head;
}

Witness read_witness(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw WitnessError(fmt::format("{}: cannot read the witness file", file.string()));
  std::ostringstream text;
  text << in.rdbuf();
  return {file.string(), parse_witness(text.str(), file.string())};
}

std::vector<VerifyProblem> check_witnesses(const std::filesystem::path& data_dir, const std::vector<Witness>& witnesses,
                                           const std::filesystem::path& ca) {
  for (const Witness& witness : witnesses) {
    const std::string why = pki::check_signature(witness.head.certificate_pem, signed_bytes(witness.head),
                                                 witness.head.signature, ca, witness.head.signed_unix_ms);
    if (!why.empty()) throw WitnessError(fmt::format("{}: not a trusted witness: {}", witness.source, why));
  }
  TrailReader trail(data_dir);
  std::vector<VerifyProblem> problems;
  for (const Witness& witness : witnesses) {
    const SignedHead& head = witness.head;
    const std::string when = format_utc(head.signed_unix_ms);
    const std::string signer = pki::pem_common_name(head.certificate_pem);
    if (head.seq > trail.last_seq()) {
      problems.push_back({head.seq, ProblemKind::truncated,
                          fmt::format("the trail ends at seq {}, but {} signed a head of {} records (hash {}...) at "
                                      "{} ({}): records {} to {} were removed",
                                      trail.last_seq(), signer, head.seq, short_hash(head.hash), when, witness.source,
                                      trail.last_seq() + 1, head.seq)});
      continue;
    }
    if (head.seq == 0) continue;  // an empty trail was witnessed: every trail extends it
    const std::optional<std::string> hash = trail.hash_at(head.seq);
    if (!hash) {
      problems.push_back({head.seq, ProblemKind::truncated,
                          fmt::format("the witnessed record is missing: {} signed it with hash {}... at {} ({})",
                                      signer, short_hash(head.hash), when, witness.source)});
    } else if (*hash != head.hash) {
      problems.push_back({head.seq, ProblemKind::rewritten,
                          fmt::format("its hash is {}..., but {} signed {}... for it at {} ({}): the trail was "
                                      "rewritten at or before this record",
                                      short_hash(*hash), signer, short_hash(head.hash), when, witness.source)});
    }
  }
  std::stable_sort(problems.begin(), problems.end(),
                   [](const VerifyProblem& a, const VerifyProblem& b) { return a.seq < b.seq; });
  return problems;
}

}  // namespace icegate::audit
