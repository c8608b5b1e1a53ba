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
      erasures(router, &control, &records, clock),
      terminations(&tenants, &scheduler, clock),
      router(router),
      clock(clock),
      scheduler(&control, clock) {
  // Only the scheduler's own test kind so far; tenant disposal and
  // retention register theirs here.
  scheduler.Register(
      lifecycle::JobKind::kNoop,
      [](const vault::RequestContext&, lifecycle::Job&,
         lifecycle::JobProgress& progress) { return progress.Report(0, 0); });
}

}  // namespace piivault::services
