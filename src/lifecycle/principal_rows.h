// What is kept for one principal: its directory entry in the control store,
// and everything one region holds for it: its key entry and every row kept
// for it (its records, their principal and blind index entries, its consent
// ledger). Relocation copies these rows and purges the source; erasure
// purges them where the principal lives.
// Thread safety: thread-safe (stateless over the backend).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "storage/backend.h"
#include "vault/control_store.h"
#include "vault/model.h"
#include "vault/request_context.h"

namespace piivault::lifecycle {

// The principal's directory entry, decoded and as stored (for
// compare-and-set); nullopt when it was never placed (or was erased).
struct StoredPlacement {
  vault::Placement placement;
  std::string raw;
};
Result<std::optional<StoredPlacement>> ReadPlacement(
    vault::ControlStore& control, std::string_view tenant,
    std::string_view pseudo);

struct PrincipalRows {
  std::optional<std::string> key_raw;   // the principal key entry as stored
  std::vector<storage::KeyValue> rows;  // everything else, ascending by key
  int64_t records = 0;
};

Result<PrincipalRows> CollectPrincipalRows(storage::Backend& backend,
                                           std::string_view tenant,
                                           std::string_view pseudonym);

// Deletes every row of the principal in `backend` and its key entry (or
// replaces the entry with `tombstone`), in one batch guarded by the key entry
// as collected (re-collecting when it changed), and takes its records off
// the tenant's count. Returns how many records went. A tombstone is written
// even where the principal never had a key entry (placed, never written).
Result<int64_t> PurgePrincipalRows(
    const vault::RequestContext& context, storage::Backend& backend,
    std::string_view tenant, std::string_view pseudonym,
    const std::optional<std::string>& tombstone = std::nullopt);

}  // namespace piivault::lifecycle
