// Absolute http(s) URLs, as the HTTP clients (the CLI's, webhook delivery)
// connect to them.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace piivault {

struct HttpUrl {
  bool tls = false;
  std::string host;          // without the brackets of an IPv6 literal
  std::string port;          // explicit, or the scheme's default
  std::string target = "/";  // path and query; never empty
};

// Parses "http[s]://host[:port][/path[?query]]". kInvalidArgument (the
// message names the rule, never echoes the text) for another scheme, user
// information, a fragment, an empty or malformed host, a port outside
// 1..65535, or a character outside printable ASCII.
Result<HttpUrl> ParseHttpUrl(std::string_view url);

// Whether `host` is this machine by its very form: "localhost", an IPv4
// literal in 127.0.0.0/8 or "::1" (brackets allowed). Names that merely
// start like one ("127.example.com") are not.
bool IsLoopbackHost(std::string_view host);

}  // namespace piivault
