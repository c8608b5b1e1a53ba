// scale_seed: adds records to a stopped deployment for bench/scale_load.sh,
// through the same service code a POST runs (RecordService::Create: field
// validation, principal placement and keys, sealing, blind index, one atomic
// batch per record on the configured backend, SQLite or PostgreSQL), but
// without HTTP, so that 10,000,000 records take minutes rather than hours.
//
//   scale_seed --config DIR/piivault.toml --tenant T --collection C
//              --from A --to B [--per-principal K] [--threads N]
//
// Writes records A..B-1 (the tenant and its collection must exist, made over
// the API by the script): record i belongs to principal "p-<i / K>" (K
// default 4, a principal's records written by one thread in order) and has
// the fields bench/lib.sh's seeding gives (e-mail "seed-<i>@example.org"
// searchable, name, phone, birth date, loyalty points). Writers run in N
// threads (default 16), so the backend's group commit batches their commits.
//
// Record i gets the id ScaleRecordId(i) rather than a random one, so that a
// load generator can draw a random i and derive the id instead of holding
// 10 M ids (bench/wrk/get_scale.lua computes the same). The id spells i in
// base32 least significant digit first, so consecutive records land all
// over the key space as random ids do, not appended in key order.
//
// What it does not do: write audit events (the HTTP path writes one per
// request into the control store), so the stores hold less than 10 M POSTs
// would leave; the script reports region and control store sizes apart.
//
// Prints on stdout, at the end:
//   SEEDED records=N seconds=S json_bytes=J
// where J is the sum of each record's plaintext JSON as POSTed
// ({"principal":...,"fields":{...}}). Progress goes to stderr.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "base/config.h"
#include "bench_util.h"
#include "cli/deployment.h"

namespace pv = piivault;

namespace {

using pv::bench::Die;
using pv::bench::Must;

// The id of record i; bench/wrk/get_scale.lua must compute the same.
std::string ScaleRecordId(int64_t i) {
  static constexpr char kBase32[] = "abcdefghijklmnopqrstuvwxyz234567";
  std::string id = "rec_";
  for (int digit = 0; digit < 13; ++digit, i /= 32)
    id.push_back(kBase32[i % 32]);
  // 12 fixed characters, then a last one whose two padding bits are zero
  // (crypto::IsRandomId): 26 after the prefix.
  id += "benchscaleid";
  id.push_back('a');
  return id;
}

int64_t Arg(int argc, char** argv, std::string_view name, int64_t fallback) {
  for (int i = 1; i + 1 < argc; ++i)
    if (argv[i] == name) return std::atoll(argv[i + 1]);
  return fallback;
}
std::string StrArg(int argc, char** argv, std::string_view name) {
  for (int i = 1; i + 1 < argc; ++i)
    if (argv[i] == name) return argv[i + 1];
  Die("missing " + std::string(name) + " (see bench/scale_seed.cc)");
}

}  // namespace

int main(int argc, char** argv) {
  const std::string config_path = StrArg(argc, argv, "--config");
  const std::string tenant_id = StrArg(argc, argv, "--tenant");
  const std::string collection_name = StrArg(argc, argv, "--collection");
  const int64_t from = Arg(argc, argv, "--from", 0);
  const int64_t to = Arg(argc, argv, "--to", -1);
  const int64_t per_principal = Arg(argc, argv, "--per-principal", 4);
  const int64_t threads = Arg(argc, argv, "--threads", 16);
  if (from < 0 || to < from || per_principal < 1 || threads < 1)
    Die("need 0 <= --from <= --to, --per-principal >= 1, --threads >= 1");

  pv::Config config = Must(pv::LoadConfigFile(config_path), "config");
  // On PostgreSQL each writer thread needs its own connection, so that the
  // threads' commits overlap (and are flushed together); the server's own
  // pool_size is left as configured.
  config.storage_pool_size =
      std::max(config.storage_pool_size, static_cast<std::size_t>(threads));
  auto deployment =
      Must(pv::cli::OpenDeployment(std::move(config)), "open deployment");
  pv::services::Vault& vault = *deployment->vault;
  const pv::vault::RequestContext none;  // no request: no audit event
  const auto tenant = Must(vault.tenants.Get(none, tenant_id), "tenant");
  const auto collection = Must(
      vault.collections.Get(none, tenant_id, collection_name), "collection");

  // Work is handed out a principal at a time, so one principal's records
  // are written by one thread, in order (as one client would).
  const int64_t first_principal = from / per_principal;
  const int64_t end_principal = (to + per_principal - 1) / per_principal;
  std::atomic<int64_t> next_principal{first_principal};
  std::atomic<int64_t> written{0};
  std::atomic<int64_t> json_bytes{0};
  const auto started = std::chrono::steady_clock::now();
  auto seconds = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                         started)
        .count();
  };

  std::vector<std::thread> writers;
  for (int64_t t = 0; t < threads; ++t) {
    writers.emplace_back([&] {
      int64_t bytes = 0;
      for (int64_t p; (p = next_principal.fetch_add(1)) < end_principal;) {
        const std::string principal = "p-" + std::to_string(p);
        for (int64_t i = std::max(from, p * per_principal);
             i < std::min(to, (p + 1) * per_principal); ++i) {
          const std::string email =
              "seed-" + std::to_string(i) + "@example.org";
          const int64_t points = i % 1000;
          pv::vault::Fields fields{{"email", email},
                                   {"name", std::string("Anna Maria Muller")},
                                   {"phone", std::string("+49 151 2345 6789")},
                                   {"birth_date", std::string("1987-04-12")},
                                   {"loyalty_points", points}};
          auto created =
              vault.records.Create(none, tenant, collection, principal,
                                   std::nullopt, fields, ScaleRecordId(i));
          if (!created)
            Die("record " + std::to_string(i) + ": " +
                created.error().ToString());
          // The same JSON bench/lib.sh POSTs for this record.
          bytes += static_cast<int64_t>(
              std::string_view(
                  R"({"principal":"","fields":{"email":"","name":"Anna Maria Muller","phone":"+49 151 2345 6789","birth_date":"1987-04-12","loyalty_points":}})")
                  .size() +
              principal.size() + email.size() + std::to_string(points).size());
          const int64_t n = written.fetch_add(1) + 1;
          if (n % 100000 == 0)
            std::fprintf(stderr, "scale_seed: %lld of %lld (%.0f/s)\n",
                         static_cast<long long>(n),
                         static_cast<long long>(to - from), n / seconds());
        }
      }
      json_bytes.fetch_add(bytes);
    });
  }
  for (auto& w : writers) w.join();
  std::printf("SEEDED records=%lld seconds=%.3f json_bytes=%lld\n",
              static_cast<long long>(written.load()), seconds(),
              static_cast<long long>(json_bytes.load()));
  return 0;
}
