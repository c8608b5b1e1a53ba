#include "lifecycle/tenant_rows.h"

#include "vault/storage_keys.h"

namespace piivault::lifecycle {

namespace keys = vault::keys;

Result<int64_t> PurgePrefixes(
    const vault::RequestContext& context, storage::Backend& backend,
    const std::vector<std::string>& prefixes,
    const std::vector<std::string>& counter_prefixes,
    const std::function<Status(int64_t rows)>& progress, std::size_t page) {
  int64_t deleted = 0;
  for (const std::string& prefix : prefixes) {
    for (;;) {
      // Always from the start of the prefix: what an earlier page deleted
      // is gone, so the scan never reads it again.
      PV_ASSIGN_OR_RETURN(auto rows, backend.Scan(prefix, "", page));
      if (rows.empty()) break;
      storage::WriteBatch batch = context.Batch();
      for (auto& row : rows) batch.Delete(std::move(row.key));
      PV_RETURN_IF_ERROR(backend.Write(batch));
      deleted += static_cast<int64_t>(rows.size());
      if (progress) PV_RETURN_IF_ERROR(progress(deleted));
      if (rows.size() < page) break;
    }
  }
  for (const std::string& prefix : counter_prefixes)
    PV_RETURN_IF_ERROR(backend.DeleteCounters(prefix));
  return deleted;
}

Result<PurgeCount> PurgeTenantRows(const vault::RequestContext& context,
                                   storage::Backend& backend,
                                   std::string_view tenant,
                                   const PurgeProgress& progress) {
  // Records first, on their own, so that the count says how many went.
  PurgeCount count;
  auto report = [&](int64_t rows) {
    return progress ? progress({count.rows + rows, count.records})
                    : Status::Ok();
  };
  PV_ASSIGN_OR_RETURN(
      count.records,
      PurgePrefixes(context, backend, {keys::RecordPrefix(tenant)}, {},
                    [&](int64_t rows) {
                      return progress ? progress({rows, rows}) : Status::Ok();
                    }));
  count.rows = count.records;
  PV_ASSIGN_OR_RETURN(
      int64_t others,
      PurgePrefixes(context, backend, keys::TenantRegionRowPrefixes(tenant),
                    {keys::TenantCounterPrefix(tenant)}, report));
  count.rows += others;
  return count;
}

}  // namespace piivault::lifecycle
