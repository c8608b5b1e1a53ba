// Each tenant's webhook: where its notices (compliance/outbox.h) are
// POSTed, and the secret their signature is made with. The secret is sealed
// like every control document and never shown again: reads give the URL.
//
// Thread safety: thread-safe (stateless over the control store).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/clock.h"
#include "base/http_url.h"
#include "base/status.h"
#include "crypto/secret.h"
#include "vault/control_store.h"
#include "vault/request_context.h"

namespace piivault::compliance {

struct Webhook {
  std::string tenant;
  std::string url;
  HttpUrl endpoint;  // `url`, parsed
  crypto::SecretBytes secret;
  TimePoint updated_at;
};

class WebhookRegistry {
 public:
  static constexpr std::size_t kMaxUrlLength = 2048;
  static constexpr std::size_t kMinSecretLength = 16;
  static constexpr std::size_t kMaxSecretLength = 256;

  // REQUIRES: both outlive this.
  WebhookRegistry(vault::ControlStore* control, const Clock* clock)
      : control_(control), clock_(clock) {}

  // Sets (or replaces) the tenant's webhook. validation_failed for a `url`
  // that is not https (plain http is allowed to a loopback host only: the
  // notices must not cross a network in clear) or longer than
  // kMaxUrlLength, and for a `secret` that is not kMinSecretLength to
  // kMaxSecretLength printable ASCII characters.
  Result<Webhook> Put(const vault::RequestContext& context,
                      std::string_view tenant, std::string url,
                      std::string_view secret);
  // The tenant's webhook, if it has one.
  Result<std::optional<Webhook>> Get(std::string_view tenant);
  // Removes it, if there is one: notices are then in the inbox only.
  Status Delete(const vault::RequestContext& context, std::string_view tenant);

 private:
  vault::ControlStore* control_;
  const Clock* clock_;
};

}  // namespace piivault::compliance
