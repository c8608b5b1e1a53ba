// Deleting everything a store keeps for a tenant, by key prefix: a region's
// rows (records, principal keys, consent ledgers, indexes) and counters, or
// the control store's documents of the tenant that disposal removes
// (vault::keys::TenantDisposableControlPrefixes: its principal directory,
// schemas, purposes, exports, interrupted erasures and relocations; the
// tenant document, identities, audit log, lockbox requests and certificates
// stay as the record of what was done, and hold no personal data).
// Disposal deletes them; a restore from backup deletes them again for a
// tenant disposed of after the backup was taken.
//
// Thread safety: thread-safe (stateless over the backend).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "storage/backend.h"
#include "vault/request_context.h"

namespace piivault::lifecycle {

struct PurgeCount {
  int64_t rows = 0;     // every row deleted
  int64_t records = 0;  // of which records (rec/)
};

// Reports the running count after each page; a non-ok answer stops the
// purge with that error (the job lost its lease, or must stop).
using PurgeProgress = std::function<Status(const PurgeCount&)>;

// Deletes every row under `prefixes` in pages of `page` rows (one batch
// each, from context.Batch()), then every counter under `counter_prefixes`;
// how many rows went. Idempotent: run again after an interruption, it
// deletes what is left.
Result<int64_t> PurgePrefixes(
    const vault::RequestContext& context, storage::Backend& backend,
    const std::vector<std::string>& prefixes,
    const std::vector<std::string>& counter_prefixes,
    const std::function<Status(int64_t rows)>& progress = {},
    std::size_t page = 1000);

// PurgePrefixes over everything a region keeps for the tenant.
Result<PurgeCount> PurgeTenantRows(const vault::RequestContext& context,
                                   storage::Backend& backend,
                                   std::string_view tenant,
                                   const PurgeProgress& progress = {});

}  // namespace piivault::lifecycle
