// Transport-neutral HTTP request/response, so handlers stay pure functions
// and only server.cc and client.cc include Beast.
#pragma once

#include <algorithm>
#include <cctype>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace piivault::api {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // percent-encoded, without the query
  std::string query;   // after '?', percent-encoded
  std::vector<std::pair<std::string, std::string>> headers;  // names lowercase
  std::string body;
  // The client's IP address as the server saw it ("127.0.0.1", "::1");
  // empty when the request did not come over a socket.
  std::string remote_address;

  // Set by the server when it refuses a request before reading it fully
  // (status 0: not refused); the handler answers with this error.
  struct Rejection {
    int status = 0;
    std::string code;
    std::string message;
  } rejection;

  // The first header named `name` (lowercase), or empty.
  std::string_view Header(std::string_view name) const {
    for (auto& [k, v] : headers)
      if (k == name) return v;
    return {};
  }
};

// The next piece of a streamed body; nullopt after the last. An error ends
// the response mid-body: the connection closes without the terminating
// chunk, so the client sees a truncated (never a complete-looking) body.
using NextChunk = std::function<Result<std::optional<std::string>>()>;

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // When set, the body is streamed from it instead of `body`: the server
  // writes it with Transfer-Encoding: chunked, calling it on the handler
  // pool (never on an I/O thread: it may read storage) one piece at a time,
  // so the whole body is never held.
  NextChunk next_chunk;

  // The first header named `name`, compared case-insensitively (field names
  // are, RFC 9110 §5.1; a client's response has them as the peer sent
  // them), or empty.
  std::string_view Header(std::string_view name) const {
    for (auto& [k, v] : headers)
      if (std::equal(k.begin(), k.end(), name.begin(), name.end(),
                     [](unsigned char a, unsigned char b) {
                       return std::tolower(a) == std::tolower(b);
                     }))
        return v;
    return {};
  }
};

// Takes a request's response; may be called on any thread.
using Respond = std::function<void(HttpResponse)>;
// Runs `work` on the server's handler pool, off the I/O threads.
using Offload = std::function<void(std::function<void()> work)>;

}  // namespace piivault::api
