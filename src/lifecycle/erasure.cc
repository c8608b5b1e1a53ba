#include "lifecycle/erasure.h"

#include <algorithm>
#include <boost/json.hpp>

#include "base/crash_point.h"
#include "base/encoding.h"
#include "base/retry.h"
#include "crypto/random.h"
#include "lifecycle/principal_rows.h"
#include "vault/principal_key_state.h"
#include "vault/storage_keys.h"
#include "vault/stored_object.h"

namespace piivault::lifecycle {

using vault::ControlStore;
using vault::Corrupt;
using vault::OpenStored;
using vault::Placement;
using vault::PlacementFromJson;
using vault::PrincipalKeyState;
using vault::RecordService;
using vault::RequestContext;
using vault::Tenant;
using vault::ToJson;
using vault::ValidatePrincipalId;
namespace keys = vault::keys;

namespace json = boost::json;

struct ErasureService::Intent {
  std::string certificate;  // the id its certificate will have
  std::string tenant;
  std::string pseudonym;
  std::string region;
  TimePoint started_at;
  std::optional<int64_t> records;  // counted once frozen
  std::string raw;                 // as stored, for compare-and-set
};

namespace {

constexpr int kMaxAttempts = 8;

Status Inconsistent() {
  return FailedPrecondition(
      "the principal's erasure state is inconsistent; it needs an operator");
}

json::value CertificateJson(const ErasureCertificate& c) {
  return json::object{
      {"id", c.id},           {"kind", c.kind},
      {"tenant", c.tenant},   {"principal_pseudonym", c.principal_pseudonym},
      {"records", c.records}, {"completed_at", ToUnixMicros(c.completed_at)},
      {"key_id", c.key_id},   {"signature", Base64Encode(c.signature)}};
}

Result<ErasureCertificate> CertificateFromJson(const json::value& v) {
  PV_ASSIGN_OR_RETURN(auto s, OpenStored(v, "certificate"));
  ErasureCertificate c;
  c.id = s.Str("id");
  c.kind = s.Str("kind");
  c.tenant = s.Str("tenant");
  c.principal_pseudonym = s.Str("principal_pseudonym");
  c.records = s.Int("records");
  c.completed_at = FromUnixMicros(s.Int("completed_at"));
  c.key_id = s.Str("key_id");
  auto signature = Base64Decode(s.Str("signature"));
  if (!s.ok || !signature) return Err(Corrupt("certificate"));
  c.signature = std::move(*signature);
  return c;
}

}  // namespace

json::value ErasureService::IntentJson(const Intent& intent) {
  json::object o{{"certificate", intent.certificate},
                 {"tenant", intent.tenant},
                 {"pseudonym", intent.pseudonym},
                 {"region", intent.region},
                 {"started_at", ToUnixMicros(intent.started_at)}};
  if (intent.records) o["records"] = *intent.records;
  return o;
}

Result<ErasureService::Intent> ErasureService::IntentFromJson(
    const json::value& doc, std::string raw) {
  PV_ASSIGN_OR_RETURN(auto s, OpenStored(doc, "erasure"));
  Intent intent;
  intent.certificate = s.Str("certificate");
  intent.tenant = s.Str("tenant");
  intent.pseudonym = s.Str("pseudonym");
  intent.region = s.Str("region");
  intent.started_at = FromUnixMicros(s.Int("started_at"));
  intent.records = s.OptInt("records");
  if (!s.ok) return Err(Corrupt("erasure"));
  intent.raw = std::move(raw);
  return intent;
}

std::string ErasureCertificate::SignedBytes() const {
  std::string out = "piivault-erasure-certificate-v1\n";
  for (const std::string& line :
       {id, kind, tenant, principal_pseudonym, std::to_string(records),
        FormatRfc3339(completed_at)})
    out.append(line).push_back('\n');
  return out;
}

bool ErasureCertificate::Verify(std::string_view public_key) const {
  return crypto::Ed25519Verify(public_key, SignedBytes(), signature);
}

Status ErasureService::Freeze(const RequestContext& context,
                              storage::Backend& backend, const Intent& intent) {
  std::string pkey = keys::PrincipalKey(intent.tenant, intent.pseudonym);
  auto attempt = [&]() -> std::optional<Status> {
    PV_ASSIGN_OR_RETURN(auto raw, backend.Get(pkey));
    if (!raw) return Status::Ok();  // no key: nothing written, or purged
    PV_ASSIGN_OR_RETURN(auto state, PrincipalKeyState::Decode(*raw));
    if (state.phase == PrincipalKeyState::Phase::kErasing) return Status::Ok();
    if (!state.active()) return Inconsistent();
    state.phase = PrincipalKeyState::Phase::kErasing;
    storage::WriteBatch batch = context.Batch();
    batch.RequireValue(pkey, *raw);
    batch.Put(pkey, state.Encode());
    Status written = backend.Write(batch);
    if (LostRace(written)) return std::nullopt;  // a write raced
    return written;
  };
  return RetryOnConflict("the principal", attempt, kMaxAttempts);
}

Result<ErasureCertificate> ErasureService::Drive(
    const RequestContext& context, Intent intent,
    const crypto::Ed25519Key& signer) {
  storage::Backend* backend = router_->region(intent.region);
  if (!backend)
    return Err(FailedPrecondition("the principal's region is not configured"));
  const std::string intent_key = keys::Erasure(intent.tenant, intent.pseudonym);
  PV_RETURN_IF_ERROR(Freeze(context, *backend, intent));
  CrashPoint("erase.frozen");
  if (!intent.records) {
    PV_ASSIGN_OR_RETURN(auto rows, CollectPrincipalRows(*backend, intent.tenant,
                                                        intent.pseudonym));
    intent.records = rows.records;
    storage::WriteBatch batch = context.Batch();
    batch.RequireValue(intent_key, intent.raw);
    control_->Put(batch, intent_key, IntentJson(intent));
    PV_RETURN_IF_ERROR(control_->Write(context, batch));
    PV_ASSIGN_OR_RETURN(auto raw, control_->GetRaw(intent_key));
    if (!raw) return Err(Inconsistent());
    intent.raw = std::move(*raw);
  }
  CrashPoint("erase.counted");
  // The key entry stays as a tombstone (no key, no consents), so a create
  // that read the directory before the erasure cannot place a new key here
  // (RecordService checks the directory again when it meets one).
  PV_RETURN_IF_ERROR(
      PurgePrincipalRows(context, *backend, intent.tenant, intent.pseudonym,
                         PrincipalKeyState::Tombstone().Encode()));
  // No image of the purged rows may stay in the store's files (the SQLite
  // WAL); run again with the rest of the step after an interruption.
  PV_RETURN_IF_ERROR(backend->Compact());
  CrashPoint("erase.purged");

  ErasureCertificate cert;
  cert.id = intent.certificate;
  cert.tenant = intent.tenant;
  cert.principal_pseudonym = intent.pseudonym;
  cert.records = *intent.records;
  cert.completed_at = std::chrono::floor<std::chrono::seconds>(clock_->Now());
  cert.key_id = signer.key_id();
  cert.signature = signer.Sign(cert.SignedBytes());
  storage::WriteBatch batch = context.Batch();
  batch.RequireValue(intent_key, intent.raw);
  batch.Delete(intent_key);
  PV_ASSIGN_OR_RETURN(
      auto home, ReadPlacement(*control_, intent.tenant, intent.pseudonym));
  if (home) {
    std::string dir_key =
        keys::PrincipalDirectory(intent.tenant, intent.pseudonym);
    batch.RequireValue(dir_key, home->raw);
    batch.Delete(dir_key);
    batch.Add(keys::PrincipalCount(intent.tenant, home->placement.region), -1);
  }
  std::string cert_key = keys::Certificate(intent.tenant, cert.id);
  batch.RequireAbsent(cert_key);
  control_->Put(batch, cert_key, CertificateJson(cert));
  PV_RETURN_IF_ERROR(control_->Write(context, batch));
  return cert;
}

Result<ErasureCertificate> ErasureService::Erase(
    const RequestContext& context, const Tenant& tenant,
    std::string_view principal, const crypto::Ed25519Key& signer) {
  PV_RETURN_IF_ERROR(ValidatePrincipalId(principal));
  PV_ASSIGN_OR_RETURN(std::string pseudonym,
                      records_->Pseudonym(tenant, principal));
  const std::string intent_key = keys::Erasure(tenant.id, pseudonym);
  const std::string relocation_key = keys::Relocation(tenant.id, pseudonym);
  const std::string dir_key = keys::PrincipalDirectory(tenant.id, pseudonym);
  context.NotePrincipal(pseudonym);
  auto attempt = [&]() -> std::optional<Result<ErasureCertificate>> {
    // Finish an earlier erasure of this principal first.
    PV_ASSIGN_OR_RETURN(auto pending, control_->GetRaw(intent_key));
    if (pending) {
      PV_ASSIGN_OR_RETURN(auto doc, control_->Decode(intent_key, *pending));
      PV_ASSIGN_OR_RETURN(auto intent, IntentFromJson(doc, *pending));
      context.NoteRegion(intent.region);
      return Drive(context, std::move(intent), signer);
    }
    PV_ASSIGN_OR_RETURN(auto relocating, control_->GetRaw(relocation_key));
    if (relocating)
      return Err(Aborted("the principal is being relocated; retry shortly"));
    PV_ASSIGN_OR_RETURN(auto home,
                        ReadPlacement(*control_, tenant.id, pseudonym));
    if (!home) return Err(NotFound("no such principal"));
    context.NoteRegion(home->placement.region);
    Intent intent{crypto::RandomId("cert_"),
                  tenant.id,
                  pseudonym,
                  home->placement.region,
                  clock_->Now(),
                  std::nullopt,
                  ""};
    storage::WriteBatch batch = context.Batch();
    batch.RequireAbsent(intent_key);
    batch.RequireAbsent(relocation_key);
    // Marked erasing, so no create places anything more; this also changes
    // its stored bytes, so a relocation starting now (guarded by the entry
    // it read) aborts.
    batch.RequireValue(dir_key, home->raw);
    Placement erasing = home->placement;
    erasing.erasing = true;
    control_->Put(batch, dir_key, ToJson(erasing));
    control_->Put(batch, intent_key, IntentJson(intent));
    Status written = control_->Write(context, batch);
    if (LostRace(written)) return std::nullopt;  // raced; re-read
    PV_RETURN_IF_ERROR(written);
    CrashPoint("erase.started");
    PV_ASSIGN_OR_RETURN(auto raw, control_->GetRaw(intent_key));
    if (!raw) return Err(Inconsistent());
    intent.raw = std::move(*raw);
    return Drive(context, std::move(intent), signer);
  };
  return RetryOnConflict("the principal", attempt, kMaxAttempts);
}

Result<std::vector<ErasureCertificate>> ErasureService::Certificates(
    std::string_view tenant) {
  PV_ASSIGN_OR_RETURN(
      auto docs, control_->Scan(keys::CertificatePrefix(tenant), SIZE_MAX));
  std::vector<ErasureCertificate> out;
  for (auto& [key, doc] : docs) {
    PV_ASSIGN_OR_RETURN(auto cert, CertificateFromJson(doc));
    out.push_back(std::move(cert));
  }
  std::stable_sort(out.begin(), out.end(), [](auto& a, auto& b) {
    return a.completed_at < b.completed_at;
  });
  return out;
}

Result<int> ErasureService::ResumeInterrupted(
    const crypto::Ed25519Key& signer) {
  const RequestContext context;  // on no request's behalf: recovery
  return control_->FinishEach(
      keys::ErasurePrefix(),
      [&](const std::string& key, const json::value& doc) -> Status {
        PV_ASSIGN_OR_RETURN(auto raw, control_->GetRaw(key));
        if (!raw) return Status::Ok();  // finished meanwhile
        PV_ASSIGN_OR_RETURN(auto intent, IntentFromJson(doc, *raw));
        auto cert = Drive(context, std::move(intent), signer);
        return cert ? Status::Ok() : cert.error();
      });
}

}  // namespace piivault::lifecycle
