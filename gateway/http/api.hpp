// The dashboard's HTTP exchange as plain data, so that everything except the
// socket work (gateway/http/http_server.cpp, the one Beast translation unit)
// can be tested without a network.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace icegate::http {

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path and query, as sent: "/api/messages/ID?token=..."
  std::string host;            // Host header
  std::string origin;          // Origin header (browsers send it on POST and WebSocket)
  std::string authorization;   // Authorization header
  std::string content_type;
  std::string body;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // beyond Content-Type and security headers
};

// The headers every answer carries: its Content-Security-Policy, no MIME
// sniffing, no Referer (secrets and tokens travel in URLs), and no caching of
// data (JSON and plain text).
void add_security_headers(Response& response, std::string_view content_security_policy);

// {"error":"..."} with a status.
Response error_response(int status, std::string_view message);
Response json_response(std::string body, int status = 200);

// The path of a target without its query; the value of one query parameter
// (percent-decoded), or empty.
std::string_view target_path(std::string_view target);
std::string query_parameter(std::string_view target, std::string_view name);
// Decodes %XX and '+'; false for a malformed escape.
bool percent_decode(std::string_view text, std::string& out);

}  // namespace icegate::http
