#include "compliance/disclosure.h"

#include <algorithm>
#include <boost/json.hpp>

#include "base/encoding.h"
#include "base/enum_names.h"
#include "crypto/random.h"
#include "crypto/transfer_stream.h"
#include "vault/storage_keys.h"
#include "vault/stored_object.h"

namespace piivault::compliance {

using vault::Corrupt;
using vault::OpenStored;
using vault::RequestContext;
using vault::ToArray;
using vault::ValidateFreeText;
namespace keys = vault::keys;
namespace json = boost::json;

namespace {

constexpr std::string_view kIdPrefix = "dsc_";
constexpr std::size_t kMaxText = 256, kMaxReason = 1024;

constexpr EnumNames<DisclosureState, 4> kStates{{{
    {DisclosureState::kReceived, "received"},
    {DisclosureState::kApproved, "approved"},
    {DisclosureState::kRejected, "rejected"},
    {DisclosureState::kFulfilled, "fulfilled"},
}}};
constexpr EnumNames<InstrumentType, 4> kInstruments{{{
    {InstrumentType::kSubpoena, "subpoena"},
    {InstrumentType::kWarrant, "warrant"},
    {InstrumentType::kCourtOrder, "court_order"},
    {InstrumentType::kOther, "other"},
}}};

json::value OptTime(const std::optional<TimePoint>& t) {
  return t ? json::value(ToUnixMicros(*t)) : json::value(nullptr);
}
std::optional<TimePoint> OptTime(vault::StoredObject& s, std::string_view k) {
  auto v = s.OptInt(k);
  return v ? std::optional(FromUnixMicros(*v)) : std::nullopt;
}

json::value RecordJson(const DisclosureRecord& r) {
  json::array principals;
  for (auto& p : r.principals)
    principals.push_back(json::object{{"pseudonym", p.pseudonym},
                                      {"records", ToArray(p.records)},
                                      {"fields", ToArray(p.fields)}});
  return json::object{{"fulfilled_us", ToUnixMicros(r.fulfilled_at)},
                      {"fulfilled_by", r.fulfilled_by},
                      {"encrypted", r.encrypted},
                      {"principals", std::move(principals)}};
}

Result<DisclosureRecord> RecordFromJson(const json::value& v) {
  PV_ASSIGN_OR_RETURN(auto s, OpenStored(v, "disclosure record"));
  DisclosureRecord r;
  r.fulfilled_at = FromUnixMicros(s.Int("fulfilled_us"));
  r.fulfilled_by = s.Str("fulfilled_by");
  r.encrypted = s.Bool("encrypted");
  const json::value* principals = s.obj->if_contains("principals");
  if (!s.ok || !principals || !principals->is_array())
    return Err(Corrupt("disclosure record"));
  for (auto& p : principals->get_array()) {
    PV_ASSIGN_OR_RETURN(auto ps, OpenStored(p, "disclosure record"));
    r.principals.push_back(
        {ps.Str("pseudonym"), ps.StrList("records"), ps.StrList("fields")});
    if (!ps.ok) return Err(Corrupt("disclosure record"));
  }
  return r;
}

json::value ToJson(const DisclosureRequest& r) {
  json::object o{{"id", r.id},
                 {"tenant", r.tenant},
                 {"requested_by", r.requested_by},
                 {"authority", r.authority.name},
                 {"authority_key", Base64Encode(r.authority.public_key)},
                 {"instrument_type", InstrumentTypeName(r.instrument.type)},
                 {"reference", r.instrument.reference},
                 {"jurisdiction", r.instrument.jurisdiction},
                 {"legally_binding", r.instrument.legally_binding},
                 {"collections", ToArray(r.scope.collections)},
                 {"principals", ToArray(r.scope.principals)},
                 {"nondisclosure_until_us", OptTime(r.nondisclosure_until)},
                 {"state", DisclosureStateName(r.state)},
                 {"created_us", ToUnixMicros(r.created_at)},
                 {"decided_by", r.decided_by},
                 {"decided_us", OptTime(r.decided_at)},
                 {"rejection_reason", r.rejection_reason},
                 {"tenant_notified_us", OptTime(r.tenant_notified_at)}};
  if (r.record) o["record"] = RecordJson(*r.record);
  return o;
}

Result<DisclosureRequest> FromJson(const json::value& v) {
  PV_ASSIGN_OR_RETURN(auto s, OpenStored(v, "disclosure request"));
  DisclosureRequest r;
  r.id = s.Str("id");
  r.tenant = s.Str("tenant");
  r.requested_by = s.Str("requested_by");
  r.authority.name = s.Str("authority");
  auto key = Base64Decode(s.Str("authority_key"));
  auto type = ParseInstrumentType(s.Str("instrument_type"));
  r.instrument.reference = s.Str("reference");
  r.instrument.jurisdiction = s.Str("jurisdiction");
  r.instrument.legally_binding = s.Bool("legally_binding");
  r.scope = {s.StrList("collections"), s.StrList("principals")};
  r.nondisclosure_until = OptTime(s, "nondisclosure_until_us");
  auto state = ParseDisclosureState(s.Str("state"));
  r.created_at = FromUnixMicros(s.Int("created_us"));
  r.decided_by = s.Str("decided_by");
  r.decided_at = OptTime(s, "decided_us");
  r.rejection_reason = s.Str("rejection_reason");
  r.tenant_notified_at = OptTime(s, "tenant_notified_us");
  if (!s.ok || !key || !type || !state)
    return Err(Corrupt("disclosure request"));
  r.authority.public_key = std::move(*key);
  r.instrument.type = *type;
  r.state = *state;
  if (const json::value* record = s.obj->if_contains("record")) {
    PV_ASSIGN_OR_RETURN(r.record, RecordFromJson(*record));
  }
  return r;
}

const StoredCodec<DisclosureRequest> kCodec{FromJson, ToJson};

}  // namespace

std::string_view DisclosureStateName(DisclosureState state) {
  return kStates.Name(state);
}
std::optional<DisclosureState> ParseDisclosureState(std::string_view name) {
  return kStates.Parse(name);
}
std::string_view InstrumentTypeName(InstrumentType type) {
  return kInstruments.Name(type);
}
std::optional<InstrumentType> ParseInstrumentType(std::string_view name) {
  return kInstruments.Parse(name);
}

bool DisclosureRequest::VisibleToTenantAt(TimePoint now) const {
  if (state != DisclosureState::kApproved &&
      state != DisclosureState::kFulfilled)
    return false;
  return !nondisclosure_until || now >= *nondisclosure_until;
}

bool DisclosureService::ValidId(std::string_view id) {
  return crypto::IsRandomId(kIdPrefix, id);
}

Result<DisclosureRequest> DisclosureService::Create(
    const RequestContext& context, const vault::Tenant& tenant,
    const vault::Identity& requester, NewRequest request) {
  PV_RETURN_IF_ERROR(
      ValidateFreeText("authority", request.authority.name, 1, kMaxText));
  if (!request.authority.public_key.empty()) {
    // The writer's own check, before anything is stored: a key X25519
    // refuses fails here, not at fulfilment.
    auto probe = crypto::X25519(crypto::X25519KeyPair::Generate().private_key,
                                request.authority.public_key);
    if (!probe)
      return Err(
          ValidationFailed("authority",
                           "public_key must be the base64 of a raw 32-byte "
                           "X25519 public key"));
  }
  PV_RETURN_IF_ERROR(ValidateFreeText(
      "instrument.reference", request.instrument.reference, 1, kMaxText));
  PV_RETURN_IF_ERROR(ValidateFreeText(
      "instrument.jurisdiction", request.instrument.jurisdiction, 1, kMaxText));
  RequestScope& scope = request.scope;
  // A disclosure names its data subjects: never "every principal".
  if (scope.principals.empty() ||
      std::find(scope.principals.begin(), scope.principals.end(),
                RequestScope::kAll) != scope.principals.end())
    return Err(ValidationFailed("scope", "principals lists the principals"));
  if (scope.collections.empty())
    scope.collections.emplace_back(RequestScope::kAll);
  PV_RETURN_IF_ERROR(ValidateScope(context, *control_, tenant.id, scope));
  TimePoint now = clock_->Now();
  if (request.nondisclosure_until && *request.nondisclosure_until <= now)
    return Err(
        ValidationFailed("nondisclosure_until", "must be in the future"));

  DisclosureRequest r;
  r.id = crypto::RandomId(kIdPrefix);
  r.tenant = tenant.id;
  r.requested_by = requester.id;
  r.authority = std::move(request.authority);
  r.instrument = std::move(request.instrument);
  r.scope = std::move(scope);
  r.nondisclosure_until = request.nondisclosure_until;
  r.created_at = now;
  std::string key = keys::Disclosure(r.id);
  storage::WriteBatch batch = context.Batch();
  batch.RequireAbsent(key);
  control_->Put(batch, key, ToJson(r));
  PV_RETURN_IF_ERROR(control_->Write(context, batch));
  return r;
}

Result<DisclosureRequest> DisclosureService::Change(
    const RequestContext& context, std::string_view id,
    const std::function<Status(DisclosureRequest&, storage::WriteBatch&)>&
        change) {
  if (!ValidId(id)) return Err(NotFound("no such disclosure request"));
  return DecideStored<DisclosureRequest>(context, *control_,
                                         keys::Disclosure(id),
                                         "disclosure request", kCodec, change);
}

void DisclosureService::AddNotice(storage::WriteBatch& batch,
                                  DisclosureRequest& r) const {
  // Facts about the processor's act, no personal data: the principals are
  // counted, never named.
  outbox_->Add(
      batch, r.tenant, NotificationType::kDisclosure,
      json::object{
          {"disclosure_request", r.id},
          {"authority", r.authority.name},
          {"instrument",
           json::object{{"type", InstrumentTypeName(r.instrument.type)},
                        {"reference", r.instrument.reference},
                        {"jurisdiction", r.instrument.jurisdiction}}},
          {"principals", r.scope.principals.size()}});
  r.tenant_notified_at = clock_->Now();
}

Result<DisclosureRequest> DisclosureService::Approve(
    const RequestContext& context, std::string_view id,
    const vault::Identity& approver) {
  TimePoint now = clock_->Now();
  return Change(
      context, id,
      [&](DisclosureRequest& r, storage::WriteBatch& batch) -> Status {
        PV_RETURN_IF_ERROR(RequireIndependent(r.requested_by, approver.id));
        if (r.state != DisclosureState::kReceived)
          return FailedPrecondition("the disclosure request is already " +
                                    std::string(DisclosureStateName(r.state)));
        if (!r.instrument.legally_binding)
          return FailedPrecondition(
              "only a legally binding instrument is honoured");
        r.state = DisclosureState::kApproved;
        r.decided_by = approver.id;
        r.decided_at = now;
        if (!r.nondisclosure_until || *r.nondisclosure_until <= now) {
          AddNotice(batch, r);
          return Status::Ok();
        }
        if (!schedule_notice_)
          return Internal("no scheduler for the tenant's notice");
        return schedule_notice_(batch, r);
      });
}

Result<DisclosureRequest> DisclosureService::Reject(
    const RequestContext& context, std::string_view id,
    const vault::Identity& rejecter, std::string reason) {
  PV_RETURN_IF_ERROR(ValidateFreeText("reason", reason, 1, kMaxReason));
  TimePoint now = clock_->Now();
  return Change(
      context, id, [&](DisclosureRequest& r, storage::WriteBatch&) -> Status {
        if (r.state != DisclosureState::kReceived)
          return FailedPrecondition("the disclosure request is already " +
                                    std::string(DisclosureStateName(r.state)));
        r.state = DisclosureState::kRejected;
        r.decided_by = rejecter.id;
        r.decided_at = now;
        r.rejection_reason = std::move(reason);
        return Status::Ok();
      });
}

Status DisclosureService::RequireFulfillable(const DisclosureRequest& r) {
  if (r.state != DisclosureState::kApproved)
    return FailedPrecondition(
        "only an approved disclosure request is fulfilled, once; this one is " +
        std::string(DisclosureStateName(r.state)));
  return Status::Ok();
}

Result<DisclosureRequest> DisclosureService::Fulfil(
    const RequestContext& context, std::string_view id,
    DisclosureRecord record) {
  return Change(context, id,
                [&](DisclosureRequest& r, storage::WriteBatch&) -> Status {
                  PV_RETURN_IF_ERROR(RequireFulfillable(r));
                  r.state = DisclosureState::kFulfilled;
                  r.record = std::move(record);
                  return Status::Ok();
                });
}

Status DisclosureService::NotifyTenant(const RequestContext& context,
                                       std::string_view id) {
  PV_ASSIGN_OR_RETURN(auto current, Get(id));
  if (current.tenant_notified_at) return Status::Ok();  // a second run
  TimePoint now = clock_->Now();
  auto told = Change(
      context, id,
      [&](DisclosureRequest& r, storage::WriteBatch& batch) -> Status {
        if (r.tenant_notified_at) return AlreadyExists("the tenant was told");
        if (r.nondisclosure_until && now < *r.nondisclosure_until)
          return FailedPrecondition("the non-disclosure period has not ended");
        AddNotice(batch, r);
        return Status::Ok();
      });
  // A run racing another: whichever stored the notice, there is one.
  if (!told && (told.error().code() == StatusCode::kAlreadyExists ||
                told.error().code() == StatusCode::kAborted)) {
    PV_ASSIGN_OR_RETURN(auto stored, Get(id));
    if (stored.tenant_notified_at) return Status::Ok();
  }
  return told ? Status::Ok() : told.error();
}

Result<DisclosureRequest> DisclosureService::Get(std::string_view id) {
  if (!ValidId(id)) return Err(NotFound("no such disclosure request"));
  PV_ASSIGN_OR_RETURN(auto doc,
                      control_->Get(RequestContext(), keys::Disclosure(id)));
  if (!doc) return Err(NotFound("no such disclosure request"));
  return FromJson(*doc);
}

Result<std::vector<DisclosureRequest>> DisclosureService::List(
    std::string_view tenant) {
  PV_ASSIGN_OR_RETURN(auto docs,
                      control_->Scan(keys::DisclosurePrefix(), SIZE_MAX));
  std::vector<DisclosureRequest> out;
  for (auto& [key, doc] : docs) {
    PV_ASSIGN_OR_RETURN(auto r, FromJson(doc));
    if (tenant.empty() || r.tenant == tenant) out.push_back(std::move(r));
  }
  std::sort(out.begin(), out.end(),
            [](auto& a, auto& b) { return a.created_at < b.created_at; });
  return out;
}

}  // namespace piivault::compliance
