// A real HTTPS server on 127.0.0.1 that stands in for a tenant's webhook
// receiver: it records every request and answers what the test's responder
// says (a status, after an optional delay). Thread-per-connection, kept-alive
// connections, TLS with the certificate and key given (PEM).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace piivault::testing {

class HttpsReceiver {
 public:
  struct Request {
    std::string target;
    std::map<std::string, std::string> headers;  // names lowercase
    std::string body;
  };
  struct Answer {
    int status = 200;
    std::chrono::milliseconds delay{0};  // before answering
  };
  // Called for each request, on the connection's thread.
  using Responder = std::function<Answer(const Request&)>;

  // Listens on an ephemeral port of 127.0.0.1 at once. Throws on failure.
  HttpsReceiver(const std::string& cert_pem, const std::string& key_pem,
                Responder responder = {});
  ~HttpsReceiver();  // stops, closing every connection
  HttpsReceiver(const HttpsReceiver&) = delete;
  HttpsReceiver& operator=(const HttpsReceiver&) = delete;

  uint16_t port() const;
  // Every request received so far, in arrival order.
  std::vector<Request> requests() const;
  // Waits until at least `n` requests have arrived; false on timeout.
  bool WaitForRequests(std::size_t n, std::chrono::milliseconds timeout) const;
  // The most requests that were being answered at the same time.
  int max_in_flight() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace piivault::testing
