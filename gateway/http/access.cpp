#include "gateway/http/access.hpp"

#include <array>
#include <cctype>

#include <boost/asio/ip/address.hpp>
#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

namespace icegate::http {

bool is_loopback_address(std::string_view text) {
  std::string address(text);
  if (address.size() >= 2 && address.front() == '[' && address.back() == ']') address = address.substr(1, address.size() - 2);
  boost::system::error_code error;
  const auto parsed = boost::asio::ip::make_address(address, error);
  if (error) return false;
  if (parsed.is_v6() && parsed.to_v6().is_v4_mapped())
    return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, parsed.to_v6()).is_loopback();
  return parsed.is_loopback();
}

std::string random_token() {
  std::array<unsigned char, 32> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1)
    throw std::runtime_error("OpenSSL could not make a random access token");
  std::string token;
  for (const unsigned char byte : bytes) token += fmt::format("{:02x}", byte);
  return token;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  // The length is not secret (every token we make has the same); the bytes are.
  if (a.size() != b.size()) return false;
  return a.empty() || CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::optional<std::string> presented_token(const Request& request) {
  constexpr std::string_view bearer = "Bearer ";
  std::string_view authorization = request.authorization;
  if (authorization.size() > bearer.size() &&
      std::equal(bearer.begin(), bearer.end(), authorization.begin(),
                 [](char x, char y) { return std::tolower(static_cast<unsigned char>(x)) ==
                                             std::tolower(static_cast<unsigned char>(y)); }))
    return std::string(authorization.substr(bearer.size()));
  std::string token = query_parameter(request.target, "token");
  if (!token.empty()) return token;
  return std::nullopt;
}

namespace {
// "HOST:PORT", "[v6]:PORT" or "HOST" to HOST (brackets kept off).
std::string_view host_name(std::string_view host) {
  if (!host.empty() && host.front() == '[') {
    const auto close = host.find(']');
    return close == std::string_view::npos ? host : host.substr(1, close - 1);
  }
  const auto colon = host.find(':');
  return colon == std::string_view::npos ? host : host.substr(0, colon);
}
}  // namespace

bool host_is_loopback(std::string_view host) {
  const std::string_view name = host_name(host);
  return name == "localhost" || is_loopback_address(name);
}

AccessPolicy access_for(std::string_view bind_address, std::string token) {
  AccessPolicy policy;
  policy.loopback = is_loopback_address(bind_address);
  policy.token = !token.empty() || policy.loopback ? std::move(token) : random_token();
  return policy;
}

std::string dashboard_url(std::string_view host, unsigned port, const AccessPolicy& policy) {
  const bool v6 = host.find(':') != std::string_view::npos;
  std::string token;
  for (const char c : policy.token) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == '~') token += c;
    else token += fmt::format("%{:02X}", static_cast<unsigned char>(c));
  }
  return fmt::format("http://{}{}{}:{}/{}", v6 ? "[" : "", host, v6 ? "]" : "", port,
                     token.empty() ? "" : "?token=" + token);
}

std::optional<Response> check_access(const AccessPolicy& policy, const Request& request, bool state_changing) {
  if (!policy.token.empty()) {
    const auto token = presented_token(request);
    if (!token)
      return error_response(401, "this dashboard needs its access token: Authorization: Bearer TOKEN, or ?token=TOKEN");
    if (!constant_time_equal(*token, policy.token)) return error_response(401, "wrong access token");
  } else if (!policy.loopback) {
    return error_response(401, "this dashboard is bound beyond loopback and has no access token configured");
  }
  // Bound to loopback, only a page that this machine calls by a loopback
  // name may talk to us (a DNS-rebinding page calls us by its own name).
  if (policy.loopback && !request.host.empty() && !host_is_loopback(request.host))
    return error_response(403, fmt::format("Host '{}' is not a loopback name; this dashboard is bound to loopback",
                                           request.host));
  // A browser tells us which page made the request; only our own may change
  // anything or open the feed (cross-site request forgery, WebSocket hijacking).
  if (state_changing && !request.origin.empty()) {
    const bool same = request.origin == "http://" + request.host || request.origin == "https://" + request.host;
    if (!same)
      return error_response(403, fmt::format("cross-origin request from '{}' refused", request.origin));
  }
  return std::nullopt;
}

}  // namespace icegate::http
