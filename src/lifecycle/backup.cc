#include "lifecycle/backup.h"

#include <algorithm>
#include <boost/json.hpp>
#include <map>
#include <set>

#include "base/crash_point.h"
#include "crypto/hash.h"
#include "crypto/keyring.h"
#include "crypto/random.h"
#include "lifecycle/principal_rows.h"
#include "vault/principal_key_state.h"
#include "vault/storage_keys.h"
#include "vault/stored_object.h"
#include "vault/tenants.h"

namespace piivault::lifecycle {

namespace json = boost::json;
namespace keys = vault::keys;
using storage::DumpItem;

namespace {

// Body items (docs/formats/backup.md).
constexpr char kRowTag = 'R';
constexpr char kCounterTag = 'C';
constexpr char kEndTag = 'E';
// Plaintext handed to the stream writer at a time, and ciphertext read from
// the file at a time.
constexpr std::size_t kPiece = 64 * 1024;

void PutBe(std::string& out, uint64_t v, int bytes) {
  for (int shift = 8 * (bytes - 1); shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>((v >> shift) & 0xFF));
  }
}

uint64_t GetBe(std::string_view in) {
  uint64_t v = 0;
  for (unsigned char c : in) v = (v << 8) | c;
  return v;
}

void EncodeItem(std::string& out, const DumpItem& item) {
  const bool row = item.kind == DumpItem::Kind::kRow;
  out.push_back(row ? kRowTag : kCounterTag);
  PutBe(out, item.key.size(), 4);
  out.append(item.key);
  if (row) {
    PutBe(out, item.value.size(), 4);
    out.append(item.value);
  } else {
    PutBe(out, static_cast<uint64_t>(item.counter), 8);
  }
}

// Overwrites plaintext before it is freed or reused for a smaller piece.
void Wipe(std::string& s) {
  std::fill(s.begin(), s.end(), '\0');
  s.clear();
}

std::string HeaderJson(const BackupHeader& h) {
  return json::serialize(
      json::object{{"format", kBackupFormat},
                   {"backup_id", h.backup_id},
                   {"region", h.region},
                   {"created_at", ToUnixMicros(h.created_at)},
                   {"key_id", h.key_id}});
}

Status NotABackup() {
  return InvalidArgument("the file is not a piivault backup");
}

Result<BackupHeader> ParseHeader(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return Err(NotABackup());
  const json::object& o = v.get_object();
  auto str = [&](const char* key) -> std::optional<std::string> {
    const json::value* m = o.if_contains(key);
    if (m == nullptr || !m->is_string()) return std::nullopt;
    return std::string(m->get_string());
  };
  const json::value* at = o.if_contains("created_at");
  auto format = str("format");
  auto id = str("backup_id");
  auto region = str("region");
  auto key_id = str("key_id");
  if (!format || *format != kBackupFormat || !id || !region || !key_id ||
      at == nullptr || !at->is_int64()) {
    return Err(NotABackup());
  }
  return BackupHeader{*id, *region, FromUnixMicros(at->get_int64()), *key_id};
}

// What the signature covers.
std::string SignedBytes(std::string_view prelude_and_header, int64_t rows,
                        int64_t counters, std::string_view sha256) {
  std::string out(kBackupFormat);
  out.push_back('\n');
  out.append(prelude_and_header);
  PutBe(out, static_cast<uint64_t>(rows), 8);
  PutBe(out, static_cast<uint64_t>(counters), 8);
  out.append(sha256);
  return out;
}

Status ReadAt(const BackupInput& in, uint64_t offset, std::string& out,
              std::size_t n) {
  out.resize(n);
  if (n == 0) return Status::Ok();
  return in.read_at(offset, out.data(), n);
}

}  // namespace

struct BackupService::Layout {
  BackupSummary summary;
  uint64_t body_begin = 0;  // the transfer stream: [body_begin, body_end)
  uint64_t body_end = 0;
  std::string sha256;
};

struct BackupService::Intent {
  std::string backup_id;
  std::string region;
  std::string actor;
  TimePoint started_at;
  uint64_t audit_index = 0;
  std::string raw;  // as stored, for compare-and-set
};

Result<BackupSummary> BackupService::Backup(std::string_view region,
                                            const crypto::ByteSink& out,
                                            const BackupProgress& progress) {
  storage::Backend* backend = router_->region(region);
  if (backend == nullptr) return Err(NotFound("no such region"));
  BackupSummary summary;
  summary.header = {crypto::RandomId("bk_"), std::string(region),
                    FromUnixMicros(ToUnixMicros(clock_->Now())),
                    signer_->key_id()};
  const std::string header = HeaderJson(summary.header);
  std::string prelude(kBackupMagic);
  prelude.push_back(static_cast<char>(kBackupVersion));
  PutBe(prelude, header.size(), 4);
  prelude.append(header);
  PV_RETURN_IF_ERROR(out(prelude));

  crypto::Sha256Stream sha;
  const crypto::X25519KeyPair key = control_->keyring().BackupKeyPair();
  PV_ASSIGN_OR_RETURN(crypto::TransferStreamWriter writer,
                      crypto::TransferStreamWriter::Create(
                          key.public_key, [&](std::string_view ciphertext) {
                            sha.Update(ciphertext);
                            return out(ciphertext);
                          }));
  std::string plain;
  Status dumped = backend->Dump([&](const DumpItem& item) -> Status {
    EncodeItem(plain, item);
    ++(item.kind == DumpItem::Kind::kRow ? summary.rows : summary.counters);
    if (plain.size() < kPiece) return Status::Ok();
    Status s = writer.Write(plain);
    Wipe(plain);
    if (progress) progress(summary.rows + summary.counters, 0);
    return s;
  });
  if (!dumped.ok()) {
    Wipe(plain);
    return Err(dumped);
  }
  plain.push_back(kEndTag);
  PutBe(plain, static_cast<uint64_t>(summary.rows), 8);
  PutBe(plain, static_cast<uint64_t>(summary.counters), 8);
  Status written = writer.Write(plain);
  Wipe(plain);
  PV_RETURN_IF_ERROR(written);
  PV_RETURN_IF_ERROR(writer.Finish());
  if (progress) progress(summary.rows + summary.counters, 0);

  const std::string digest = sha.Finish();
  std::string trailer;
  PutBe(trailer, static_cast<uint64_t>(summary.rows), 8);
  PutBe(trailer, static_cast<uint64_t>(summary.counters), 8);
  trailer.append(digest);
  trailer.append(signer_->Sign(
      SignedBytes(prelude, summary.rows, summary.counters, digest)));
  trailer.append(kBackupEndMagic);
  PV_RETURN_IF_ERROR(out(trailer));
  return summary;
}

Result<BackupService::Layout> BackupService::Check(std::string_view region,
                                                   const BackupInput& in) {
  if (in.size < kBackupPreludeSize + kBackupTrailerSize) {
    return Err(NotABackup());
  }
  std::string prelude;
  PV_RETURN_IF_ERROR(ReadAt(in, 0, prelude, kBackupPreludeSize));
  if (!prelude.starts_with(kBackupMagic)) return Err(NotABackup());
  if (static_cast<uint8_t>(prelude[4]) != kBackupVersion) {
    return Err(InvalidArgument("unsupported backup format version"));
  }
  const uint64_t header_size = GetBe(std::string_view(prelude).substr(5, 4));
  if (header_size > kBackupMaxHeaderSize ||
      in.size < kBackupPreludeSize + header_size + kBackupTrailerSize) {
    return Err(NotABackup());
  }
  std::string header, trailer;
  PV_RETURN_IF_ERROR(ReadAt(in, kBackupPreludeSize, header, header_size));
  PV_RETURN_IF_ERROR(
      ReadAt(in, in.size - kBackupTrailerSize, trailer, kBackupTrailerSize));
  if (!trailer.ends_with(kBackupEndMagic)) return Err(NotABackup());
  Layout layout;
  PV_ASSIGN_OR_RETURN(layout.summary.header, ParseHeader(header));
  const std::string_view t(trailer);
  layout.summary.rows = static_cast<int64_t>(GetBe(t.substr(0, 8)));
  layout.summary.counters = static_cast<int64_t>(GetBe(t.substr(8, 8)));
  layout.sha256 = std::string(t.substr(16, 32));
  const std::string_view signature = t.substr(48, 64);

  // Who made it, before anything the file says is believed.
  if (layout.summary.header.key_id != signer_->key_id()) {
    return Err(FailedPrecondition(
        "the backup was not made by this deployment (another signing key)"));
  }
  if (!crypto::Ed25519Verify(
          signer_->public_key(),
          SignedBytes(prelude + header, layout.summary.rows,
                      layout.summary.counters, layout.sha256),
          signature)) {
    return Err(DataLoss(
        "the backup's signature does not verify: the file was damaged or "
        "changed"));
  }
  if (layout.summary.header.region != region) {
    return Err(InvalidArgument("the backup is of another region"));
  }
  layout.body_begin = kBackupPreludeSize + header_size;
  layout.body_end = in.size - kBackupTrailerSize;

  crypto::Sha256Stream sha;
  std::string piece;
  for (uint64_t at = layout.body_begin; at < layout.body_end;) {
    const auto n = static_cast<std::size_t>(
        std::min<uint64_t>(kPiece, layout.body_end - at));
    PV_RETURN_IF_ERROR(ReadAt(in, at, piece, n));
    sha.Update(piece);
    at += n;
  }
  if (!crypto::ConstantTimeEquals(sha.Finish(), layout.sha256)) {
    return Err(DataLoss(
        "the backup's ciphertext is not the signed one: the file was damaged "
        "or changed"));
  }
  return layout;
}

Result<BackupSummary> BackupService::Verify(std::string_view region,
                                            const BackupInput& in) {
  PV_ASSIGN_OR_RETURN(Layout layout, Check(region, in));
  return layout.summary;
}

namespace {

// The items of a verified backup's body, decrypted a chunk at a time, for
// ReplaceAll. The ciphertext is hashed again as it is read, and the end is
// reported only once the stream's final chunk, the hash and the counts all
// check out, so a file changed since it was verified fails the replacement
// (which then changes nothing).
class BodySource {
 public:
  BodySource(const BackupInput& in, uint64_t begin, uint64_t end,
             std::string sha256, int64_t rows, int64_t counters)
      : in_(in),
        at_(begin),
        end_(end),
        sha256_(std::move(sha256)),
        rows_(rows),
        counters_(counters) {}
  ~BodySource() {
    Wipe(plain_);
    Wipe(piece_);
  }

  Status Open(const crypto::SecretBytes& private_key) {
    PV_ASSIGN_OR_RETURN(auto reader,
                        crypto::TransferStreamReader::Create(
                            private_key, [this](std::string_view plaintext) {
                              plain_.append(plaintext);
                              return Status::Ok();
                            }));
    reader_.emplace(std::move(reader));
    return Status::Ok();
  }

  Result<bool> Next(DumpItem& item) {
    for (;;) {
      PV_ASSIGN_OR_RETURN(bool parsed, Parse(item));
      if (parsed) return true;
      if (ended_ && Available() == 0 && finished_) return false;
      if (finished_) return Err(Damaged());  // a partial item or no end
      PV_RETURN_IF_ERROR(ReadMore());
    }
  }

  int64_t items() const { return seen_rows_ + seen_counters_; }

 private:
  static Status Damaged() {
    return DataLoss("the backup's contents are malformed");
  }
  std::size_t Available() const { return plain_.size() - pos_; }

  Status ReadMore() {
    // Drops what was parsed, so the buffer stays about a chunk.
    if (pos_ > 0) {
      std::fill(plain_.begin(), plain_.begin() + pos_, '\0');
      plain_.erase(0, pos_);
      pos_ = 0;
    }
    if (at_ == end_) {
      PV_RETURN_IF_ERROR(reader_->Finish());
      if (!crypto::ConstantTimeEquals(sha_.Finish(), sha256_)) {
        return DataLoss("the backup changed since it was verified");
      }
      finished_ = true;
      return Status::Ok();
    }
    const auto n =
        static_cast<std::size_t>(std::min<uint64_t>(kPiece, end_ - at_));
    PV_RETURN_IF_ERROR(ReadAt(in_, at_, piece_, n));
    at_ += n;
    sha_.Update(piece_);
    return reader_->Write(piece_);
  }

  // One item from the buffer: true when one was complete, false when more
  // bytes are needed.
  Result<bool> Parse(DumpItem& item) {
    const std::string_view b = std::string_view(plain_).substr(pos_);
    if (b.empty()) return false;
    if (ended_) return Err(Damaged());  // bytes after the end item
    switch (b[0]) {
      case kRowTag:
      case kCounterTag: {
        if (b.size() < 5) return false;
        const uint64_t key_size = GetBe(b.substr(1, 4));
        const bool row = b[0] == kRowTag;
        const uint64_t fixed = row ? 4 : 8;
        if (b.size() < 5 + key_size + fixed) return false;
        const uint64_t value_size = row ? GetBe(b.substr(5 + key_size, 4)) : 0;
        const uint64_t total = 5 + key_size + fixed + value_size;
        if (b.size() < total) return false;
        item.kind = row ? DumpItem::Kind::kRow : DumpItem::Kind::kCounter;
        item.key = std::string(b.substr(5, key_size));
        if (row) {
          item.value = std::string(b.substr(5 + key_size + 4, value_size));
          item.counter = 0;
          ++seen_rows_;
        } else {
          item.value.clear();
          item.counter = static_cast<int64_t>(GetBe(b.substr(5 + key_size, 8)));
          ++seen_counters_;
        }
        pos_ += total;
        return true;
      }
      case kEndTag: {
        if (b.size() < 17) return false;
        if (static_cast<int64_t>(GetBe(b.substr(1, 8))) != rows_ ||
            static_cast<int64_t>(GetBe(b.substr(9, 8))) != counters_ ||
            seen_rows_ != rows_ || seen_counters_ != counters_) {
          return Err(DataLoss("the backup's item counts do not match"));
        }
        ended_ = true;
        pos_ += 17;
        return false;
      }
      default:
        return Err(Damaged());
    }
  }

  const BackupInput& in_;
  uint64_t at_;
  const uint64_t end_;
  const std::string sha256_;
  const int64_t rows_;
  const int64_t counters_;
  std::optional<crypto::TransferStreamReader> reader_;
  crypto::Sha256Stream sha_;
  std::string piece_;
  std::string plain_;
  std::size_t pos_ = 0;
  int64_t seen_rows_ = 0;
  int64_t seen_counters_ = 0;
  bool ended_ = false;
  bool finished_ = false;
};

}  // namespace

struct BackupService::Registers {
  // Tenants disposed of: none of their items is restored.
  std::set<std::string, std::less<>> disposed;
  // By tenant, the principals erased after the backup was taken.
  std::map<std::string, std::set<std::string, std::less<>>, std::less<>> erased;
};

Result<BackupService::Registers> BackupService::ReadRegisters(
    TimePoint backup_taken) {
  PV_ASSIGN_OR_RETURN(auto tenants, vault::ListTenants(*control_));
  Registers out;
  for (auto& tenant : tenants) {
    if (tenant.state == vault::TenantState::kDisposed) {
      out.disposed.insert(tenant.id);
      continue;
    }
    PV_ASSIGN_OR_RETURN(auto certificates, erasures_->Certificates(tenant.id));
    // The register holds erasure certificates only (a disposal's is kept
    // apart: lifecycle/disposal.h).
    for (const ErasureCertificate& cert : certificates) {
      // Certificates name whole seconds: one of the backup's own second may
      // have finished after the snapshot, so it is applied again too (an
      // erasure finished before the snapshot left nothing to bring back).
      if (cert.completed_at + std::chrono::seconds(1) <= backup_taken) continue;
      out.erased[tenant.id].insert(cert.principal_pseudonym);
    }
  }
  return out;
}

namespace {

// Applies the registers to the backup's items on their way into the
// replacement, so nothing of a disposed tenant or of a principal erased
// since is ever written: a disposed tenant's items are left out; of an
// erased principal, its index entries (bidx/, valued by its pseudonym), its
// consent ledger, its principal-record rows and the records they name are
// left out, its key entry becomes the erasure's keyless tombstone, and the
// tenant's record count drops by the records left out. Relies on the dump's
// order: rows by key (prec/ before rec/), then counters.
class RegisterFilter {
 public:
  RegisterFilter(const BackupService::Registers& registers,
                 std::string tombstone)
      : registers_(registers), tombstone_(std::move(tombstone)) {}

  // False: leave `item` out.
  bool Keep(DumpItem& item) {
    const std::string_view key = item.key;
    const std::size_t a = key.find('/');
    const std::size_t b =
        a == std::string_view::npos ? a : key.find('/', a + 1);
    if (b == std::string_view::npos) return true;
    const std::string_view kind = key.substr(0, a);
    const std::string_view tenant = key.substr(a + 1, b - a - 1);
    const std::string_view rest = key.substr(b + 1);
    if (registers_.disposed.contains(tenant)) {
      ++dropped_;
      return false;
    }
    auto erased = registers_.erased.find(tenant);
    if (erased == registers_.erased.end()) return true;
    const std::string_view first = rest.substr(0, rest.find('/'));
    if (item.kind == DumpItem::Kind::kCounter) {
      // count/<t>/records/<shard>: the first shard takes the whole change.
      auto gone = records_gone_.find(tenant);
      if (kind == "count" && rest.starts_with("records/") &&
          gone != records_gone_.end()) {
        item.counter -= gone->second;
        records_gone_.erase(gone);
      }
      return true;
    }
    if (kind == "pkey" && erased->second.contains(rest)) {
      principals_.insert(std::string(tenant) + "/" + std::string(rest));
      item.value = tombstone_;
      return true;
    }
    std::string_view principal;  // whose item is left out
    if (kind == "bidx" && erased->second.contains(item.value)) {
      principal = item.value;
    } else if (kind == "consent" && erased->second.contains(first)) {
      principal = first;
    } else if (kind == "prec" && erased->second.contains(first)) {
      if (first.size() < rest.size()) {  // prec/<t>/<pseudonym>/<record id>
        records_[std::string(tenant)].insert(
            std::string(rest.substr(first.size() + 1)));
      }
      principal = first;
    } else if (kind == "rec") {
      auto ids = records_.find(tenant);
      if (ids == records_.end() || !ids->second.contains(rest)) return true;
      ++records_gone_[std::string(tenant)];
      return false;
    } else {
      return true;
    }
    principals_.insert(std::string(tenant) + "/" + std::string(principal));
    return false;
  }

  // Items of disposed tenants left out.
  int64_t dropped() const { return dropped_; }
  // Principals erased since whose items were left out or tombstoned.
  int64_t principals() const {
    return static_cast<int64_t>(principals_.size());
  }

 private:
  const BackupService::Registers& registers_;
  const std::string tombstone_;
  int64_t dropped_ = 0;
  std::set<std::string> principals_;  // "<tenant>/<pseudonym>"
  // By tenant: ids of the records left out, and how many went.
  std::map<std::string, std::set<std::string, std::less<>>, std::less<>>
      records_;
  std::map<std::string, int64_t, std::less<>> records_gone_;
};

}  // namespace

Result<int64_t> BackupService::ReapplyErasures(storage::Backend& backend,
                                               const Registers& registers) {
  const vault::RequestContext context;  // on no request's behalf
  int64_t reapplied = 0;
  for (const auto& [tenant, pseudonyms] : registers.erased) {
    for (const std::string& pseudonym : pseudonyms) {
      PV_ASSIGN_OR_RETURN(PrincipalRows rows,
                          CollectPrincipalRows(backend, tenant, pseudonym));
      if (rows.rows.empty()) {
        if (!rows.key_raw) continue;  // never lived here
        PV_ASSIGN_OR_RETURN(auto state,
                            vault::PrincipalKeyState::Decode(*rows.key_raw));
        if (state.tombstone()) continue;  // erased already
      }
      PV_RETURN_IF_ERROR(
          PurgePrincipalRows(context, backend, tenant, pseudonym,
                             vault::PrincipalKeyState::Tombstone().Encode()));
      ++reapplied;
    }
  }
  return reapplied;
}

Result<RestoreSummary> BackupService::Restore(const vault::Identity& who,
                                              std::string_view region,
                                              std::string_view reason,
                                              const BackupInput& in,
                                              const BackupProgress& progress) {
  if (who.role != vault::Role::kOperatorAdmin || who.deactivated_at) {
    return Err(PermissionDenied("a restore needs an operator-admin"));
  }
  PV_RETURN_IF_ERROR(vault::ValidateFreeText("reason", reason, 1, 1000));
  storage::Backend* backend = router_->region(region);
  if (backend == nullptr) return Err(NotFound("no such region"));
  PV_ASSIGN_OR_RETURN(Layout layout, Check(region, in));
  RestoreSummary summary;
  summary.backup = layout.summary;
  const BackupHeader& header = layout.summary.header;

  // Step 1: the event, then the intent; or the intent of an interrupted run.
  const vault::RequestContext context;
  const std::string intent_key = keys::Restore(region);
  PV_ASSIGN_OR_RETURN(auto pending, control_->GetRaw(intent_key));
  Intent intent;
  audit::Event event;
  event.actor = who.id;
  event.action = "region.restore";
  event.region = std::string(region);
  event.reason = std::string(reason);
  event.backup = header.backup_id;
  // The final word on an announced restoration that changed nothing.
  auto ended_in_error = [&] {
    event.at = clock_->Now();
    event.outcome = audit::Outcome::kError;
    event.intent = intent.audit_index;
    (void)audit_->Append(audit::AuditLog::kOperatorLog, event);
  };
  if (pending) {
    PV_ASSIGN_OR_RETURN(auto doc, control_->Decode(intent_key, *pending));
    PV_ASSIGN_OR_RETURN(auto stored, vault::OpenStored(doc, "restore"));
    intent.backup_id = stored.Str("backup_id");
    intent.audit_index = static_cast<uint64_t>(stored.Int("audit_index"));
    if (!stored.ok) return Err(vault::Corrupt("restore"));
    if (intent.backup_id != header.backup_id) {
      return Err(FailedPrecondition(
          "an interrupted restore of backup " + intent.backup_id +
          " is pending for this region; run it again with that backup first"));
    }
    intent.raw = std::move(*pending);
    summary.resumed = true;
  } else {
    event.at = clock_->Now();
    PV_ASSIGN_OR_RETURN(intent.audit_index,
                        audit_->Append(audit::AuditLog::kOperatorLog, event));
    storage::WriteBatch batch = context.Batch();
    batch.RequireAbsent(intent_key);
    control_->Put(batch, intent_key,
                  json::object{{"backup_id", header.backup_id},
                               {"region", region},
                               {"actor", who.id},
                               {"started_at", ToUnixMicros(event.at)},
                               {"audit_index", intent.audit_index}});
    Status written = control_->Write(context, batch);
    if (!written.ok()) {
      ended_in_error();
      if (written.code() == StatusCode::kAborted) {
        return Err(Aborted("another restore of this region has begun"));
      }
      return Err(written);
    }
    PV_ASSIGN_OR_RETURN(auto raw, control_->GetRaw(intent_key));
    if (!raw) return Err(Aborted("another restore of this region has begun"));
    intent.raw = std::move(*raw);
  }
  summary.audit_index = intent.audit_index;
  CrashPoint("restore.intent");

  // Step 2: everything at once, with the registers applied on the way.
  PV_ASSIGN_OR_RETURN(Registers registers, ReadRegisters(header.created_at));
  RegisterFilter filter(registers,
                        vault::PrincipalKeyState::Tombstone().Encode());
  BodySource body(in, layout.body_begin, layout.body_end, layout.sha256,
                  layout.summary.rows, layout.summary.counters);
  PV_RETURN_IF_ERROR(
      body.Open(control_->keyring().BackupKeyPair().private_key));
  const int64_t total = layout.summary.rows + layout.summary.counters;
  Status replaced = backend->ReplaceAll([&](DumpItem& item) -> Result<bool> {
    for (;;) {
      PV_ASSIGN_OR_RETURN(bool more, body.Next(item));
      if (progress && (!more || body.items() % 4096 == 0)) {
        progress(body.items(), total);
      }
      if (!more || filter.Keep(item)) return more;
    }
  });
  summary.dropped_items = filter.dropped();
  if (!replaced.ok()) {
    // Nothing changed. A first run takes its intent back and says how the
    // restoration it announced ended; an interrupted one keeps it, since an
    // earlier run may have replaced the region already.
    if (!summary.resumed) {
      storage::WriteBatch batch = context.Batch();
      batch.RequireValue(intent_key, intent.raw);
      batch.Delete(intent_key);
      (void)control_->Write(context, batch);
      ended_in_error();
    }
    return Err(replaced);
  }
  CrashPoint("restore.replaced");

  // Step 3: what the filter did, checked and finished in the store (an
  // erasure whose principal the backup held in another form than the
  // filter knows is purged here).
  PV_ASSIGN_OR_RETURN(int64_t purged, ReapplyErasures(*backend, registers));
  summary.erasures_reapplied = filter.principals() + purged;
  // No image of the rows replaced or purged again stays in the store's own
  // files where it can help it (SQLite's log). Readers may keep the log from
  // being truncated; the next erasure or disposal compacts again.
  (void)backend->Compact();
  CrashPoint("restore.erasures");

  // Step 4.
  storage::WriteBatch done = context.Batch();
  done.RequireValue(intent_key, intent.raw);
  done.Delete(intent_key);
  PV_RETURN_IF_ERROR(control_->Write(context, done));
  return summary;
}

Result<std::vector<BackupService::Pending>> BackupService::PendingRestores() {
  PV_ASSIGN_OR_RETURN(auto docs,
                      control_->Scan(keys::RestorePrefix(), SIZE_MAX));
  std::vector<Pending> out;
  for (auto& [key, doc] : docs) {
    PV_ASSIGN_OR_RETURN(auto stored, vault::OpenStored(doc, "restore"));
    Pending p{stored.Str("region"), stored.Str("backup_id")};
    if (!stored.ok) return Err(vault::Corrupt("restore"));
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace piivault::lifecycle
