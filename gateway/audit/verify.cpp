// `icegate audit verify`: checks the whole chain and reports every problem.
//
// verify() does not stop at the first broken link. It checks each record on
// its own (hash against content, indexed columns against the JSON), then
// rebuilds the chain from the records' own links (previous_hash -> hash) and
// compares that with the stored seq order, so that each tampering is reported
// once, as what it most plausibly was:
//   - a gap in seq is a deletion;
//   - two records claiming the same predecessor: the shorter branch was inserted;
//   - a record chained to no record, sitting between two records that chain to
//     each other: inserted; sitting after a record nothing chains to: that
//     record was rewritten and re-hashed (or the records after it deleted and
//     the rest renumbered; the chain alone cannot tell those apart);
//   - records whose chain order disagrees with their seq order: reordered
//     (the fewest records that explain it, by a longest increasing subsequence).
//
// Limitation: the chain carries no secret. Whoever can write the database can
// drop records from the end (truncate the tail), or rewrite a record and
// re-hash every record after it; either leaves a chain that verifies. Only a
// head hash and count kept elsewhere (printed by `icegate audit verify`)
// reveal that. SECURITY.md says so.
#include "gateway/audit/audit.hpp"

#include <algorithm>
#include <map>
#include <new>
#include <optional>
#include <set>
#include <stdexcept>
#include <unordered_map>
#include <utility>

#include <fmt/format.h>

#include "gateway/audit/canonical.hpp"
#include "gateway/audit/chain_hasher.hpp"
#include "gateway/audit/database.hpp"
#include "gateway/model/bloom.hpp"

namespace icegate::audit {

using namespace detail;

namespace {

// Problems keyed by (seq, kind): a second finding for the same record and kind
// is joined to the first, so each record has one line per kind.
class ProblemList {
 public:
  void add(std::int64_t seq, ProblemKind kind, std::string text) {
    const auto [entry, inserted] = index_.try_emplace({seq, kind}, problems_.size());
    if (inserted) {
      problems_.push_back({seq, kind, std::move(text)});
    } else {
      problems_[entry->second].text += "; " + text;
    }
  }
  bool has(std::int64_t seq, ProblemKind kind) const { return index_.count({seq, kind}) != 0; }
  std::vector<VerifyProblem> sorted() && {
    std::stable_sort(problems_.begin(), problems_.end(), [](const VerifyProblem& a, const VerifyProblem& b) {
      return std::pair(a.seq, a.kind) < std::pair(b.seq, b.kind);
    });
    return std::move(problems_);
  }

 private:
  std::vector<VerifyProblem> problems_;
  std::map<std::pair<std::int64_t, ProblemKind>, std::size_t> index_;
};

// One stored row, as the link analysis needs it.
struct ChainRow {
  std::int64_t seq = 0;
  std::string previous_hash;  // as stored, or corrected when only this field was changed
  std::string hash;           // as stored
  std::string computed_hash;  // chain_hash(stored previous_hash, record) when it differs from `hash`
  bool previous_hash_changed = false;  // the record was hashed after the preceding row, as expected
  bool linked_by_computed_hash = false;  // a later record chains to computed_hash: only `hash` was changed
  std::string content_problems;  // columns or JSON that disagree, "" if none
};

std::string quoted_column(std::string_view text) { return text.empty() ? "empty" : json_string(text); }

// Reasons a record's columns or JSON are not what append() wrote.
std::string check_content(const sqlite::Statement& row, std::string_view record_text, AuditRecord& parsed,
                          std::string& canonical) {
  if (!parse_record_json(record_text, parsed)) return "its record is not a valid audit record JSON object";
  std::string problems;
  auto add = [&problems](std::string text) {
    if (!problems.empty()) problems += "; ";
    problems += text;
  };
  const bool time_is_integer = row.type(column_time) == sqlite::Type::integer;  // before any conversion
  if (!time_is_integer || row.integer(column_time) != parsed.time_unix_ms) {
    add(fmt::format("its time_unix_ms column is {} but its record says {}",
                    quoted_column(row.text_view(column_time)), parsed.time_unix_ms));
  }
  const std::pair<Column, const std::string*> text_columns[] = {
      {column_kind, &parsed.kind},
      {column_node, &parsed.node},
      {column_recipient, &parsed.recipient},
      {column_message_id, &parsed.message_id},
      {column_decision, &parsed.decision},
  };
  for (const auto& [column, value] : text_columns) {
    const std::string_view stored = row.text_view(column);
    if (stored != *value) {
      add(fmt::format("its {} column is {} but its record says {}", row.name(column),
                      quoted_column(stored), quoted_column(*value)));
    }
  }
  canonical.clear();
  append_canonical_json(canonical, parsed);
  if (canonical != record_text) add("its record is not in canonical form");
  return problems;
}

// The blocks (audit_blocks, audit_block_parties) only narrow where a query
// looks, but a summary that leaves a record out would hide it from `query
// --node`, `--message-id`, `--since` or `--until`: the blocks must follow one
// another from seq 1 without gaps or overlaps and end within the trail, and
// each must list the node and recipient of every record in it, have its
// message id in its filter and span its times. A party
// listed that no record in the block has hides nothing, but was not written
// by the gateway either: it is reported too. (The node, recipient and time
// columns are checked against the hashed record above, so comparing with
// them is enough.)
void check_blocks(const sqlite::Connection& db, std::int64_t last_seq, ProblemList& problems) {
  if (!blocks_through(db)) return;  // a trail written before the blocks
  static constexpr std::string_view reading = "cannot read the audit blocks";
  std::set<std::int64_t> blocks;
  // Block by block, each block's filter read once (a few KB, often on
  // overflow pages: read with every record, it made verify 2.3 times slower).
  sqlite::Statement each_block(
      db, "SELECT first_seq, last_seq, min_time, max_time, messages FROM audit_blocks ORDER BY first_seq",
      audit_errors, reading);
  sqlite::Statement in_block(
      db,
      "SELECT a.seq, a.time_unix_ms, "
      "a.node IS NOT NULL AND NOT EXISTS "
      "(SELECT 1 FROM audit_block_parties p WHERE p.party = a.node AND p.first_seq = ?1), a.node, "
      "a.recipient IS NOT NULL AND NOT EXISTS "
      "(SELECT 1 FROM audit_block_parties p WHERE p.party = a.recipient AND p.first_seq = ?1), a.recipient, "
      "a.message_id FROM audit a WHERE a.seq BETWEEN ?1 AND ?2 ORDER BY a.seq",
      audit_errors, reading);
  std::string messages;
  std::int64_t next = 1;  // the first seq no block has covered yet
  while (each_block.next(reading)) {
    const std::int64_t first = each_block.integer(0), last = each_block.integer(1),
                       min_time = each_block.integer(2), max_time = each_block.integer(3);
    blocks.insert(first);
    if (first > next) {
      problems.add(next, ProblemKind::modified,
                   fmt::format("{} in no block (audit_blocks), though later records are: a query by node, message or time "
                               "would not find {}",
                               next == first - 1 ? fmt::format("seq {} is", next)
                                                 : fmt::format("seqs {} to {} are", next, first - 1),
                               next == first - 1 ? "it" : "them"));
    } else if (first < next) {
      problems.add(first, ProblemKind::modified,
                   fmt::format("the block (audit_blocks) from seq {} overlaps the one before it, which ends at seq {}",
                               first, next - 1));
    }
    if (last < first) {
      problems.add(first, ProblemKind::modified,
                   fmt::format("the block (audit_blocks) from seq {} ends before it begins, at seq {}", first, last));
    } else if (last > last_seq) {
      problems.add(last, ProblemKind::modified,
                   fmt::format("the block (audit_blocks) from seq {} ends at seq {}, which is not in the trail (its "
                               "last record is seq {})",
                               first, last, last_seq));
    }
    next = std::max(next, last + 1);

    messages.assign(each_block.text_view(4));
    const bool filter_ok = bloom::Bytes::well_formed(messages);
    in_block.bind(1, first).bind(2, last);
    while (in_block.next(reading)) {
      const std::int64_t seq = in_block.integer(0), time = in_block.integer(1);
      const std::string_view message_id = in_block.text_view(6);
      if (!message_id.empty() && !filter_ok) {
        problems.add(seq, ProblemKind::modified,
                     fmt::format("its block's (audit_blocks, from seq {}) message filter is not a filter ({} bytes, "
                                 "not a whole number of {}-byte blocks)",
                                 first, messages.size(), bloom::block_bytes));
      } else if (!message_id.empty() && !bloom::Bytes::may_contain(messages, message_id)) {
        problems.add(seq, ProblemKind::modified,
                     fmt::format("its block's (audit_blocks, from seq {}) message filter does not have its message "
                                 "id {}: a query by that message would not find it",
                                 first, quoted_column(message_id)));
      }
      if (time < min_time || time > max_time) {
        problems.add(seq, ProblemKind::modified,
                     fmt::format("its time {} is outside its block's (audit_blocks, from seq {}), {} to {}: a query "
                                 "by time would not find it",
                                 time, first, min_time, max_time));
      }
      for (const int column : {2, 4}) {
        if (in_block.integer(column) == 0) continue;
        problems.add(seq, ProblemKind::modified,
                     fmt::format("its block (audit_blocks, from seq {}) does not list its {} {} "
                                 "(audit_block_parties): a query by that node would not find it",
                                 first, column == 2 ? "node" : "recipient",
                                 quoted_column(in_block.text_view(column + 1))));
      }
    }
    in_block.reset();
  }

  sqlite::Statement stray(
      db,
      "SELECT first_seq, party FROM audit_block_parties "
      "EXCEPT SELECT b.first_seq, a.node FROM audit_blocks b CROSS JOIN audit a "
      "ON a.seq BETWEEN b.first_seq AND b.last_seq WHERE a.node IS NOT NULL "
      "EXCEPT SELECT b.first_seq, a.recipient FROM audit_blocks b CROSS JOIN audit a "
      "ON a.seq BETWEEN b.first_seq AND b.last_seq WHERE a.recipient IS NOT NULL "
      "ORDER BY 1, 2",
      audit_errors, reading);
  while (stray.next(reading)) {
    const std::int64_t first = stray.integer(0);
    problems.add(first, ProblemKind::modified,
                 blocks.count(first) == 0
                     ? fmt::format("audit_block_parties lists {} for a block from seq {}, which audit_blocks does "
                                   "not have",
                                   quoted_column(stray.text_view(1)), first)
                     : fmt::format("the block (audit_blocks) from seq {} lists {} (audit_block_parties), who is the "
                                   "node or recipient of no record in it",
                                   first, quoted_column(stray.text_view(1))));
  }
}

std::string seq_range(std::int64_t first, std::int64_t last) {
  return first == last ? fmt::format("seq {}", first) : fmt::format("seqs {} to {}", first, last);
}

// The link analysis over rows in seq order; see the comment at the top.
class ChainAnalysis {
 public:
  ChainAnalysis(const std::vector<ChainRow>& rows, ProblemList& problems)
      : rows_(rows), problems_(problems), size_(rows.size()) {}

  void run() {
    link();
    break_cycles();
    resolve_forks();
    explain_unchained_records();
    report_gaps();
    report_reordering();
  }

  // A later record chains to this record's recomputed hash: only its hash field was changed.
  bool linked_via_computed(std::size_t position) const { return linked_via_computed_[position]; }

 private:
  static constexpr std::ptrdiff_t genesis = -1;   // parent: chained to the genesis hash
  static constexpr std::ptrdiff_t unchained = -2;  // parent: chained to no record

  std::int64_t seq(std::size_t position) const { return rows_[position].seq; }
  // The pseudo-node for "the genesis hash" is position size_.
  std::size_t node(std::ptrdiff_t parent) const {
    return parent == genesis ? size_ : static_cast<std::size_t>(parent);
  }

  void link() {
    std::unordered_map<std::string_view, std::size_t> position_of_hash;
    position_of_hash.reserve(size_ * 2);
    excluded_.assign(size_, false);
    for (std::size_t position = 0; position < size_; ++position) {
      const auto [existing, inserted] = position_of_hash.try_emplace(rows_[position].hash, position);
      if (!inserted) {
        excluded_[position] = true;
        problems_.add(seq(position), ProblemKind::inserted,
                      fmt::format("it has the same hash as seq {}: a copy of that record", seq(existing->second)));
      }
    }
    for (std::size_t position = 0; position < size_; ++position) {
      if (!rows_[position].computed_hash.empty()) position_of_hash.try_emplace(rows_[position].computed_hash, position);
    }
    parent_.assign(size_, unchained);
    linked_via_computed_.assign(size_, false);
    for (std::size_t position = 0; position < size_; ++position) {
      if (excluded_[position]) continue;
      const std::string& previous = rows_[position].previous_hash;
      if (previous == genesis_hash) {
        parent_[position] = genesis;
      } else if (const auto found = position_of_hash.find(previous);
                 found != position_of_hash.end() && found->second != position && !excluded_[found->second]) {
        parent_[position] = static_cast<std::ptrdiff_t>(found->second);
        if (previous != rows_[found->second].hash) linked_via_computed_[found->second] = true;
      }
    }
    // Children of each node (and of the genesis pseudo-node), as compressed rows.
    child_begin_.assign(size_ + 2, 0);
    for (std::size_t position = 0; position < size_; ++position) {
      if (!excluded_[position] && parent_[position] != unchained) ++child_begin_[node(parent_[position]) + 1];
    }
    for (std::size_t index = 1; index < child_begin_.size(); ++index) child_begin_[index] += child_begin_[index - 1];
    children_.assign(child_begin_.back(), 0);
    std::vector<std::size_t> fill(child_begin_.begin(), child_begin_.end() - 1);
    for (std::size_t position = 0; position < size_; ++position) {
      if (!excluded_[position] && parent_[position] != unchained) children_[fill[node(parent_[position])]++] = position;
    }
  }

  // The children still chained to `parent_node` (edges change as cycles are
  // broken and branches excluded).
  template <typename Visit>
  void for_each_child(std::size_t parent_node, Visit visit) const {
    for (std::size_t index = child_begin_[parent_node]; index < child_begin_[parent_node + 1]; ++index) {
      const std::size_t child = children_[index];
      if (!excluded_[child] && parent_[child] != unchained && node(parent_[child]) == parent_node) visit(child);
    }
  }

  // Depth-first from `root`, appending to order_.
  void visit_from(std::size_t root) {
    std::vector<std::size_t> stack{root};
    visited_[root] = true;
    while (!stack.empty()) {
      const std::size_t current = stack.back();
      stack.pop_back();
      order_.push_back(current);
      for_each_child(current, [&](std::size_t child) {
        if (!visited_[child]) {
          visited_[child] = true;
          stack.push_back(child);
        }
      });
    }
  }

  // Hash fields can be set to anything, so links can form a loop that no
  // root reaches. Cut each loop at its first record in seq order, then count
  // each record's descendants (used to tell the real branch of a fork).
  void break_cycles() {
    visited_.assign(size_, false);
    order_.clear();
    order_.reserve(size_);
    for (std::size_t position = 0; position < size_; ++position) {
      if (!excluded_[position] && parent_[position] < 0) visit_from(position);
    }
    for (std::size_t position = 0; position < size_; ++position) {
      if (excluded_[position] || visited_[position]) continue;
      parent_[position] = unchained;
      visit_from(position);
    }
    descendants_.assign(size_, 1);
    for (auto current = order_.rbegin(); current != order_.rend(); ++current) {
      if (parent_[*current] >= 0) descendants_[static_cast<std::size_t>(parent_[*current])] += descendants_[*current];
    }
  }

  // Two records chained to the same predecessor: the one with the longer
  // continuation (then the earlier seq) is the chain; the other branch was inserted.
  void resolve_forks() {
    next_.assign(size_ + 1, -1);
    auto resolve = [&](std::size_t parent_node) {
      std::ptrdiff_t best = -1;
      for_each_child(parent_node, [&](std::size_t child) {
        if (best < 0 || descendants_[child] > descendants_[static_cast<std::size_t>(best)]) {
          best = static_cast<std::ptrdiff_t>(child);
        }
      });
      next_[parent_node] = best;
      if (best < 0) return;
      std::vector<std::size_t> forged;
      for_each_child(parent_node, [&](std::size_t child) {
        if (static_cast<std::ptrdiff_t>(child) != best) forged.push_back(child);
      });
      for (const std::size_t head : forged) {
        const std::string reason =
            parent_node == size_
                ? fmt::format("it claims to be the first record of the chain (its previous_hash is the genesis "
                              "hash), as does seq {}",
                              seq(static_cast<std::size_t>(best)))
                : fmt::format("it claims to follow seq {} in the chain, but seq {} does", seq(parent_node),
                              seq(static_cast<std::size_t>(best)));
        exclude_branch(head, reason);
      }
    };
    resolve(size_);
    for (const std::size_t current : order_) {
      if (!excluded_[current]) resolve(current);
    }
  }

  // Marks `head` and everything chained after it as inserted.
  void exclude_branch(std::size_t head, const std::string& reason) {
    std::vector<std::size_t> stack{head};
    while (!stack.empty()) {
      const std::size_t current = stack.back();
      stack.pop_back();
      for_each_child(current, [&](std::size_t child) { stack.push_back(child); });
      excluded_[current] = true;
      problems_.add(seq(current), ProblemKind::inserted,
                    current == head ? reason
                                    : fmt::format("it is chained to the inserted record at seq {}", seq(head)));
    }
  }

  bool gap_before(std::size_t position) const {
    return position == 0 ? seq(0) > 1 : seq(position) > seq(position - 1) + 1;
  }

  // A record chained to no record: explain the missing link once.
  void explain_unchained_records() {
    for (std::size_t root = 0; root < size_; ++root) {
      if (excluded_[root] || parent_[root] != unchained) continue;
      if (gap_before(root)) continue;  // a deletion, reported by report_gaps
      std::ptrdiff_t before = static_cast<std::ptrdiff_t>(root) - 1;
      while (before >= 0 && excluded_[static_cast<std::size_t>(before)]) --before;
      if (before < 0) {
        problems_.add(seq(root), ProblemKind::deleted,
                      "the chain does not start at the genesis hash and this record's previous_hash matches no "
                      "record: the records before it were deleted and the rest renumbered, or its "
                      "previous_hash was rewritten");
        continue;
      }
      const auto previous = static_cast<std::size_t>(before);
      if (next_[previous] >= 0) {
        // The record before it is chained onward elsewhere: this run was spliced in.
        const std::string reason =
            fmt::format("its previous_hash matches no record, and seq {} is followed in the chain by seq {}",
                        seq(previous), seq(static_cast<std::size_t>(next_[previous])));
        for (std::ptrdiff_t current = static_cast<std::ptrdiff_t>(root); current >= 0;) {
          const auto position = static_cast<std::size_t>(current);
          excluded_[position] = true;
          problems_.add(seq(position), ProblemKind::inserted,
                        position == root ? reason
                                         : fmt::format("it is chained to the inserted record at seq {}", seq(root)));
          current = next_[position];
        }
      } else if (!rows_[root].computed_hash.empty()) {
        // The unchained record was itself changed, so its previous_hash may be
        // what was changed. Still name this record: it may have been re-hashed.
        problems_.add(seq(previous), ProblemKind::modified,
                      fmt::format("the next record, seq {}, which was itself changed, is chained to a different "
                                  "hash: either seq {}'s previous_hash was changed, or this record was changed "
                                  "and its hash recomputed",
                                  seq(root), seq(root)));
      } else {
        // Nothing chains to this record, and the next one chains to no record.
        const bool root_is_last = root + 1 == size_;
        problems_.add(seq(previous), ProblemKind::modified,
                      fmt::format("the next record, seq {}, is chained to a different hash: this record was "
                                  "changed and its hash recomputed, or records after it were deleted and the "
                                  "rest renumbered{}",
                                  seq(root),
                                  root_is_last ? fmt::format(", or seq {} was added with a made-up previous_hash",
                                                             seq(root))
                                               : std::string()));
      }
    }
  }

  void report_gaps() {
    for (std::size_t position = 0; position < size_; ++position) {
      if (!gap_before(position)) continue;
      const std::int64_t first_missing = position == 0 ? 1 : seq(position - 1) + 1;
      const std::int64_t last_missing = seq(position) - 1;
      std::string text = last_missing == first_missing
                             ? fmt::format("seq {} is missing", first_missing)
                             : fmt::format("seqs {} to {} are missing ({} records)", first_missing, last_missing,
                                           last_missing - first_missing + 1);
      const std::ptrdiff_t parent = parent_[position];
      if (position > 0 && parent == static_cast<std::ptrdiff_t>(position - 1)) {
        text += fmt::format(", yet seq {} is chained straight to seq {}: the chain was re-hashed after the "
                            "deletion, or the rows were renumbered",
                            seq(position), seq(position - 1));
      } else if (position == 0 && parent == genesis) {
        text += fmt::format(", yet seq {} is chained to the genesis hash: the chain was re-hashed after the "
                            "deletion, or the rows were renumbered",
                            seq(position));
      } else if (parent == unchained && !excluded_[position]) {
        text += fmt::format(" (seq {}'s previous_hash matches no record)", seq(position));
      }
      problems_.add(first_missing, ProblemKind::deleted, std::move(text));
    }
  }

  // Orders the remaining records by the chain (from the genesis record, then
  // each unchained run in seq order) and reports those that a longest
  // increasing subsequence of positions leaves out: the fewest records whose
  // moving explains the order.
  void report_reordering() {
    std::vector<std::size_t> chain_order;
    chain_order.reserve(size_);
    std::vector<bool> placed(size_, false);
    auto walk = [&](std::ptrdiff_t start) {
      for (std::ptrdiff_t current = start; current >= 0 && !placed[static_cast<std::size_t>(current)];
           current = next_[static_cast<std::size_t>(current)]) {
        placed[static_cast<std::size_t>(current)] = true;
        chain_order.push_back(static_cast<std::size_t>(current));
      }
    };
    walk(next_[size_]);
    for (std::size_t position = 0; position < size_; ++position) {
      if (!excluded_[position] && !placed[position] && parent_[position] == unchained) walk(position);
    }
    for (std::size_t position = 0; position < size_; ++position) {  // only if something above is amiss
      if (!excluded_[position] && !placed[position]) walk(static_cast<std::ptrdiff_t>(position));
    }

    // The longest increasing subsequence of positions along chain_order; of
    // those, the one keeping most records whose rank in the chain is their
    // rank in seq order (so swapping 7 and 9 around 8 reports 7 and 9, not 8).
    // A Fenwick tree over positions gives the best subsequence ending below
    // each position in O(log n).
    struct Best {
      std::int64_t length = 0;
      std::int64_t in_place = 0;
      std::ptrdiff_t last = -1;  // index in chain_order
      bool operator<(const Best& other) const {
        return std::pair(length, in_place) < std::pair(other.length, other.in_place);
      }
    };
    std::vector<Best> tree(size_ + 1);
    auto best_below = [&tree](std::size_t position) {
      Best best;
      for (std::size_t index = position; index > 0; index -= index & (~index + 1)) {
        if (best < tree[index]) best = tree[index];
      }
      return best;
    };
    std::vector<std::size_t> rank_in_seq_order(size_, 0);
    for (std::size_t position = 0, rank = 0; position < size_; ++position) {
      if (!excluded_[position]) rank_in_seq_order[position] = rank++;
    }
    std::vector<std::ptrdiff_t> predecessor(chain_order.size(), -1);
    for (std::size_t index = 0; index < chain_order.size(); ++index) {
      const std::size_t position = chain_order[index];
      const Best before = best_below(position);
      predecessor[index] = before.last;
      const Best ending_here{before.length + 1, before.in_place + (rank_in_seq_order[position] == index ? 1 : 0),
                             static_cast<std::ptrdiff_t>(index)};
      for (std::size_t node = position + 1; node <= size_; node += node & (~node + 1)) {
        if (tree[node] < ending_here) tree[node] = ending_here;
      }
    }
    std::vector<bool> in_order(chain_order.size(), false);
    for (std::ptrdiff_t index = best_below(size_).last; index >= 0;
         index = predecessor[static_cast<std::size_t>(index)]) {
      in_order[static_cast<std::size_t>(index)] = true;
    }

    // One problem per block of moved records that are adjacent both in the
    // chain and in seq order.
    for (std::size_t index = 0; index < chain_order.size();) {
      if (in_order[index]) {
        ++index;
        continue;
      }
      std::size_t end = index + 1;
      while (end < chain_order.size() && !in_order[end] && chain_order[end] == chain_order[end - 1] + 1) ++end;
      const std::size_t first = chain_order[index];
      const std::size_t last = chain_order[end - 1];
      const bool one = first == last;
      const std::string moved =
          one ? std::string("it")
              : fmt::format("{} ({} records, moved together)", seq_range(seq(first), seq(last)), end - index);
      const std::string_view belongs = one ? "belongs" : "belong";
      const std::string_view whose = one ? "its" : "the first one's";
      const std::ptrdiff_t parent = parent_[first];
      std::string text;
      if (parent == genesis) {
        text = fmt::format("{} {} at the start of the chain: {} previous_hash is the genesis hash", moved, belongs,
                           whose);
      } else if (parent >= 0) {
        const std::int64_t parent_seq = seq(static_cast<std::size_t>(parent));
        text = fmt::format("{} {} right after seq {}: {} previous_hash is the hash of seq {}", moved, belongs,
                           parent_seq, whose, parent_seq);
      } else {
        text = fmt::format("{} {} elsewhere: {} stored out of chain order", moved, belongs, one ? "it is" : "they are");
      }
      problems_.add(seq(first), ProblemKind::reordered, std::move(text));
      index = end;
    }
  }

  const std::vector<ChainRow>& rows_;
  ProblemList& problems_;
  const std::size_t size_;
  std::vector<bool> excluded_;  // duplicates and inserted records: not part of the chain
  std::vector<std::ptrdiff_t> parent_;
  std::vector<bool> linked_via_computed_;
  std::vector<std::size_t> child_begin_;
  std::vector<std::size_t> children_;
  std::vector<bool> visited_;
  std::vector<std::size_t> order_;        // depth-first from the roots
  std::vector<std::int64_t> descendants_;  // including the record itself
  std::vector<std::ptrdiff_t> next_;      // the chain's successor of each node (size_: genesis), or -1
};

}  // namespace

std::string_view to_string(ProblemKind kind) {
  switch (kind) {
    case ProblemKind::modified: return "modified";
    case ProblemKind::deleted: return "deleted";
    case ProblemKind::inserted: return "inserted";
    case ProblemKind::reordered: return "reordered";
    case ProblemKind::truncated: return "truncated";
    case ProblemKind::rewritten: return "rewritten";
  }
  return "unknown";
}

VerifyReport verify(const std::filesystem::path& data_dir) {
  const sqlite::Connection db = open_read_only(data_dir);
  static constexpr std::string_view reading = "cannot read the audit table";
  sqlite::Statement select(db, select_columns() + " ORDER BY seq", audit_errors, reading);

  ProblemList problems;
  std::vector<ChainRow> rows;
  ChainHasher hasher;
  AuditRecord parsed;
  std::string canonical;
  char computed[ChainHasher::hex_size];
  while (select.next(reading)) {
    const sqlite::Statement& row = select;
    ChainRow& chain_row = rows.emplace_back();
    chain_row.seq = row.integer(column_seq);
    chain_row.previous_hash = row.text_view(column_previous_hash);
    chain_row.hash = row.text_view(column_hash);
    const std::string_view record_text = row.text_view(column_record);

    // On its own: does the hash match the content, and the columns the JSON?
    hasher.hash(chain_row.previous_hash, record_text, computed);
    if (std::string_view(computed, sizeof computed) != chain_row.hash) {
      chain_row.computed_hash.assign(computed, sizeof computed);
      // If the record hashes correctly after the row before it, only its
      // previous_hash field was changed: link it where it was written.
      const std::string_view expected_previous =
          rows.size() == 1 ? genesis_hash : std::string_view(rows[rows.size() - 2].hash);
      hasher.hash(expected_previous, record_text, computed);
      if (std::string_view(computed, sizeof computed) == chain_row.hash) {
        chain_row.previous_hash_changed = true;
        chain_row.previous_hash.assign(expected_previous);
      }
    }
    chain_row.content_problems = check_content(row, record_text, parsed, canonical);
  }

  ChainAnalysis analysis(rows, problems);
  analysis.run();

  for (std::size_t position = 0; position < rows.size(); ++position) {
    const ChainRow& row = rows[position];
    std::string hash_problem;
    if (row.previous_hash_changed) {
      hash_problem = "its previous_hash was changed after it was written (its content and hash are intact)";
    } else if (!row.computed_hash.empty()) {
      hash_problem = analysis.linked_via_computed(position)
                         ? "its hash was changed after it was written (its content is intact)"
                         : "its hash does not match its content: the record was changed after it was written";
    }
    if (!hash_problem.empty()) problems.add(row.seq, ProblemKind::modified, std::move(hash_problem));
    if (!row.content_problems.empty()) problems.add(row.seq, ProblemKind::modified, row.content_problems);
  }

  check_blocks(db, rows.empty() ? 0 : rows.back().seq, problems);

  VerifyReport report;
  report.records = static_cast<std::int64_t>(rows.size());
  report.head_hash = rows.empty() ? std::string(genesis_hash) : rows.back().hash;
  report.problems = std::move(problems).sorted();
  return report;
}

}  // namespace icegate::audit
