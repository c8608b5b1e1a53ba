#include "compliance/lockbox.h"

#include <algorithm>
#include <boost/json.hpp>

#include "base/enum_names.h"
#include "crypto/random.h"
#include "vault/storage_keys.h"
#include "vault/stored_object.h"

namespace piivault::compliance {

using vault::Corrupt;
using vault::Identity;
using vault::OpenStored;
using vault::RequestContext;
using vault::Tenant;
using vault::ToArray;
using vault::ValidateFreeText;
namespace keys = vault::keys;
namespace {

namespace json = boost::json;

constexpr auto kMinDuration = std::chrono::minutes(1);
constexpr std::size_t kMaxReason = 1024;

json::value ToJson(const LockboxRequest& r) {
  json::object o{{"id", r.id},
                 {"tenant", r.tenant},
                 {"requested_by", r.requested_by},
                 {"reason", r.reason},
                 {"collections", ToArray(r.scope.collections)},
                 {"principals", ToArray(r.scope.principals)},
                 {"duration_s", r.duration.count()},
                 {"decision", LockboxDecisionName(r.decision)},
                 {"decided_by", r.decided_by},
                 {"created_us", ToUnixMicros(r.created_at)}};
  if (r.decided_at) o["decided_us"] = ToUnixMicros(*r.decided_at);
  return o;
}

Result<LockboxRequest> FromJson(const json::value& v) {
  PV_ASSIGN_OR_RETURN(auto s, OpenStored(v, "lockbox request"));
  LockboxRequest r;
  r.id = s.Str("id");
  r.tenant = s.Str("tenant");
  r.requested_by = s.Str("requested_by");
  r.reason = s.Str("reason");
  r.scope = {s.StrList("collections"), s.StrList("principals")};
  r.duration = std::chrono::seconds(s.Int("duration_s"));
  auto decision = ParseLockboxDecision(s.Str("decision"));
  r.decided_by = s.Str("decided_by");
  r.created_at = FromUnixMicros(s.Int("created_us"));
  if (auto decided = s.OptInt("decided_us"))
    r.decided_at = FromUnixMicros(*decided);
  if (!s.ok || !decision) return Err(Corrupt("lockbox request"));
  r.decision = *decision;
  return r;
}

// An empty list becomes the explicit ["*"].
void MakeExplicit(std::vector<std::string>& list) {
  if (list.empty()) list.emplace_back(LockboxScope::kAll);
}

}  // namespace

namespace {
constexpr EnumNames<LockboxDecision, 3> kDecisions{{{
    {LockboxDecision::kNone, ""},
    {LockboxDecision::kApproved, "approved"},
    {LockboxDecision::kDenied, "denied"},
}}};
constexpr EnumNames<LockboxState, 4> kStates{{{
    {LockboxState::kPending, "pending"},
    {LockboxState::kApproved, "approved"},
    {LockboxState::kDenied, "denied"},
    {LockboxState::kExpired, "expired"},
}}};
}  // namespace

std::string_view LockboxDecisionName(LockboxDecision decision) {
  return kDecisions.Name(decision);
}

std::optional<LockboxDecision> ParseLockboxDecision(std::string_view name) {
  return kDecisions.Parse(name);
}

std::string_view LockboxStateName(LockboxState state) {
  return kStates.Name(state);
}

std::optional<TimePoint> LockboxRequest::ExpiresAt() const {
  if (decision != LockboxDecision::kApproved || !decided_at)
    return std::nullopt;
  return *decided_at + duration;
}

LockboxState LockboxRequest::StateAt(TimePoint now) const {
  switch (decision) {
    case LockboxDecision::kDenied:
      return LockboxState::kDenied;
    case LockboxDecision::kApproved:
      return now < *ExpiresAt() ? LockboxState::kApproved
                                : LockboxState::kExpired;
    case LockboxDecision::kNone:
      break;
  }
  return now < created_at + LockboxService::kDecisionWindow
             ? LockboxState::kPending
             : LockboxState::kExpired;
}

Result<LockboxRequest> LockboxService::Create(const RequestContext& context,
                                              const Tenant& tenant,
                                              const Identity& requester,
                                              std::string reason,
                                              LockboxScope scope,
                                              std::string_view duration) {
  PV_RETURN_IF_ERROR(ValidateFreeText("reason", reason, 1, kMaxReason));
  auto period = ParseIsoDuration(duration);
  if (!period || *period < kMinDuration || *period > kMaxDuration)
    return Err(ValidationFailed(
        "duration", "an ISO 8601 duration from PT1M to P1D, such as PT2H"));
  if (scope.collections.empty() && scope.principals.empty())
    return Err(InvalidArgument(
        "the scope names nothing: list its collections (\"*\" for every "
        "collection) and, optionally, principals"));
  MakeExplicit(scope.collections);
  MakeExplicit(scope.principals);
  PV_RETURN_IF_ERROR(ValidateScope(context, *control_, tenant.id, scope));

  LockboxRequest r;
  r.id = crypto::RandomId("lbx_");
  r.tenant = tenant.id;
  r.requested_by = requester.id;
  r.reason = std::move(reason);
  r.scope = std::move(scope);
  r.duration = *period;
  r.created_at = clock_->Now();
  std::string key = keys::Lockbox(tenant.id, r.id);
  storage::WriteBatch batch = context.Batch();
  batch.RequireAbsent(key);
  control_->Put(batch, key, ToJson(r));
  PV_RETURN_IF_ERROR(control_->Write(context, batch));
  return r;
}

Result<LockboxRequest> LockboxService::Decide(const RequestContext& context,
                                              const Tenant& tenant,
                                              std::string_view id,
                                              const Identity& admin,
                                              bool approve) {
  TimePoint now = clock_->Now();
  return DecideStored<LockboxRequest>(
      context, *control_, keys::Lockbox(tenant.id, id), "lockbox request",
      {FromJson, ToJson},
      [&](LockboxRequest& r, storage::WriteBatch&) -> Status {
        PV_RETURN_IF_ERROR(RequireIndependent(r.requested_by, admin.id));
        LockboxState state = r.StateAt(now);
        if (state == LockboxState::kExpired)
          return FailedPrecondition("the lockbox request has expired");
        if (approve ? state != LockboxState::kPending
                    : state == LockboxState::kDenied)
          return FailedPrecondition("the lockbox request is already " +
                                    std::string(LockboxStateName(state)));
        r.decision =
            approve ? LockboxDecision::kApproved : LockboxDecision::kDenied;
        r.decided_by = admin.id;
        r.decided_at = now;
        return Status::Ok();
      });
}

Result<LockboxRequest> LockboxService::Get(const RequestContext& context,
                                           std::string_view tenant,
                                           std::string_view id) {
  PV_ASSIGN_OR_RETURN(auto doc,
                      control_->Get(context, keys::Lockbox(tenant, id)));
  if (!doc) return Err(NotFound("no such lockbox request"));
  return FromJson(*doc);
}

Result<std::vector<LockboxRequest>> LockboxService::List(
    std::string_view tenant) {
  PV_ASSIGN_OR_RETURN(auto docs,
                      control_->Scan(keys::LockboxPrefix(tenant), SIZE_MAX));
  std::vector<LockboxRequest> out;
  for (auto& [key, doc] : docs) {
    PV_ASSIGN_OR_RETURN(auto r, FromJson(doc));
    out.push_back(std::move(r));
  }
  std::sort(out.begin(), out.end(),
            [](auto& a, auto& b) { return a.created_at < b.created_at; });
  return out;
}

Result<LockboxRequest> LockboxService::Active(const RequestContext& context,
                                              std::string_view tenant,
                                              std::string_view id,
                                              std::string_view identity) {
  auto refused = [](const char* why) { return Err(PermissionDenied(why)); };
  if (id.empty() || id.size() > 64)
    return refused(
        "operator access to tenant data needs an approved lockbox "
        "request (X-Lockbox-Request)");
  auto r = Get(context, tenant, id);
  if (!r && r.error().code() == StatusCode::kNotFound)
    return refused("no such lockbox request for this tenant");
  if (!r) return Err(r.error());
  if (r->requested_by != identity)
    return refused("the lockbox request was made by another identity");
  switch (r->StateAt(clock_->Now())) {
    case LockboxState::kApproved:
      return r;
    case LockboxState::kPending:
      return refused("the lockbox request is not approved");
    case LockboxState::kDenied:
      return refused("the lockbox request was denied");
    case LockboxState::kExpired:
      break;
  }
  return refused("the lockbox request has expired");
}

}  // namespace piivault::compliance
