// Legal disclosure requests (compliance/disclosure.h): operator-legal
// records the instrument and scope, a second operator-legal identity
// approves or rejects, and fulfilment returns the package of the scoped
// principals' data, read through the access decision like a lockbox's
// reads, each principal's access an event in the tenant's audit log. The
// tenant lists its disclosures once their non-disclosure period is over.
#include <future>
#include <map>
#include <set>

#include "api/handler_support.h"
#include "audit/event_trail.h"
#include "base/encoding.h"
#include "crypto/transfer_stream.h"

namespace piivault::api {
namespace {

using compliance::DisclosedPrincipal;
using compliance::DisclosureRecord;
using compliance::DisclosureRequest;
using compliance::DisclosureService;
using policy::Action;
using policy::Operation;

json::value OptTimeJson(const std::optional<TimePoint>& t) {
  return t ? TimeJson(*t) : json::value(nullptr);
}

json::object InstrumentJson(const compliance::Instrument& i) {
  return json::object{{"type", compliance::InstrumentTypeName(i.type)},
                      {"reference", i.reference},
                      {"jurisdiction", i.jurisdiction},
                      {"legally_binding", i.legally_binding}};
}

json::value RecordJson(const std::optional<DisclosureRecord>& record) {
  if (!record) return nullptr;
  json::array principals;
  for (auto& p : record->principals) {
    json::array records(p.records.begin(), p.records.end());
    json::array fields(p.fields.begin(), p.fields.end());
    principals.push_back(json::object{{"principal_pseudonym", p.pseudonym},
                                      {"records", std::move(records)},
                                      {"fields", std::move(fields)}});
  }
  return json::object{{"fulfilled_at", TimeJson(record->fulfilled_at)},
                      {"fulfilled_by", record->fulfilled_by},
                      {"encrypted", record->encrypted},
                      {"principals", std::move(principals)}};
}

// What the tenant sees of a disclosure of its data (and operator-legal
// and auditors, with who decided and the rejection reason besides).
json::object DisclosureJson(const DisclosureRequest& r, bool operator_view) {
  json::array collections(r.scope.collections.begin(),
                          r.scope.collections.end());
  json::array principals(r.scope.principals.begin(), r.scope.principals.end());
  json::object authority{{"name", r.authority.name}};
  if (!r.authority.public_key.empty())
    authority["public_key"] = Base64Encode(r.authority.public_key);
  json::object o{
      {"id", r.id},
      {"tenant", r.tenant},
      {"state", compliance::DisclosureStateName(r.state)},
      {"authority", std::move(authority)},
      {"instrument", InstrumentJson(r.instrument)},
      {"scope", json::object{{"principals", std::move(principals)},
                             {"collections", std::move(collections)}}},
      {"nondisclosure_until", OptTimeJson(r.nondisclosure_until)},
      {"created_at", TimeJson(r.created_at)},
      {"decided_at", OptTimeJson(r.decided_at)},
      {"tenant_notified_at", OptTimeJson(r.tenant_notified_at)},
      {"disclosure", RecordJson(r.record)}};
  if (operator_view) {
    o["requested_by"] = r.requested_by;
    o["decided_by"] =
        r.decided_by.empty() ? json::value(nullptr) : json::value(r.decided_by);
    if (!r.rejection_reason.empty()) o["rejection_reason"] = r.rejection_reason;
  }
  return o;
}

// "authority": a name, or {"name","public_key"?} where public_key is the
// base64 of a raw 32-byte X25519 public key the package is encrypted to.
Result<compliance::Authority> ParseAuthority(const json::object& body) {
  const json::value* v = body.if_contains("authority");
  if (v && v->is_string())
    return compliance::Authority{std::string(v->get_string()), ""};
  if (!v || !v->is_object())
    return Err(ValidationFailed("authority",
                                "a name, or an object of name and public_key"));
  const json::object& o = v->get_object();
  PV_RETURN_IF_ERROR(RejectUnknownMembers(o, {"name", "public_key"}));
  compliance::Authority a;
  PV_ASSIGN_OR_RETURN(a.name, RequiredString(o, "name"));
  PV_ASSIGN_OR_RETURN(auto key, OptionalString(o, "public_key"));
  if (key) {
    auto raw = Base64Decode(*key);
    if (!raw)
      return Err(ValidationFailed("authority",
                                  "public_key must be base64 (RFC 4648)"));
    a.public_key = std::move(*raw);
  }
  return a;
}

Result<compliance::Instrument> ParseInstrument(const json::object& body) {
  const json::value* v = body.if_contains("instrument");
  if (!v || !v->is_object())
    return Err(ValidationFailed("instrument",
                                "an object of type, reference, jurisdiction "
                                "and legally_binding"));
  const json::object& o = v->get_object();
  PV_RETURN_IF_ERROR(RejectUnknownMembers(
      o, {"type", "reference", "jurisdiction", "legally_binding"}));
  compliance::Instrument i;
  PV_ASSIGN_OR_RETURN(auto type, RequiredString(o, "type"));
  auto parsed = compliance::ParseInstrumentType(type);
  if (!parsed)
    return Err(ValidationFailed(
        "instrument.type", "one of subpoena, warrant, court_order, other"));
  i.type = *parsed;
  PV_ASSIGN_OR_RETURN(i.reference, RequiredString(o, "reference"));
  PV_ASSIGN_OR_RETURN(i.jurisdiction, RequiredString(o, "jurisdiction"));
  PV_ASSIGN_OR_RETURN(auto binding, OptionalBool(o, "legally_binding"));
  if (!binding)
    return Err(ValidationFailed("instrument.legally_binding",
                                "true or false, stated explicitly"));
  i.legally_binding = *binding;
  return i;
}

Result<compliance::RequestScope> ParseScope(const json::object& body) {
  const json::value* v = body.if_contains("scope");
  if (!v || !v->is_object())
    return Err(ValidationFailed("scope",
                                "an object of principals and, "
                                "optionally, collections"));
  const json::object& o = v->get_object();
  PV_RETURN_IF_ERROR(RejectUnknownMembers(o, {"principals", "collections"}));
  PV_ASSIGN_OR_RETURN(auto principals, OptionalStringList(o, "principals"));
  PV_ASSIGN_OR_RETURN(auto collections, OptionalStringList(o, "collections"));
  return compliance::RequestScope{
      collections.value_or(std::vector<std::string>{}),
      principals.value_or(std::vector<std::string>{})};
}

// The access decision on the tenant a request names (the routes name
// none): it exists, and for a fulfilment the request's scope and purpose.
Result<policy::Decision> DecideAbout(
    Call& call, Operation op, std::string_view tenant,
    const DisclosureRequest* fulfil = nullptr) {
  if (!call.access) return Err(Internal("no access decider"));
  policy::Caller caller{call.identity, {}, {}};
  return call.access->DecideAbout(call.context, caller, op, tenant, fulfil);
}

Result<Reply> CreateRequest(Call& call) {
  PV_ASSIGN_OR_RETURN(
      auto body, ParseObject(call.request, {"tenant", "authority", "instrument",
                                            "scope", "nondisclosure_until"}));
  PV_ASSIGN_OR_RETURN(auto tenant_id, RequiredString(body, "tenant"));
  if (!vault::ValidateName("tenant", tenant_id).ok())
    return Err(NotFound("no such tenant"));
  DisclosureService::NewRequest request;
  PV_ASSIGN_OR_RETURN(request.authority, ParseAuthority(body));
  PV_ASSIGN_OR_RETURN(request.instrument, ParseInstrument(body));
  PV_ASSIGN_OR_RETURN(request.scope, ParseScope(body));
  PV_ASSIGN_OR_RETURN(auto until, OptionalString(body, "nondisclosure_until"));
  if (until) {
    request.nondisclosure_until = ParseRfc3339(*until);
    if (!request.nondisclosure_until)
      return Err(ValidationFailed("nondisclosure_until",
                                  "an RFC 3339 time, such as "
                                  "2026-11-29T10:00:00Z"));
  }
  PV_ASSIGN_OR_RETURN(
      auto decision,
      DecideAbout(call, Operation::kCreateDisclosure, tenant_id));
  PV_ASSIGN_OR_RETURN(auto created, call.vault.disclosures.Create(
                                        call.context, decision.tenant(),
                                        call.identity, std::move(request)));
  return Reply{201, DisclosureJson(created, true)};
}

// The stored request of the path, once the decision on its tenant allows
// `op` on it.
Result<DisclosureRequest> RequestOfPath(Call& call, Operation op) {
  PV_ASSIGN_OR_RETURN(auto request,
                      call.vault.disclosures.Get(PathParam(call, 0)));
  PV_RETURN_IF_ERROR(DecideAbout(call, op, request.tenant));
  return request;
}

Result<Reply> Approve(Call& call) {
  PV_RETURN_IF_ERROR(RequestOfPath(call, Operation::kDecideDisclosure));
  PV_ASSIGN_OR_RETURN(auto approved,
                      call.vault.disclosures.Approve(
                          call.context, PathParam(call, 0), call.identity));
  return Reply{200, DisclosureJson(approved, true)};
}

Result<Reply> Reject(Call& call) {
  PV_ASSIGN_OR_RETURN(auto body, ParseObject(call.request, {"reason"}));
  PV_ASSIGN_OR_RETURN(auto reason, RequiredString(body, "reason"));
  PV_RETURN_IF_ERROR(RequestOfPath(call, Operation::kDecideDisclosure));
  PV_ASSIGN_OR_RETURN(auto rejected, call.vault.disclosures.Reject(
                                         call.context, PathParam(call, 0),
                                         call.identity, std::move(reason)));
  return Reply{200, DisclosureJson(rejected, true)};
}

// The grant of each collection the decision lets the disclosure read.
using Grants = std::map<std::string, std::pair<vault::Collection, FieldGrant>>;

// Reads one principal's records in scope, every page, as its own event in
// the tenant's audit log (request_id: the disclosure request), written
// before anything of it is returned: no event, no package.
Result<json::object> DisclosePrincipal(Call& call,
                                       const policy::Decision& decision,
                                       const DisclosureRequest& request,
                                       const Grants& grants,
                                       const std::string& principal,
                                       DisclosedPrincipal& disclosed) {
  const vault::Tenant& tenant = decision.tenant();
  PV_RETURN_IF_ERROR(decision.RequireInScope(principal));
  PV_ASSIGN_OR_RETURN(disclosed.pseudonym,
                      call.vault.records.Pseudonym(tenant, principal));
  audit::EventTrail trail(
      &call.audit, [&] { return audit::AuditLog::TenantLog(tenant.id); },
      call.vault.clock);
  audit::Event& event = trail.event();
  event.actor = call.identity.id;
  event.action = "disclosure.fulfil";
  event.purpose = decision.purpose().id;
  event.request_id = request.id;
  event.NotePrincipal(disclosed.pseudonym);
  call.NotePrincipal(disclosed.pseudonym);
  vault::RequestContext context(&event, trail.write_ahead(), nullptr);

  auto in_scope = [&grants](std::string_view collection, std::string_view) {
    return grants.contains(std::string(collection));
  };
  json::object out{{"principal", principal}};
  json::array records;
  std::set<std::string> fields;
  vault::RecordPage page;
  Status read = Status::Ok();
  while (read.ok()) {
    auto view = call.vault.records.GetPrincipal(
        context, tenant, principal, decision.consent_purpose(), page, in_scope);
    // A principal the tenant does not hold: nothing to disclose, and the
    // attempt is on record.
    if (!view && view.error().code() == StatusCode::kNotFound) break;
    if (!view) {
      read = view.error();
      break;
    }
    out["region"] = view->region;
    for (auto& r : view->records) {
      auto& [collection, grant] = grants.at(r.collection);
      for (auto& [name, value] : r.fields)
        if (policy::Granted(grant, name))
          fields.insert(r.collection + "." + name);
      disclosed.records.push_back(r.id);
      call.NoteRecord(r.id);
      records.push_back(PrincipalRecordJson(r, collection, grant));
    }
    if (!view->next) break;
    page.after = *view->next;
  }
  disclosed.fields.assign(fields.begin(), fields.end());
  event.NoteFields(disclosed.fields);
  std::promise<Result<uint64_t>> logged;
  trail.WriteAfter(read.ok() ? audit::Outcome::kOk : audit::Outcome::kError,
                   [&logged](Result<uint64_t> index) {
                     logged.set_value(std::move(index));
                   });
  Result<uint64_t> index = logged.get_future().get();
  PV_RETURN_IF_ERROR(read);
  if (!index) return Err(index.error());
  out["records"] = std::move(records);
  return out;
}

// The package as the authority gets it: plain JSON, or its transfer-stream
// encryption to the authority's key, base64.
Result<json::value> Seal(const DisclosureRequest& request,
                         json::object package) {
  if (request.authority.public_key.empty())
    return json::value(std::move(package));
  std::string sealed;
  PV_ASSIGN_OR_RETURN(auto writer, crypto::TransferStreamWriter::Create(
                                       request.authority.public_key,
                                       crypto::AppendTo(&sealed)));
  PV_RETURN_IF_ERROR(writer.Write(json::serialize(package)));
  PV_RETURN_IF_ERROR(writer.Finish());
  return json::value(Base64Encode(sealed));
}

Result<Reply> Fulfil(Call& call) {
  PV_ASSIGN_OR_RETURN(auto request,
                      call.vault.disclosures.Get(PathParam(call, 0)));
  // Refused before anything is read.
  PV_RETURN_IF_ERROR(DisclosureService::RequireFulfillable(request));
  PV_ASSIGN_OR_RETURN(auto decision,
                      DecideAbout(call, Operation::kFulfilDisclosure,
                                  request.tenant, &request));
  const vault::Tenant& tenant = decision.tenant();
  Grants grants;
  PV_ASSIGN_OR_RETURN(auto collections, call.vault.collections.List(tenant.id));
  for (auto& c : collections)
    if (auto grant = decision.FieldsIfAny(Action::kRead, c))
      grants.emplace(c.name, std::pair(c, std::move(*grant)));

  DisclosureRecord record;
  record.fulfilled_at = call.vault.clock->Now();
  record.fulfilled_by = call.identity.id;
  record.encrypted = !request.authority.public_key.empty();
  json::array principals;
  for (auto& principal : request.scope.principals) {
    DisclosedPrincipal disclosed;
    PV_ASSIGN_OR_RETURN(
        auto one, DisclosePrincipal(call, decision, request, grants, principal,
                                    disclosed));
    principals.push_back(std::move(one));
    record.principals.push_back(std::move(disclosed));
  }
  json::object package{{"disclosure_request", request.id},
                       {"tenant", tenant.id},
                       {"authority", request.authority.name},
                       {"instrument", InstrumentJson(request.instrument)},
                       {"generated_at", TimeJson(record.fulfilled_at)},
                       {"principals", std::move(principals)}};
  PV_ASSIGN_OR_RETURN(auto sealed, Seal(request, std::move(package)));
  // Fulfilled once: of two racing fulfilments one records, the other
  // returns no package.
  PV_ASSIGN_OR_RETURN(auto fulfilled,
                      call.vault.disclosures.Fulfil(call.context, request.id,
                                                    std::move(record)));
  json::object out = DisclosureJson(fulfilled, true);
  out["package"] = std::move(sealed);
  return Reply{200, std::move(out)};
}

Result<Reply> ListRequests(Call& call) {
  PV_ASSIGN_OR_RETURN(auto all, call.vault.disclosures.List());
  json::array out;
  for (auto& r : all) out.push_back(DisclosureJson(r, true));
  return Reply{200, json::object{{"disclosure_requests", std::move(out)}}};
}

Result<Reply> GetRequest(Call& call) {
  PV_ASSIGN_OR_RETURN(auto request,
                      call.vault.disclosures.Get(PathParam(call, 0)));
  return Reply{200, DisclosureJson(request, true)};
}

// The tenant's view: approved and fulfilled disclosures whose
// non-disclosure period (if any) has ended; nothing under a gag order.
Result<Reply> ListTenantDisclosures(Call& call) {
  PV_ASSIGN_OR_RETURN(auto all,
                      call.vault.disclosures.List(call.decision.tenant().id));
  TimePoint now = call.vault.clock->Now();
  json::array out;
  for (auto& r : all)
    if (r.VisibleToTenantAt(now)) out.push_back(DisclosureJson(r, false));
  return Reply{200, json::object{{"disclosures", std::move(out)}}};
}

}  // namespace

void AddDisclosureRoutes(const RouteAdder& add) {
  const std::string base = "/v1/disclosure-requests";
  add("POST", base, "disclosure.create", Operation::kCreateDisclosure,
      CreateRequest);
  add("GET", base, "disclosure.list", Operation::kReadDisclosure, ListRequests);
  add("GET", base + "/{id}", "disclosure.get", Operation::kReadDisclosure,
      GetRequest);
  add("POST", base + "/{id}/approve", "disclosure.approve",
      Operation::kDecideDisclosure, Approve);
  add("POST", base + "/{id}/reject", "disclosure.reject",
      Operation::kDecideDisclosure, Reject);
  add("POST", base + "/{id}/fulfil", "disclosure.fulfil",
      Operation::kFulfilDisclosure, Fulfil);
  add("GET", "/v1/tenants/{t}/disclosures", "disclosure.tenant_list",
      Operation::kListTenantDisclosures, ListTenantDisclosures);
}

}  // namespace piivault::api
