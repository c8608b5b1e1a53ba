#include "lifecycle/relocation.h"

#include <algorithm>

#include "audit/event.h"
#include "base/crash_point.h"
#include "base/retry.h"
#include "crypto/keyring.h"
#include "lifecycle/principal_rows.h"
#include "vault/principal_key_state.h"
#include "vault/storage_keys.h"

namespace piivault::lifecycle {

using vault::Placement;
using vault::PrincipalKeyState;
using vault::RegionNotAllowed;
using vault::RelocationFromJson;
using vault::RelocationRecord;
using vault::RequestContext;
using vault::Tenant;
using vault::TenantFromJson;
using vault::ToJson;
namespace keys = vault::keys;
namespace {

constexpr int kMaxAttempts = 8;

Status Inconsistent() {
  return FailedPrecondition(
      "the principal's relocation state is inconsistent; it needs an "
      "operator");
}

}  // namespace

Status RelocationService::Freeze(const RequestContext& context,
                                 storage::Backend& source,
                                 const RelocationRecord& move) {
  std::string pkey = keys::PrincipalKey(move.tenant, move.pseudonym);
  auto attempt = [&]() -> std::optional<Status> {
    PV_ASSIGN_OR_RETURN(auto raw, source.Get(pkey));
    PrincipalKeyState frozen;
    frozen.phase = PrincipalKeyState::Phase::kOutgoing;
    frozen.peer_region = move.to;
    storage::WriteBatch batch = context.Batch();
    if (raw) {
      PV_ASSIGN_OR_RETURN(auto state, PrincipalKeyState::Decode(*raw));
      if (state.phase == PrincipalKeyState::Phase::kOutgoing &&
          state.peer_region == move.to)
        return Status::Ok();
      if (!state.active()) return Inconsistent();
      frozen.wrapped = std::move(state.wrapped);
      frozen.consents = std::move(state.consents);
      batch.RequireValue(pkey, *raw);
    } else {
      batch.RequireAbsent(pkey);  // a principal with no key yet
    }
    batch.Put(pkey, frozen.Encode());
    Status written = source.Write(batch);
    if (LostRace(written)) return std::nullopt;  // a write raced
    return written;
  };
  return RetryOnConflict("the principal", attempt, kMaxAttempts);
}

Status RelocationService::Purge(const RequestContext& context,
                                storage::Backend& backend,
                                const RelocationRecord& move, bool tombstone) {
  auto purged = PurgePrincipalRows(
      context, backend, move.tenant, move.pseudonym,
      tombstone ? std::optional(PrincipalKeyState::Tombstone().Encode())
                : std::nullopt);
  return purged ? Status::Ok() : purged.error();
}

Status RelocationService::CopyAndVerify(const RequestContext& context,
                                        storage::Backend& source,
                                        storage::Backend& target,
                                        const RelocationRecord& move) {
  std::string pkey = keys::PrincipalKey(move.tenant, move.pseudonym);
  PV_ASSIGN_OR_RETURN(auto tenant_keys,
                      control_->keyring().GetTenantKeys(move.tenant));
  for (int attempt = 0; attempt < 2; ++attempt) {
    // The source is frozen, so what it holds no longer changes.
    PV_ASSIGN_OR_RETURN(
        PrincipalRows from,
        CollectPrincipalRows(source, move.tenant, move.pseudonym));
    if (!from.key_raw) return Inconsistent();
    PV_ASSIGN_OR_RETURN(auto source_state,
                        PrincipalKeyState::Decode(*from.key_raw));
    PV_ASSIGN_OR_RETURN(
        PrincipalRows to,
        CollectPrincipalRows(target, move.tenant, move.pseudonym));
    // A tombstone an earlier erasure left here holds nothing: replace it.
    bool empty_target = !to.key_raw;
    if (to.key_raw) {
      PV_ASSIGN_OR_RETURN(auto state, PrincipalKeyState::Decode(*to.key_raw));
      empty_target = state.tombstone() && to.rows.empty();
    }
    if (empty_target) {
      storage::WriteBatch batch = context.Batch();
      if (to.key_raw) {
        batch.RequireValue(pkey, *to.key_raw);
      } else {
        batch.RequireAbsent(pkey);
      }
      batch.Put(pkey,
                PrincipalKeyState{.phase = PrincipalKeyState::Phase::kIncoming,
                                  .peer_region = move.from,
                                  .wrapped = source_state.wrapped,
                                  .consents = source_state.consents}
                    .Encode());
      for (auto& row : from.rows) batch.Put(row.key, row.value);
      batch.Add(keys::RecordCount(move.tenant), from.records);
      Status written = target.Write(batch);
      if (written.code() != StatusCode::kAborted) PV_RETURN_IF_ERROR(written);
      CrashPoint("relocate.copied");
      PV_ASSIGN_OR_RETURN(
          to, CollectPrincipalRows(target, move.tenant, move.pseudonym));
      if (!to.key_raw) return Aborted("the copy changed concurrently; retry");
    }
    PV_ASSIGN_OR_RETURN(auto target_state,
                        PrincipalKeyState::Decode(*to.key_raw));
    if (target_state.phase != PrincipalKeyState::Phase::kIncoming ||
        target_state.peer_region != move.from)
      return Inconsistent();  // the target holds data of its own
    bool same = to.rows == from.rows && to.records == from.records &&
                target_state.wrapped == source_state.wrapped &&
                target_state.consents == source_state.consents;
    if (same && !target_state.wrapped.empty())
      same =
          crypto::Keyring::UnwrapPrincipalKey(
              *tenant_keys, move.tenant, move.pseudonym, target_state.wrapped)
              .has_value();
    if (same) return Status::Ok();
    PV_RETURN_IF_ERROR(
        Purge(context, target, move));  // a bad copy: make it again
  }
  return DataLoss("the relocated copy does not match its source");
}

Status RelocationService::Switch(const RequestContext& context,
                                 const RelocationRecord& move) {
  std::string dir_key = keys::PrincipalDirectory(move.tenant, move.pseudonym);
  std::string tenant_key = keys::Tenant(move.tenant);
  auto attempt = [&]() -> std::optional<Status> {
    PV_ASSIGN_OR_RETURN(auto home,
                        ReadPlacement(*control_, move.tenant, move.pseudonym));
    if (!home) return Inconsistent();
    if (home->placement.region == move.to) return Status::Ok();
    if (home->placement.region != move.from) return Inconsistent();
    PV_ASSIGN_OR_RETURN(auto tenant_raw, control_->GetRaw(tenant_key));
    if (!tenant_raw) return Inconsistent();
    PV_ASSIGN_OR_RETURN(auto tenant_doc,
                        control_->Decode(tenant_key, *tenant_raw));
    PV_ASSIGN_OR_RETURN(Tenant tenant, TenantFromJson(tenant_doc));
    if (!tenant.AcceptsNewPrincipals(move.to))
      return FailedPrecondition("the tenant no longer allows the region");
    storage::WriteBatch batch = context.Batch();
    batch.RequireValue(dir_key, home->raw);
    batch.RequireValue(tenant_key, *tenant_raw);
    control_->Put(batch, dir_key,
                  ToJson(Placement{move.to, home->placement.created_at}));
    batch.Add(keys::PrincipalCount(move.tenant, move.from), -1);
    batch.Add(keys::PrincipalCount(move.tenant, move.to), 1);
    Status written = control_->Write(context, batch);
    if (LostRace(written)) return std::nullopt;
    return written;
  };
  return RetryOnConflict("the principal", attempt, kMaxAttempts);
}

namespace {

// A batch turning a relocation key entry (`raw`, decoded as `state`) back
// into the active one, or removing it for a principal without a key.
storage::WriteBatch RestoreActiveKey(const RequestContext& context,
                                     const std::string& pkey,
                                     const std::string& raw,
                                     const PrincipalKeyState& state) {
  storage::WriteBatch batch = context.Batch();
  batch.RequireValue(pkey, raw);
  if (state.wrapped.empty()) {
    batch.Delete(pkey);
  } else {
    PrincipalKeyState active = state;
    active.phase = PrincipalKeyState::Phase::kActive;
    active.peer_region.clear();
    batch.Put(pkey, active.Encode());
  }
  return batch;
}

}  // namespace

Status RelocationService::Activate(const RequestContext& context,
                                   storage::Backend& target,
                                   const RelocationRecord& move) {
  std::string pkey = keys::PrincipalKey(move.tenant, move.pseudonym);
  PV_ASSIGN_OR_RETURN(auto raw, target.Get(pkey));
  if (!raw) return Status::Ok();  // a principal without a key: done
  PV_ASSIGN_OR_RETURN(auto state, PrincipalKeyState::Decode(*raw));
  if (state.active()) return Status::Ok();
  if (state.phase != PrincipalKeyState::Phase::kIncoming) return Inconsistent();
  Status written = target.Write(RestoreActiveKey(context, pkey, *raw, state));
  // Aborted: another driver activated it first.
  return written.code() == StatusCode::kAborted ? Status::Ok() : written;
}

Status RelocationService::Abandon(const RequestContext& context,
                                  storage::Backend& source,
                                  storage::Backend& target,
                                  const std::string& key,
                                  const RelocationRecord& move) {
  PV_RETURN_IF_ERROR(Purge(context, target, move));
  std::string pkey = keys::PrincipalKey(move.tenant, move.pseudonym);
  PV_ASSIGN_OR_RETURN(auto raw, source.Get(pkey));
  if (raw) {
    PV_ASSIGN_OR_RETURN(auto state, PrincipalKeyState::Decode(*raw));
    if (!state.active())
      PV_RETURN_IF_ERROR(
          source.Write(RestoreActiveKey(context, pkey, *raw, state)));
  }
  storage::WriteBatch done = context.Batch();
  done.Delete(key);
  return control_->Write(context, done);
}

Status RelocationService::Drive(const RequestContext& context,
                                const std::string& key,
                                const RelocationRecord& move) {
  storage::Backend* source = router_->region(move.from);
  storage::Backend* target = router_->region(move.to);
  if (!source || !target)
    return FailedPrecondition("a region of the relocation is not configured");
  PV_ASSIGN_OR_RETURN(auto home,
                      ReadPlacement(*control_, move.tenant, move.pseudonym));
  if (!home) return Inconsistent();
  if (home->placement.region == move.from) {
    PV_RETURN_IF_ERROR(Freeze(context, *source, move));
    CrashPoint("relocate.frozen");
    PV_RETURN_IF_ERROR(CopyAndVerify(context, *source, *target, move));
    CrashPoint("relocate.verified");
    Status switched = Switch(context, move);
    if (switched.code() == StatusCode::kFailedPrecondition) {
      PV_RETURN_IF_ERROR(Abandon(context, *source, *target, key, move));
      return RegionNotAllowed();
    }
    PV_RETURN_IF_ERROR(switched);
    CrashPoint("relocate.switched");
  } else if (home->placement.region != move.to) {
    return Inconsistent();
  }
  PV_RETURN_IF_ERROR(Activate(context, *target, move));
  CrashPoint("relocate.activated");
  PV_RETURN_IF_ERROR(Purge(context, *source, move, /*tombstone=*/true));
  CrashPoint("relocate.purged");
  storage::WriteBatch done = context.Batch();
  done.Delete(key);
  return control_->Write(context, done);
}

Result<std::string> RelocationService::Relocate(const RequestContext& context,
                                                const Tenant& tenant,
                                                std::string_view principal,
                                                std::string_view target) {
  if (!router_->region_config(target) || !tenant.AcceptsNewPrincipals(target))
    return Err(RegionNotAllowed());
  PV_ASSIGN_OR_RETURN(std::string pseudonym,
                      records_->Pseudonym(tenant, principal));
  std::string key = keys::Relocation(tenant.id, pseudonym);
  auto attempt = [&]() -> std::optional<Result<std::string>> {
    // Finish an earlier move of this principal first.
    PV_ASSIGN_OR_RETURN(auto pending, control_->Get(context, key));
    if (pending) {
      PV_ASSIGN_OR_RETURN(auto earlier, RelocationFromJson(*pending));
      PV_RETURN_IF_ERROR(Drive(context, key, earlier));
      return std::nullopt;  // and look again
    }
    PV_ASSIGN_OR_RETURN(
        auto erasing,
        control_->Get(context, keys::Erasure(tenant.id, pseudonym)));
    if (erasing) return Err(Aborted("the principal is being erased"));
    PV_ASSIGN_OR_RETURN(auto home,
                        ReadPlacement(*control_, tenant.id, pseudonym));
    if (!home) return Err(NotFound("no such principal"));
    context.NoteRegion(target);
    if (home->placement.region == target) return std::string(target);
    RelocationRecord move{tenant.id, pseudonym, home->placement.region,
                          std::string(target), clock_->Now()};
    storage::WriteBatch batch = context.Batch();
    batch.RequireAbsent(key);
    batch.RequireValue(keys::PrincipalDirectory(tenant.id, pseudonym),
                       home->raw);
    control_->Put(batch, key, ToJson(move));
    Status written = control_->Write(context, batch);
    if (LostRace(written)) return std::nullopt;
    PV_RETURN_IF_ERROR(written);
    CrashPoint("relocate.started");
    PV_RETURN_IF_ERROR(Drive(context, key, move));
    return std::string(target);
  };
  return RetryOnConflict("the principal", attempt, kMaxAttempts);
}

Result<int> RelocationService::ResumeInterrupted() {
  const RequestContext context;  // on no request's behalf: recovery
  return control_->FinishEach(
      keys::RelocationPrefix(),
      [&](const std::string& key, const boost::json::value& doc) -> Status {
        PV_ASSIGN_OR_RETURN(auto move, RelocationFromJson(doc));
        return Drive(context, key, move);
      });
}

}  // namespace piivault::lifecycle
