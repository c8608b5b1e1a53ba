// export_bench: a tenant export of N records on SQLite against the baseline
// of a plain Scan of the same rows, in the same run (docs/PERFORMANCE.md).
//
//   build/bin/export_bench [N]        (default 1000000)
//
// The parent preloads N records (principals of four records each, half in
// eu, half in us, an SSN each so the export writes tokens too) into SQLite
// files as `piivault init` lays them out (synchronous=FULL), then runs two
// fresh processes of itself over the same files, so that each one's peak
// RSS (getrusage ru_maxrss) is its own:
//   scan    the baseline: Backend::Scan of every rec/ row of the tenant in
//           each region, a page of 1000 at a time, touching every byte;
//   export  TenantExportService's job (purposes, schemas, every record
//           opened, its token, the NDJSON sealed into 1 MiB chunks in the
//           control store, the signed manifest), run by the scheduler.
// Each prints records/s and peak RSS; the parent prints the ratio. The files
// go in a temporary directory under $PIIVAULT_BENCH_DIR, else $TMPDIR, else
// /tmp, removed at the end.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "bench_util.h"
#include "crypto/keyring.h"
#include "crypto/seal.h"
#include "services/vault.h"
#include "storage/backend.h"
#include "storage/region_router.h"
#include "vault/storage_keys.h"

namespace pv = piivault;

namespace {

constexpr const char* kTenant = "bench";

using pv::bench::Die;
using pv::bench::Must;

// The stores and services of a deployment in `dir`.
struct Deployment {
  explicit Deployment(const std::string& dir) {
    const std::string key_file = dir + "/master.key";
    if (!std::filesystem::exists(key_file))
      Must(pv::crypto::WriteNewMasterKeyFile(key_file), "master key");
    std::map<std::string, std::unique_ptr<pv::storage::Backend>> backends;
    backends["eu"] =
        Must(pv::storage::OpenBackend("sqlite://eu.db", dir), "open eu");
    backends["us"] =
        Must(pv::storage::OpenBackend("sqlite://us.db", dir), "open us");
    router = std::make_unique<pv::storage::RegionRouter>(
        Must(pv::storage::OpenBackend("sqlite://control.db", dir),
             "open control"),
        std::vector<pv::RegionConfig>{{"eu", {"DE"}, "sqlite://eu.db"},
                                      {"us", {"US"}, "sqlite://us.db"}},
        std::move(backends));
    keyring = std::make_unique<pv::crypto::Keyring>(
        Must(pv::crypto::LoadMasterKeyFile(key_file), "load master key"),
        &router->control());
    Must(keyring->InitializeOrVerify(), "keyring");
    vault = std::make_unique<pv::services::Vault>(router.get(), keyring.get(),
                                                  &clock);
  }
  pv::SystemClock clock;
  std::unique_ptr<pv::storage::RegionRouter> router;
  std::unique_ptr<pv::crypto::Keyring> keyring;
  std::unique_ptr<pv::services::Vault> vault;
};

void Preload(const std::string& dir, int records) {
  Deployment d(dir);
  pv::vault::RequestContext none;
  auto tenant =
      Must(d.vault->tenants.Create(none, kTenant, "Bench", {"eu", "us"}, "eu"),
           "tenant");
  using pv::vault::FieldSpec;
  using pv::vault::FieldType;
  auto collection =
      Must(d.vault->collections.Put(
               none, kTenant, "customers",
               {FieldSpec{"email", FieldType::kEmail, true, true},
                FieldSpec{"name", FieldType::kName, false, false},
                FieldSpec{"ssn", FieldType::kSsn, false, false},
                FieldSpec{"loyalty_points", FieldType::kInteger, false, false}},
               ""),
           "collection")
          .collection;
  std::fprintf(stderr, "export_bench: preloading %d records in %s ...\n",
               records, dir.c_str());
  const auto started = std::chrono::steady_clock::now();
  std::atomic<int> next{0};
  std::vector<std::thread> loaders;
  // 16 writers, so that group commit makes it quick.
  for (int t = 0; t < 16; ++t) {
    loaders.emplace_back([&] {
      for (int i; (i = next.fetch_add(1)) < records;) {
        const int principal = i / 4;
        pv::vault::Fields fields{
            {"email", "customer" + std::to_string(i) + "@example.org"},
            {"name", std::string("Customer Number ") + std::to_string(i)},
            {"ssn", std::string("219-09-9999")},
            {"loyalty_points", int64_t{i}}};
        auto rec = d.vault->records.Create(none, tenant, collection,
                                           "cust-" + std::to_string(principal),
                                           principal % 2 ? "us" : "eu", fields);
        if (!rec) Die("preload: " + rec.error().ToString());
      }
    });
  }
  for (auto& t : loaders) t.join();
  std::fprintf(
      stderr, "export_bench: preloaded in %.1f s\n",
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
          .count());
}

long PeakRssKib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

// Prints "<records> <seconds> <peak RSS KiB>" for the parent.
int Measure(const std::string& dir, const std::string& what) {
  Deployment d(dir);
  pv::vault::RequestContext none;
  auto tenant = Must(d.vault->tenants.Get(none, kTenant), "tenant");
  const auto started = std::chrono::steady_clock::now();
  int64_t records = 0;
  if (what == "scan") {
    uint64_t bytes = 0;
    const std::string prefix = pv::vault::keys::Record(kTenant, "");
    for (const std::string region : {"eu", "us"}) {
      pv::storage::Backend* store = d.router->region(region);
      std::string start;
      for (;;) {
        auto rows = Must(store->Scan(prefix, start, 1000), "scan");
        for (auto& row : rows)
          for (char c : row.value) bytes += static_cast<unsigned char>(c);
        records += static_cast<int64_t>(rows.size());
        if (rows.size() < 1000) break;
        start = rows.back().key + '\0';
      }
    }
    if (bytes == 42) std::fprintf(stderr, "(unlikely)\n");
  } else {
    auto e = Must(d.vault->exports.Start(none, tenant, std::nullopt), "start");
    auto ran = Must(d.vault->scheduler.RunDue(d.clock.Now()), "run");
    if (ran.completed != 1) Die("the export did not complete");
    auto done = Must(d.vault->exports.Get(kTenant, e.id), "get");
    records = done.records_done;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
          .count();
  std::printf("%lld %.3f %ld\n", static_cast<long long>(records), seconds,
              PeakRssKib());
  return 0;
}

struct Measured {
  long long records = 0;
  double seconds = 0;
  long rss_kib = 0;
};

Measured RunChild(const std::string& dir, const std::string& what) {
  std::string command =
      "'" + std::filesystem::read_symlink("/proc/self/exe").string() +
      "' --measure " + what + " '" + dir + "'";
  FILE* out = popen(command.c_str(), "r");
  if (!out) Die("cannot run the measuring process");
  Measured m;
  if (std::fscanf(out, "%lld %lf %ld", &m.records, &m.seconds, &m.rss_kib) != 3)
    Die("the " + what + " process failed");
  if (pclose(out) != 0) Die("the " + what + " process failed");
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 4 && std::string(argv[1]) == "--measure")
    return Measure(argv[3], argv[2]);
  const int records = argc > 1 ? std::atoi(argv[1]) : 1'000'000;
  if (records <= 0) Die("usage: export_bench [records]");
  const char* base = std::getenv("PIIVAULT_BENCH_DIR");
  if (!base) base = std::getenv("TMPDIR");
  if (!base) base = "/tmp";
  std::string dir = std::string(base) + "/export_bench.XXXXXX";
  if (!mkdtemp(dir.data())) Die("cannot make a temporary directory");

  Preload(dir, records);
  Measured scan = RunChild(dir, "scan");
  Measured exported = RunChild(dir, "export");
  auto size = [&](const char* file) {
    std::error_code ec;
    auto n = std::filesystem::file_size(dir + "/" + file, ec);
    return ec ? 0.0 : static_cast<double>(n) / (1 << 20);
  };
  std::printf(
      "records            %lld\n"
      "baseline scan      %.0f records/s (%.2f s), peak RSS %.1f MiB\n"
      "export             %.0f records/s (%.2f s), peak RSS %.1f MiB\n"
      "export / scan      %.3f (records/s)\n"
      "stores after       control %.0f MiB, eu %.0f MiB, us %.0f MiB\n",
      exported.records, scan.records / scan.seconds, scan.seconds,
      scan.rss_kib / 1024.0, exported.records / exported.seconds,
      exported.seconds, exported.rss_kib / 1024.0,
      (exported.records / exported.seconds) / (scan.records / scan.seconds),
      size("control.db"), size("eu.db"), size("us.db"));
  // PIIVAULT_BENCH_KEEP: leave the stores, to profile a measuring process
  // (export_bench --measure export DIR) on its own.
  if (std::getenv("PIIVAULT_BENCH_KEEP"))
    std::fprintf(stderr, "export_bench: kept %s\n", dir.c_str());
  else
    std::filesystem::remove_all(dir);
  return 0;
}
