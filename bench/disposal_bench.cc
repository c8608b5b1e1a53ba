// Disposal of a large tenant on SQLite (issue 12): how soon its data is
// unreadable (the tenant key destroyed), and how fast its rows are then
// deleted, against the fastest deletion SQLite can do of the same rows in
// the same run: one DELETE per key range in one transaction, then the same
// WAL checkpoint.
//
//   build/bin/piivault_disposal_bench [--records N]   (default 1,000,000)
//
// Both tenants get the same synthetic rows, shaped as the vault writes them
// (a record envelope of ~350 bytes, its principal-record and blind-index
// entries, one principal key per ten records, the record counters): filling
// them through the API would take longer than the measurement and would
// measure record creation, not disposal. The disposed tenant is a real one
// (created, terminated), so its key, state and counters are the vault's own.
#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "bench_util.h"
#include "crypto/random.h"
#include "services/vault.h"
#include "storage/forwarding_backend.h"
#include "vault/storage_keys.h"

namespace piivault {
namespace {

using Clock = std::chrono::steady_clock;
namespace keys = vault::keys;

using bench::Die;
using bench::Must;

// The control store, noting when the batch that destroys the tenant key
// is written: from then on nothing of the tenant opens.
class ShredWatch final : public storage::ForwardingBackend {
 public:
  ShredWatch(std::unique_ptr<storage::Backend> inner, std::string key)
      : ForwardingBackend(inner.get()),
        inner_(std::move(inner)),
        key_(std::move(key)) {}
  Status Write(const storage::WriteBatch& batch) override {
    Status s = ForwardingBackend::Write(batch);
    for (auto& op : batch.ops())
      if (s.ok() && op.kind == storage::WriteBatch::Op::Kind::kDelete &&
          op.key == key_)
        shredded_at = Clock::now();
    return s;
  }
  std::optional<Clock::time_point> shredded_at;

 private:
  std::unique_ptr<storage::Backend> inner_;
  std::string key_;
};

std::string Hex(uint64_t n, int width) {
  char buf[80];
  std::snprintf(buf, sizeof buf, "%0*llx", width,
                static_cast<unsigned long long>(n));
  return buf;
}

// Writes the rows of `records` records of tenant `t` into `region`.
int64_t Fill(storage::Backend& region, const std::string& t, int64_t records) {
  const std::string envelope = crypto::RandomBytes(350);
  const std::string wrapped_key = crypto::RandomBytes(120);
  int64_t rows = 0;
  storage::WriteBatch batch;
  auto flush = [&] {
    Must(region.Write(batch), "fill");
    batch = storage::WriteBatch();
  };
  for (int64_t i = 0; i < records; ++i) {
    const std::string id = "rec_" + Hex(i, 16);
    const std::string pseudonym = Hex(i / 10, 64);
    batch.Put(keys::Record(t, id), envelope);
    batch.Put(keys::PrincipalRecord(t, pseudonym, id), "");
    batch.Put(
        keys::BlindIndex(t, "people", "email", Hex(i * 2654435761u, 64), id),
        pseudonym);
    rows += 3;
    if (i % 10 == 0) {
      batch.Put(keys::PrincipalKey(t, pseudonym), wrapped_key);
      ++rows;
    }
    if (batch.ops().size() >= 20000) flush();
  }
  batch.Add(keys::RecordCountPrefix(t) + "0", records);
  flush();
  return rows;
}

// The baseline: every row and counter of tenant `t` deleted by key range in
// one transaction, then the WAL checkpointed and truncated.
double RawDelete(const std::string& path, const std::string& t) {
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) Die("open baseline");
  sqlite3_busy_timeout(db, 10000);
  auto exec = [&](const std::string& sql) {
    if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK)
      Die("baseline: " + std::string(sqlite3_errmsg(db)));
  };
  const auto start = Clock::now();
  exec("PRAGMA secure_delete=ON");
  exec("BEGIN IMMEDIATE");
  auto range = [&](const char* table, const std::string& prefix) {
    // Keys are blobs: compare as blobs, the prefix's successor ends it.
    std::string end = prefix;
    end.back() = static_cast<char>(end.back() + 1);
    exec(std::string("DELETE FROM ") + table + " WHERE k >= CAST('" + prefix +
         "' AS BLOB) AND k < CAST('" + end + "' AS BLOB)");
  };
  range("kv", keys::RecordPrefix(t));
  for (auto& prefix : keys::TenantRegionRowPrefixes(t)) range("kv", prefix);
  range("counters", keys::TenantCounterPrefix(t));
  exec("COMMIT");
  exec("PRAGMA wal_checkpoint(TRUNCATE)");
  const double seconds =
      std::chrono::duration<double>(Clock::now() - start).count();
  sqlite3_close(db);
  return seconds;
}

int Run(int64_t records) {
  const char* base = std::getenv("PIIVAULT_BENCH_DIR");
  if (!base || !*base) base = std::getenv("TMPDIR");
  if (!base || !*base) base = "/tmp";
  std::string dir = std::string(base) + "/piivault-disposal-XXXXXX";
  if (!::mkdtemp(dir.data())) Die("mkdtemp");

  auto control = std::make_unique<ShredWatch>(
      Must(storage::OpenBackend("sqlite://control.db", dir), "control"),
      "tk/bench");
  ShredWatch* watch = control.get();
  std::map<std::string, std::unique_ptr<storage::Backend>> backends;
  backends["eu"] = Must(storage::OpenBackend("sqlite://eu.db", dir), "eu");
  std::vector<RegionConfig> regions{{"eu", {"DE"}, "sqlite://eu.db"}};
  storage::RegionRouter router(std::move(control), regions,
                               std::move(backends));
  crypto::Keyring keyring(crypto::RandomSecret(32), &router.control());
  Must(keyring.InitializeOrVerify(), "keyring");
  SystemClock clock;
  services::Vault vault(&router, &keyring, &clock);
  Must(vault.tenants.Create(vault::RequestContext(), "bench", "Bench", {"eu"},
                            "eu"),
       "create tenant");
  Must(vault.terminations.Terminate(vault::RequestContext(), "bench",
                                    std::chrono::days(1)),
       "terminate");
  const crypto::Ed25519Key signer = crypto::Ed25519Key::Generate();

  std::fprintf(stderr, "filling %lld records per tenant...\n",
               static_cast<long long>(records));
  storage::Backend& eu = *router.region("eu");
  const int64_t rows = Fill(eu, "bench", records);
  Fill(eu, "base", records);
  storage::WriteBatch principals;
  principals.Add(keys::PrincipalCountPrefix("bench", "eu") + "0",
                 (records + 9) / 10);
  Must(router.control().Write(principals), "count principals");
  Must(eu.Compact(), "checkpoint after filling");

  const double baseline = RawDelete(dir + "/eu.db", "base");

  const auto start = Clock::now();
  auto cert =
      Must(vault.disposals.Dispose(vault::RequestContext(), "bench", signer),
           "dispose");
  const auto end = Clock::now();
  if (!watch->shredded_at) Die("the tenant key was never destroyed");
  if (keyring.GetTenantKeys("bench").has_value())
    Die("the tenant key still opens");
  const double unreadable =
      std::chrono::duration<double>(*watch->shredded_at - start).count();
  const double total = std::chrono::duration<double>(end - start).count();
  if (cert.regions.empty() || cert.regions[0].records != records)
    Die("the certificate does not count every record");

  std::printf("disposal of %lld records (%lld rows) on SQLite\n",
              static_cast<long long>(records), static_cast<long long>(rows));
  std::printf("  unreadable (tenant key destroyed) after  %.3f s\n",
              unreadable);
  std::printf(
      "  ours: every row deleted, WAL truncated   %.2f s  %.0f rows/s\n", total,
      rows / total);
  std::printf(
      "  baseline: range DELETEs, one transaction %.2f s  %.0f rows/s\n",
      baseline, rows / baseline);
  std::printf("  ratio (ours rows/s / baseline rows/s)    %.2f\n",
              baseline / total);
  std::filesystem::remove_all(dir);
  return 0;
}

}  // namespace
}  // namespace piivault

int main(int argc, char** argv) {
  int64_t records = 1'000'000;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--records") == 0 && i + 1 < argc) {
      records = std::atoll(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: %s [--records N]\n", argv[0]);
      return 2;
    }
  }
  if (records <= 0) return 2;
  return piivault::Run(records);
}
