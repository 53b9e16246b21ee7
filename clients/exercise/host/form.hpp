// Reading the API's JSON bodies: every problem is an ApiError that names the
// field to blame ("portions[1].label.classification"), so the page can put
// the message beside the input. Reading changes nothing: a bad body is
// refused whole.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "clients/exercise/scenario.hpp"
#include "gateway/http/api.hpp"
#include "gateway/http/json_body.hpp"

namespace icegate::policy {
class CompiledPolicy;
}

namespace icegate::exercise::host {

struct ApiError {
  int status = 400;
  std::string error;
  std::string field;  // "" when no one field is to blame
};

http::Response error_response(const ApiError& error);

// Limits on what a page may send (docs/HOSTING.md).
inline constexpr std::size_t max_portions = 20;
inline constexpr std::size_t max_portion_body_bytes = 16 * 1024;
inline constexpr std::size_t max_text_bytes = 4 * 1024;  // titles, comments, observations, plan entries

// The body as a JSON object, or why not (415 for another content type, 413
// beyond `max_body_bytes`, 400 for JSON that is malformed or not an object).
std::variant<http::JsonValue, ApiError> read_body(const http::Request& request, std::size_t max_body_bytes);

// Typed access to an object's members with the field path for errors.
class Fields {
 public:
  Fields(const http::JsonValue& object, std::string prefix) : object_(object), prefix_(std::move(prefix)) {}
  // Every key must be one of `known`; else an error naming the first that is not.
  std::optional<ApiError> only(std::initializer_list<std::string_view> known) const;
  std::string path(std::string_view key) const { return prefix_ + std::string(key); }
  // Absent (or null) and not required: `fallback`. Present with the wrong type: an error.
  std::variant<std::string, ApiError> text(std::string_view key, bool required, std::size_t max_bytes = max_text_bytes) const;
  std::variant<bool, ApiError> flag(std::string_view key) const;
  std::variant<std::int64_t, ApiError> integer(std::string_view key, std::int64_t min, std::int64_t max) const;
  std::variant<double, ApiError> number(std::string_view key, double min, double max) const;
  std::variant<std::vector<std::string>, ApiError> texts(std::string_view key, std::size_t max_items) const;
  const http::JsonValue* get(std::string_view key) const;

 private:
  const http::JsonValue& object_;
  std::string prefix_;
};

// A message as a page writes it (the `api/send` body, or the `message` of a
// facilitator's on-the-spot inject), checked against the policy: addressees,
// category, purpose, every portion's classification and categories must exist.
struct ComposedMessage {
  MessageSpec spec;         // portions numbered "1", "2", ...; `not_after` from expires_after_minutes
  std::string in_reply_to;  // "" for a new message
};
// `prefix`: where the message sits in the body ("" or "message."); `now`: the
// scenario time, from which an expiry counts.
std::variant<ComposedMessage, ApiError> read_message(const http::JsonValue& body, const policy::CompiledPolicy& policy,
                                                     const std::string& prefix, Offset now);

// The message a seat's node sends: ids, originator, times and the overall label set.
Message to_message(const ComposedMessage& composed, const std::string& from, const policy::CompiledPolicy& policy,
                   std::int64_t t0_unix_ms, Offset now);

}  // namespace icegate::exercise::host
