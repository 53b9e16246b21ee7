// The after-action report as a Mermaid sequence diagram (report.hpp).
#include <fmt/format.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "clients/exercise/report.hpp"
#include "clients/exercise/report_text.hpp"

namespace icegate::exercise {

// ===========================================================================
// Mermaid
// ===========================================================================

namespace {

// Text Mermaid shows verbatim: no statement separators (;), entity codes (#),
// quotes, angle brackets (read as HTML) or line breaks; at most ~60 characters.
std::string mermaid_text(std::string_view text, std::size_t limit = 60) {
  std::string out;
  for (const char c : text) {
    switch (c) {
      case ';':
        out += ',';
        break;
      case '#':
        out += "no.";
        break;
      case '"':
        out += '\'';
        break;
      case '<':
        out += '(';
        break;
      case '>':
        out += ')';
        break;
      case '\n':
      case '\r':
      case '\t':
        out += ' ';
        break;
      case '%':  // "%%" would start a comment
        if (!out.empty() && out.back() == '%') out += ' ';
        out += '%';
        break;
      default:
        if (static_cast<unsigned char>(c) >= 0x20) out.push_back(c);
    }
  }
  return truncate_utf8(out, limit);
}

bool mermaid_keyword(std::string_view id) {
  static const std::set<std::string> keywords = {"participant",
                                                 "actor",
                                                 "as",
                                                 "note",
                                                 "over",
                                                 "left",
                                                 "right",
                                                 "of",
                                                 "loop",
                                                 "alt",
                                                 "else",
                                                 "opt",
                                                 "par",
                                                 "and",
                                                 "rect",
                                                 "end",
                                                 "critical",
                                                 "break",
                                                 "box",
                                                 "activate",
                                                 "deactivate",
                                                 "autonumber",
                                                 "title",
                                                 "links",
                                                 "link",
                                                 "properties",
                                                 "details",
                                                 "create",
                                                 "destroy",
                                                 "option",
                                                 "sequencediagram",
                                                 "gw"};
  std::string lower(id);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  return keywords.count(lower) > 0;
}

// Mermaid ids may not contain hyphens (they read as arrows): map each node id
// to letters, digits and underscores, unique within the diagram.
class MermaidAliases {
 public:
  MermaidAliases() { used_.insert("gw"); }
  const std::string& alias(const std::string& node) {
    auto found = aliases_.find(node);
    if (found != aliases_.end()) return found->second;
    std::string alias;
    for (const char c : node) alias.push_back(std::isalnum(static_cast<unsigned char>(c)) ? c : '_');
    if (alias.empty() || std::isdigit(static_cast<unsigned char>(alias.front())) || mermaid_keyword(alias) ||
        alias.front() == 'x' || alias.front() == 'X' || alias.front() == '_')
      alias = "n_" + alias;  // "x..." could read as a cross arrow head after "--"
    std::string unique = alias;
    for (int n = 2; used_.count(unique); ++n) unique = fmt::format("{}_{}", alias, n);
    used_.insert(unique);
    return aliases_.emplace(node, unique).first->second;
  }

 private:
  std::map<std::string, std::string> aliases_;
  std::set<std::string> used_;
};

}  // namespace

std::string to_mermaid(const RunResult& result) {
  using K = TimelineEntry::Kind;
  std::string out = "sequenceDiagram\n";
  out += fmt::format("    %% {} under {} {}\n",
                     mermaid_text(result.scenario_title.empty() ? result.scenario : result.scenario_title, 80),
                     mermaid_text(result.policy_name, 40), mermaid_text(result.policy_version, 24));

  // Participants: the nodes that appear in the timeline, in the run's order.
  std::set<std::string> took_part;
  for (const TimelineEntry& e : result.timeline) {
    if (!e.node.empty()) took_part.insert(e.node);
    if (!e.from.empty()) took_part.insert(e.from);
  }
  MermaidAliases aliases;
  out += "    participant gw as gateway\n";
  for (const std::string& node : all_nodes(result)) {
    if (took_part.count(node))
      out += fmt::format("    participant {} as {}\n", aliases.alias(node), mermaid_text(node, 60));
  }

  auto line = [&](const std::string& text) { out += "    " + text + "\n"; };
  for (const TimelineEntry& e : result.timeline) {
    const std::string when = scenario_time_text(e.at);
    const std::string id = inject_key(e);
    switch (e.kind) {
      case K::inject:
      case K::response:
      case K::contingency: {
        if (e.node.empty()) break;
        const std::string& actor = aliases.alias(e.node);
        const char* what = e.kind == K::contingency ? " (contingency)" : "";
        if (!e.message_id.empty() || e.detail.empty() || !e.title.empty()) {
          line(fmt::format("{}->>gw: {}", actor, mermaid_text(fmt::format("{} {}{} {}", when, id, what, e.title))));
        } else {
          line(fmt::format("{}->>gw: {}", actor,
                           mermaid_text(fmt::format("{} {}{} triggers {}", when, id, what, e.detail))));
        }
        const std::string synopsis = synopsis_of(e);
        if (!synopsis.empty() && synopsis != e.title)
          line(fmt::format("Note over {}: {}", actor, mermaid_text(synopsis)));
        break;
      }
      case K::delivered: {
        if (e.node.empty()) break;
        std::string marking;
        if (!e.released.empty()) marking = portion_labels(e.released);
        line(fmt::format("gw->>{}: {}", aliases.alias(e.node),
                         mermaid_text(fmt::format("{} {} {} {}", when, id, to_string(e.decision), marking))));
        break;
      }
      case K::decision: {
        if (e.node.empty()) break;
        if (e.decision == Decision::deny) {
          line(fmt::format("gw--x{}: {}", aliases.alias(e.node),
                           mermaid_text(fmt::format("{} {} DENY {}", when, id, e.reason))));
        } else if (e.decision == Decision::hold) {
          line(fmt::format(
              "Note over gw,{}: {}", aliases.alias(e.node),
              mermaid_text(fmt::format("{} {} HOLD for {}", when, id, e.held_for.empty() ? "review" : e.held_for))));
        }
        break;  // releases are drawn as their deliveries
      }
      case K::review_request:
        if (e.node.empty()) break;
        line(fmt::format("gw-->>{}: {}", aliases.alias(e.node),
                         mermaid_text(fmt::format("{} {} review requested", when, id))));
        break;
      case K::review:
        if (e.node.empty()) break;
        line(fmt::format(
            "{}-->>gw: {}", aliases.alias(e.node),
            mermaid_text(fmt::format("{} {} review {}", when, id, e.detail.empty() ? "answered" : e.detail))));
        break;
      case K::event:
        line(fmt::format("Note over gw: {}",
                         mermaid_text(fmt::format("{} event {}", when, e.detail.empty() ? e.title : e.detail))));
        break;
      case K::error:
        if (e.node.empty()) break;
        line(fmt::format("gw--x{}: {}", aliases.alias(e.node),
                         mermaid_text(fmt::format("{} error {}", when, e.detail))));
        break;
      case K::human: {
        if (e.node.empty()) break;
        // The refusal's `--x` (an error entry) follows when the gateway refused it.
        line(fmt::format("{}->>gw: {}", aliases.alias(e.node),
                         mermaid_text(fmt::format("{} {}", when, action_summary(action_of(result, e), e)))));
        break;
      }
      case K::media:
        line(fmt::format("Note over gw: {}", mermaid_text(fmt::format("{} media {}", when, e.detail))));
        break;
    }
  }
  return out;
}

}  // namespace icegate::exercise
