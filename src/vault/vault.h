// The vault's services over one deployment's stores, wired together.
#pragma once

#include "base/clock.h"
#include "crypto/keyring.h"
#include "storage/region_router.h"
#include "vault/collections.h"
#include "vault/consents.h"
#include "vault/control_store.h"
#include "vault/erasure.h"
#include "vault/identities.h"
#include "vault/lockbox.h"
#include "vault/records.h"
#include "vault/relocation.h"
#include "vault/tenants.h"

namespace piivault::vault {

struct Vault {
  // REQUIRES: all pointers outlive this.
  Vault(storage::RegionRouter* router, crypto::Keyring* keyring,
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

  ControlStore control;
  TenantService tenants;
  IdentityService identities;
  CollectionService collections;
  RecordService records;
  ConsentService consents;
  RelocationService relocations;
  LockboxService lockbox;
  ErasureService erasures;
  storage::RegionRouter* router;
  const Clock* clock;
};

}  // namespace piivault::vault
