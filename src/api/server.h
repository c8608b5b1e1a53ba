// The HTTP(S) server: Boost.Beast over Asio. Network I/O runs on one thread
// per core. GET/HEAD handlers run there too (reads do not fsync; their audit
// events are awaited through the Respond callback, not by a thread); other
// handlers, which block on durable writes, run on a separate pool so a slow
// fsync never stalls the event loop and concurrent writes reach the storage
// group commit together.
//
// Every read has a timeout (which also closes idle and slow clients) and a
// body limit (413 beyond it); a body must be application/json (415).
// Framing follows RFC 9112 strictly: a malformed request, or one whose end
// is ambiguous (Transfer-Encoding other than a single "chunked", or with
// Content-Length; HTTP/1.1 without one Host), gets 400 and the connection
// closes, so no bytes of it run as a further request. At most
// max_connections connections are open; further ones wait in the backlog,
// and failed accepts (out of descriptors) are retried after a pause.
// TLS 1.2 offers forward-secret AEAD suites only, without renegotiation.
// Keep-alive is honoured; SIGINT/SIGTERM stop accepting, let in-flight
// requests finish (up to a grace period) and then return from Run().
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "api/http.h"
#include "base/config.h"
#include "base/status.h"

namespace piivault::api {

// Answers a request by calling the Respond exactly once, on any thread.
// Called on an I/O thread; what may hold a thread longer than a few point
// reads goes through the Offload.
using Handler = std::function<void(HttpRequest, Respond, const Offload&)>;

struct ServerOptions {
  ServerConfig config;
  // Called once the socket listens, with the bound port (useful with port 0).
  std::function<void(uint16_t)> on_listening;
};

// Blocks until a shutdown signal arrives. Errors: kFailedPrecondition for a
// non-loopback address without TLS or unusable TLS files; kUnavailable when
// the address cannot be bound.
Status RunServer(const ServerOptions& options, Handler handler);

}  // namespace piivault::api
