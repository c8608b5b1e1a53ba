// Internal to api/: what every handler uses — the call context, JSON body
// reading with strict member checks, replies and access checks.
#pragma once

#include <boost/json.hpp>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "api/http.h"
#include "audit/audit_log.h"
#include "base/status.h"
#include "policy/access.h"
#include "services/vault.h"

namespace piivault::api {

namespace json = boost::json;

struct Reply {
  int status = 200;
  json::value body;  // null: no body (204)
  // Set instead of `body` for a download: the body is streamed from it
  // (HttpResponse::next_chunk), as `content_type`.
  NextChunk stream = nullptr;
  std::string content_type = {};
  // Set instead of `body` for a whole body that is not JSON (a printable
  // page), as `content_type`.
  std::string text = {};
};

// One authenticated call, already allowed by the access decision
// (policy/access.h) for its route's operation.
struct Call {
  const HttpRequest& request;
  std::vector<std::string> params;  // path parameters, percent-decoded
  vault::Identity identity;
  std::string request_id;
  services::Vault& vault;
  audit::AuditLog& audit;
  policy::Decision decision;
  audit::Event* event = nullptr;  // the request's audit event, if audited
  vault::RequestContext context;  // what the services carry of the request
  // For routes that decide again on a tenant their body or stored document
  // names (AccessDecider::DecideAbout).
  const policy::AccessDecider* access = nullptr;

  // Tells the audit event what the request is about (names only).
  void NoteCollection(std::string_view name) const;
  void NotePrincipal(std::string_view pseudonym) const;
  // The record a request asks for by id, so that an attempt that fails is
  // on record too (ids of another shape are left out: no arbitrary text).
  void NoteRecord(std::string_view id) const;
};

using HandlerFn = std::function<Result<Reply>(Call&)>;

// Parses a request body that must be a JSON object whose members are all in
// `allowed` (unknown members are an error, so typos never pass silently).
Result<json::object> ParseObject(
    const HttpRequest& request,
    std::initializer_list<std::string_view> allowed);

// Unknown members of a nested object are an error too.
Status RejectUnknownMembers(const json::object& o,
                            std::initializer_list<std::string_view> allowed);

// Typed members: a missing required member or a wrong type is
// invalid_argument naming the member.
Result<std::string> RequiredString(const json::object& o, std::string_view key);
Result<std::optional<std::string>> OptionalString(const json::object& o,
                                                  std::string_view key);
Result<std::optional<bool>> OptionalBool(const json::object& o,
                                         std::string_view key);
Result<std::optional<std::vector<std::string>>> OptionalStringList(
    const json::object& o, std::string_view key);
// An RFC 3339 time: invalid_argument when missing or not a string,
// validation_failed naming the member when not such a time.
Result<TimePoint> RequiredTime(const json::object& o, std::string_view key);

// For a principal about to be written under a purpose that requires
// consent (marketing, advertising): ok only while it has an active consent
// for it; otherwise 403 consent_required (also for a principal that does not
// exist). Reads pass decision.consent_purpose() to the vault instead, which
// checks it with the principal's key at no extra read.
Status RequireConsent(Call& call, std::string_view principal);

using policy::FieldGrant;
// The fields of a record as the caller may see them: plain, masked
// (policy/masks.h) or left out, per `grant`.
json::object VisibleFields(const vault::Fields& fields,
                           const vault::Collection& collection,
                           const FieldGrant& grant);

// One record of a principal's view: collection, id, fields as `grant`
// allows, times.
json::object PrincipalRecordJson(const vault::Record& record,
                                 const vault::Collection& collection,
                                 const FieldGrant& grant);

std::string_view PathParam(const Call& call, std::size_t i);
std::string QueryParam(const HttpRequest& request, std::string_view name);
// A non-negative integer query parameter; `fallback` when absent (400 when
// absent without one, or not such an integer).
Result<uint64_t> UintParam(const Call& call, std::string_view name,
                           std::optional<uint64_t> fallback = std::nullopt);
// The ?limit= of a paged read: 1..`max`, `fallback` when absent (400
// otherwise).
Result<std::size_t> PageLimit(const Call& call, std::size_t max,
                              std::optional<std::size_t> fallback = {});
std::string PercentDecode(std::string_view text, bool* ok);

json::value TimeJson(TimePoint t);
json::value FieldValueJson(const vault::FieldValue& v);
json::value TenantJson(const vault::Tenant& t);
json::value IdentityJson(const vault::Identity& i);
json::value CollectionJson(const vault::Collection& c);
json::value PurposeJson(const vault::Purpose& p);
// The certificates of the tenant's register (API.md).
json::value CertificateJson(const lifecycle::ErasureCertificate& c);
json::value CertificateJson(const lifecycle::DisposalCertificate& c);

// Route registration, one function per area: each route declares the
// operation it performs (policy/access.h: who may, what is audited).
using RouteAdder =
    std::function<void(std::string method, std::string pattern,
                       std::string name, policy::Operation op, HandlerFn fn)>;
void AddControlRoutes(const RouteAdder& add);
void AddDataRoutes(const RouteAdder& add);
void AddAuditRoutes(const RouteAdder& add);
void AddLockboxRoutes(const RouteAdder& add);
void AddJobRoutes(const RouteAdder& add);
void AddExportRoutes(const RouteAdder& add);
void AddNotificationRoutes(const RouteAdder& add);
void AddDisclosureRoutes(const RouteAdder& add);
void AddSubProcessorRoutes(const RouteAdder& add);
void AddIncidentRoutes(const RouteAdder& add);
void AddComplianceRoutes(const RouteAdder& add);

}  // namespace piivault::api
