// Backup and restore of one region (lifecycle/backup.h) against SQLite's
// online backup API alone (sqlite3_backup_*), over the same store, in the
// same run:
//
//   backup   ours: BackupService::Backup (one read transaction, encrypted
//            transfer stream, signed) to a file; baseline: sqlite3_backup of
//            the region file into a new file (a page copy, no encryption)
//   restore  ours: BackupService::Restore (verify pass, then ReplaceAll in
//            one transaction, then the erasure register); baseline:
//            sqlite3_backup of that copy back over the region file
//
// The region is filled as a tenant's records fill it: per record a record
// envelope (rec/, 420 random bytes), the principal's row (prec/), a blind
// index entry (bidx/, valued the pseudonym) and a principal key entry (pkey/,
// 180 bytes), one principal per record, and the tenant's record counters.
// Every commit is fsync'ed (synchronous=FULL, as in production).
//
//   build/bin/piivault_backup_bench [records]   (default 1000000, or
//   $PIIVAULT_BENCH_RECORDS); files under $PIIVAULT_BENCH_DIR, else $TMPDIR,
//   else /tmp, removed at exit. Prints a Markdown table.
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <random>
#include <string>

#include "base/clock.h"
#include "crypto/random.h"
#include "crypto/seal.h"
#include "lifecycle/backup.h"
#include "services/vault.h"
#include "storage/memory/memory_backend.h"
#include "storage/sqlite/sqlite_backend.h"

namespace {

using namespace piivault;
using Seconds = std::chrono::duration<double>;
namespace fs = std::filesystem;

[[noreturn]] void Die(const std::string& what) {
  std::cerr << "backup_bench: " << what << "\n";
  std::exit(1);
}
void Check(const Status& s, const std::string& what) {
  if (!s.ok()) Die(what + ": " + s.ToString());
}

std::string Hex(std::mt19937_64& rng, int bytes) {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < bytes; ++i) {
    const auto b = static_cast<unsigned>(rng() & 0xFF);
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}
std::string Random(std::mt19937_64& rng, std::size_t n) {
  std::string out(n, '\0');
  for (char& c : out) c = static_cast<char>(rng());
  return out;
}

void Fill(storage::Backend& region, int64_t records) {
  std::mt19937_64 rng(42);
  constexpr int64_t kBatch = 5000;
  for (int64_t done = 0; done < records;) {
    storage::WriteBatch batch;
    const int64_t n = std::min(kBatch, records - done);
    for (int64_t i = 0; i < n; ++i) {
      const std::string id = "rec_" + Hex(rng, 16);
      const std::string pseudonym = Hex(rng, 32);
      batch.Put("pkey/acme/" + pseudonym, Random(rng, 180));
      batch.Put("rec/acme/" + id, Random(rng, 420));
      batch.Put("prec/acme/" + pseudonym + "/" + id, "");
      batch.Put("bidx/acme/people/email/" + Hex(rng, 32) + "/" + id, pseudonym);
      batch.Add("count/acme/records/" + std::to_string(i % 8), 1);
    }
    Check(region.Write(batch), "fill");
    done += n;
  }
}

// sqlite3_backup of the whole database `from` over `to`.
void SqliteCopy(const std::string& from, const std::string& to) {
  sqlite3* src = nullptr;
  sqlite3* dst = nullptr;
  if (sqlite3_open(from.c_str(), &src) != SQLITE_OK ||
      sqlite3_open(to.c_str(), &dst) != SQLITE_OK)
    Die("sqlite3_open");
  sqlite3_exec(dst, "PRAGMA synchronous=FULL", nullptr, nullptr, nullptr);
  sqlite3_backup* b = sqlite3_backup_init(dst, "main", src, "main");
  if (b == nullptr) Die("sqlite3_backup_init");
  const int rc = sqlite3_backup_step(b, -1);
  sqlite3_backup_finish(b);
  if (rc != SQLITE_DONE) Die("sqlite3_backup_step");
  sqlite3_close(src);
  sqlite3_close(dst);
}

template <typename F>
double Time(F&& f) {
  const auto start = std::chrono::steady_clock::now();
  f();
  return Seconds(std::chrono::steady_clock::now() - start).count();
}

uint64_t FileBytes(const std::string& path) {
  std::error_code ec;
  uint64_t n = fs::file_size(path, ec);
  return ec ? 0 : n;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t records = 1'000'000;
  if (const char* env = std::getenv("PIIVAULT_BENCH_RECORDS")) {
    records = std::atoll(env);
  }
  if (argc > 1) records = std::atoll(argv[1]);
  const char* base = std::getenv("PIIVAULT_BENCH_DIR");
  if (base == nullptr) base = std::getenv("TMPDIR");
  const fs::path dir = fs::path(base ? base : "/tmp") /
                       ("pv-backup-bench-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string region_db = (dir / "eu.db").string();
  const std::string copy_db = (dir / "eu-copy.db").string();
  const std::string backup_file = (dir / "eu.pvbk").string();

  double fill_s = 0, ours_backup_s = 0, base_backup_s = 0, ours_restore_s = 0,
         base_restore_s = 0;
  uint64_t db_bytes = 0;
  {
    auto sqlite = storage::SqliteBackend::Open(region_db);
    if (!sqlite) Die("open: " + sqlite.error().ToString());
    storage::SqliteBackend* region = sqlite->get();
    std::map<std::string, std::unique_ptr<storage::Backend>> regions;
    regions.emplace("eu", std::move(*sqlite));
    storage::RegionRouter router(std::make_unique<storage::MemoryBackend>(),
                                 {{"eu", {"DE"}, "sqlite://eu.db"}},
                                 std::move(regions));
    crypto::Keyring keyring(crypto::RandomSecret(crypto::kMasterKeySize),
                            &router.control());
    Check(keyring.InitializeOrVerify(), "keyring");
    SystemClock clock;
    services::Vault vault(&router, &keyring, &clock);
    crypto::Ed25519Key signer = crypto::Ed25519Key::Generate();
    audit::AuditLog audit(&router.control(), &keyring, &signer, &clock);
    lifecycle::BackupService service(&router, &vault.control, &vault.erasures,
                                     &audit, &signer, &clock);

    fill_s = Time([&] { Fill(*region, records); });
    (void)region->Compact();  // the WAL into the file, for the page copy
    db_bytes = FileBytes(region_db);

    ours_backup_s = Time([&] {
      std::FILE* out = std::fopen(backup_file.c_str(), "wb");
      if (out == nullptr) Die("fopen");
      auto summary = service.Backup("eu", [&](std::string_view b) {
        return std::fwrite(b.data(), 1, b.size(), out) == b.size()
                   ? Status::Ok()
                   : Unavailable("write");
      });
      if (!summary) Die("backup: " + summary.error().ToString());
      if (std::fflush(out) != 0 || ::fsync(::fileno(out)) != 0) Die("fsync");
      std::fclose(out);
    });
    base_backup_s = Time([&] { SqliteCopy(region_db, copy_db); });

    vault::Identity admin;
    admin.id = "id_bench";
    admin.role = vault::Role::kOperatorAdmin;
    const int fd = ::open(backup_file.c_str(), O_RDONLY);
    lifecycle::BackupInput in;
    in.size = FileBytes(backup_file);
    in.read_at = [&](uint64_t offset, char* buf, std::size_t n) {
      return ::pread(fd, buf, n, static_cast<off_t>(offset)) ==
                     static_cast<ssize_t>(n)
                 ? Status::Ok()
                 : DataLoss("short read");
    };
    ours_restore_s = Time([&] {
      auto restored = service.Restore(admin, "eu", "benchmark", in);
      if (!restored) Die("restore: " + restored.error().ToString());
    });
    ::close(fd);
  }
  base_restore_s = Time([&] { SqliteCopy(copy_db, region_db); });

  const uint64_t backup_bytes = FileBytes(backup_file);
  auto rate = [&](double s) { return static_cast<double>(records) / s; };
  auto mib = [](uint64_t bytes, double s) {
    return static_cast<double>(bytes) / (1 << 20) / s;
  };
  std::printf(
      "records %lld (rows %lld), database %.0f MiB, backup file %.0f "
      "MiB, fill %.1f s\n\n",
      static_cast<long long>(records), static_cast<long long>(records * 4),
      static_cast<double>(db_bytes) / (1 << 20),
      static_cast<double>(backup_bytes) / (1 << 20), fill_s);
  std::printf(
      "| | ours | s | records/s | MiB/s (db) | sqlite3_backup | s | "
      "records/s | ours / baseline |\n|---|---|---|---|---|---|---|---|"
      "---|\n");
  std::printf(
      "| backup | Backup | %.1f | %.0f | %.0f | page copy | %.1f | "
      "%.0f | %.2f |\n",
      ours_backup_s, rate(ours_backup_s), mib(db_bytes, ours_backup_s),
      base_backup_s, rate(base_backup_s), base_backup_s / ours_backup_s);
  std::printf(
      "| restore | Restore | %.1f | %.0f | %.0f | page copy | %.1f | "
      "%.0f | %.2f |\n",
      ours_restore_s, rate(ours_restore_s), mib(db_bytes, ours_restore_s),
      base_restore_s, rate(base_restore_s), base_restore_s / ours_restore_s);
  fs::remove_all(dir);
  return 0;
}
