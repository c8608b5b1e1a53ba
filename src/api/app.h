// The HTTP API of piivault as a pure function from request to response:
// authentication, routing, purpose checks, JSON codec and the mapping of
// Status codes to HTTP statuses live here and nowhere else.
// Thread safety: Handle() may be called concurrently.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "api/http.h"
#include "api/metrics.h"
#include "api/rate_limiter.h"
#include "audit/audit_log.h"
#include "policy/access.h"
#include "policy/policy_cache.h"
#include "services/vault.h"

namespace piivault::api {

class App {
 public:
  // Every authenticated request to a route that touches PII, and every one
  // that changes something, appends one event to `audit` (fail closed: no
  // event, no response; for changes the event is written first).
  // Failed authentications per client address and denied requests per
  // identity are limited as `limits` says (api/rate_limiter.h), on the
  // vault's clock.
  // REQUIRES: both outlive this.
  App(services::Vault* vault, audit::AuditLog* audit,
      const LimitsConfig& limits = {});
  ~App();

  // Answers `request` by calling `respond` exactly once: on this thread, or
  // on the audit log's committer thread once the request's event is durable
  // (reads are answered that way, so no thread waits for the fsync). A route
  // whose operation runs offloaded (policy::Runs) continues through
  // `offload` once matched.
  void Handle(HttpRequest request, Respond respond, const Offload& offload);
  // The same, blocking until the answer (tests, tools).
  HttpResponse Handle(const HttpRequest& request);

  // Every route, as registered (the authorization matrix test walks them).
  struct RouteInfo {
    std::string method;
    std::string pattern;  // "/v1/tenants/{t}/..."
    std::string name;
    policy::Operation op;
  };
  std::vector<RouteInfo> RouteTable() const;

  // Every endpoint the server answers, as method and path template: the
  // routes of RouteTable() (the same for every App, so no instance is
  // needed) and the unauthenticated GET /healthz, /metrics and
  // /v1/openapi.json answered before routing. tests/api/openapi_test.cc
  // holds the OpenAPI document to exactly these.
  struct Endpoint {
    std::string method;
    std::string path;
  };
  static std::vector<Endpoint> Endpoints();

  // The OpenAPI 3.1 document of the API (src/api/openapi.json, compiled in
  // verbatim), served at GET /v1/openapi.json.
  static std::string_view OpenApiDocument();

 private:
  struct Route;
  class Routes;
  class AuditTrail;
  struct Exchange;
  // The request from authentication on, once its route is known.
  void Serve(const HttpRequest& request, const Route& route,
             std::vector<std::string> params, Exchange x, Respond respond);
  void Finish(const Exchange& x, HttpResponse res, const Respond& respond);
  std::unique_ptr<Routes> routes_;
  std::vector<std::string>
      route_names_;  // routes, then health, metrics, openapi, unmatched
  services::Vault* vault_;
  audit::AuditLog* audit_;
  std::unique_ptr<Metrics> metrics_;
  std::unique_ptr<policy::PolicyCache> policies_;
  std::unique_ptr<policy::AccessDecider> access_;
  std::unique_ptr<RequestLimits> limits_;
};

}  // namespace piivault::api
