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
      router(router),
      clock(clock) {}

}  // namespace piivault::services
