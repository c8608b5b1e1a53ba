#include "lifecycle/disposal.h"

#include <algorithm>
#include <boost/json.hpp>

#include "audit/event_trail.h"
#include "base/crash_point.h"
#include "base/encoding.h"
#include "crypto/random.h"
#include "lifecycle/tenant_rows.h"
#include "vault/storage_keys.h"
#include "vault/stored_object.h"

namespace piivault::lifecycle {

namespace json = boost::json;
namespace keys = vault::keys;
using vault::Corrupt;
using vault::OpenStored;
using vault::RequestContext;

// disposal/<t>: what the shredding found and did, for the steps after it
// and the certificate.
struct DisposalService::State {
  std::string certificate;  // the id its certificate will have
  std::string tenant;
  TimePoint started_at;
  std::vector<DisposalCertificate::RegionCount> regions;
  std::vector<std::string> keys_destroyed;
};

namespace {

constexpr std::string_view kActor = "scheduler";
constexpr std::string_view kAction = "tenant.dispose";

TimePoint WholeSeconds(TimePoint t) {
  return std::chrono::floor<std::chrono::seconds>(t);
}

json::array RegionsJson(
    const std::vector<DisposalCertificate::RegionCount>& regions) {
  json::array out;
  for (auto& r : regions)
    out.push_back(json::object{{"region", r.region},
                               {"principals", r.principals},
                               {"records", r.records}});
  return out;
}

Result<std::vector<DisposalCertificate::RegionCount>> RegionsFromJson(
    const json::object& doc, std::string_view what) {
  const json::value* v = doc.if_contains("regions");
  if (!v || !v->is_array()) return Err(Corrupt(what));
  std::vector<DisposalCertificate::RegionCount> out;
  for (const json::value& item : v->get_array()) {
    PV_ASSIGN_OR_RETURN(auto s, OpenStored(item, what));
    DisposalCertificate::RegionCount r{s.Str("region"), s.Int("principals"),
                                       s.Int("records")};
    if (!s.ok) return Err(Corrupt(what));
    out.push_back(std::move(r));
  }
  return out;
}

json::value CertificateJson(const DisposalCertificate& c) {
  return json::object{{"id", c.id},
                      {"tenant", c.tenant},
                      {"regions", RegionsJson(c.regions)},
                      {"keys_destroyed", vault::ToArray(c.keys_destroyed)},
                      {"started_at", ToUnixMicros(c.started_at)},
                      {"completed_at", ToUnixMicros(c.completed_at)},
                      {"key_id", c.key_id},
                      {"signature", Base64Encode(c.signature)}};
}

Result<DisposalCertificate> CertificateFromJson(const json::value& v) {
  constexpr std::string_view kWhat = "disposal certificate";
  PV_ASSIGN_OR_RETURN(auto s, OpenStored(v, kWhat));
  DisposalCertificate c;
  c.id = s.Str("id");
  c.tenant = s.Str("tenant");
  c.keys_destroyed = s.StrList("keys_destroyed");
  c.started_at = FromUnixMicros(s.Int("started_at"));
  c.completed_at = FromUnixMicros(s.Int("completed_at"));
  c.key_id = s.Str("key_id");
  auto signature = Base64Decode(s.Str("signature"));
  if (!s.ok || !signature) return Err(Corrupt(kWhat));
  c.signature = std::move(*signature);
  PV_ASSIGN_OR_RETURN(c.regions, RegionsFromJson(*s.obj, kWhat));
  return c;
}

}  // namespace

std::string DisposalCertificate::SignedBytes() const {
  std::string out = "piivault-disposal-certificate-v1\n";
  auto line = [&](std::string_view text) { out.append(text).push_back('\n'); };
  line(id);
  line(kKind);
  line(tenant);
  line(kMethod);
  for (auto& r : regions)
    line(r.region + " " + std::to_string(r.principals) + " " +
         std::to_string(r.records));
  for (auto& k : keys_destroyed) line(k);
  line(FormatRfc3339(started_at));
  line(FormatRfc3339(completed_at));
  return out;
}

bool DisposalCertificate::Verify(std::string_view public_key) const {
  return crypto::Ed25519Verify(public_key, SignedBytes(), signature);
}

Result<std::optional<DisposalService::State>> DisposalService::LoadState(
    std::string_view tenant) {
  constexpr std::string_view kWhat = "disposal";
  PV_ASSIGN_OR_RETURN(auto doc,
                      control_->Get(RequestContext(), keys::Disposal(tenant)));
  if (!doc) return std::optional<State>();
  PV_ASSIGN_OR_RETURN(auto s, OpenStored(*doc, kWhat));
  State state{.certificate = s.Str("certificate"),
              .tenant = s.Str("tenant"),
              .started_at = FromUnixMicros(s.Int("started_at")),
              .regions = {},
              .keys_destroyed = s.StrList("keys_destroyed")};
  if (!s.ok) return Err(Corrupt(kWhat));
  PV_ASSIGN_OR_RETURN(state.regions, RegionsFromJson(*s.obj, kWhat));
  return std::optional<State>(std::move(state));
}

Result<DisposalService::State> DisposalService::Shred(
    const RequestContext& context, std::string_view tenant) {
  // Counted before anything is destroyed, from the exact counters: what
  // each region held is what the certificate says went (regions in id
  // order, as the configuration keeps them).
  State state{.certificate = crypto::RandomId("cert_"),
              .tenant = std::string(tenant),
              .started_at = WholeSeconds(clock_->Now()),
              .regions = {},
              .keys_destroyed = {}};
  for (const RegionConfig& region : router_->regions()) {
    storage::Backend* store = router_->region(region.id);
    if (!store) return Err(Unavailable("a region is not served"));
    DisposalCertificate::RegionCount count{.region = region.id};
    PV_ASSIGN_OR_RETURN(count.records,
                        store->SumCounters(keys::RecordCountPrefix(tenant)));
    PV_ASSIGN_OR_RETURN(count.principals,
                        control_->backend().SumCounters(
                            keys::PrincipalCountPrefix(tenant, region.id)));
    state.regions.push_back(std::move(count));
  }
  auto disposed = tenants_->MarkDisposed(
      context, tenant, [&](storage::WriteBatch& batch) -> Status {
        PV_ASSIGN_OR_RETURN(
            state.keys_destroyed,
            control_->keyring().DestroyTenantKey(tenant, batch));
        const std::string key = keys::Disposal(tenant);
        batch.RequireAbsent(key);
        control_->Put(
            batch, key,
            json::object{
                {"certificate", state.certificate},
                {"tenant", state.tenant},
                {"started_at", ToUnixMicros(state.started_at)},
                {"regions", RegionsJson(state.regions)},
                {"keys_destroyed", vault::ToArray(state.keys_destroyed)}});
        return Status::Ok();
      });
  if (!disposed) return Err(disposed.error());
  control_->keyring().ForgetTenantKeys(tenant);
  CrashPoint("dispose.shredded");
  return state;
}

Status DisposalService::PurgeRegions(const RequestContext& context,
                                     const State& state,
                                     JobProgress* progress) {
  int64_t total = 0;
  for (auto& r : state.regions) total += r.records;
  int64_t done_before = 0;  // records of the regions already purged
  for (const RegionConfig& region : router_->regions()) {
    storage::Backend* store = router_->region(region.id);
    if (!store) return Unavailable("a region is not served");
    PV_ASSIGN_OR_RETURN(
        PurgeCount purged,
        PurgeTenantRows(context, *store, state.tenant,
                        [&](const PurgeCount& count) {
                          if (!progress) return Status::Ok();
                          const int64_t done = done_before + count.records;
                          return progress->Report(done, std::max(done, total));
                        }));
    done_before += purged.records;
    PV_RETURN_IF_ERROR(store->Compact());
  }
  CrashPoint("dispose.purged");
  return Status::Ok();
}

Status DisposalService::PurgeControl(const RequestContext& context,
                                     std::string_view tenant) {
  storage::Backend& store = control_->backend();
  // Exports first, a few chunks (of up to 1 MiB each) per page, so that a
  // page never holds much of one in memory.
  PV_RETURN_IF_ERROR(PurgePrefixes(context, store,
                                   {keys::TenantExportPrefix(tenant)}, {}, {},
                                   /*page=*/4));
  PV_RETURN_IF_ERROR(PurgePrefixes(
      context, store, keys::TenantDisposableControlPrefixes(tenant),
      {keys::TenantCounterPrefix(tenant)}));
  // The schemas and purposes just deleted may be cached on any node.
  storage::WriteBatch forget = context.Batch();
  control_->ForgetCached(forget);
  PV_RETURN_IF_ERROR(control_->Write(context, forget));
  PV_ASSIGN_OR_RETURN(auto identities,
                      identities_->ListTenant(context, tenant));
  for (const vault::Identity& identity : identities)
    PV_RETURN_IF_ERROR(identities_->Deactivate(context, identity.id, tenant));
  PV_RETURN_IF_ERROR(store.Compact());
  CrashPoint("dispose.control_purged");
  return Status::Ok();
}

Result<DisposalCertificate> DisposalService::Certify(
    const RequestContext& context, const State& state,
    const crypto::Ed25519Key& signer) {
  DisposalCertificate cert;
  cert.id = state.certificate;
  cert.tenant = state.tenant;
  cert.regions = state.regions;
  cert.keys_destroyed = state.keys_destroyed;
  cert.started_at = state.started_at;
  cert.completed_at = WholeSeconds(clock_->Now());
  cert.key_id = signer.key_id();
  cert.signature = signer.Sign(cert.SignedBytes());
  const std::string state_key = keys::Disposal(state.tenant);
  const std::string cert_key = keys::DisposalCertificate(state.tenant);
  PV_ASSIGN_OR_RETURN(auto raw, control_->GetRaw(state_key));
  if (!raw) return Err(Aborted("the tenant's disposal was certified already"));
  storage::WriteBatch batch = context.Batch();
  batch.RequireValue(state_key, *raw);
  batch.Delete(state_key);
  batch.RequireAbsent(cert_key);
  control_->Put(batch, cert_key, CertificateJson(cert));
  Status written = control_->Write(context, batch);
  // Another run certified it first.
  if (written.code() == StatusCode::kAborted)
    return Err(Aborted("the tenant's disposal was certified already"));
  PV_RETURN_IF_ERROR(written);
  CrashPoint("dispose.certified");
  return cert;
}

Result<DisposalCertificate> DisposalService::Dispose(
    const RequestContext& context, std::string_view tenant,
    const crypto::Ed25519Key& signer, JobProgress* progress) {
  PV_ASSIGN_OR_RETURN(std::optional<State> state, LoadState(tenant));
  if (!state) {
    // Not begun, or certified already (then the tenant is disposed and
    // MarkDisposed says so).
    PV_ASSIGN_OR_RETURN(state, Shred(context, tenant));
  }
  PV_RETURN_IF_ERROR(PurgeRegions(context, *state, progress));
  PV_RETURN_IF_ERROR(PurgeControl(context, tenant));
  return Certify(context, *state, signer);
}

Result<int> DisposalService::ResumeInterrupted(Scheduler& scheduler) {
  PV_ASSIGN_OR_RETURN(auto begun,
                      control_->Scan(keys::DisposalPrefix(), SIZE_MAX));
  int scheduled = 0;
  for (auto& [key, doc] : begun) {
    const std::string tenant = key.substr(keys::DisposalPrefix().size());
    PV_RETURN_IF_ERROR(
        scheduler.Schedule(RequestContext(), {.kind = JobKind::kDisposal,
                                              .due_at = clock_->Now(),
                                              .params = {{"tenant", tenant}},
                                              .id = {}}));
    ++scheduled;
  }
  return scheduled;
}

Result<std::optional<DisposalCertificate>> DisposalService::Certificate(
    std::string_view tenant) {
  PV_ASSIGN_OR_RETURN(
      auto doc,
      control_->Get(RequestContext(), keys::DisposalCertificate(tenant)));
  if (!doc) return std::optional<DisposalCertificate>();
  PV_ASSIGN_OR_RETURN(auto cert, CertificateFromJson(*doc));
  return std::optional<DisposalCertificate>(std::move(cert));
}

void DisposalService::Register(Scheduler* scheduler, audit::AuditLog* audit) {
  scheduler->Register(
      JobKind::kDisposal,
      [this, audit](const RequestContext&, Job& job,
                    JobProgress& progress) -> Status {
        const json::value* t = job.params.if_contains("tenant");
        if (!t || !t->is_string())
          return InvalidArgument("the disposal job names no tenant");
        const std::string tenant(t->get_string());
        // Written ahead of the shredding, as a request's event is: no
        // event, no disposal.
        audit::EventTrail trail(
            audit, [&] { return audit::AuditLog::TenantLog(tenant); }, clock_);
        trail.event().actor = kActor;
        trail.event().action = kAction;
        trail.event().request_id = job.id;
        auto disposed = Dispose(
            RequestContext(&trail.event(), trail.write_ahead(), nullptr),
            tenant, audit->signer(), &progress);
        const bool done = disposed.has_value() ||
                          disposed.error().code() == StatusCode::kAborted;
        if (trail.written())
          PV_RETURN_IF_ERROR(trail.WriteOutcome(
              disposed ? audit::Outcome::kOk : audit::Outcome::kError));
        // Disposed of already (a tenant-admin's confirmation came first).
        return done ? Status::Ok() : disposed.error();
      });
}

}  // namespace piivault::lifecycle
