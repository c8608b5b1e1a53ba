// Every storage key the vault writes, in one place. Keys contain only
// validated names (tenant, collection, field, purpose), random ids and
// keyed-HMAC pseudonyms in hex — never a principal id or any other PII.
#pragma once

#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace piivault::vault::keys {

inline std::string Join(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (auto p : parts) {
    if (!out.empty()) out.push_back('/');
    out.append(p);
  }
  return out;
}

// `n` as 16 hex digits, so that keys holding it sort in numeric order.
inline std::string Hex16(uint64_t n) {
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(n));
  return hex;
}

// Control store.
inline std::string TenantPrefix() { return "tenant/"; }
inline std::string Tenant(std::string_view t) { return Join({"tenant", t}); }
inline std::string Identity(std::string_view id) {
  return Join({"identity", id});
}
inline std::string OperatorIdentityPrefix() { return "operator-identity/"; }
inline std::string OperatorIdentity(std::string_view id) {
  return Join({"operator-identity", id});
}
inline std::string TenantIdentityPrefix(std::string_view t) {
  return Join({"tenant-identity", t, ""});
}
inline std::string TenantIdentity(std::string_view t, std::string_view id) {
  return Join({"tenant-identity", t, id});
}
// Changes with every tenant-admin created or deactivated, so that an
// operator's bootstrap of a tenant's first admin is decided race-free.
inline std::string TenantAdminsGuard(std::string_view t) {
  return Join({"tenant-admins", t});
}
inline std::string CollectionPrefix(std::string_view t) {
  return Join({"collection", t, ""});
}
inline std::string Collection(std::string_view t, std::string_view c) {
  return Join({"collection", t, c});
}
inline std::string PurposePrefix(std::string_view t) {
  return Join({"purpose", t, ""});
}
inline std::string Purpose(std::string_view t, std::string_view p) {
  return Join({"purpose", t, p});
}
// Notices to the tenant (compliance/outbox.h), by id (ids sort by time).
inline std::string NotificationPrefix(std::string_view t) {
  return Join({"notification", t, ""});
}
inline std::string Notification(std::string_view t, std::string_view id) {
  return Join({"notification", t, id});
}
// Notices waiting for webhook delivery, and those given up on (dead
// letters), per tenant by id; the tenant ids under "ntf-due/" are the
// tenants with deliveries to make.
inline std::string NotificationDueRoot() { return "ntf-due/"; }
inline std::string NotificationDuePrefix(std::string_view t) {
  return Join({"ntf-due", t, ""});
}
inline std::string NotificationDue(std::string_view t, std::string_view id) {
  return Join({"ntf-due", t, id});
}
inline std::string NotificationDeadRoot() { return "ntf-dead/"; }
inline std::string NotificationDead(std::string_view t, std::string_view id) {
  return Join({"ntf-dead", t, id});
}
// The tenant's webhook (url and secret), and the state of its delivery:
// which node holds the lease, and when the receiver may be tried again.
// (Each ends in '/', so that it is also the prefix of that tenant alone.)
inline std::string Webhook(std::string_view t) {
  return Join({"webhook", t, ""});
}
inline std::string WebhookDelivery(std::string_view t) {
  return Join({"webhook-delivery", t, ""});
}
// Operator requests for access to a tenant's data.
inline std::string LockboxPrefix(std::string_view t) {
  return Join({"lockbox", t, ""});
}
inline std::string Lockbox(std::string_view t, std::string_view id) {
  return Join({"lockbox", t, id});
}
// Legal disclosure requests (compliance/disclosure.h), deployment-wide.
inline std::string DisclosurePrefix() { return "disclosure/"; }
inline std::string Disclosure(std::string_view id) {
  return Join({"disclosure", id});
}
// The register of sub-processors (compliance/sub_processors.h), by id (a
// name), and each one's objections by time.
inline std::string SubProcessorPrefix() { return "subprocessor/"; }
inline std::string SubProcessor(std::string_view id) {
  return Join({"subprocessor", id});
}
inline std::string ObjectionPrefix(std::string_view sub_processor) {
  return Join({"sp-objection", sub_processor, ""});
}
inline std::string Objection(std::string_view sub_processor, uint64_t micros,
                             std::string_view id) {
  return Join({"sp-objection", sub_processor, Hex16(micros), id});
}
// The incident register (compliance/incidents.h), by random id.
inline std::string IncidentPrefix() { return "incident/"; }
inline std::string Incident(std::string_view id) {
  return Join({"incident", id});
}
// The compliance registers (compliance/declarations.h, audit_register.h),
// by random id.
inline std::string DeclarationPrefix() { return "declaration/"; }
inline std::string Declaration(std::string_view id) {
  return Join({"declaration", id});
}
inline std::string ExternalAuditPrefix() { return "ext-audit/"; }
inline std::string ExternalAudit(std::string_view id) {
  return Join({"ext-audit", id});
}
// Which region a principal lives in.
inline std::string PrincipalDirectoryPrefix(std::string_view t) {
  return Join({"principal", t, ""});
}
inline std::string PrincipalDirectory(std::string_view t,
                                      std::string_view pseudonym) {
  return Join({"principal", t, pseudonym});
}

// Principals placed in `region` (a counter, summed over its shards).
inline std::string PrincipalCountPrefix(std::string_view t,
                                        std::string_view region) {
  return Join({"count", t, "principals", region, ""});
}
// An interrupted-or-running relocation of one principal.
// A principal erasure in progress, kept until it has finished.
inline std::string ErasurePrefix() { return "erasure/"; }
inline std::string Erasure(std::string_view t, std::string_view pseudonym) {
  return Join({"erasure", t, pseudonym});
}
// A tenant's disposal from its crypto-shredding until its certificate is
// issued (lifecycle/disposal.h), then its certificate, kept for good.
inline std::string Disposal(std::string_view t) {
  return Join({"disposal", t});
}
inline std::string DisposalPrefix() { return "disposal/"; }
inline std::string DisposalCertificate(std::string_view t) {
  return Join({"disposal-cert", t});
}
// The tenant's register of signed certificates (erasures).
inline std::string CertificatePrefix(std::string_view t) {
  return Join({"cert", t, ""});
}
inline std::string Certificate(std::string_view t, std::string_view id) {
  return Join({"cert", t, id});
}
// A restore from backup of one region in progress (lifecycle/backup.h).
inline std::string RestorePrefix() { return "restore/"; }
inline std::string Restore(std::string_view region) {
  return Join({"restore", region});
}
inline std::string RelocationPrefix() { return "relocation/"; }
inline std::string Relocation(std::string_view t, std::string_view pseudonym) {
  return Join({"relocation", t, pseudonym});
}
// Timed work (lifecycle/scheduler.h): the job, and while it is scheduled
// or running an entry in the due index, named by when it is next due (its
// due time, or its lease's end) as 16 hex digits of microseconds so that
// keys sort by time.
inline std::string JobPrefix() { return "job/"; }
inline std::string Job(std::string_view id) { return Join({"job", id}); }
inline std::string JobDuePrefix() { return "job-due/"; }
inline std::string JobDue(uint64_t due_micros, std::string_view id) {
  return Join({"job-due", Hex16(due_micros), id});
}

// A tenant export (lifecycle/tenant_export.h): its state, with the signed
// manifest once completed, and the chunks of its download in order (chunk
// `n` as 16 hex digits, so that keys sort in stream order).
inline std::string Export(std::string_view t, std::string_view id) {
  return Join({"export", t, id});
}
inline std::string TenantExportPrefix(std::string_view t) {
  return Join({"export", t, ""});
}
inline std::string ExportChunkPrefix(std::string_view t, std::string_view id) {
  return Join({"export", t, id, "chunk", ""});
}
inline std::string ExportChunk(std::string_view t, std::string_view id,
                               uint64_t n) {
  return ExportChunkPrefix(t, id) + Hex16(n);
}

// Every counter of a tenant, in whichever store.
inline std::string TenantCounterPrefix(std::string_view t) {
  return Join({"count", t, ""});
}

// Counters are spread over shards so concurrent writers of one tenant do not
// all update one row; readers sum the prefix.
inline std::string CounterShard() {
  constexpr int kShards = 8;
  thread_local std::minstd_rand rng{std::random_device{}()};
  return std::to_string(rng() % kShards);
}
inline std::string PrincipalCount(std::string_view t, std::string_view region) {
  return PrincipalCountPrefix(t, region) + CounterShard();
}

// Region stores.
// Records of tenant `t` held in this region (a counter).
inline std::string RecordCountPrefix(std::string_view t) {
  return Join({"count", t, "records", ""});
}
inline std::string RecordCount(std::string_view t) {
  return RecordCountPrefix(t) + CounterShard();
}
inline std::string PrincipalKey(std::string_view t,
                                std::string_view pseudonym) {
  return Join({"pkey", t, pseudonym});
}
inline std::string Record(std::string_view t, std::string_view record_id) {
  return Join({"rec", t, record_id});
}
inline std::string RecordPrefix(std::string_view t) { return Record(t, ""); }
inline std::string PrincipalRecordPrefix(std::string_view t,
                                         std::string_view pseudonym) {
  return Join({"prec", t, pseudonym, ""});
}
inline std::string PrincipalRecord(std::string_view t,
                                   std::string_view pseudonym,
                                   std::string_view record_id) {
  return Join({"prec", t, pseudonym, record_id});
}
// A principal's consent ledger, its events in order (the state they lead to
// is in the principal's key entry).
inline std::string ConsentEventPrefix(std::string_view t,
                                      std::string_view pseudonym) {
  return Join({"consent", t, pseudonym, ""});
}
// Every consent ledger of the tenant in a region.
inline std::string ConsentEventTenantPrefix(std::string_view t) {
  return Join({"consent", t, ""});
}
// Event `seq`, as 16 hex digits so that keys sort in ledger order.
inline std::string ConsentEvent(std::string_view t, std::string_view pseudonym,
                                uint64_t seq) {
  return ConsentEventPrefix(t, pseudonym) + Hex16(seq);
}
inline std::string BlindIndexPrefix(std::string_view t, std::string_view c,
                                    std::string_view field,
                                    std::string_view hash_hex) {
  return Join({"bidx", t, c, field, hash_hex, ""});
}
inline std::string BlindIndex(std::string_view t, std::string_view c,
                              std::string_view field, std::string_view hash_hex,
                              std::string_view record_id) {
  return Join({"bidx", t, c, field, hash_hex, record_id});
}

// Every row a region keeps for tenant `t` besides its records (RecordPrefix):
// principal keys, the principals' record lists, consent ledgers and blind
// indexes. Keep in step with the builders above.
inline std::vector<std::string> TenantRegionRowPrefixes(std::string_view t) {
  return {Join({"prec", t, ""}), Join({"pkey", t, ""}),
          Join({"consent", t, ""}), Join({"bidx", t, ""})};
}

// The control store's documents of tenant `t` that go at its disposal.
inline std::vector<std::string> TenantDisposableControlPrefixes(
    std::string_view t) {
  return {PrincipalDirectoryPrefix(t),
          CollectionPrefix(t),
          PurposePrefix(t),
          TenantExportPrefix(t),
          Join({"erasure", t, ""}),
          Join({"relocation", t, ""}),
          Webhook(t),
          WebhookDelivery(t),
          NotificationDuePrefix(t)};
}

}  // namespace piivault::vault::keys
