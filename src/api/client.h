// A small synchronous HTTP(S) client for the CLI's client commands.
#pragma once

#include <functional>
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

// Takes a downloaded body piece by piece; an error stops the download.
using BodySink = std::function<Status(std::string_view)>;

// The same, for downloads of any size: a 2xx response's body (chunked or
// not) goes to `sink` as it arrives, never held whole, and the returned
// body is empty; any other status's body is returned as usual. Also
// kUnavailable when the connection ends before the body does (a truncated
// download), and the sink's error when it fails.
Result<HttpResponse> SendRequest(
    const ClientOptions& options, std::string_view method,
    std::string_view target, std::string_view body,
    const std::vector<std::pair<std::string, std::string>>& headers,
    const BodySink& sink);

}  // namespace piivault::api
