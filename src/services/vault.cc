#include "services/vault.h"

namespace piivault::services {

Vault::Vault(storage::RegionRouter* router, crypto::Keyring* keyring,
             const Clock* clock)
    : control(&router->control(), keyring),
      tenants(&control, router, clock),
      identities(&control, clock),
      collections(&control, clock),
      records(router, &control, clock),
      consents(&records, clock),
      relocations(router, &control, &records, clock),
      lockbox(&control, clock),
      outbox(&control, clock),
      webhooks(&control, clock),
      disclosures(&control, &outbox, clock),
      sub_processors(&control, router, &outbox, clock),
      incidents(&control, router, &outbox, clock),
      declarations(&control, clock),
      external_audits(&control, clock),
      erasures(router, &control, &records, clock),
      terminations(&tenants, &scheduler, clock),
      exports(router, &control, &collections, &tenants, &records, &consents,
              &scheduler, clock),
      disposals(router, &control, &tenants, &identities, clock),
      router(router),
      clock(clock),
      scheduler(&control, clock) {
  // The scheduler's own test kind; retention and disposal register theirs
  // in EnableAuditedJobs (they need the audit log).
  scheduler.Register(
      lifecycle::JobKind::kNoop,
      [](const vault::RequestContext&, lifecycle::Job&,
         lifecycle::JobProgress& progress) { return progress.Report(0, 0); });
  exports.Register();
  // A disclosure under a gag order: its notice is a job due when the
  // non-disclosure period ends, with a fixed id so it is scheduled once.
  disclosures.SetNoticeScheduler(
      [this](storage::WriteBatch& batch,
             const compliance::DisclosureRequest& request) -> Status {
        auto job =
            scheduler.Schedule({.kind = lifecycle::JobKind::kDisclosureNotice,
                                .due_at = *request.nondisclosure_until,
                                .params = {{"request", request.id}},
                                .id = "disclosure-notice-" + request.id},
                               batch);
        return job ? Status::Ok() : job.error();
      });
  scheduler.Register(lifecycle::JobKind::kDisclosureNotice,
                     [this](const vault::RequestContext& context,
                            lifecycle::Job& job, lifecycle::JobProgress&) {
                       auto* id = job.params.if_contains("request");
                       if (!id || !id->is_string())
                         return Internal("the notice job names no request");
                       return disclosures.NotifyTenant(context,
                                                       id->as_string());
                     });
}

void Vault::EnableAuditedJobs(audit::AuditLog* audit,
                              lifecycle::RetentionOptions options) {
  retention = std::make_unique<lifecycle::RetentionService>(
      router, &control, &records, audit, clock, options);
  retention->Register(&scheduler);
  disposals.Register(&scheduler, audit);
}

}  // namespace piivault::services
