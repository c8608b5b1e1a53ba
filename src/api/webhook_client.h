// Webhook delivery's HTTPS client (compliance/webhook_sender.h) over
// api::ClientConnection: one kept-alive connection per tenant round.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "compliance/webhook_sender.h"

namespace piivault::api {

class WebhookClient final : public compliance::WebhookSender {
 public:
  struct Options {
    // Longest wait for any one step of a delivery; a receiver slower than
    // this fails the try.
    std::chrono::milliseconds timeout{10000};
    // Trust this CA/cert for receivers instead of the system's store (a
    // private CA, or tests).
    std::string ca_file;
  };
  explicit WebhookClient(Options options) : options_(std::move(options)) {}

  std::unique_ptr<compliance::WebhookConnection> Connect(
      const HttpUrl& endpoint) override;

 private:
  const Options options_;
};

}  // namespace piivault::api
