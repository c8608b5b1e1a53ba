#include "lifecycle/tenant_export.h"

#include <algorithm>
#include <boost/json.hpp>
#include <map>
#include <variant>

#include "base/crash_point.h"
#include "base/encoding.h"
#include "base/enum_names.h"
#include "crypto/hash.h"
#include "crypto/random.h"
#include "crypto/transfer_stream.h"
#include "vault/storage_keys.h"
#include "vault/stored_object.h"

namespace piivault::lifecycle {

namespace json = boost::json;
namespace keys = vault::keys;

namespace {

constexpr EnumNames<ExportState, 3> kExportStates{{{
    {ExportState::kRunning, "running"},
    {ExportState::kCompleted, "completed"},
    {ExportState::kFailed, "failed"},
}}};

// Chunks stored per write. Each write is a durable commit (an fsync); a
// chunk need not be durable on its own, since an interrupted run starts
// over, so a few go together (this many chunks of memory at most).
constexpr std::size_t kChunksPerWrite = 4;

// Chunks read per page when deleting a run's leftovers: each holds up to a
// chunk of bytes, so a page stays a few MiB.
constexpr std::size_t kDeletePage = 4;

// Field types that are identifiers, the kind a tenant tokenizes: their
// tokens are exported so that references held elsewhere can be resolved by
// the recipient (docs/formats/tenant-export.md).
bool Tokenizable(vault::FieldType type) {
  return type == vault::FieldType::kSsn ||
         type == vault::FieldType::kCreditCard ||
         type == vault::FieldType::kIban;
}

json::value Time(TimePoint t) { return json::string(FormatRfc3339(t)); }

json::value ExportJson(const TenantExport& e) {
  json::object o{{"id", e.id},
                 {"tenant", e.tenant},
                 {"state", ExportStateName(e.state)},
                 {"created_at", ToUnixMicros(e.created_at)},
                 {"recipient_public_key", Base64Encode(e.recipient_public_key)},
                 {"records_done", e.records_done},
                 {"records_total", e.records_total},
                 {"chunks", static_cast<int64_t>(e.chunks)}};
  if (e.manifest) o["manifest"] = *e.manifest;
  return o;
}

Result<TenantExport> ExportFromJson(const json::value& v) {
  PV_ASSIGN_OR_RETURN(auto s, vault::OpenStored(v, "export"));
  TenantExport e;
  e.id = s.Str("id");
  e.tenant = s.Str("tenant");
  auto state = kExportStates.Parse(s.Str("state"));
  e.created_at = FromUnixMicros(s.Int("created_at"));
  auto key = Base64Decode(s.Str("recipient_public_key"));
  e.records_done = s.Int("records_done");
  e.records_total = s.Int("records_total");
  e.chunks = static_cast<uint64_t>(s.Int("chunks"));
  if (const json::value* m = v.as_object().if_contains("manifest");
      m && m->is_object())
    e.manifest = m->as_object();
  if (!s.ok || !state || !key) return Err(DataLoss("an export is malformed"));
  e.state = *state;
  e.recipient_public_key = std::move(*key);
  return e;
}

// Where the stream's bytes go: sealed chunks of at most `chunk_size` bytes
// in the control store, hashed on the way (the manifest's sha256 is of the
// download, which is these bytes).
class ChunkWriter {
 public:
  // `guard`: the export's document as stored when the run began. Every
  // write of chunks requires it unchanged, so that once the export is gone
  // (its tenant disposed of, which deletes it with its chunks) no chunk is
  // written again: kAborted.
  ChunkWriter(vault::ControlStore* control, std::string tenant, std::string id,
              std::size_t chunk_size, std::string guard)
      : control_(control),
        tenant_(std::move(tenant)),
        id_(std::move(id)),
        chunk_size_(chunk_size),
        guard_(std::move(guard)) {}

  Status Append(std::string_view bytes) {
    buffer_.append(bytes);
    while (buffer_.size() >= chunk_size_) PV_RETURN_IF_ERROR(Seal(chunk_size_));
    return Status::Ok();
  }
  // Stores what is buffered: after the last byte.
  Status Finish() {
    if (!buffer_.empty()) PV_RETURN_IF_ERROR(Seal(buffer_.size()));
    return pending_ == 0 ? Status::Ok() : Store();
  }

  uint64_t chunks() const { return next_; }
  std::string Sha256Hex() { return HexEncode(hash_.Finish()); }

 private:
  // Seals the first `n` buffered bytes as the next chunk, into the batch
  // being gathered.
  Status Seal(std::size_t n) {
    std::string_view chunk(buffer_.data(), n);
    hash_.Update(chunk);
    control_->PutBytes(batch_, keys::ExportChunk(tenant_, id_, next_), chunk);
    ++next_;
    buffer_.erase(0, n);
    return ++pending_ >= kChunksPerWrite ? Store() : Status::Ok();
  }

  Status Store() {
    batch_.RequireValue(keys::Export(tenant_, id_), guard_);
    PV_RETURN_IF_ERROR(control_->backend().Write(batch_));
    batch_ = storage::WriteBatch();
    pending_ = 0;
    CrashPoint("export.chunk_written");
    return Status::Ok();
  }

  vault::ControlStore* control_;
  const std::string tenant_;
  const std::string id_;
  const std::size_t chunk_size_;
  const std::string guard_;
  std::string buffer_;
  uint64_t next_ = 0;
  storage::WriteBatch batch_;  // sealed chunks not yet stored
  std::size_t pending_ = 0;    // how many
  crypto::Sha256Stream hash_;
};

// The NDJSON lines, each counted by kind, on their way to the chunks:
// directly, or through the transfer-stream encryption to the recipient.
class LineWriter {
 public:
  explicit LineWriter(ChunkWriter* chunks) : chunks_(chunks) {}

  Status EncryptTo(std::string_view recipient_public_key) {
    PV_ASSIGN_OR_RETURN(
        auto writer, crypto::TransferStreamWriter::Create(
                         recipient_public_key, [this](std::string_view bytes) {
                           return chunks_->Append(bytes);
                         }));
    encrypted_.emplace(std::move(writer));
    return Status::Ok();
  }

  // `line` is an object whose first member is "kind".
  Status Write(const json::object& line) {
    ++counts_[std::string(line.at("kind").as_string())];
    text_ = json::serialize(line);
    text_.push_back('\n');
    return encrypted_ ? encrypted_->Write(text_) : chunks_->Append(text_);
  }

  Status Finish() {
    if (encrypted_) PV_RETURN_IF_ERROR(encrypted_->Finish());
    return chunks_->Finish();
  }

  const std::map<std::string, int64_t>& counts() const { return counts_; }

 private:
  ChunkWriter* chunks_;
  std::optional<crypto::TransferStreamWriter> encrypted_;
  std::map<std::string, int64_t> counts_;
  std::string text_;
};

json::value FieldJson(const vault::FieldValue& v) {
  return std::visit([](auto& x) -> json::value { return json::value(x); }, v);
}

json::object RecordLine(const vault::Record& r) {
  json::object fields;
  for (auto& [name, value] : r.fields) fields[name] = FieldJson(value);
  return json::object{{"kind", "record"},
                      {"id", r.id},
                      {"collection", r.collection},
                      {"principal", r.principal},
                      {"region", r.region},
                      {"fields", std::move(fields)},
                      {"created_at", Time(r.created_at)},
                      {"updated_at", Time(r.updated_at)}};
}

// The schema as GET …/collections/{c} shows it, without its times.
json::object CollectionLine(const vault::Collection& c) {
  json::object o{{"kind", "collection"},
                 {"name", c.name},
                 {"fields", vault::ToJson(c).at("fields")}};
  if (!c.retention.empty()) o["retention"] = c.retention;
  return o;
}

}  // namespace

std::string_view ExportStateName(ExportState state) {
  return kExportStates.Name(state);
}

TenantExportService::TenantExportService(
    storage::RegionRouter* router, vault::ControlStore* control,
    vault::CollectionService* collections, vault::TenantService* tenants,
    vault::RecordService* records, vault::ConsentService* consents,
    Scheduler* scheduler, const Clock* clock, ExportOptions options)
    : router_(router),
      control_(control),
      collections_(collections),
      tenants_(tenants),
      records_(records),
      consents_(consents),
      scheduler_(scheduler),
      clock_(clock),
      options_(options) {}

void TenantExportService::Register() {
  scheduler_->Register(
      JobKind::kExport,
      [this](const vault::RequestContext&, Job& job, JobProgress& progress) {
        return Run(job, progress);
      });
}

Result<TenantExport> TenantExportService::Start(
    const vault::RequestContext& context, const vault::Tenant& tenant,
    std::optional<std::string> recipient_public_key) {
  if (recipient_public_key) {
    // The same check the writer makes, before anything is stored: a key
    // X25519 refuses fails here, not in the job.
    auto probe = crypto::X25519(crypto::X25519KeyPair::Generate().private_key,
                                *recipient_public_key);
    if (!probe)
      return Err(ValidationFailed(
          "recipient_public_key",
          "must be the base64 of a raw 32-byte X25519 public key"));
  }
  TenantExport e;
  e.id = crypto::RandomId("exp_");
  e.tenant = tenant.id;
  e.state = ExportState::kRunning;
  e.created_at = clock_->Now();
  e.recipient_public_key = recipient_public_key.value_or("");
  storage::WriteBatch batch = context.Batch();
  auto job = scheduler_->Schedule(
      {.kind = JobKind::kExport,
       .due_at = e.created_at,
       .params = json::object{{"tenant", e.tenant}, {"export", e.id}},
       .id = e.id},
      batch);
  if (!job) return Err(job.error());
  batch.RequireAbsent(keys::Export(e.tenant, e.id));
  control_->Put(batch, keys::Export(e.tenant, e.id), ExportJson(e));
  PV_RETURN_IF_ERROR(control_->Write(context, batch));
  return e;
}

Result<std::optional<TenantExport>> TenantExportService::Read(
    std::string_view tenant, std::string_view id) {
  // Ids name keys: only ids this service could have made are looked up.
  if (!id.starts_with("exp_") || !Scheduler::ValidJobId(id))
    return std::optional<TenantExport>();
  PV_ASSIGN_OR_RETURN(auto doc, control_->Get(vault::RequestContext(),
                                              keys::Export(tenant, id)));
  if (!doc) return std::optional<TenantExport>();
  PV_ASSIGN_OR_RETURN(auto e, ExportFromJson(*doc));
  return std::optional<TenantExport>(std::move(e));
}

Result<TenantExport> TenantExportService::Get(std::string_view tenant,
                                              std::string_view id) {
  PV_ASSIGN_OR_RETURN(auto e, Read(tenant, id));
  if (!e) return Err(NotFound("no such export"));
  if (e->state != ExportState::kRunning) return std::move(*e);
  // Running: its job knows how far it has come, and whether it failed.
  auto job = scheduler_->Get(e->id);
  if (!job && job.error().code() == StatusCode::kNotFound) return std::move(*e);
  if (!job) return Err(job.error());
  e->records_done = job->done;
  e->records_total = job->total;
  if (job->state == JobState::kFailed) e->state = ExportState::kFailed;
  return std::move(*e);
}

Result<TenantExportService::Download> TenantExportService::StartDownload(
    std::string_view tenant, std::string_view id) {
  PV_ASSIGN_OR_RETURN(auto e, Get(tenant, id));
  if (e.state != ExportState::kCompleted)
    return Err(FailedPrecondition("the export is not completed"));
  struct Cursor {
    uint64_t next = 0;
  };
  auto cursor = std::make_shared<Cursor>();
  ChunkReader next = [this, cursor, tenant = e.tenant, id = e.id,
                      chunks =
                          e.chunks]() -> Result<std::optional<std::string>> {
    if (cursor->next >= chunks) return std::optional<std::string>();
    PV_ASSIGN_OR_RETURN(auto chunk, control_->GetBytes(keys::ExportChunk(
                                        tenant, id, cursor->next)));
    if (!chunk) return Err(DataLoss("a chunk of the export is missing"));
    ++cursor->next;
    return chunk;
  };
  return Download{std::move(e), std::move(next)};
}

Status TenantExportService::DeleteChunks(std::string_view tenant,
                                         std::string_view id) {
  const std::string prefix = keys::ExportChunkPrefix(tenant, id);
  for (;;) {
    PV_ASSIGN_OR_RETURN(auto rows,
                        control_->backend().Scan(prefix, "", kDeletePage));
    if (rows.empty()) return Status::Ok();
    storage::WriteBatch batch;
    for (auto& row : rows) batch.Delete(row.key);
    PV_RETURN_IF_ERROR(control_->backend().Write(batch));
  }
}

Status TenantExportService::Run(Job& job, JobProgress& progress) {
  auto param = [&](const char* name) -> std::string {
    const json::value* v = job.params.if_contains(name);
    return v && v->is_string() ? std::string(v->get_string()) : "";
  };
  const std::string tenant_id = param("tenant");
  const std::string export_id = param("export");
  PV_ASSIGN_OR_RETURN(auto found, Read(tenant_id, export_id));
  // Gone with its tenant, or finished by an earlier run.
  if (!found || found->state != ExportState::kRunning) return Status::Ok();
  TenantExport e = std::move(*found);
  const vault::RequestContext context;
  PV_ASSIGN_OR_RETURN(auto tenant, tenants_->Get(context, tenant_id));

  PV_ASSIGN_OR_RETURN(auto guard,
                      control_->GetRaw(keys::Export(tenant_id, export_id)));
  if (!guard) return Status::Ok();  // gone with its tenant meanwhile
  // Whatever an interrupted run wrote goes first: this run writes it all.
  PV_RETURN_IF_ERROR(DeleteChunks(tenant_id, export_id));

  std::vector<std::string> regions = tenant.regions;
  std::sort(regions.begin(), regions.end());
  int64_t total = 0;
  for (auto& region : regions) {
    storage::Backend* store = router_->region(region);
    if (!store) return Unavailable("a region of the tenant is not served");
    PV_ASSIGN_OR_RETURN(int64_t held,
                        store->SumCounters(keys::RecordCountPrefix(tenant_id)));
    total += held;
  }
  int64_t done = 0;
  PV_RETURN_IF_ERROR(progress.Report(done, total));

  ChunkWriter chunks(control_, tenant_id, export_id, options_.chunk_size,
                     std::move(*guard));
  LineWriter lines(&chunks);
  if (!e.recipient_public_key.empty())
    PV_RETURN_IF_ERROR(lines.EncryptTo(e.recipient_public_key));

  PV_RETURN_IF_ERROR(
      lines.Write(json::object{{"kind", "header"},
                               {"format", kTenantExportFormat},
                               {"tenant", tenant_id},
                               {"export", export_id},
                               {"created_at", Time(e.created_at)}}));
  PV_ASSIGN_OR_RETURN(auto purposes, tenants_->ListPurposes(tenant_id));
  for (auto& p : purposes)
    PV_RETURN_IF_ERROR(lines.Write(
        json::object{{"kind", "purpose"},
                     {"id", p.id},
                     {"category", vault::PurposeCategoryName(p.category)},
                     {"description", p.description}}));
  PV_ASSIGN_OR_RETURN(auto collections, collections_->List(tenant_id));
  std::map<std::string, const vault::Collection*> by_name;
  for (auto& c : collections) {
    by_name[c.name] = &c;
    PV_RETURN_IF_ERROR(lines.Write(CollectionLine(c)));
  }

  json::object per_region;
  for (auto& region : regions) {
    int64_t in_region = 0;
    for (std::string after;;) {
      PV_ASSIGN_OR_RETURN(
          auto page,
          records_->ScanRegion(context, tenant, region, after, options_.page));
      for (auto& record : page.records) {
        PV_RETURN_IF_ERROR(lines.Write(RecordLine(record)));
        auto c = by_name.find(record.collection);
        for (auto& [field, value] : record.fields) {
          const vault::FieldSpec* spec =
              c == by_name.end() ? nullptr : c->second->FindField(field);
          if (!spec || !Tokenizable(spec->type)) continue;
          PV_ASSIGN_OR_RETURN(
              auto token,
              records_->Token(tenant, record.collection, record.id, field));
          PV_RETURN_IF_ERROR(
              lines.Write(json::object{{"kind", "token"},
                                       {"token", token},
                                       {"collection", record.collection},
                                       {"record", record.id},
                                       {"field", field}}));
        }
      }
      in_region += static_cast<int64_t>(page.records.size());
      done += static_cast<int64_t>(page.records.size());
      PV_RETURN_IF_ERROR(progress.Report(done, std::max(total, done)));
      if (!page.more) break;
      after = page.last;
    }
    per_region[region] = in_region;

    storage::Backend* store = router_->region(region);
    for (std::string after;;) {
      PV_ASSIGN_OR_RETURN(
          auto ledger,
          consents_->NextLedgerIn(context, tenant, region, *store, after));
      if (!ledger) break;
      after = ledger->pseudonym;
      for (auto& event : ledger->history) {
        json::object line{{"kind", "consent"}};
        // Only a principal's records carry its id (sealed); one without
        // records is named by its pseudonym.
        if (ledger->principal)
          line["principal"] = *ledger->principal;
        else
          line["principal_pseudonym"] = ledger->pseudonym;
        line["purpose"] = event.purpose;
        line["granted"] = event.granted;
        line["at"] = Time(event.at);
        if (!event.method.empty()) line["method"] = event.method;
        if (!event.evidence.empty()) line["evidence"] = event.evidence;
        PV_RETURN_IF_ERROR(lines.Write(line));
      }
    }
  }
  PV_RETURN_IF_ERROR(lines.Finish());

  json::object counts;
  for (std::string_view kind :
       {"header", "purpose", "collection", "record", "consent", "token"}) {
    auto it = lines.counts().find(std::string(kind));
    counts[kind] = it == lines.counts().end() ? 0 : it->second;
  }
  PV_ASSIGN_OR_RETURN(auto signer,
                      control_->keyring().LoadOrCreateSigningKey());
  json::object manifest{{"export", export_id},
                        {"tenant", tenant_id},
                        {"created_at", Time(e.created_at)},
                        {"counts", std::move(counts)},
                        {"regions", std::move(per_region)},
                        {"sha256", chunks.Sha256Hex()},
                        {"key_id", signer.key_id()}};
  manifest["signature"] = Base64Encode(signer.Sign(CanonicalJson(manifest)));

  e.state = ExportState::kCompleted;
  e.records_done = done;
  e.records_total = done;
  e.chunks = chunks.chunks();
  e.manifest = std::move(manifest);
  const std::string key = keys::Export(tenant_id, export_id);
  PV_ASSIGN_OR_RETURN(auto raw, control_->GetRaw(key));
  if (!raw) return Status::Ok();  // gone with its tenant meanwhile
  storage::WriteBatch batch;
  batch.RequireValue(key, *raw);
  control_->Put(batch, key, ExportJson(e));
  PV_RETURN_IF_ERROR(control_->Write(context, batch));
  CrashPoint("export.completed");
  return progress.Report(done, done);
}

}  // namespace piivault::lifecycle
