#include "base/http_url.h"

#include <charconv>

namespace piivault {
namespace {

bool IsIpv4Literal(std::string_view host, int& first_octet) {
  int octets = 0;
  while (!host.empty()) {
    auto dot = host.find('.');
    std::string_view part = host.substr(0, dot);
    int value = -1;
    auto [end, ec] =
        std::from_chars(part.data(), part.data() + part.size(), value);
    if (ec != std::errc() || end != part.data() + part.size() || part.empty() ||
        part.size() > 3 || value > 255)
      return false;
    if (octets == 0) first_octet = value;
    ++octets;
    if (dot == std::string_view::npos) break;
    host.remove_prefix(dot + 1);
    if (host.empty()) return false;  // a trailing dot
  }
  return octets == 4;
}

bool HostCharsOk(std::string_view host) {
  for (char c : host) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == ':';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

bool IsLoopbackHost(std::string_view host) {
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (host == "localhost" || host == "::1") return true;
  int first = -1;
  return IsIpv4Literal(host, first) && first == 127;
}

Result<HttpUrl> ParseHttpUrl(std::string_view url) {
  for (char c : url)
    if (c <= ' ' || c > '~')
      return Err(
          InvalidArgument("the URL must be printable ASCII without spaces"));
  HttpUrl out;
  if (url.starts_with("https://")) {
    out.tls = true;
    url.remove_prefix(8);
  } else if (url.starts_with("http://")) {
    url.remove_prefix(7);
  } else {
    return Err(InvalidArgument("the URL must start with http:// or https://"));
  }
  if (url.find('#') != std::string_view::npos)
    return Err(InvalidArgument("the URL must not have a fragment"));
  auto slash = url.find_first_of("/?");
  std::string_view authority = url.substr(0, slash);
  if (slash != std::string_view::npos) {
    out.target = std::string(url.substr(slash));
    if (out.target.front() == '?') out.target.insert(0, "/");
  }
  if (authority.find('@') != std::string_view::npos)
    return Err(InvalidArgument("the URL must not carry user information"));
  std::string_view host = authority, port;
  if (authority.starts_with('[')) {
    auto close = authority.find(']');
    if (close == std::string_view::npos)
      return Err(InvalidArgument("the URL's IPv6 host is not closed by ]"));
    host = authority.substr(1, close - 1);
    std::string_view rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':')
        return Err(InvalidArgument("the URL's host is malformed"));
      port = rest.substr(1);
    }
  } else if (auto colon = authority.rfind(':');
             colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
    if (host.find(':') != std::string_view::npos)
      return Err(InvalidArgument("an IPv6 host must be in brackets"));
  }
  if (host.empty() || !HostCharsOk(host))
    return Err(InvalidArgument("the URL's host is empty or malformed"));
  out.host = std::string(host);
  if (port.empty() && authority.ends_with(':'))
    return Err(InvalidArgument("the URL's port is empty"));
  if (port.empty()) {
    out.port = out.tls ? "443" : "80";
  } else {
    int value = 0;
    auto [end, ec] =
        std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value < 1 ||
        value > 65535)
      return Err(InvalidArgument("the URL's port must be 1 to 65535"));
    out.port = std::to_string(value);
  }
  return out;
}

}  // namespace piivault
