// The audit record's canonical JSON, inside the audit library: the one writer
// whose bytes are hashed into the chain (so its output is a contract: old
// trails must still verify), and the reader that takes a record back from it.
// Not part of the public interface (gateway/audit/audit.hpp is).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "gateway/audit/audit.hpp"

namespace icegate::audit::detail {

// Appends `text` as a JSON string literal (the escaping json_string documents).
void append_json_string(std::string& out, std::string_view text);
// `text` without surrounding white space if it is exactly one JSON object.
std::optional<std::string_view> json_object_text(std::string_view text);
// A record's `detail` as canonical_json embeds it: the object as it is, or
// its text as a JSON string.
void append_detail_json(std::string& out, std::string_view detail);
// Appends canonical_json(record) to `out` (no allocation once `out` has grown).
void append_canonical_json(std::string& out, const AuditRecord& record);
// Reads a record back from its JSON (canonical or not; unknown keys are
// skipped). A `detail` object is kept as its text (and detail_is_object
// set), a `detail` string as the string (and detail_is_object clear), so
// canonical_json(parsed) reproduces a canonical input exactly.
bool parse_record_json(std::string_view text, AuditRecord& record);

}  // namespace icegate::audit::detail
