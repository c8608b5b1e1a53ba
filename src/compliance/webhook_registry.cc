#include "compliance/webhook_registry.h"

#include <boost/json.hpp>

#include "vault/storage_keys.h"
#include "vault/stored_object.h"

namespace piivault::compliance {

namespace json = boost::json;
namespace keys = vault::keys;

namespace {

// Plain http only where it never leaves the machine.
Result<HttpUrl> ValidUrl(std::string_view url) {
  if (url.size() > WebhookRegistry::kMaxUrlLength)
    return Err(ValidationFailed("url", "the URL is too long"));
  auto endpoint = ParseHttpUrl(url);
  if (!endpoint)
    return Err(ValidationFailed("url", endpoint.error().message()));
  if (!endpoint->tls && !IsLoopbackHost(endpoint->host))
    return Err(ValidationFailed(
        "url", "the URL must be https (plain http only to a loopback host)"));
  return endpoint;
}

Status ValidSecret(std::string_view secret) {
  if (secret.size() < WebhookRegistry::kMinSecretLength ||
      secret.size() > WebhookRegistry::kMaxSecretLength)
    return ValidationFailed("secret",
                            "the secret must be 16 to 256 characters");
  for (char c : secret)
    if (c < '!' || c > '~')
      return ValidationFailed("secret",
                              "the secret must be printable ASCII, no spaces");
  return Status::Ok();
}

}  // namespace

Result<Webhook> WebhookRegistry::Put(const vault::RequestContext& context,
                                     std::string_view tenant, std::string url,
                                     std::string_view secret) {
  PV_ASSIGN_OR_RETURN(HttpUrl endpoint, ValidUrl(url));
  PV_RETURN_IF_ERROR(ValidSecret(secret));
  Webhook hook{.tenant = std::string(tenant),
               .url = std::move(url),
               .endpoint = std::move(endpoint),
               .secret = crypto::SecretBytes(secret),
               .updated_at = clock_->Now()};
  auto batch = context.Batch();
  control_->Put(batch, keys::Webhook(tenant),
                json::object{{"tenant", hook.tenant},
                             {"url", hook.url},
                             {"secret", secret},
                             {"updated_at", ToUnixMicros(hook.updated_at)}});
  PV_RETURN_IF_ERROR(control_->Write(context, batch));
  return hook;
}

Result<std::optional<Webhook>> WebhookRegistry::Get(std::string_view tenant) {
  PV_ASSIGN_OR_RETURN(
      auto doc, control_->Get(vault::RequestContext(), keys::Webhook(tenant)));
  if (!doc) return std::optional<Webhook>();
  constexpr std::string_view kWhat = "webhook";
  PV_ASSIGN_OR_RETURN(auto s, vault::OpenStored(*doc, kWhat));
  Webhook hook;
  hook.tenant = s.Str("tenant");
  hook.url = s.Str("url");
  hook.secret = crypto::SecretBytes(s.Str("secret"));
  hook.updated_at = FromUnixMicros(s.Int("updated_at"));
  auto endpoint = ParseHttpUrl(hook.url);
  if (!s.ok || !endpoint) return Err(vault::Corrupt(kWhat));
  hook.endpoint = *std::move(endpoint);
  return std::optional<Webhook>(std::move(hook));
}

Status WebhookRegistry::Delete(const vault::RequestContext& context,
                               std::string_view tenant) {
  auto batch = context.Batch();
  batch.Delete(keys::Webhook(tenant));
  return control_->Write(context, batch);
}

}  // namespace piivault::compliance
