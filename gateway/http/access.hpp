// Who may use the dashboard. Bound to loopback, anyone on this machine may
// (no token); bound to any other address, every request must carry the access
// token, compared in constant time. Independently of the token, requests a
// browser makes on behalf of another web site are refused: a POST or a
// WebSocket whose Origin is not this server's own, and, on loopback, a Host
// that is not a loopback name (a DNS-rebinding page).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "gateway/http/api.hpp"

namespace icegate::http {

struct AccessPolicy {
  bool loopback = true;  // the bind address is a loopback address (127.0.0.0/8 or ::1)
  std::string token;     // when set (always, beyond loopback), every data request must carry it
};

// Whether an address (as text) is loopback: 127.0.0.0/8 or ::1 (and IPv4-mapped ::ffff:127.x).
bool is_loopback_address(std::string_view address);
// 32 random bytes from OpenSSL, hex (64 characters).
std::string random_token();
// Equal, taking the same time wherever the first difference lies.
bool constant_time_equal(std::string_view a, std::string_view b);
// The token a request carries: "Authorization: Bearer TOKEN", else ?token=TOKEN.
std::optional<std::string> presented_token(const Request& request);
// Whether the Host header names a loopback host (localhost, 127.x.y.z, [::1]), any port.
bool host_is_loopback(std::string_view host);

// The policy for a bind address: loopback needs no token unless one is
// given; any other address needs `token`, or a random one made here.
AccessPolicy access_for(std::string_view bind_address, std::string token);
// "http://HOST:PORT/" (IPv6 in brackets), with "?token=..." when one is needed.
std::string dashboard_url(std::string_view host, unsigned port, const AccessPolicy& policy);

// Null when the request may proceed, else the answer to give (401 or 403).
std::optional<Response> check_access(const AccessPolicy& policy, const Request& request, bool state_changing);

}  // namespace icegate::http
