// Tenant export (API.md, "Return, transfer, disposal"): everything a tenant
// holds, as one NDJSON stream (docs/formats/tenant-export.md) for the
// tenant to take back or hand to another provider, made by a job of the
// scheduler (JobKind::kExport) and downloaded afterwards.
//
// Start() stores the export's state (`export/<t>/<id>`, sealed) and
// schedules its job (id = the export id, due now) in one batch; `serve`'s
// scheduler loop runs it within its interval. The job reads the tenant's
// purposes and collections, then every region of the tenant (in name order)
// a page of records at a time through RecordService::ScanRegion, then the
// consent ledgers of the principals living there, and writes the stream in
// chunks of at most ExportOptions::chunk_size bytes sealed in the control
// store (`export/<t>/<id>/chunk/<n>`, AAD = the key): never a plaintext
// temporary file, never the whole export in memory (a page of records and
// the four chunks stored per write). With a recipient key the chunks hold the
// transfer-stream encryption of the NDJSON (crypto/transfer_stream.h) instead,
// so a download streams exactly the stored bytes either way.
//
// When the stream is complete, the manifest (counts of each line kind,
// records per region, the SHA-256 of the download bytes) is signed with the
// deployment's Ed25519 key (the key of /v1/audit/public-key) over its
// canonical JSON (keys sorted, no whitespace; CanonicalJson) and stored with
// the state, which becomes completed in the same write.
//
// Resumable by restarting: a run (first, retried or taken over after a
// crash) deletes whatever chunks an earlier run left and writes the stream
// from the start. A job that fails for good leaves the export failed.
//
// Crash points (base/crash_point.h): export.chunk_written after each write
// of chunks (four at a time, the last ones at the end), export.completed
// after the state says completed.
//
// Thread safety: thread-safe.
#pragma once

#include <boost/json/object.hpp>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "audit/canonical_json.h"
#include "base/clock.h"
#include "base/status.h"
#include "lifecycle/scheduler.h"
#include "storage/region_router.h"
#include "vault/collections.h"
#include "vault/consents.h"
#include "vault/control_store.h"
#include "vault/records.h"
#include "vault/tenants.h"

namespace piivault::lifecycle {

inline constexpr std::string_view kTenantExportFormat =
    "piivault-tenant-export-v1";

struct ExportOptions {
  std::size_t chunk_size = 1 << 20;  // bytes per stored chunk, at most
  std::size_t page = 1000;           // records read per step
};

enum class ExportState { kRunning, kCompleted, kFailed };
std::string_view ExportStateName(ExportState state);

struct TenantExport {
  std::string id;  // "exp_…", also its job's id
  std::string tenant;
  ExportState state = ExportState::kRunning;
  TimePoint created_at;
  // The recipient's raw X25519 public key; empty: plain NDJSON.
  std::string recipient_public_key;
  int64_t records_done = 0;
  int64_t records_total = 0;
  uint64_t chunks = 0;  // completed: how many chunks the download has
  // Completed: the signed manifest (API.md).
  std::optional<boost::json::object> manifest;
};

// What the manifest's signature covers (keys sorted, no whitespace).
using audit::CanonicalJson;

class TenantExportService {
 public:
  // REQUIRES: all pointers outlive this (`scheduler` need not be
  // constructed yet: it is used from Start on).
  TenantExportService(storage::RegionRouter* router,
                      vault::ControlStore* control,
                      vault::CollectionService* collections,
                      vault::TenantService* tenants,
                      vault::RecordService* records,
                      vault::ConsentService* consents, Scheduler* scheduler,
                      const Clock* clock, ExportOptions options = {});

  // Registers the job handler (Run). REQUIRES: before the scheduler runs
  // jobs.
  void Register();

  // Starts an export of `tenant`, to `recipient_public_key` (raw, 32 bytes)
  // when given. validation_failed naming recipient_public_key for a key
  // that X25519 refuses (wrong size, low-order point).
  Result<TenantExport> Start(const vault::RequestContext& context,
                             const vault::Tenant& tenant,
                             std::optional<std::string> recipient_public_key);

  // The export, its progress while running (as its job last saved it).
  // kNotFound for no such export of this tenant.
  Result<TenantExport> Get(std::string_view tenant, std::string_view id);

  // The download: the stored chunks in order, one per call, nullopt after
  // the last. kNotFound as Get; kFailedPrecondition unless completed.
  using ChunkReader = std::function<Result<std::optional<std::string>>()>;
  struct Download {
    TenantExport info;
    ChunkReader next;
  };
  Result<Download> StartDownload(std::string_view tenant, std::string_view id);

  // The job: writes the stream and the manifest (see above).
  Status Run(Job& job, JobProgress& progress);

 private:
  Result<std::optional<TenantExport>> Read(std::string_view tenant,
                                           std::string_view id);
  Status DeleteChunks(std::string_view tenant, std::string_view id);

  storage::RegionRouter* router_;
  vault::ControlStore* control_;
  vault::CollectionService* collections_;
  vault::TenantService* tenants_;
  vault::RecordService* records_;
  vault::ConsentService* consents_;
  Scheduler* scheduler_;
  const Clock* clock_;
  const ExportOptions options_;
};

}  // namespace piivault::lifecycle
