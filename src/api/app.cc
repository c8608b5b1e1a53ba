#include "api/app.h"

#include <spdlog/spdlog.h>

#include <boost/algorithm/string/predicate.hpp>
#include <chrono>
#include <future>

#include "api/console.h"
#include "api/handler_support.h"
#include "audit/event_trail.h"
#include "crypto/random.h"
#include "embedded/kOpenApiJson.h"
#include "vault/request_context.h"

namespace piivault::api {
namespace {

HttpResponse JsonResponse(int status, const json::value& body) {
  HttpResponse r;
  r.status = status;
  // A trailing newline keeps curl output readable in a terminal.
  if (!body.is_null()) r.body = json::serialize(body) + "\n";
  return r;
}

HttpResponse ErrorResponse(int status, std::string_view code,
                           std::string_view message,
                           std::string_view field = {}) {
  json::object err{{"code", code}, {"message", message}};
  if (!field.empty()) err["field"] = field;
  return JsonResponse(status, json::object{{"error", std::move(err)}});
}

// The contract's answer for `s` (ContractOf: the one status table).
HttpResponse ErrorResponse(const Status& s) {
  return ErrorResponse(ContractOf(s.code()).http_status, s.error_code(),
                       s.public_message(), s.field());
}

HttpResponse ReplyResponse(std::string_view request_id, Result<Reply> reply) {
  if (reply && reply->stream) {
    HttpResponse r;
    r.status = reply->status;
    r.content_type = std::move(reply->content_type);
    r.next_chunk = std::move(reply->stream);
    return r;
  }
  if (reply && !reply->content_type.empty()) {
    HttpResponse r;
    r.status = reply->status;
    r.content_type = std::move(reply->content_type);
    r.body = std::move(reply->text);
    return r;
  }
  if (reply) return JsonResponse(reply->status, reply->body);
  const Status& error = reply.error();
  // Server-side failures are for the operator to see; messages carry no PII
  // by construction.
  if (ContractOf(error.code()).http_status >= 500)
    spdlog::error(R"("msg":"request failed","request_id":"{}","error":{})",
                  request_id, json::serialize(json::string(error.ToString())));
  return ErrorResponse(error);
}

// 429 rate_limited, saying when to come back (RFC 6585 §4).
HttpResponse RateLimitedResponse(std::chrono::seconds wait) {
  HttpResponse r = ErrorResponse(RequestLimits::RateLimited());
  r.headers.emplace_back("Retry-After", std::to_string(wait.count()));
  return r;
}

// A client-supplied request id is echoed only if it is short and plain, so
// it cannot inject into logs or headers.
std::string RequestId(const HttpRequest& req) {
  std::string_view given = req.Header("x-request-id");
  if (!given.empty() && given.size() <= 128 &&
      std::all_of(given.begin(), given.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' ||
               c == '_' || c == '.' || c == ':';
      }))
    return std::string(given);
  // Unique, not secret: a random per-thread prefix and a counter, so ids
  // cost no RNG call per request.
  thread_local const std::string prefix =
      crypto::RandomId("req_").substr(0, 17);
  thread_local uint64_t counter = 0;
  return prefix + std::to_string(++counter);
}

// The endpoints answered before routing, without authentication (GET only;
// other methods fall through to routing: 404, as for any endpoint that does
// not take the method). Their metrics slots follow the routes', in this
// order, then "unmatched".
enum class PublicEndpoint : std::size_t {
  kHealth,
  kMetrics,
  kOpenApi,
  kConsole
};
struct PublicEndpointSpec {
  PublicEndpoint id;
  std::string_view path;
  std::string_view name;  // in metrics and the access log
  // A directory ("/x/"): the path, every file under it ("/x/{file}" in the
  // contract), and "/x" (which the endpoint redirects).
  bool directory = false;

  bool Matches(std::string_view p) const {
    if (!directory) return p == path;
    return p.starts_with(path) || p == path.substr(0, path.size() - 1);
  }
};
constexpr PublicEndpointSpec kPublicEndpoints[] = {
    {PublicEndpoint::kHealth, "/healthz", "health"},
    {PublicEndpoint::kMetrics, "/metrics", "metrics"},
    // The contract (src/api/openapi.json, compiled in), for integrators and
    // the console: public, like the API's own documentation.
    {PublicEndpoint::kOpenApi, "/v1/openapi.json", "openapi"},
    // The web console's files (api/console.h): no data, and the console
    // signs in with an API key like any client.
    {PublicEndpoint::kConsole, kConsolePath, "console", true},
};

HttpResponse PublicResponse(PublicEndpoint endpoint, const HttpRequest& req,
                            const Metrics& metrics) {
  HttpResponse r;
  switch (endpoint) {
    case PublicEndpoint::kHealth:
      return JsonResponse(200, json::object{{"status", "ok"}});
    case PublicEndpoint::kMetrics:
      r.content_type = "text/plain; version=0.0.4";
      r.body = metrics.Render();
      return r;
    case PublicEndpoint::kOpenApi:
      r.body = std::string(kOpenApiJson);
      return r;
    case PublicEndpoint::kConsole: {
      auto file = ConsoleFile(req.path);
      return WithConsoleHeaders(file ? *std::move(file)
                                     : ErrorResponse(file.error()));
    }
  }
  return r;
}

const PublicEndpointSpec* PublicEndpointOf(const HttpRequest& req) {
  if (req.method != "GET") return nullptr;
  for (const auto& e : kPublicEndpoints)
    if (e.Matches(req.path)) return &e;
  return nullptr;
}

// Every route of the API, area by area.
void AddRoutes(const RouteAdder& add) {
  AddControlRoutes(add);
  AddDataRoutes(add);
  AddAuditRoutes(add);
  AddLockboxRoutes(add);
  AddJobRoutes(add);
  AddExportRoutes(add);
  AddNotificationRoutes(add);
  AddDisclosureRoutes(add);
  AddSubProcessorRoutes(add);
  AddIncidentRoutes(add);
  AddComplianceRoutes(add);
}

std::vector<std::string> SplitPath(std::string_view path) {
  std::vector<std::string> out;
  std::size_t start = 1;
  while (start <= path.size()) {
    auto end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    out.emplace_back(path.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

}  // namespace

struct App::Route {
  std::string method;
  std::string path;                  // as registered
  std::vector<std::string> pattern;  // "{x}" segments are parameters
  std::string name;
  policy::Operation op;
  HandlerFn fn;

  const policy::OperationSpec& spec() const { return policy::Spec(op); }
  bool audited() const {
#ifdef PIIVAULT_BENCHMARK_AUDIT_OFF  // bench/CMakeLists.txt: benchmark only
    return false;
#else
    return spec().audited == policy::Audited::kAlways;
#endif
  }
  // What the operation is on, from the path parameters its spec declares.
  policy::AccessDecider::Target Target(
      const std::vector<std::string>& params) const {
    policy::AccessDecider::Target t;
    std::size_t next = 0;
    if (spec().on_tenant) t.tenant = params.at(next++);
    if (spec().on_identity) t.identity = params.at(next);
    return t;
  }
};

class App::Routes {
 public:
  std::vector<Route> routes;

  // Index of the matching route, or kNotFound (also when only the method
  // differs: the contract has no 405, so the message says so instead).
  Result<std::size_t> Match(const HttpRequest& req,
                            std::vector<std::string>& params) const {
    if (req.path.empty() || req.path[0] != '/')
      return Err(NotFound("no such endpoint"));
    auto segments = SplitPath(req.path);
    bool path_matched = false;
    for (std::size_t i = 0; i < routes.size(); ++i) {
      auto& r = routes[i];
      if (r.pattern.size() != segments.size()) continue;
      std::vector<std::string> found;
      bool ok = true;
      for (std::size_t s = 0; s < segments.size() && ok; ++s) {
        if (r.pattern[s].starts_with('{')) {
          bool decoded = true;
          found.push_back(PercentDecode(segments[s], &decoded));
          ok = decoded && !found.back().empty();
        } else {
          ok = r.pattern[s] == segments[s];
        }
      }
      if (!ok) continue;
      path_matched = true;
      if (r.method != req.method) continue;
      params = std::move(found);
      return i;
    }
    if (path_matched)
      return Err(NotFound("this endpoint does not accept the method " +
                          req.method.substr(0, 16)));
    return Err(NotFound("no such endpoint"));
  }
};

// One request's audit event: which log it goes to, what it says, and when it
// is written (before the request's first change, or after a request that
// changed nothing; either way before the response leaves). The subjects are
// what the request touched, noted by the handler and the services.
class App::AuditTrail {
 public:
  AuditTrail(const Route& route, const Call& call, audit::AuditLog& log)
      : call_(call),
        tenant_(route.Target(call.params).tenant),
        trail_(
            &log, [this] { return LogId(); }, call.vault.clock) {
    audit::Event& e = trail_.event();
    e.actor = call.identity.id;
    e.action = route.name;
    e.request_id = call.request_id;
    // Only well-formed names go into events: a header can carry anything,
    // and events never hold PII.
    auto name = [](std::string_view v) {
      return vault::ValidateName("name", v).ok() ? std::string(v)
                                                 : std::string();
    };
    e.purpose = name(call.request.Header("x-purpose"));
    if (vault::IsOperatorRole(call.identity.role))
      e.lockbox = name(call.request.Header("x-lockbox-request"));
  }

  audit::Event* event() { return &trail_.event(); }

  // The context the request's services run in: they complete the event, and
  // its first change waits for the event to be written ahead (blocking). A
  // request that changes nothing has its event written afterwards, with
  // WriteAfter(): a reply is only ever returned once its event is durable.
  vault::RequestContext Context(vault::ControlEpoch* epoch) {
    return vault::RequestContext(&trail_.event(), trail_.write_ahead(), epoch);
  }

  bool written() const { return trail_.written(); }

  // After a request whose event was written ahead: the outcome entry when
  // the request then failed or touched more than the intent says.
  Status WriteOutcome(const Result<Reply>& reply) {
    return trail_.WriteOutcome(OutcomeOf(reply));
  }

  // Appends the event with the reply's outcome, without blocking; `done` gets
  // the reply once the event is durable, or the append's error.
  void WriteAfter(Result<Reply> reply,
                  std::function<void(Result<Reply>)> done) {
    const audit::Outcome outcome = OutcomeOf(reply);
    trail_.WriteAfter(
        outcome, [reply = std::move(reply),
                  done = std::move(done)](Result<uint64_t> appended) mutable {
          done(appended ? std::move(reply) : Err(appended.error()));
        });
  }

 private:
  // A request on a tenant goes to that tenant's log, allowed or not: the
  // decision has read the tenant when it allowed the request; a refused one
  // looks it up.
  std::string LogId() const {
    if (call_.decision.has_tenant())
      return audit::AuditLog::TenantLog(call_.decision.tenant().id);
    if (!tenant_.empty() && call_.vault.tenants.Get(call_.context, tenant_))
      return audit::AuditLog::TenantLog(tenant_);
    return std::string(audit::AuditLog::kOperatorLog);
  }

  static audit::Outcome OutcomeOf(const Result<Reply>& reply) {
    if (reply) return audit::Outcome::kOk;
    const StatusCode code = reply.error().code();
    return code == StatusCode::kPermissionDenied ||
                   code == StatusCode::kUnauthenticated
               ? audit::Outcome::kDenied
               : audit::Outcome::kError;
  }

  const Call& call_;
  std::string_view tenant_;  // the route's, as requested
  audit::EventTrail trail_;
};

App::App(services::Vault* vault, audit::AuditLog* audit,
         const LimitsConfig& limits)
    : routes_(std::make_unique<Routes>()),
      vault_(vault),
      audit_(audit),
      policies_(std::make_unique<policy::PolicyCache>()),
      access_(std::make_unique<policy::AccessDecider>(vault, policies_.get())),
      limits_(std::make_unique<RequestLimits>(limits, vault->clock)) {
  RouteAdder add = [this](std::string method, std::string pattern,
                          std::string name, policy::Operation op,
                          HandlerFn fn) {
    routes_->routes.push_back({std::move(method), pattern, SplitPath(pattern),
                               std::move(name), op, std::move(fn)});
  };
  AddRoutes(add);
  for (auto& r : routes_->routes) route_names_.push_back(r.name);
  for (const auto& e : kPublicEndpoints) route_names_.emplace_back(e.name);
  route_names_.emplace_back("unmatched");
  metrics_ = std::make_unique<Metrics>(route_names_);
}

App::~App() = default;

std::vector<App::RouteInfo> App::RouteTable() const {
  std::vector<RouteInfo> out;
  for (auto& r : routes_->routes)
    out.push_back({r.method, r.path, r.name, r.op});
  return out;
}

std::vector<App::Endpoint> App::Endpoints() {
  std::vector<Endpoint> out;
  AddRoutes([&out](std::string method, std::string pattern, std::string,
                   policy::Operation, HandlerFn) {
    out.push_back({std::move(method), std::move(pattern)});
  });
  for (const auto& e : kPublicEndpoints) {
    out.push_back({"GET", std::string(e.path)});
    if (e.directory) out.push_back({"GET", std::string(e.path) + "{file}"});
  }
  return out;
}

std::string_view App::OpenApiDocument() { return kOpenApiJson; }

// What the access log and the metrics need of a request once it is answered,
// which may be on the audit log's committer thread.
struct App::Exchange {
  std::chrono::steady_clock::time_point started;
  std::string request_id;
  std::string method;
  std::size_t route_index;
  std::string actor = "-";
};

HttpResponse App::Handle(const HttpRequest& req) {
  std::promise<HttpResponse> promise;
  auto future = promise.get_future();
  Handle(
      req, [&promise](HttpResponse res) { promise.set_value(std::move(res)); },
      [](std::function<void()> work) { work(); });
  return future.get();
}

void App::Handle(HttpRequest req, Respond respond, const Offload& offload) {
  Exchange x{std::chrono::steady_clock::now(), RequestId(req),
             req.method.substr(0, 16), route_names_.size() - 1};
  auto finish = [&](HttpResponse res) { Finish(x, std::move(res), respond); };
  if (req.rejection.status != 0) {
    std::vector<std::string> ignored;
    if (auto matched = routes_->Match(req, ignored)) x.route_index = *matched;
    return finish(ErrorResponse(req.rejection.status, req.rejection.code,
                                req.rejection.message));
  }
  if (const PublicEndpointSpec* e = PublicEndpointOf(req)) {
    x.route_index = routes_->routes.size() + static_cast<std::size_t>(e->id);
    return finish(PublicResponse(e->id, req, *metrics_));
  }
  std::vector<std::string> params;
  auto matched = routes_->Match(req, params);
  if (!matched) return finish(ErrorResponse(matched.error()));
  x.route_index = *matched;
  const Route& route = routes_->routes[*matched];
  if (route.spec().runs == policy::Runs::kInline)
    return Serve(req, route, std::move(params), std::move(x),
                 std::move(respond));
  offload([this, req = std::move(req), &route, params = std::move(params),
           x = std::move(x), respond = std::move(respond)]() mutable {
    Serve(req, route, std::move(params), std::move(x), std::move(respond));
  });
}

void App::Serve(const HttpRequest& req, const Route& route,
                std::vector<std::string> params, Exchange x, Respond respond) {
  auto finish = [&](HttpResponse res) { Finish(x, std::move(res), respond); };
  // Rate limit: an address that failed to authenticate too often is not
  // even asked for its key.
  if (auto wait = limits_->SourceBlocked(req.remote_address))
    return finish(RateLimitedResponse(*wait));
  // The auth scheme is case-insensitive (RFC 9110 §11.1).
  std::string_view auth = req.Header("authorization");
  if (auth.size() <= 7 ||
      !boost::algorithm::iequals(auth.substr(0, 7), "Bearer ")) {
    Status missing = Unauthenticated("a Bearer API key is required");
    limits_->Authenticated(req.remote_address, missing);  // rate limit
    return finish(ErrorResponse(missing));
  }
  // The control documents this request reads may come from the cache as of
  // now (an identity, its tenant, the purpose, the collection).
  vault::ControlEpoch epoch = vault_->control.ReadEpoch();
  const vault::RequestContext unaudited(nullptr, nullptr, &epoch);
  auto identity = vault_->identities.Authenticate(unaudited, auth.substr(7));
  if (!identity) {
    limits_->Authenticated(req.remote_address, identity.error());  // rate limit
    return finish(ErrorResponse(identity.error()));
  }
  x.actor = identity->id;
  // Rate limit: an identity denied too often is answered before its request
  // runs or is audited, so it cannot flood another tenant's audit log.
  if (auto wait = limits_->IdentityBlocked(x.actor))
    return finish(RateLimitedResponse(*wait));
  Call call{req,       std::move(params), std::move(*identity), x.request_id,
            *vault_,   *audit_,           policy::Decision(),   nullptr,
            unaudited, access_.get()};
  // Every route passes the access decision for its operation first.
  auto decide_and_run = [&]() -> Result<Reply> {
    policy::Caller caller{call.identity, req.Header("x-purpose"),
                          req.Header("x-lockbox-request")};
    PV_ASSIGN_OR_RETURN(call.decision,
                        access_->Decide(call.context, caller, route.op,
                                        route.Target(call.params)));
    return route.fn(call);
  };
  if (!route.audited()) {
    Result<Reply> reply = decide_and_run();
    if (!reply) limits_->Answered(x.actor, reply.error());  // rate limit
    return finish(ReplyResponse(x.request_id, std::move(reply)));
  }
  AuditTrail trail(route, call, *audit_);
  call.event = trail.event();
  call.context = trail.Context(&epoch);
  Result<Reply> reply = decide_and_run();
  if (!reply) limits_->Answered(x.actor, reply.error());  // rate limit
  if (trail.written()) {
    Status outcome = trail.WriteOutcome(reply);
    // Fail closed: a change whose final outcome cannot be logged is not
    // reported as done.
    if (!outcome.ok() && reply) reply = Err(outcome);
    return finish(ReplyResponse(x.request_id, std::move(reply)));
  }
  trail.WriteAfter(
      std::move(reply), [this, x = std::move(x), respond = std::move(respond)](
                            Result<Reply> durable) mutable {
        Finish(x, ReplyResponse(x.request_id, std::move(durable)), respond);
      });
}

void App::Finish(const Exchange& x, HttpResponse res, const Respond& respond) {
  res.headers.emplace_back("X-Request-Id", x.request_id);
  auto elapsed = std::chrono::steady_clock::now() - x.started;
  metrics_->Record(x.route_index, res.status, elapsed);
  // The access log names the route template, never the raw path (which may
  // carry a principal id) and never a body.
  spdlog::info(
      R"("msg":"request","route":"{}","method":{},"status":{},"duration_us":{},"request_id":"{}","actor":"{}")",
      route_names_[x.route_index], json::serialize(json::string(x.method)),
      res.status,
      std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count(),
      x.request_id, x.actor);
  respond(std::move(res));
}

}  // namespace piivault::api
