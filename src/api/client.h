// A small synchronous HTTP(S) client for the CLI's client commands.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "api/http.h"
#include "base/status.h"

namespace piivault::api {

struct ClientOptions {
  std::string address;  // "http://127.0.0.1:8200" or "https://host:port"
  std::string token;    // API key, sent as a Bearer token
  std::string ca_file;  // for https: trust this CA/cert instead of the system's
};

// Sends one request and returns the response whatever its status.
// kInvalidArgument for a bad address, kUnavailable when the server cannot be
// reached or the TLS handshake fails.
Result<HttpResponse> SendRequest(
    const ClientOptions& options, std::string_view method,
    std::string_view target, std::string_view body,
    const std::vector<std::pair<std::string, std::string>>& headers = {});

}  // namespace piivault::api
