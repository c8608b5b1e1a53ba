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
      sub_processors(&control, router, &outbox, clock),
      incidents(&control, router, &outbox, clock),
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
}

void Vault::EnableAuditedJobs(audit::AuditLog* audit,
                              lifecycle::RetentionOptions options) {
  retention = std::make_unique<lifecycle::RetentionService>(
      router, &control, &records, audit, clock, options);
  retention->Register(&scheduler);
  disposals.Register(&scheduler, audit);
}

}  // namespace piivault::services
