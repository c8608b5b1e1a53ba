// A small synchronous HTTP(S) client: the CLI's client commands and webhook
// delivery.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "api/http.h"
#include "base/http_url.h"
#include "base/status.h"

namespace piivault::api {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// Takes a downloaded body piece by piece; an error stops the download.
using BodySink = std::function<Status(std::string_view)>;

// One connection to one origin, kept alive between requests, opened on the
// first and again after the server closed it. https verifies the server's
// certificate and host name against `ca_file` (empty: the system's trust
// store). A request that fails on a reused connection before any response
// arrived is sent once more on a new one (the server may have closed the
// idle connection meanwhile), so requests must be safe to repeat.
//
// Thread safety: one thread at a time.
class ClientConnection {
 public:
  struct Options {
    HttpUrl origin;       // its target is ignored: each request names one
    std::string ca_file;  // https: trust this CA/cert instead
    // Longest wait for any one step (connect, handshake, write, read);
    // zero: none.
    std::chrono::milliseconds timeout{0};
    std::string user_agent = "piivault";
    std::string token;  // if set, sent as a Bearer token
  };
  explicit ClientConnection(Options options);
  ~ClientConnection();
  ClientConnection(const ClientConnection&) = delete;
  ClientConnection& operator=(const ClientConnection&) = delete;

  // Sends one request and returns the response whatever its status.
  // kUnavailable when the server cannot be reached, the TLS handshake
  // fails, a step times out or the connection ends before the response
  // does. With a `sink`, a 2xx response's body (chunked or not) goes to it
  // as it arrives, never held whole, and the returned body is empty; the
  // sink's error stops the download.
  Result<HttpResponse> Send(std::string_view method, std::string_view target,
                            std::string_view body, const HeaderList& headers,
                            const BodySink* sink = nullptr);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct ClientOptions {
  std::string address;  // "http://127.0.0.1:8200" or "https://host:port"
  std::string token;    // API key, sent as a Bearer token
  std::string ca_file;  // for https: trust this CA/cert instead of the system's
};

// Sends one request on a connection of its own and returns the response
// whatever its status. kInvalidArgument for a bad address, otherwise as
// ClientConnection::Send.
Result<HttpResponse> SendRequest(const ClientOptions& options,
                                 std::string_view method,
                                 std::string_view target, std::string_view body,
                                 const HeaderList& headers = {});

// The same, for downloads of any size (see ClientConnection::Send).
Result<HttpResponse> SendRequest(const ClientOptions& options,
                                 std::string_view method,
                                 std::string_view target, std::string_view body,
                                 const HeaderList& headers,
                                 const BodySink& sink);

}  // namespace piivault::api
