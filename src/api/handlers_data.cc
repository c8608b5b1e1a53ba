// Data-plane endpoints: records, search, tokens and the principal view.
// Every one requires X-Purpose and a tenant identity of the tenant.
#include <algorithm>
#include <set>

#include "api/handler_support.h"
#include "base/encoding.h"

namespace piivault::api {
namespace {

using policy::Action;
using policy::Operation;

constexpr std::size_t kSearchLimit = 1000;

Result<vault::FieldValue> JsonToFieldValue(const std::string& field,
                                           const json::value& v) {
  if (v.is_string()) return vault::FieldValue(std::string(v.get_string()));
  if (v.is_int64()) return vault::FieldValue(v.get_int64());
  if (v.is_bool()) return vault::FieldValue(v.get_bool());
  if (v.is_uint64())
    return Err(ValidationFailed(field, "integer out of range"));
  return Err(ValidationFailed(field, "must be a string, integer or boolean"));
}

Result<const json::object*> FieldsMember(const json::object& body) {
  auto* fields = body.if_contains("fields");
  if (!fields || !fields->is_object())
    return Err(InvalidArgument("'fields' is required and must be an object"));
  return &fields->get_object();
}

// Write access: every field written must be granted (a rule's transform
// is about what is read back).
Status CheckWritable(const FieldGrant& grant, const json::object& fields) {
  for (auto& [name, v] : fields)
    if (!policy::Granted(grant, name))
      return PermissionDenied("the policy does not allow writing a field");
  return Status::Ok();
}

json::object ConsentsJson(const vault::Consents& current) {
  json::object out;
  for (auto& [purpose, granted] : current) out[purpose] = granted;
  return out;
}

json::value RecordJson(const vault::Record& r,
                       const vault::Collection& collection,
                       const FieldGrant& grant, bool with_fields = true) {
  json::object o{
      {"id", r.id}, {"principal", r.principal}, {"region", r.region}};
  if (with_fields) {
    o["fields"] = VisibleFields(r.fields, collection, grant);
    o["updated_at"] = TimeJson(r.updated_at);
  }
  o["created_at"] = TimeJson(r.created_at);
  return o;
}

// A record as a caller without any read grant may see it after changing
// it: that it exists, where and when; no field and no principal.
json::value ChangedRecordJson(const vault::Record& r) {
  return json::object{{"id", r.id},
                      {"region", r.region},
                      {"created_at", TimeJson(r.created_at)},
                      {"updated_at", TimeJson(r.updated_at)}};
}

// The ?fields=a,b filter; every name must be a field of the collection.
Result<vault::FieldFilter> FieldsQuery(const Call& call,
                                       const vault::Collection& collection) {
  std::string q = QueryParam(call.request, "fields");
  if (q.empty()) return vault::FieldFilter();
  std::vector<std::string> names;
  std::size_t start = 0;
  while (start <= q.size()) {
    auto comma = q.find(',', start);
    if (comma == std::string::npos) comma = q.size();
    std::string name = q.substr(start, comma - start);
    if (!collection.FindField(name))
      return Err(InvalidArgument(
          "'fields' names a field the collection does not have"));
    names.push_back(std::move(name));
    start = comma + 1;
  }
  return vault::FieldFilter(std::move(names));
}

// The collection a data-plane call names, and the caller's grant on it.
struct CollectionCall {
  vault::Collection collection;
  FieldGrant grant;
};

Result<vault::Collection> CollectionOf(Call& call, std::string_view name) {
  PV_ASSIGN_OR_RETURN(auto collection,
                      call.vault.collections.Get(
                          call.context, call.decision.tenant().id, name));
  call.NoteCollection(collection.name);
  return collection;
}

Result<CollectionCall> ForCollection(Call& call, Action action) {
  PV_ASSIGN_OR_RETURN(auto collection, CollectionOf(call, PathParam(call, 1)));
  PV_ASSIGN_OR_RETURN(auto grant, call.decision.Fields(action, collection));
  return CollectionCall{std::move(collection), std::move(grant)};
}

Result<Reply> CreateRecord(Call& call) {
  PV_ASSIGN_OR_RETURN(auto c, ForCollection(call, Action::kWrite));
  PV_ASSIGN_OR_RETURN(
      auto body,
      ParseObject(call.request, {"principal", "region", "fields", "id"}));
  PV_ASSIGN_OR_RETURN(auto principal, RequiredString(body, "principal"));
  PV_ASSIGN_OR_RETURN(auto region, OptionalString(body, "region"));
  // An import keeps the ids of the tenant's export (docs/operations/import.md).
  PV_ASSIGN_OR_RETURN(auto id, OptionalString(body, "id"));
  PV_ASSIGN_OR_RETURN(auto* fields_json, FieldsMember(body));
  PV_RETURN_IF_ERROR(CheckWritable(c.grant, *fields_json));
  PV_RETURN_IF_ERROR(RequireConsent(call, principal));
  vault::Fields fields;
  for (auto& [name, v] : *fields_json) {
    std::string field(name);
    PV_ASSIGN_OR_RETURN(auto value, JsonToFieldValue(field, v));
    fields.emplace_back(std::move(field), std::move(value));
  }
  PV_ASSIGN_OR_RETURN(auto record,
                      call.vault.records.Create(
                          call.context, call.decision.tenant(), c.collection,
                          principal, region, fields, std::move(id)));
  return Reply{201, RecordJson(record, c.collection, c.grant, false)};
}

Result<Reply> GetRecord(Call& call) {
  call.NoteRecord(PathParam(call, 2));
  PV_ASSIGN_OR_RETURN(auto c, ForCollection(call, Action::kRead));
  PV_ASSIGN_OR_RETURN(auto filter, FieldsQuery(call, c.collection));
  PV_ASSIGN_OR_RETURN(
      auto record,
      call.vault.records.Get(call.context, call.decision.tenant(),
                             c.collection.name, PathParam(call, 2), filter,
                             call.decision.consent_purpose()));
  PV_RETURN_IF_ERROR(call.decision.RequireInScope(record.principal));
  return Reply{200, RecordJson(record, c.collection, c.grant)};
}

Result<Reply> PatchRecord(Call& call) {
  call.NoteRecord(PathParam(call, 2));
  PV_ASSIGN_OR_RETURN(auto c, ForCollection(call, Action::kWrite));
  PV_ASSIGN_OR_RETURN(auto body, ParseObject(call.request, {"fields"}));
  PV_ASSIGN_OR_RETURN(auto* fields_json, FieldsMember(body));
  PV_RETURN_IF_ERROR(CheckWritable(c.grant, *fields_json));
  vault::FieldChanges changes;
  for (auto& [name, v] : *fields_json) {
    std::string field(name);
    if (v.is_null()) {
      changes.emplace_back(std::move(field), std::nullopt);
      continue;
    }
    PV_ASSIGN_OR_RETURN(auto value, JsonToFieldValue(field, v));
    changes.emplace_back(std::move(field), std::move(value));
  }
  PV_ASSIGN_OR_RETURN(
      auto record,
      call.vault.records.Update(call.context, call.decision.tenant(),
                                c.collection, PathParam(call, 2), changes,
                                call.decision.consent_purpose()));
  // The reply shows what a read would: the write grant says nothing about
  // what the caller may see.
  auto read = call.decision.FieldsIfAny(Action::kRead, c.collection);
  if (!read) return Reply{200, ChangedRecordJson(record)};
  return Reply{200, RecordJson(record, c.collection, *read)};
}

Result<Reply> DeleteRecord(Call& call) {
  call.NoteRecord(PathParam(call, 2));
  PV_ASSIGN_OR_RETURN(auto c, ForCollection(call, Action::kDelete));
  PV_RETURN_IF_ERROR(call.vault.records.Delete(
      call.context, call.decision.tenant(), c.collection.name,
      PathParam(call, 2), call.decision.consent_purpose()));
  return Reply{204, nullptr};
}

// Under a lockbox that names principals, the records of those only, by
// pseudonym, so that no other principal's record is even opened (nor on
// the audit record as read); otherwise every record.
Result<vault::RecordService::RecordScope> LockboxPrincipals(const Call& call) {
  const auto& lockbox = call.decision.lockbox();
  if (!lockbox) return vault::RecordService::RecordScope();
  const auto& named = lockbox->scope.principals;
  if (std::find(named.begin(), named.end(), compliance::LockboxScope::kAll) !=
      named.end())
    return vault::RecordService::RecordScope();
  std::set<std::string, std::less<>> pseudonyms;
  for (auto& principal : named) {
    PV_ASSIGN_OR_RETURN(auto pseudonym, call.vault.records.Pseudonym(
                                            call.decision.tenant(), principal));
    pseudonyms.insert(std::move(pseudonym));
  }
  return [pseudonyms = std::move(pseudonyms)](std::string_view,
                                              std::string_view pseudonym) {
    return pseudonyms.contains(pseudonym);
  };
}

Result<Reply> Search(Call& call) {
  PV_ASSIGN_OR_RETURN(auto c, ForCollection(call, Action::kSearch));
  PV_ASSIGN_OR_RETURN(auto body, ParseObject(call.request, {"match", "limit"}));
  auto* match = body.if_contains("match");
  if (!match || !match->is_object() || match->get_object().size() != 1)
    return Err(
        InvalidArgument("'match' must be an object with exactly one field"));
  std::size_t limit = kSearchLimit;
  if (auto* l = body.if_contains("limit")) {
    if (!l->is_int64() || l->get_int64() < 1 ||
        l->get_int64() > static_cast<int64_t>(kSearchLimit))
      return Err(InvalidArgument("'limit' must be an integer from 1 to 1000"));
    limit = static_cast<std::size_t>(l->get_int64());
  }
  auto& [field_key, value_json] = *match->get_object().begin();
  std::string field(field_key);
  // Searching a field is reading it: the caller must see it in plain.
  if (!policy::PlainAllowed(c.grant, field))
    return Err(
        PermissionDenied("the policy does not allow searching this field"));
  PV_ASSIGN_OR_RETURN(auto value, JsonToFieldValue(field, value_json));
  PV_ASSIGN_OR_RETURN(auto scope, LockboxPrincipals(call));
  // Under a consent-requiring purpose, only consenting principals' records.
  PV_ASSIGN_OR_RETURN(
      auto records,
      call.vault.records.Search(call.context, call.decision.tenant(),
                                c.collection, field, value, limit,
                                call.decision.consent_purpose(), scope));
  json::array out;
  for (auto& r : records) {
    if (!call.decision.RequireInScope(r.principal).ok())
      continue;  // a lockbox sees only the principals it names
    out.push_back(RecordJson(r, c.collection, c.grant));
  }
  return Reply{200, json::object{{"records", std::move(out)}}};
}

Result<Reply> Tokenize(Call& call) {
  PV_ASSIGN_OR_RETURN(
      auto body, ParseObject(call.request, {"collection", "record", "fields"}));
  PV_ASSIGN_OR_RETURN(auto collection_name, RequiredString(body, "collection"));
  PV_ASSIGN_OR_RETURN(auto record_id, RequiredString(body, "record"));
  PV_ASSIGN_OR_RETURN(auto fields, OptionalStringList(body, "fields"));
  if (!fields) return Err(InvalidArgument("'fields' is required"));
  PV_ASSIGN_OR_RETURN(auto collection, CollectionOf(call, collection_name));
  PV_ASSIGN_OR_RETURN(auto grant,
                      call.decision.Fields(Action::kTokenize, collection));
  for (auto& f : *fields)
    if (!policy::PlainAllowed(grant, f) && collection.FindField(f))
      return Err(
          PermissionDenied("the policy does not allow tokenizing a field"));
  PV_ASSIGN_OR_RETURN(auto tokens,
                      call.vault.records.Tokenize(
                          call.context, call.decision.tenant(), collection,
                          record_id, *fields, call.decision.consent_purpose()));
  json::object out;
  for (auto& [field, token] : tokens) out[field] = token;
  return Reply{200, json::object{{"tokens", std::move(out)}}};
}

Result<Reply> Detokenize(Call& call) {
  const vault::Tenant& tenant = call.decision.tenant();
  PV_ASSIGN_OR_RETURN(auto body, ParseObject(call.request, {"tokens"}));
  PV_ASSIGN_OR_RETURN(auto tokens, OptionalStringList(body, "tokens"));
  if (!tokens || tokens->empty() || tokens->size() > 1000)
    return Err(
        InvalidArgument("'tokens' must be an array of 1 to 1000 tokens"));
  json::object values;
  std::map<std::string, vault::Collection> collections;
  for (auto& token : *tokens) {
    PV_ASSIGN_OR_RETURN(auto target,
                        call.vault.records.ResolveToken(tenant, token));
    auto it = collections.find(target.collection);
    if (it == collections.end()) {
      PV_ASSIGN_OR_RETURN(auto c, CollectionOf(call, target.collection));
      it = collections.emplace(target.collection, std::move(c)).first;
    }
    PV_ASSIGN_OR_RETURN(auto grant,
                        call.decision.Fields(Action::kDetokenize, it->second));
    if (!policy::PlainAllowed(grant, target.field))
      return Err(
          PermissionDenied("the policy does not allow detokenizing a field"));
    PV_ASSIGN_OR_RETURN(auto record, call.vault.records.Get(
                                         call.context, tenant,
                                         target.collection, target.record_id,
                                         std::vector<std::string>{target.field},
                                         call.decision.consent_purpose()));
    if (record.fields.empty())
      return Err(NotFound("the tokenized value no longer exists"));
    values[token] = FieldValueJson(record.fields.front().second);
  }
  return Reply{200, json::object{{"values", std::move(values)}}};
}

// Names the principal of the path in the audit event before anything
// about it is looked up, so that a failed attempt is on record too.
Status NoteRequestedPrincipal(Call& call) {
  PV_ASSIGN_OR_RETURN(
      auto pseudonym,
      call.vault.records.Pseudonym(call.decision.tenant(), PathParam(call, 1)));
  call.NotePrincipal(pseudonym);
  return Status::Ok();
}

// What a caller may see of a principal for `action` (read or export): the
// principal's view, and per collection the caller's grant, decided before
// anything about the principal is looked up: a caller who may see nothing
// must not learn even whether the principal exists.
struct PrincipalRead {
  std::map<std::string, std::pair<vault::Collection, FieldGrant>> grants;
  vault::PrincipalView view;

  // The records of granted collections, fields as their grant allows.
  json::array RecordsJson() const {
    json::array out;
    for (auto& r : view.records) {
      auto it = grants.find(r.collection);
      if (it == grants.end()) continue;  // no grant for this collection
      auto& [collection, grant] = it->second;
      out.emplace_back(PrincipalRecordJson(r, collection, grant));
    }
    return out;
  }
};

Result<PrincipalRead> ReadPrincipal(Call& call, Action action) {
  const vault::Tenant& tenant = call.decision.tenant();
  PV_RETURN_IF_ERROR(NoteRequestedPrincipal(call));
  PrincipalRead read;
  PV_ASSIGN_OR_RETURN(auto collections, call.vault.collections.List(tenant.id));
  for (auto& c : collections)
    if (auto grant = call.decision.FieldsIfAny(action, c))
      read.grants.emplace(c.name, std::pair(c, std::move(*grant)));
  if (read.grants.empty() && !call.decision.unrestricted())
    return Err(PermissionDenied("no policy rule allows this request"));
  PV_RETURN_IF_ERROR(call.decision.RequireInScope(PathParam(call, 1)));
  // A page of the records: ?after=<the previous page's next>&limit=.
  vault::RecordPage page;
  page.after = QueryParam(call.request, "after");
  if (page.after.size() > 128)
    return Err(InvalidArgument("after must be a record id"));
  PV_ASSIGN_OR_RETURN(page.limit,
                      PageLimit(call, vault::RecordPage::kMaxLimit));
  // Records of collections the caller may not see are not even opened.
  auto granted = [&grants = read.grants](std::string_view collection,
                                         std::string_view) {
    return grants.contains(std::string(collection));
  };
  PV_ASSIGN_OR_RETURN(read.view,
                      call.vault.records.GetPrincipal(
                          call.context, tenant, PathParam(call, 1),
                          call.decision.consent_purpose(), page, granted));
  return read;
}

// A cursor member: the value, or null after the last page.
template <typename T>
json::value NextJson(const std::optional<T>& next) {
  return next ? json::value(*next) : json::value();
}

Result<Reply> GetPrincipal(Call& call) {
  PV_ASSIGN_OR_RETURN(auto read, ReadPrincipal(call, Action::kRead));
  return Reply{200, json::object{{"principal", read.view.principal},
                                 {"region", read.view.region},
                                 {"records", read.RecordsJson()},
                                 {"consents", ConsentsJson(read.view.consents)},
                                 {"next", NextJson(read.view.next)}}};
}

json::object ConsentEventJson(const vault::ConsentEvent& e) {
  return json::object{{"purpose", e.purpose},
                      {"granted", e.granted},
                      {"at", TimeJson(e.at)},
                      {"method", e.method},
                      {"evidence", e.evidence}};
}

Result<Reply> RecordConsent(Call& call) {
  PV_ASSIGN_OR_RETURN(
      auto body,
      ParseObject(call.request, {"purpose", "granted", "method", "evidence"}));
  PV_ASSIGN_OR_RETURN(auto purpose_id, RequiredString(body, "purpose"));
  if (!call.decision.AllowsConsentPurpose(Action::kConsentWrite, purpose_id))
    return Err(PermissionDenied("no policy rule allows this request"));
  PV_RETURN_IF_ERROR(NoteRequestedPrincipal(call));
  const vault::Tenant& tenant = call.decision.tenant();
  PV_ASSIGN_OR_RETURN(auto granted, OptionalBool(body, "granted"));
  if (!granted) return Err(ValidationFailed("granted", "true or false"));
  PV_ASSIGN_OR_RETURN(auto method, OptionalString(body, "method"));
  PV_ASSIGN_OR_RETURN(auto evidence, OptionalString(body, "evidence"));
  auto purpose =
      call.vault.tenants.GetPurpose(call.context, tenant.id, purpose_id);
  if (!purpose && purpose.error().code() == StatusCode::kNotFound)
    return Err(InvalidArgument("the purpose is not defined for this tenant",
                               "unknown_purpose"));
  if (!purpose) return Err(purpose.error());
  PV_ASSIGN_OR_RETURN(
      auto event, call.vault.consents.Record(
                      call.context, tenant, PathParam(call, 1), *purpose,
                      *granted, method.value_or(""), evidence.value_or("")));
  return Reply{201, ConsentEventJson(event)};
}

// The history a page at a time: ?from=<seq>&limit=, "next" the seq the
// following page starts at.
Result<Reply> ListConsents(Call& call) {
  PV_RETURN_IF_ERROR(NoteRequestedPrincipal(call));
  const vault::Tenant& tenant = call.decision.tenant();
  PV_ASSIGN_OR_RETURN(uint64_t from, UintParam(call, "from", 0));
  PV_ASSIGN_OR_RETURN(std::size_t limit,
                      PageLimit(call, vault::ConsentLedger::kMaxPage));
  PV_ASSIGN_OR_RETURN(
      auto ledger, call.vault.consents.Ledger(call.context, tenant,
                                              PathParam(call, 1), from, limit));
  // A tenant-app sees the purposes its consent_read rules name.
  auto readable = [&](std::string_view purpose) {
    return call.decision.AllowsConsentPurpose(Action::kConsentRead, purpose);
  };
  std::erase_if(ledger.current,
                [&](const auto& entry) { return !readable(entry.first); });
  json::array history;
  for (auto& e : ledger.history)
    if (readable(e.purpose)) history.push_back(ConsentEventJson(e));
  return Reply{200, json::object{{"current", ConsentsJson(ledger.current)},
                                 {"history", std::move(history)},
                                 {"next", NextJson(ledger.next)}}};
}

// Everything held about a principal as one portable document: its records
// (as the caller's export grant allows) and its consent ledger, both bounded
// like their own reads: the records a page at a time ("next", ?after=), the
// ledger's first page (consents.next: continue with GET …/consents?from=).
Result<Reply> ExportPrincipal(Call& call) {
  PV_ASSIGN_OR_RETURN(auto read, ReadPrincipal(call, Action::kExport));
  json::array history;
  auto ledger = call.vault.consents.Ledger(call.context, call.decision.tenant(),
                                           read.view.principal);
  // kNotFound: placed, but nothing written yet, so no ledger either.
  if (!ledger && ledger.error().code() != StatusCode::kNotFound)
    return Err(ledger.error());
  std::optional<uint64_t> history_next;
  if (ledger) {
    for (auto& e : ledger->history) history.push_back(ConsentEventJson(e));
    history_next = ledger->next;
  }
  return Reply{
      200,
      json::object{{"format", "piivault-principal-export-v1"},
                   {"tenant", call.decision.tenant().id},
                   {"principal", read.view.principal},
                   {"region", read.view.region},
                   {"exported_at", TimeJson(call.vault.clock->Now())},
                   {"records", read.RecordsJson()},
                   {"next", NextJson(read.view.next)},
                   {"consents",
                    json::object{{"current", ConsentsJson(read.view.consents)},
                                 {"history", std::move(history)},
                                 {"next", NextJson(history_next)}}}}};
}

// Erasure removes the principal from every collection: tenant-admins, or
// tenant-apps whose policy allows deleting in all of them.
Result<Reply> ErasePrincipal(Call& call) {
  const vault::Tenant& tenant = call.decision.tenant();
  PV_RETURN_IF_ERROR(NoteRequestedPrincipal(call));
  PV_ASSIGN_OR_RETURN(auto collections, call.vault.collections.List(tenant.id));
  for (auto& c : collections)
    PV_RETURN_IF_ERROR(
        internal::ToStatus(call.decision.Fields(Action::kDelete, c)));
  PV_RETURN_IF_ERROR(RequireConsent(call, PathParam(call, 1)));
  PV_ASSIGN_OR_RETURN(
      auto certificate,
      call.vault.erasures.Erase(call.context, tenant, PathParam(call, 1),
                                call.audit.signer()));
  return Reply{200,
               json::object{{"certificate", CertificateJson(certificate)}}};
}

// The tenant's register of certificates: no personal data, so no purpose.
Result<Reply> ListCertificates(Call& call) {
  PV_ASSIGN_OR_RETURN(auto certificates, call.vault.erasures.Certificates(
                                             call.decision.tenant().id));
  PV_ASSIGN_OR_RETURN(auto disposal, call.vault.disposals.Certificate(
                                         call.decision.tenant().id));
  json::array out;
  for (auto& c : certificates) out.push_back(CertificateJson(c));
  if (disposal) out.push_back(CertificateJson(*disposal));  // always the last
  return Reply{200, json::object{{"certificates", std::move(out)}}};
}

// Residency management rather than processing: the tenant-admin decides where
// a principal's data lives, so no purpose is involved (API.md lists none).
Result<Reply> RelocatePrincipal(Call& call) {
  PV_ASSIGN_OR_RETURN(auto body, ParseObject(call.request, {"region"}));
  PV_ASSIGN_OR_RETURN(auto region, RequiredString(body, "region"));
  std::string_view principal = PathParam(call, 1);
  PV_RETURN_IF_ERROR(NoteRequestedPrincipal(call));
  PV_ASSIGN_OR_RETURN(auto placed, call.vault.relocations.Relocate(
                                       call.context, call.decision.tenant(),
                                       principal, region));
  return Reply{200, json::object{{"principal", principal}, {"region", placed}}};
}

}  // namespace

void AddDataRoutes(const RouteAdder& add) {
  add("POST", "/v1/tenants/{t}/collections/{c}/records", "records.create",
      Operation::kCreateRecord, CreateRecord);
  add("GET", "/v1/tenants/{t}/collections/{c}/records/{id}", "records.get",
      Operation::kReadRecord, GetRecord);
  add("PATCH", "/v1/tenants/{t}/collections/{c}/records/{id}", "records.update",
      Operation::kUpdateRecord, PatchRecord);
  add("DELETE", "/v1/tenants/{t}/collections/{c}/records/{id}",
      "records.delete", Operation::kDeleteRecord, DeleteRecord);
  add("POST", "/v1/tenants/{t}/collections/{c}/search", "records.search",
      Operation::kSearchRecords, Search);
  add("POST", "/v1/tenants/{t}/tokenize", "tokens.tokenize",
      Operation::kTokenize, Tokenize);
  add("POST", "/v1/tenants/{t}/detokenize", "tokens.detokenize",
      Operation::kDetokenize, Detokenize);
  add("GET", "/v1/tenants/{t}/principals/{p}", "principals.get",
      Operation::kReadPrincipal, GetPrincipal);
  add("GET", "/v1/tenants/{t}/principals/{p}/export", "principals.export",
      Operation::kExportPrincipal, ExportPrincipal);
  add("DELETE", "/v1/tenants/{t}/principals/{p}", "principals.erase",
      Operation::kErasePrincipal, ErasePrincipal);
  add("GET", "/v1/tenants/{t}/certificates", "certificates.list",
      Operation::kReadCertificates, ListCertificates);
  add("POST", "/v1/tenants/{t}/principals/{p}/consents",
      "principals.consents.record", Operation::kRecordConsent, RecordConsent);
  add("GET", "/v1/tenants/{t}/principals/{p}/consents",
      "principals.consents.list", Operation::kReadConsents, ListConsents);
  add("POST", "/v1/tenants/{t}/principals/{p}/relocate", "principals.relocate",
      Operation::kRelocatePrincipal, RelocatePrincipal);
}

}  // namespace piivault::api
