// What webhook delivery sends through: the API layer's HTTPS client in a
// deployment (api/webhook_client.h), an in-memory one in unit tests.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/http_url.h"
#include "base/status.h"

namespace piivault::compliance {

// A connection to one tenant's receiver, kept for one delivery round. One
// thread at a time.
class WebhookConnection {
 public:
  virtual ~WebhookConnection() = default;
  // POSTs `body` (JSON) with `headers` to the endpoint's target: the
  // response's status, or kUnavailable (a safe message, never the URL)
  // when no response came.
  virtual Result<int> Post(
      std::string_view body,
      const std::vector<std::pair<std::string, std::string>>& headers) = 0;
};

class WebhookSender {
 public:
  virtual ~WebhookSender() = default;
  // Thread-safe: called by every delivery worker.
  virtual std::unique_ptr<WebhookConnection> Connect(
      const HttpUrl& endpoint) = 0;
};

}  // namespace piivault::compliance
