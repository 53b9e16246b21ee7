// Message descriptions a person writes (YAML or JSON; JSON is read as YAML),
// turned into the gateway's Message. The format is documented in
// clients/README.md:
//
//   title: CT neighbourhood problem profile - Sparkhill
//   to: [council-prevent, "role:npt-officer", "list:local-partners", "org:birmingham-cc"]
//   category: ct-problem-profile
//   purpose: prevent
//   scheme: gsc-2014                 # optional: the scheme its labels are under
//   label: {classification: SECRET, categories: [UK EYES ONLY]}   # optional
//   portions:
//     - id: summary                      # optional; "1", "2", ... by position
//       label: RESTRICTED                # or {classification: ..., categories: [...]}
//       body: |
//         text
//
// Without `label`, the message's label is left empty and the gateway fills in
// the least upper bound of the portions' labels.
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>

#include "gateway/model/message.hpp"

namespace icegate::node {

// what() is "file:line:col: message" naming the offending key or value.
class MessageFileError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Parses a description. The result has a fresh UUID (unless the file gives
// `id`), originator = `originator`, created = now.
Message parse_message_text(std::string_view text, std::string_view source_name,
                           std::string_view originator);
Message load_message_file(const std::filesystem::path& file, std::string_view originator);

// "council-prevent" -> node; "role:x", "list:x", "org:x", "node:x" -> that kind.
Addressee parse_addressee(std::string_view text);
// "SECRET" or "SECRET/UK EYES ONLY/PERSONAL": icegate::parse_label_text, with
// what was wrong thrown as std::invalid_argument (for message files and the CLI).
Label parse_label_text(std::string_view text);

}  // namespace icegate::node
