// The HTTP API of piivault as a pure function from request to response:
// authentication, routing, purpose checks, JSON codec and the mapping of
// Status codes to HTTP statuses live here and nowhere else.
// Thread safety: Handle() may be called concurrently.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "api/http.h"
#include "api/metrics.h"
#include "vault/vault.h"

namespace piivault::api {

class App {
 public:
  // REQUIRES: vault outlives this.
  explicit App(vault::Vault* vault);
  ~App();

  HttpResponse Handle(const HttpRequest& request);

 private:
  struct Route;
  class Routes;
  std::unique_ptr<Routes> routes_;
  std::vector<std::string>
      route_names_;  // routes, then health, metrics, unmatched
  vault::Vault* vault_;
  std::unique_ptr<Metrics> metrics_;
};

}  // namespace piivault::api
