// piivault micro benchmarks. Every benchmark of ours runs next to its
// baseline in the same process and run, and main() prints a table of ratios
// (ours / baseline, items per second) after all benchmarks have run.
//
//   pair                    baseline                        ours
//   seal 24 B               raw EVP AES-256-GCM, reused     crypto::AeadSeal
//                           keyed context, fixed IV
//   open 24 B               same, decrypt + tag check       crypto::AeadOpen
//   blind index (email)     raw HMAC-SHA256 of the value    NormalizeFieldValue
//   +
//                           (reused keyed EVP_MAC ctx)      SearchKey + HMAC +
//                           hex
//   record put, existing    SqliteBackend::Write of one RecordService::Create
//   principal (1 and 16     batch: same keys and bytes as   (5 fields) for a
//   threads)                a record write                  preloaded principal
//   record put, new         the two batches a new RecordService::Create
//   principal (1, 16 thr.)  principal writes (control +     for a new principal
//                           region), same keys and bytes
//   record get (1, 2 thr.)  SqliteBackend::Get x2 (record   RecordService::Get
//   of a
//                           + principal key)                random preloaded
//                           record
//   get + policy & consent  RecordService::Get (= get/ours) PolicyCache::Get
//   checks (1 thread)                                       + Evaluate +
//                                                           RecordService::Get
//                                                           with a consent
//                                                           purpose
//   search, 100k principals RecordService::Search under     the same under
//   (limit 1k and 100k)     service_delivery                marketing, 50 %
//                                                           consenting
//   transfer stream 64 MiB  raw EVP AES-256-GCM over the    TransferStream-
//   (MiB/s), encrypt and    64 MiB in one call              Writer / Reader,
//   decrypt                                                 64 KiB chunks
//
// Stores are SQLite files in fresh temporary directories (under
// $PIIVAULT_BENCH_DIR, else $TMPDIR, else /tmp) on a real file system:
// synchronous=FULL, so every commit is fsync'ed. The directories are removed
// at exit. items_per_second is wall clock (UseRealTime); items_per_cpu_s and
// items_per_user_cpu_s are per CPU-second of the benchmark threads (see
// CpuClock). By default every benchmark runs 3 times in random interleaved
// order and the table uses medians (override with the usual --benchmark_*
// flags). Environment: PIIVAULT_BENCH_IO_SECONDS (min seconds per storage
// run, default 2), PIIVAULT_BENCH_RECORDS (read-store preload, default
// 10000), PIIVAULT_BENCH_DIR.
#include <benchmark/benchmark.h>
#include <openssl/evp.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/json/parse.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "audit/audit_log.h"
#include "base/clock.h"
#include "base/encoding.h"
#include "crypto/aead.h"
#include "crypto/hash.h"
#include "crypto/keyring.h"
#include "crypto/random.h"
#include "crypto/transfer_stream.h"
#include "policy/access_policy.h"
#include "policy/policy_cache.h"
#include "storage/backend.h"
#include "storage/region_router.h"
#include "storage/sqlite/sqlite_backend.h"
#include "vault/field_types.h"
#include "vault/storage_keys.h"
#include "services/vault.h"

namespace {

using namespace piivault;
namespace fs = std::filesystem;

// Temporary directories created so far, removed by Die() too.
std::mutex g_dirs_mu;
std::vector<fs::path> g_dirs;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "piivault_bench: %s\n", what.c_str());
  {
    std::lock_guard lock(g_dirs_mu);
    for (auto& d : g_dirs) {
      std::error_code ec;
      fs::remove_all(d, ec);
    }
  }
  std::_Exit(1);  // no destructors: other threads may still be running
}

template <typename T>
T Must(Result<T> r, const char* what) {
  if (!r) Die(std::string(what) + ": " + r.error().ToString());
  return std::move(*r);
}
void Must(const Status& s, const char* what) {
  if (!s.ok()) Die(std::string(what) + ": " + s.ToString());
}

// ---------------------------------------------------------------------------
// Shared inputs.

constexpr std::string_view kTenant = "bench";
constexpr std::string_view kCollection = "contacts";
// A 24-byte value (a typical e-mail address) and a typical field AAD:
// "f" | tenant | collection | record id | field, NUL-separated.
constexpr std::string_view kValue = "jane.doe1987@example.org";
static_assert(kValue.size() == 24);
const std::string kAad = std::string("f\0bench\0contacts\0", 17) +
                         "rec_abcdefghijklmnopqrstuvwxyz" +
                         std::string(1, '\0') + "email";

thread_local std::mt19937_64 tl_rng{std::random_device{}()};

// ---------------------------------------------------------------------------
// Vaults on SQLite, built lazily (crypto-only runs never touch disk). Two
// separate deployments: the read one holds exactly the preloaded records, so
// the get numbers do not depend on how many puts ran before them; the write
// one takes every put.

// $PIIVAULT_BENCH_RECORDS overrides the read preload (e.g. for profiling
// under valgrind); principals are a quarter of the records (4 records each).
int g_preload_records = 10'000;
int g_preload_principals = 2'500;

struct Env {
  fs::path dir;
  SystemClock clock;
  std::unique_ptr<storage::RegionRouter> router;
  std::unique_ptr<crypto::Keyring> keyring;
  std::unique_ptr<services::Vault> vault;
  vault::Tenant tenant;
  vault::Collection collection;
  std::vector<std::string> principals;  // preloaded
  std::vector<std::string> record_ids;  // preloaded
  // Pairs of (record key, principal key) of preloaded records.
  std::vector<std::pair<std::string, std::string>> record_and_pkey;
  // Measured shapes of a real write, for the baselines.
  std::size_t record_value_bytes = 0;
  std::size_t pkey_value_bytes = 0;
  std::size_t directory_value_bytes = 0;
  std::string pseudonym_example;
  // Raw backends for the baselines (their own files, same settings).
  std::unique_ptr<storage::SqliteBackend> raw_region;
  std::unique_ptr<storage::SqliteBackend> raw_control;
  std::atomic<uint64_t> next_principal{0};

  ~Env() {
    vault.reset();
    keyring.reset();
    router.reset();
    raw_region.reset();
    raw_control.reset();
    std::error_code ec;
    if (!dir.empty()) fs::remove_all(dir, ec);
  }
};

Env* g_read_env = nullptr;
Env* g_write_env = nullptr;
Env* g_search_env = nullptr;

vault::Fields RecordFields(uint64_t n) {
  return {
      {"email", std::string("user") + std::to_string(n) + "@Example.org"},
      {"name", std::string("Anna Maria Müller")},
      {"phone", std::string("+49 151 2345 6789")},
      {"birth_date", std::string("1987-04-12")},
      {"loyalty_points", int64_t(1200 + static_cast<int64_t>(n % 1000))},
  };
}

fs::path MakeTempDir() {
  const char* base = std::getenv("PIIVAULT_BENCH_DIR");
  if (!base || !*base) base = std::getenv("TMPDIR");
  if (!base || !*base) base = "/tmp";
  std::string templ = std::string(base) + "/piivault-bench-XXXXXX";
  if (!::mkdtemp(templ.data()))
    Die("mkdtemp failed under " + std::string(base));
  std::lock_guard lock(g_dirs_mu);
  g_dirs.push_back(templ);
  return templ;
}

// A deployment with `records` records of `principals` principals, record n
// holding fields(n).
std::unique_ptr<Env> BuildEnv(
    int records, int principals,
    vault::Fields (*fields)(uint64_t) = RecordFields) {
  auto env = std::make_unique<Env>();
  env->dir = MakeTempDir();
  const std::string dir = env->dir.string();

  // As `piivault init` lays it out (DefaultConfigToml): a control store and
  // two regions, each its own SQLite file.
  auto control = Must(storage::OpenBackend("sqlite://control.db", dir),
                      "open control store");
  std::map<std::string, std::unique_ptr<storage::Backend>> backends;
  backends["eu"] = Must(storage::OpenBackend("sqlite://eu.db", dir), "open eu");
  backends["us"] = Must(storage::OpenBackend("sqlite://us.db", dir), "open us");
  std::vector<RegionConfig> regions{{"eu", {"DE", "FR"}, "sqlite://eu.db"},
                                    {"us", {"US"}, "sqlite://us.db"}};
  env->router = std::make_unique<storage::RegionRouter>(
      std::move(control), regions, std::move(backends));
  env->keyring = std::make_unique<crypto::Keyring>(crypto::RandomSecret(32),
                                                   &env->router->control());
  Must(env->keyring->InitializeOrVerify(), "keyring");
  env->vault = std::make_unique<services::Vault>(env->router.get(),
                                              env->keyring.get(), &env->clock);
  env->tenant = Must(
      env->vault->tenants.Create(vault::RequestContext(), std::string(kTenant),
                                 "Bench", {"eu", "us"}, "eu"),
      "create tenant");
  using vault::FieldSpec;
  using vault::FieldType;
  env->collection =
      Must(
          env->vault->collections.Put(
              vault::RequestContext(), env->tenant.id, std::string(kCollection),
              {FieldSpec{"email", FieldType::kEmail, true, true},
               FieldSpec{"name", FieldType::kName, false, false},
               FieldSpec{"phone", FieldType::kPhone, false, false},
               FieldSpec{"birth_date", FieldType::kDate, false, false},
               FieldSpec{"loyalty_points", FieldType::kInteger, false, false},
               // Set only in the search store (section 6).
               FieldSpec{"segment", FieldType::kString, false, true}},
              "P365D"),
          "create collection")
          .collection;

  for (int i = 0; i < principals; ++i)
    env->principals.push_back("cust-" + std::to_string(1'000'000 + i));

  // Preload with 16 writers so group commit makes it quick.
  std::fprintf(stderr, "piivault_bench: preloading %d records in %s ...\n",
               records, dir.c_str());
  env->record_ids.resize(static_cast<std::size_t>(records));
  std::atomic<int> next{0};
  std::vector<std::thread> loaders;
  for (int t = 0; t < 16; ++t) {
    loaders.emplace_back([&] {
      for (int i; (i = next.fetch_add(1)) < records;) {
        // Records i, i+P, i+2P... share principal i % P; the first round
        // places the principals.
        auto rec = env->vault->records.Create(
            vault::RequestContext(), env->tenant, env->collection,
            env->principals[static_cast<std::size_t>(i % principals)],
            std::nullopt, fields(static_cast<uint64_t>(i)));
        if (!rec) Die("preload: " + rec.error().ToString());
        env->record_ids[static_cast<std::size_t>(i)] = rec->id;
      }
    });
  }
  for (auto& t : loaders) t.join();

  // Measure the stored shapes of a real record write.
  storage::Backend* eu = env->router->region("eu");
  auto keys = Must(env->keyring->GetTenantKeys(env->tenant.id), "tenant keys");
  for (int i = 0; i < records; ++i) {
    const std::string& principal =
        env->principals[static_cast<std::size_t>(i % principals)];
    std::string input = "principal";
    input.push_back('\0');
    input.append(principal);
    std::string pseudonym =
        HexEncode(crypto::HmacSha256(keys->index_key, input));
    env->record_and_pkey.emplace_back(
        vault::keys::Record(env->tenant.id,
                            env->record_ids[static_cast<std::size_t>(i)]),
        vault::keys::PrincipalKey(env->tenant.id, pseudonym));
    if (i == 0) env->pseudonym_example = pseudonym;
  }
  auto rec = Must(eu->Get(env->record_and_pkey[0].first), "read record");
  auto pkey = Must(eu->Get(env->record_and_pkey[0].second), "read pkey");
  auto dirent = Must(env->router->control().Get(vault::keys::PrincipalDirectory(
                         env->tenant.id, env->pseudonym_example)),
                     "read directory");
  if (!rec || !pkey || !dirent) Die("preloaded data is missing");
  env->record_value_bytes = rec->size();
  env->pkey_value_bytes = pkey->size();
  env->directory_value_bytes = dirent->size();

  env->raw_region = Must(storage::SqliteBackend::Open(dir + "/raw_region.db"),
                         "open raw region");
  env->raw_control = Must(storage::SqliteBackend::Open(dir + "/raw_control.db"),
                          "open raw control");
  std::fprintf(stderr,
               "piivault_bench: record value %zu B, wrapped principal key "
               "%zu B, directory entry %zu B\n",
               env->record_value_bytes, env->pkey_value_bytes,
               env->directory_value_bytes);
  return env;
}

Env& ReadEnv() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (const char* n = std::getenv("PIIVAULT_BENCH_RECORDS")) {
      g_preload_records = std::atoi(n);
      if (g_preload_records < 4) Die("PIIVAULT_BENCH_RECORDS must be >= 4");
      g_preload_principals = g_preload_records / 4;
    }
    g_read_env = BuildEnv(g_preload_records, g_preload_principals).release();
  });
  return *g_read_env;
}

// Existing principals for the put benchmarks: 1,000, one record each.
Env& WriteEnv() {
  static std::once_flag once;
  std::call_once(once, [] { g_write_env = BuildEnv(1'000, 1'000).release(); });
  return *g_write_env;
}

std::string RandomHex(std::size_t bytes) {
  return HexEncode(crypto::RandomBytes(bytes));
}

// Items per second of this thread's CPU time, next to GB's wall-clock
// items_per_second: with other processes on the machine (or fsync waits) the
// wall-clock rate says little about what one core can do; the CPU rate does.
//   items_per_cpu_s       per second of user + system CPU (system includes
//                         the kernel's share of pread/fcntl/fsync)
//   items_per_user_cpu_s  per second of user CPU only: the ceiling of our
//                         code (and SQLite's) if every syscall were free
// Averaged over threads. Start it right before the loop, so set-up is not
// counted.
class CpuClock {
 public:
  // kThread: the CPU of this benchmark thread, averaged over threads.
  // kProcess: the CPU of the whole process while the threads run, so work
  // handed to background threads (a committer) is counted too; each thread
  // reports its items over the process's CPU and the counters are summed.
  enum class Scope { kThread, kProcess };
  explicit CpuClock(benchmark::State& state, Scope scope = Scope::kThread)
      : state_(state), scope_(scope) {
    Now(start_total_, start_user_);
  }
  void Finish() { Finish(static_cast<double>(state_.iterations())); }
  void Finish(double items) {
    state_.SetItemsProcessed(static_cast<int64_t>(items));
    double total = 0, user = 0;
    Now(total, user);
    const auto flags = scope_ == Scope::kThread
                           ? benchmark::Counter::kAvgThreads
                           : benchmark::Counter::kDefaults;
    if (total > start_total_)
      state_.counters["items_per_cpu_s"] =
          benchmark::Counter(items / (total - start_total_), flags);
    if (user > start_user_)
      state_.counters["items_per_user_cpu_s"] =
          benchmark::Counter(items / (user - start_user_), flags);
  }

 private:
  static double Seconds(const timeval& tv) {
    return static_cast<double>(tv.tv_sec) +
           static_cast<double>(tv.tv_usec) * 1e-6;
  }
  void Now(double& total, double& user) const {
    rusage ru{};
    ::getrusage(scope_ == Scope::kThread ? RUSAGE_THREAD : RUSAGE_SELF, &ru);
    user = Seconds(ru.ru_utime);
    total = user + Seconds(ru.ru_stime);
  }
  benchmark::State& state_;
  Scope scope_;
  double start_total_ = 0, start_user_ = 0;
};

// ---------------------------------------------------------------------------
// 1. Field seal / open of a 24-byte value.

struct EvpGcm {
  EVP_CIPHER_CTX* enc = EVP_CIPHER_CTX_new();
  EVP_CIPHER_CTX* dec = EVP_CIPHER_CTX_new();
  unsigned char key[32];
  unsigned char iv[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  EvpGcm() {
    for (int i = 0; i < 32; ++i) key[i] = static_cast<unsigned char>(i * 7);
    if (EVP_EncryptInit_ex2(enc, EVP_aes_256_gcm(), key, iv, nullptr) != 1 ||
        EVP_DecryptInit_ex2(dec, EVP_aes_256_gcm(), key, iv, nullptr) != 1)
      Die("EVP init");
  }
  ~EvpGcm() {
    EVP_CIPHER_CTX_free(enc);
    EVP_CIPHER_CTX_free(dec);
  }
  // ct must hold pt.size() bytes, tag 16.
  void Seal(std::string_view pt, std::string_view aad, unsigned char* ct,
            unsigned char* tag) {
    int outl = 0;
    if (EVP_EncryptInit_ex2(enc, nullptr, nullptr, iv, nullptr) != 1 ||
        EVP_EncryptUpdate(enc, nullptr, &outl,
                          reinterpret_cast<const unsigned char*>(aad.data()),
                          static_cast<int>(aad.size())) != 1 ||
        EVP_EncryptUpdate(enc, ct, &outl,
                          reinterpret_cast<const unsigned char*>(pt.data()),
                          static_cast<int>(pt.size())) != 1 ||
        EVP_EncryptFinal_ex(enc, ct + pt.size(), &outl) != 1 ||
        EVP_CIPHER_CTX_ctrl(enc, EVP_CTRL_AEAD_GET_TAG, 16, tag) != 1)
      Die("EVP seal");
  }
  bool Open(const unsigned char* ct, std::size_t n, const unsigned char* tag,
            std::string_view aad, unsigned char* out) {
    int outl = 0;
    return EVP_DecryptInit_ex2(dec, nullptr, nullptr, iv, nullptr) == 1 &&
           EVP_DecryptUpdate(dec, nullptr, &outl,
                             reinterpret_cast<const unsigned char*>(aad.data()),
                             static_cast<int>(aad.size())) == 1 &&
           EVP_DecryptUpdate(dec, out, &outl, ct, static_cast<int>(n)) == 1 &&
           EVP_CIPHER_CTX_ctrl(dec, EVP_CTRL_AEAD_SET_TAG, 16,
                               const_cast<unsigned char*>(tag)) == 1 &&
           EVP_DecryptFinal_ex(dec, out + n, &outl) == 1;
  }
};

void BM_SealBaseline(benchmark::State& state) {
  EvpGcm gcm;
  unsigned char ct[64], tag[16];
  CpuClock cpu(state);
  for (auto _ : state) {
    gcm.Seal(kValue, kAad, ct, tag);
    benchmark::DoNotOptimize(ct);
    benchmark::DoNotOptimize(tag);
  }
  cpu.Finish();
}

void BM_SealOurs(benchmark::State& state) {
  crypto::SecretBytes key = crypto::RandomSecret(crypto::kAeadKeySize);
  CpuClock cpu(state);
  for (auto _ : state) {
    std::string sealed = crypto::AeadSeal(key, 1, kValue, kAad);
    benchmark::DoNotOptimize(sealed.data());
  }
  cpu.Finish();
}

void BM_OpenBaseline(benchmark::State& state) {
  EvpGcm gcm;
  unsigned char ct[64], tag[16], out[64];
  gcm.Seal(kValue, kAad, ct, tag);
  CpuClock cpu(state);
  for (auto _ : state) {
    if (!gcm.Open(ct, kValue.size(), tag, kAad, out)) {
      state.SkipWithError("EVP open failed");
      break;
    }
    benchmark::DoNotOptimize(out);
  }
  cpu.Finish();
}

void BM_OpenOurs(benchmark::State& state) {
  crypto::SecretBytes key = crypto::RandomSecret(crypto::kAeadKeySize);
  const std::string sealed = crypto::AeadSeal(key, 1, kValue, kAad);
  CpuClock cpu(state);
  for (auto _ : state) {
    auto opened = crypto::AeadOpen(key, sealed, kAad);
    if (!opened) {
      state.SkipWithError("AeadOpen failed");
      break;
    }
    benchmark::DoNotOptimize(opened->data());
  }
  cpu.Finish();
}

// ---------------------------------------------------------------------------
// 2. Blind index of an e-mail address.

constexpr std::string_view kEmailInput = "  Jane.Doe.1987@Example.ORG ";

void BM_BlindIndexBaseline(benchmark::State& state) {
  crypto::SecretBytes key = crypto::RandomSecret(32);
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(mac);
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", digest, 0),
                         OSSL_PARAM_construct_end()};
  if (!ctx || EVP_MAC_init(ctx, key.data(), key.size(), params) != 1)
    Die("HMAC init");
  unsigned char out[32];
  CpuClock cpu(state);
  for (auto _ : state) {
    std::size_t len = 0;
    if (EVP_MAC_init(ctx, nullptr, 0, nullptr) != 1 ||  // reuse the key
        EVP_MAC_update(ctx,
                       reinterpret_cast<const unsigned char*>(kValue.data()),
                       kValue.size()) != 1 ||
        EVP_MAC_final(ctx, out, &len, sizeof(out)) != 1)
      Die("HMAC");
    benchmark::DoNotOptimize(out);
  }
  EVP_MAC_CTX_free(ctx);
  EVP_MAC_free(mac);
  cpu.Finish();
}

// What RecordService does per searchable field (BlindHash in records.cc is
// internal; this is the same sequence of public calls).
void BM_BlindIndexOurs(benchmark::State& state) {
  crypto::SecretBytes key = crypto::RandomSecret(32);
  const vault::FieldValue value{std::string(kEmailInput)};
  CpuClock cpu(state);
  for (auto _ : state) {
    auto canonical =
        vault::NormalizeFieldValue(vault::FieldType::kEmail, value);
    if (!canonical) {
      state.SkipWithError("normalize failed");
      break;
    }
    std::string input = "bidx";
    input.push_back('\0');
    input.append(kCollection).push_back('\0');
    input.append("email").push_back('\0');
    input.append(vault::SearchKey(vault::FieldType::kEmail, *canonical));
    std::string hex = HexEncode(crypto::HmacSha256(key, input));
    benchmark::DoNotOptimize(hex.data());
  }
  cpu.Finish();
}

// ---------------------------------------------------------------------------
// 3. Record put.

// Reports how well group commit worked during a run: batches per SQLite
// transaction (i.e. per fsync) on `backend`. Only thread 0 reports it, so the
// value is not multiplied by the thread count.
class CommitStats {
 public:
  CommitStats(benchmark::State& state, storage::Backend* backend)
      : state_(state),
        backend_(dynamic_cast<storage::SqliteBackend*>(backend)) {
    if (backend_ && state_.thread_index() == 0) {
      txns_ = backend_->committed_transactions();
      batches_ = backend_->committed_batches();
    }
  }
  ~CommitStats() {
    if (!backend_ || state_.thread_index() != 0) return;
    const double txns =
        static_cast<double>(backend_->committed_transactions() - txns_);
    const double batches =
        static_cast<double>(backend_->committed_batches() - batches_);
    if (txns > 0) state_.counters["batches/commit"] = batches / txns;
  }

 private:
  benchmark::State& state_;
  storage::SqliteBackend* backend_;
  uint64_t txns_ = 0, batches_ = 0;
};

// Skips the benchmark with `s`'s message when it failed: `if (Failed(...))
// break;` ends the timed loop.
bool Failed(benchmark::State& state, const Status& s) {
  if (!s.ok()) state.SkipWithError(s.ToString().c_str());
  return !s.ok();
}

// One batch shaped like a record write for an existing principal:
// record (measured envelope size) + principal index + blind index.
void BM_PutBaseline(benchmark::State& state) {
  Env& env = WriteEnv();
  const std::string value = crypto::RandomBytes(env.record_value_bytes);
  const std::string hash = RandomHex(32);
  CommitStats stats(state, env.raw_region.get());
  CpuClock cpu(state);
  for (auto _ : state) {
    const std::string id = crypto::RandomId("rec_");
    storage::WriteBatch batch;
    batch.Put(vault::keys::BlindIndex(kTenant, kCollection, "email", hash, id),
              "");
    batch.Put(vault::keys::Record(kTenant, id), value);
    batch.Put(vault::keys::PrincipalRecord(kTenant, env.pseudonym_example, id),
              "");
    if (Failed(state, env.raw_region->Write(batch))) break;
  }
  cpu.Finish();
}

// The two batches a new principal's first record writes: the principal
// directory entry (control store), then the region batch with the wrapped
// principal key in addition to the three keys above.
void BM_PutNewBaseline(benchmark::State& state) {
  Env& env = WriteEnv();
  const std::string value = crypto::RandomBytes(env.record_value_bytes);
  const std::string dirent = crypto::RandomBytes(env.directory_value_bytes);
  const std::string wrapped = crypto::RandomBytes(env.pkey_value_bytes);
  const std::string hash = RandomHex(32);
  CommitStats stats(state, env.raw_region.get());
  CpuClock cpu(state);
  for (auto _ : state) {
    const std::string pseudonym = RandomHex(32);
    const std::string id = crypto::RandomId("rec_");
    storage::WriteBatch control;
    control.Put(vault::keys::PrincipalDirectory(kTenant, pseudonym), dirent);
    Status s = env.raw_control->Write(control);
    storage::WriteBatch region;
    region.Put(vault::keys::BlindIndex(kTenant, kCollection, "email", hash, id),
               "");
    region.Put(vault::keys::PrincipalKey(kTenant, pseudonym), wrapped);
    region.Put(vault::keys::Record(kTenant, id), value);
    region.Put(vault::keys::PrincipalRecord(kTenant, pseudonym, id), "");
    if (s.ok()) s = env.raw_region->Write(region);
    if (Failed(state, s)) break;
  }
  cpu.Finish();
}

void BM_PutOursExisting(benchmark::State& state) {
  Env& env = WriteEnv();
  std::uniform_int_distribution<std::size_t> pick(0, env.principals.size() - 1);
  uint64_t n = 0;
  CommitStats stats(state, env.router->region("eu"));
  CpuClock cpu(state);
  for (auto _ : state) {
    auto rec = env.vault->records.Create(
        vault::RequestContext(), env.tenant, env.collection,
        env.principals[pick(tl_rng)], std::nullopt, RecordFields(++n));
    if (!rec) {
      state.SkipWithError(rec.error().ToString().c_str());
      break;
    }
  }
  cpu.Finish();
}

void BM_PutOursNew(benchmark::State& state) {
  Env& env = WriteEnv();
  CommitStats stats(state, env.router->region("eu"));
  CpuClock cpu(state);
  for (auto _ : state) {
    const uint64_t n = env.next_principal.fetch_add(1);
    auto rec = env.vault->records.Create(
        vault::RequestContext(), env.tenant, env.collection,
        "new-" + std::to_string(n), std::nullopt, RecordFields(n));
    if (!rec) {
      state.SkipWithError(rec.error().ToString().c_str());
      break;
    }
  }
  cpu.Finish();
}

// ---------------------------------------------------------------------------
// 4. Record get.

void BM_GetBaseline(benchmark::State& state) {
  Env& env = ReadEnv();
  storage::Backend* eu = env.router->region("eu");
  std::uniform_int_distribution<std::size_t> pick(
      0, env.record_and_pkey.size() - 1);
  CpuClock cpu(state);
  for (auto _ : state) {
    auto& [rkey, pkey] = env.record_and_pkey[pick(tl_rng)];
    auto a = eu->Get(rkey);
    auto b = eu->Get(pkey);
    if (!a || !b || !*a || !*b) {
      state.SkipWithError("baseline get failed");
      break;
    }
    benchmark::DoNotOptimize(a->value().data());
    benchmark::DoNotOptimize(b->value().data());
  }
  cpu.Finish();
}

// RecordService::Get (all fields) of a random preloaded record of `env`.
void GetRandomRecords(benchmark::State& state, Env& env) {
  std::uniform_int_distribution<std::size_t> pick(0, env.record_ids.size() - 1);
  CpuClock cpu(state);
  for (auto _ : state) {
    auto rec = env.vault->records.Get(
        vault::RequestContext(), env.tenant, env.collection.name,
        env.record_ids[pick(tl_rng)], std::nullopt);
    if (!rec || rec->fields.size() != 5) {
      state.SkipWithError("RecordService::Get failed");
      break;
    }
    benchmark::DoNotOptimize(rec->fields.data());
  }
  cpu.Finish();
}

void BM_GetOurs(benchmark::State& state) { GetRandomRecords(state, ReadEnv()); }

// ---------------------------------------------------------------------------
// 5. What the policy and consent checks add to a record read: the server's
// GrantFor (api/handler_support.cc) and the vault's consent check for a
// tenant-app identity reading under the consent-requiring "marketing"
// purpose, at vault level (no HTTP). The tenant, purpose and collection lookups
// happen for every request with or without the checks, so neither half repeats
// them.

// A tenant app's policy: everything plain for service delivery; for
// marketing, e-mail and name masked, e-mail and loyalty points plain (the
// two marketing rules merge, plain winning), e-mail search.
constexpr std::string_view kAppPolicy = R"({"rules":[
  {"purposes":["service_delivery"],"collections":["contacts"],
   "actions":["read","search"],"transform":"plain"},
  {"purposes":["marketing"],"collections":["contacts"],
   "fields":["email","name"],"actions":["read","search"],"transform":"mask"},
  {"purposes":["marketing"],"collections":["contacts"],
   "fields":["email","loyalty_points"],"actions":["read"],
   "transform":"plain"}]})";

// Grants "marketing" consent to every `step`th preloaded principal of `env`,
// with 16 writers, as for the preload, so group commit makes it quick.
void GrantMarketing(Env& env, std::size_t step) {
  const vault::Purpose marketing =
      Must(env.vault->tenants.GetPurpose(vault::RequestContext(), env.tenant.id,
                                         "marketing"),
           "purpose");
  if (!vault::RequiresConsent(marketing.category))
    Die("the marketing purpose does not require consent");
  std::fprintf(stderr,
               "piivault_bench: granting marketing consent to every %zu. of "
               "%zu principals ...\n",
               step, env.principals.size());
  std::atomic<std::size_t> next{0};
  std::vector<std::thread> writers;
  for (int t = 0; t < 16; ++t) {
    writers.emplace_back([&] {
      for (std::size_t i; (i = next.fetch_add(step)) < env.principals.size();)
        Must(env.vault->consents.Record(vault::RequestContext(), env.tenant,
                                        env.principals[i], marketing, true,
                                        "web_form",
                                        "bench-consent-" + std::to_string(i)),
             "grant consent");
    });
  }
  for (auto& t : writers) t.join();
}

// The read store with a "marketing" consent granted to every preloaded
// principal. Only this pair asks for it, so the other benchmarks' set-up is
// unchanged unless this pair runs too; both halves of the pair use it, so
// they read the same store.
Env& ReadEnvWithConsents() {
  static std::once_flag once;
  std::call_once(once, [] { GrantMarketing(ReadEnv(), 1); });
  return *g_read_env;
}

// Exactly get/ours_RecordService_Get, on the store the checks read.
void BM_ChecksBaseline(benchmark::State& state) {
  GetRandomRecords(state, ReadEnvWithConsents());
}

void BM_ChecksOurs(benchmark::State& state) {
  Env& env = ReadEnvWithConsents();
  // As an identity comes out of the control-document cache: its policy is an
  // already parsed json::value, which GrantFor looks up in the server's
  // PolicyCache (comparing it with the document the entry was parsed from).
  const boost::json::value policy_doc = boost::json::parse(kAppPolicy);
  const std::string identity = "id_benchmarkapp";
  policy::PolicyCache policies;
  const std::string purpose = "marketing";
  std::uniform_int_distribution<std::size_t> pick(0, env.record_ids.size() - 1);
  CpuClock cpu(state);
  for (auto _ : state) {
    // GrantFor: the parsed policy, evaluated over the collection's fields.
    auto app_policy = policies.Get(identity, policy_doc);
    if (!app_policy) {
      state.SkipWithError(app_policy.error().ToString().c_str());
      break;
    }
    std::vector<std::string> fields;
    for (auto& f : env.collection.fields) fields.push_back(f.name);
    auto grant = (*app_policy)
                     ->Evaluate(policy::Action::kRead, purpose,
                                env.collection.name, fields);
    // email and loyalty_points plain, name masked: checked, so that a policy
    // which grants nothing cannot pass cheaply.
    if (!grant || grant->fields.size() != 3) {
      state.SkipWithError("the policy does not grant the expected fields");
      break;
    }
    // The consent check: the get opens the consent state sealed in the
    // principal's key entry, which it reads anyway.
    auto rec = env.vault->records.Get(
        vault::RequestContext(), env.tenant, env.collection.name,
        env.record_ids[pick(tl_rng)], std::nullopt, purpose);
    if (!rec || rec->fields.size() != 5) {
      state.SkipWithError(rec ? "RecordService::Get returned too few fields"
                              : rec.error().ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(rec->fields.data());
    benchmark::DoNotOptimize(grant->fields.size());
  }
  cpu.Finish();
}

// ---------------------------------------------------------------------------
// 6. Search under a consent purpose: 100,000 principals with one record each,
// all in the "newsletter" segment (a searchable field), every other one with
// an active marketing consent. Ours searches under marketing (only the
// consenting principals' records, so it reads on past the others until it
// has `limit`); the baseline is the same search under service_delivery. Two
// limits: 1,000 (the most one API request returns) and 100,000 (the whole
// segment).

constexpr int kSearchPrincipals = 100'000;
constexpr const char* kSegment = "newsletter";

Env& SearchEnv() {
  static std::once_flag once;
  std::call_once(once, [] {
    auto fields = [](uint64_t n) {
      vault::Fields f = RecordFields(n);
      f.emplace_back("segment", std::string(kSegment));
      return f;
    };
    g_search_env =
        BuildEnv(kSearchPrincipals, kSearchPrincipals, +fields).release();
    GrantMarketing(*g_search_env, 2);
  });
  return *g_search_env;
}

void SearchSegment(benchmark::State& state, std::string_view purpose) {
  Env& env = SearchEnv();
  const auto limit = static_cast<std::size_t>(state.range(0));
  // Under marketing half the principals are served.
  const std::size_t expected =
      purpose.empty() ? limit
                      : std::min<std::size_t>(limit, kSearchPrincipals / 2);
  CpuClock cpu(state);
  for (auto _ : state) {
    auto found = env.vault->records.Search(
        vault::RequestContext(), env.tenant, env.collection, "segment",
        std::string(kSegment), limit, purpose);
    if (!found || found->size() != expected) {
      state.SkipWithError(found ? "the search found an unexpected number"
                                : found.error().ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(found->data());
  }
  cpu.Finish();
}

void BM_SearchBaseline(benchmark::State& state) { SearchSegment(state, ""); }
void BM_SearchOurs(benchmark::State& state) {
  SearchSegment(state, "marketing");
}

// ---------------------------------------------------------------------------
// Audit appends: every thread appends events to one tenant log. Ours seals,
// hashes and group-commits (AuditLog); the baseline is a plain audit table:
// one row per event holding an entry of the same size, neither sealed nor
// hashed, written through SqliteBackend's own group commit.

struct AuditEnv {
  fs::path dir = MakeTempDir();
  std::unique_ptr<storage::SqliteBackend> store =
      Must(storage::SqliteBackend::Open((dir / "control.db").string()),
           "open audit store");
  std::unique_ptr<storage::SqliteBackend> raw =
      Must(storage::SqliteBackend::Open((dir / "raw.db").string()),
           "open baseline store");
  crypto::Keyring keyring{crypto::RandomSecret(32), store.get()};
  crypto::Ed25519Key signer = crypto::Ed25519Key::Generate();
  SystemClock clock;
  audit::AuditLog log{store.get(), &keyring, &signer, &clock};
  std::atomic<uint64_t> raw_next{0};
};

AuditEnv& TheAuditEnv() {
  static AuditEnv* env = new AuditEnv();
  return *env;
}

audit::Event BenchEvent(uint64_t n) {
  audit::Event e;
  e.at = std::chrono::system_clock::now();
  e.actor = "id_ybtbmddgywci2rnqcpjtngpo24";
  e.action = "records.get";
  e.purpose = "service_delivery";
  e.collection = "contacts";
  e.record = "rec_" + std::to_string(1'000'000'000'000 + n);
  e.principal_pseudonym = std::string(64, 'a');
  e.fields = {"email", "name", "phone"};
  e.region = "eu";
  e.outcome = audit::Outcome::kOk;
  e.request_id = "req_7kfslwnhdjp2f" + std::to_string(n);
  return e;
}

void BM_AuditAppendBaseline(benchmark::State& state) {
  AuditEnv& env = TheAuditEnv();
  const std::string entry =
      crypto::RandomBytes(audit::EncodeEntry(BenchEvent(0)).size());
  CommitStats stats(state, env.raw.get());
  CpuClock cpu(state);
  for (auto _ : state) {
    uint64_t n = env.raw_next.fetch_add(1);
    storage::WriteBatch batch;
    batch.Put("audit/t/bench/e/" + std::to_string(n), entry);
    if (Failed(state, env.raw->Write(batch))) break;
  }
  cpu.Finish();
}

void BM_AuditAppendOurs(benchmark::State& state) {
  AuditEnv& env = TheAuditEnv();
  CommitStats stats(state, env.store.get());
  CpuClock cpu(state, CpuClock::Scope::kProcess);
  uint64_t n = 0;
  for (auto _ : state) {
    auto seq = env.log.Append("t/bench", BenchEvent(n++));
    if (!seq) {
      state.SkipWithError(seq.error().ToString().c_str());
      break;
    }
  }
  cpu.Finish();
}

// The same appends from few threads, each keeping kAuditWindow events in
// flight with AppendAsync(), as an asynchronous server does with its
// requests: the log's capacity without a blocked thread per event. Items are
// the events made durable while the clock ran. The baseline writes the same
// plain rows in batches of kAuditWindow (perfect batching, nothing sealed or
// hashed).
constexpr int kAuditWindow = 512;

void BM_AuditAppendBatchBaseline(benchmark::State& state) {
  AuditEnv& env = TheAuditEnv();
  const std::string entry =
      crypto::RandomBytes(audit::EncodeEntry(BenchEvent(0)).size());
  CommitStats stats(state, env.raw.get());
  CpuClock cpu(state, CpuClock::Scope::kProcess);
  for (auto _ : state) {
    uint64_t n = env.raw_next.fetch_add(kAuditWindow);
    storage::WriteBatch batch;
    for (int i = 0; i < kAuditWindow; ++i)
      batch.Put("audit/t/bench/e/" + std::to_string(n + i), entry);
    if (Failed(state, env.raw->Write(batch))) break;
  }
  cpu.Finish(static_cast<double>(state.iterations()) * kAuditWindow);
}

void BM_AuditAppendAsyncOurs(benchmark::State& state) {
  AuditEnv& env = TheAuditEnv();
  // Shared with the callbacks, which may still run when this returns. A full
  // window waits until half of it is durable: one wake-up per half window,
  // not one per event, so the harness measures the log rather than itself.
  struct Window {
    std::atomic<int> in_flight{0};
    std::atomic<uint64_t> durable{0}, failed{0};
    void WaitBelow(int n) {
      for (int now = in_flight.load(); now > n; now = in_flight.load())
        in_flight.wait(now);
    }
  };
  auto window = std::make_shared<Window>();
  CommitStats stats(state, env.store.get());
  CpuClock cpu(state, CpuClock::Scope::kProcess);
  uint64_t n = 0;
  for (auto _ : state) {
    if (window->in_flight.fetch_add(1) + 1 >= kAuditWindow)
      window->WaitBelow(kAuditWindow / 2);
    env.log.AppendAsync("t/bench", BenchEvent(n++),
                        [window](Result<uint64_t> seq) {
                          ++(seq ? window->durable : window->failed);
                          int left = window->in_flight.fetch_sub(1) - 1;
                          if (left == kAuditWindow / 2 || left == 0)
                            window->in_flight.notify_all();
                        });
  }
  cpu.Finish(static_cast<double>(window->durable.load()));
  window->WaitBelow(0);
  if (window->failed.load() > 0) state.SkipWithError("an append failed");
}

// ---------------------------------------------------------------------------
// 7. The transfer stream (issue 12): 64 MiB encrypted to a recipient in 64 KiB
// chunks (ours: key agreement, HKDF, and per chunk a nonce, the header as AAD
// and a tag) against raw AES-256-GCM over the same bytes in one call into one
// buffer. Both write every output byte once: ours into the writer's (reader's)
// chunk buffer, which the sink sees and counts; where a consumer copies it
// next (a socket, a file) is the consumer's cost. Items are MiB.

constexpr std::size_t kTransferBytes = std::size_t{64} << 20;

const std::string& TransferPlaintext() {
  static const std::string* p = [] {
    auto* s = new std::string(kTransferBytes, '\0');
    std::mt19937_64 rng(12);
    for (char& c : *s) c = static_cast<char>(rng());
    return s;
  }();
  return *p;
}

const crypto::X25519KeyPair& TransferRecipient() {
  static const auto* pair =
      new crypto::X25519KeyPair(crypto::X25519KeyPair::Generate());
  return *pair;
}

std::string TransferCiphertext() {
  std::string out;
  out.reserve(kTransferBytes + kTransferBytes / 1024);
  auto w = Must(crypto::TransferStreamWriter::Create(
                    TransferRecipient().public_key, crypto::AppendTo(&out)),
                "transfer writer");
  Must(w.Write(TransferPlaintext()), "transfer write");
  Must(w.Finish(), "transfer finish");
  return out;
}

void BM_TransferEncryptBaseline(benchmark::State& state) {
  EvpGcm gcm;
  const std::string& pt = TransferPlaintext();
  std::string ct(pt.size(), '\0');
  unsigned char tag[16];
  CpuClock cpu(state);
  for (auto _ : state) {
    gcm.Seal(pt, {}, reinterpret_cast<unsigned char*>(ct.data()), tag);
    benchmark::DoNotOptimize(ct.data());
  }
  cpu.Finish(static_cast<double>(state.iterations()) * 64);
}

// A sink that only counts what it is handed.
crypto::ByteSink CountingSink(std::size_t* n) {
  return [n](std::string_view bytes) {
    benchmark::DoNotOptimize(bytes.data());
    *n += bytes.size();
    return Status::Ok();
  };
}

void BM_TransferEncryptOurs(benchmark::State& state) {
  const std::string& pt = TransferPlaintext();
  const std::size_t expected = TransferCiphertext().size();
  CpuClock cpu(state);
  for (auto _ : state) {
    std::size_t n = 0;
    auto w = Must(crypto::TransferStreamWriter::Create(
                      TransferRecipient().public_key, CountingSink(&n)),
                  "transfer writer");
    Must(w.Write(pt), "transfer write");
    Must(w.Finish(), "transfer finish");
    if (n != expected) Die("transfer stream of an unexpected size");
  }
  cpu.Finish(static_cast<double>(state.iterations()) * 64);
}

void BM_TransferDecryptBaseline(benchmark::State& state) {
  EvpGcm gcm;
  const std::string& pt = TransferPlaintext();
  std::string ct(pt.size(), '\0'), out(pt.size(), '\0');
  unsigned char tag[16];
  gcm.Seal(pt, {}, reinterpret_cast<unsigned char*>(ct.data()), tag);
  CpuClock cpu(state);
  for (auto _ : state) {
    if (!gcm.Open(reinterpret_cast<const unsigned char*>(ct.data()), ct.size(),
                  tag, {}, reinterpret_cast<unsigned char*>(out.data()))) {
      state.SkipWithError("EVP open failed");
      break;
    }
    benchmark::DoNotOptimize(out.data());
  }
  cpu.Finish(static_cast<double>(state.iterations()) * 64);
}

void BM_TransferDecryptOurs(benchmark::State& state) {
  const std::string stream = TransferCiphertext();
  auto decrypt = [&](crypto::ByteSink sink) {
    auto r = Must(crypto::TransferStreamReader::Create(
                      TransferRecipient().private_key, std::move(sink)),
                  "transfer reader");
    Must(r.Write(stream), "transfer read");
    Must(r.Finish(), "transfer finish");
  };
  std::string once;
  decrypt(crypto::AppendTo(&once));
  if (once != TransferPlaintext()) Die("transfer round trip differs");
  CpuClock cpu(state);
  for (auto _ : state) {
    std::size_t n = 0;
    decrypt(CountingSink(&n));
    if (n != kTransferBytes) Die("transfer plaintext of an unexpected size");
  }
  cpu.Finish(static_cast<double>(state.iterations()) * 64);
}

// ---------------------------------------------------------------------------
// Registration and the ratio table.

struct PairSpec {
  const char* what;
  const char* baseline;
  const char* ours;
  int threads;
  double goal;            // items/s the issue asks of ours; 0: none
  double ratio_goal = 0;  // ours / baseline the issue asks; 0: none
  int64_t arg = -1;       // the benchmarks' argument, if any
};

constexpr double kPutGoal = 50'000, kGetGoal = 150'000, kAuditGoal = 100'000;
// The checks' goal is time added per request, not a rate: PrintRatios
// reports it below the table.
constexpr double kChecksGoalMicros = 5;
constexpr const char* kChecksBaseline = "checks/baseline_RecordService_Get";
constexpr const char* kChecksOurs = "checks/ours_Get_plus_policy_and_consent";
// A marketing search takes at most twice the time of a service one.
constexpr double kSearchRatioGoal = 0.5;
constexpr const char* kSearchBaseline = "search/baseline_service_delivery";
constexpr const char* kSearchOurs = "search/ours_marketing_50pct_consent";

const PairSpec kPairs[] = {
    {"seal 24 B value", "seal/baseline_evp_gcm", "seal/ours_AeadSeal", 1, 0},
    {"open 24 B value", "open/baseline_evp_gcm", "open/ours_AeadOpen", 1, 0},
    {"blind index (email)", "blind_index/baseline_hmac",
     "blind_index/ours_normalize_hmac_hex", 1, 0},
    {"record put, existing principal", "put/baseline_sqlite_batch",
     "put/ours_create_existing_principal", 1, kPutGoal},
    {"record put, existing principal", "put/baseline_sqlite_batch",
     "put/ours_create_existing_principal", 16, 0},
    {"record put, new principal", "put_new/baseline_sqlite_2_batches",
     "put_new/ours_create_new_principal", 1, 0},
    {"record put, new principal", "put_new/baseline_sqlite_2_batches",
     "put_new/ours_create_new_principal", 16, 0},
    {"record get", "get/baseline_sqlite_2_gets", "get/ours_RecordService_Get",
     1, kGetGoal},
    {"record get", "get/baseline_sqlite_2_gets", "get/ours_RecordService_Get",
     2, 0},
    {"get + policy & consent checks", kChecksBaseline, kChecksOurs, 1, 0},
    {"search 1k, marketing vs service", kSearchBaseline, kSearchOurs, 1, 0,
     kSearchRatioGoal, 1'000},
    {"search 100k, marketing vs serv.", kSearchBaseline, kSearchOurs, 1, 0,
     kSearchRatioGoal, kSearchPrincipals},
    {"audit append, group commit", "audit/baseline_sqlite_row_per_event",
     "audit/ours_AuditLog_Append", 64, kAuditGoal},
    {"audit append, 512 in flight", "audit/baseline_sqlite_batch_of_512",
     "audit/ours_AuditLog_AppendAsync", 2, kAuditGoal},
    {"transfer encrypt 64 MiB, MiB/s", "transfer/baseline_evp_gcm_encrypt",
     "transfer/ours_TransferStreamWriter", 1, 0},
    {"transfer decrypt 64 MiB, MiB/s", "transfer/baseline_evp_gcm_decrypt",
     "transfer/ours_TransferStreamReader", 1, 0},
};

// CPU-bound pairs use --benchmark_min_time (default 0.5 s); storage pairs
// run at least $PIIVAULT_BENCH_IO_SECONDS (default 2) each, as fsync-bound
// rates are noisier.
void RegisterAll() {
  double io_seconds = 2.0;
  if (const char* s = std::getenv("PIIVAULT_BENCH_IO_SECONDS")) {
    io_seconds = std::atof(s);
    if (io_seconds <= 0) Die("PIIVAULT_BENCH_IO_SECONDS must be > 0");
  }
  auto cpu = [](benchmark::internal::Benchmark* b) { b->UseRealTime(); };
  auto io = [io_seconds](benchmark::internal::Benchmark* b, int threads) {
    b->UseRealTime()->MinTime(io_seconds)->Threads(threads);
  };
  cpu(benchmark::RegisterBenchmark("seal/baseline_evp_gcm", BM_SealBaseline));
  cpu(benchmark::RegisterBenchmark("seal/ours_AeadSeal", BM_SealOurs));
  cpu(benchmark::RegisterBenchmark("open/baseline_evp_gcm", BM_OpenBaseline));
  cpu(benchmark::RegisterBenchmark("open/ours_AeadOpen", BM_OpenOurs));
  cpu(benchmark::RegisterBenchmark("blind_index/baseline_hmac",
                                   BM_BlindIndexBaseline));
  cpu(benchmark::RegisterBenchmark("blind_index/ours_normalize_hmac_hex",
                                   BM_BlindIndexOurs));
  for (int t : {1, 16}) {
    io(benchmark::RegisterBenchmark("put/baseline_sqlite_batch",
                                    BM_PutBaseline),
       t);
    io(benchmark::RegisterBenchmark("put/ours_create_existing_principal",
                                    BM_PutOursExisting),
       t);
  }
  for (int t : {1, 16}) {
    io(benchmark::RegisterBenchmark("put_new/baseline_sqlite_2_batches",
                                    BM_PutNewBaseline),
       t);
    io(benchmark::RegisterBenchmark("put_new/ours_create_new_principal",
                                    BM_PutOursNew),
       t);
  }
  io(benchmark::RegisterBenchmark("audit/baseline_sqlite_row_per_event",
                                  BM_AuditAppendBaseline),
     64);
  io(benchmark::RegisterBenchmark("audit/ours_AuditLog_Append",
                                  BM_AuditAppendOurs),
     64);
  io(benchmark::RegisterBenchmark("audit/baseline_sqlite_batch_of_512",
                                  BM_AuditAppendBatchBaseline),
     2);
  io(benchmark::RegisterBenchmark("audit/ours_AuditLog_AppendAsync",
                                  BM_AuditAppendAsyncOurs),
     2);
  for (int t : {1, 2}) {
    io(benchmark::RegisterBenchmark("get/baseline_sqlite_2_gets",
                                    BM_GetBaseline),
       t);
    io(benchmark::RegisterBenchmark("get/ours_RecordService_Get", BM_GetOurs),
       t);
  }
  // Reads do not fsync: CPU-bound, one thread, like the crypto pairs.
  cpu(benchmark::RegisterBenchmark(kChecksBaseline, BM_ChecksBaseline));
  cpu(benchmark::RegisterBenchmark(kChecksOurs, BM_ChecksOurs));
  cpu(benchmark::RegisterBenchmark("transfer/baseline_evp_gcm_encrypt",
                                   BM_TransferEncryptBaseline));
  cpu(benchmark::RegisterBenchmark("transfer/ours_TransferStreamWriter",
                                   BM_TransferEncryptOurs));
  cpu(benchmark::RegisterBenchmark("transfer/baseline_evp_gcm_decrypt",
                                   BM_TransferDecryptBaseline));
  cpu(benchmark::RegisterBenchmark("transfer/ours_TransferStreamReader",
                                   BM_TransferDecryptOurs));
  for (int64_t limit : {1'000, kSearchPrincipals}) {
    cpu(benchmark::RegisterBenchmark(kSearchBaseline, BM_SearchBaseline)
            ->Arg(limit));
    cpu(benchmark::RegisterBenchmark(kSearchOurs, BM_SearchOurs)->Arg(limit));
  }
}

// Console output as usual, plus the rates of every run keyed by counter,
// benchmark name and thread count: the "median" aggregate when there are
// repetitions, else the median of the plain runs.
class CollectingReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& r : runs) {
      if (r.error_occurred) continue;
      for (const char* counter :
           {"items_per_second", "items_per_cpu_s", "items_per_user_cpu_s"}) {
        auto it = r.counters.find(counter);
        if (it == r.counters.end()) continue;
        const std::string key =
            Key(counter, Name(r.run_name.function_name, r.run_name.args),
                static_cast<int>(r.threads));
        if (r.run_type == Run::RT_Iteration)
          runs_[key].push_back(it->second.value);
        else if (r.aggregate_name == "median")
          medians_[key] = it->second.value;
      }
    }
    ConsoleReporter::ReportRuns(runs);
  }

  // A benchmark's name with its argument ("search/x/1000").
  static std::string Name(const std::string& function, const std::string& arg) {
    return arg.empty() ? function : function + "/" + arg;
  }

  std::optional<double> Rate(const char* counter, const std::string& name,
                             int threads) const {
    const std::string key = Key(counter, name, threads);
    if (auto m = medians_.find(key); m != medians_.end()) return m->second;
    auto it = runs_.find(key);
    if (it == runs_.end() || it->second.empty()) return std::nullopt;
    std::vector<double> v = it->second;
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  }

 private:
  static std::string Key(const char* counter, const std::string& name,
                         int threads) {
    return std::string(counter) + "#" + name + "#" + std::to_string(threads);
  }
  std::map<std::string, std::vector<double>> runs_;
  std::map<std::string, double> medians_;
};

std::string Human(double v) {
  char buf[32];
  if (v >= 1e6)
    std::snprintf(buf, sizeof buf, "%.2fM", v / 1e6);
  else if (v >= 1e3)
    std::snprintf(buf, sizeof buf, "%.1fk", v / 1e3);
  else
    std::snprintf(buf, sizeof buf, "%.0f", v);
  return buf;
}

std::string LoadAverage() {
  std::ifstream f("/proc/loadavg");
  std::string a, b, c;
  f >> a >> b >> c;
  return a + " " + b + " " + c;
}

void PrintRatios(const CollectingReporter& rep) {
  std::printf("\n%-31s %3s | %9s %9s %7s | %9s %9s %7s | %9s | %s\n",
              "items/s (median)", "thr", "baseline", "ours", "ratio",
              "base/CPU", "ours/CPU", "ratio", "ours/user", "goal (wall)");
  std::printf("%s\n", std::string(124, '-').c_str());
  bool any = false;
  auto cell = [](std::optional<double> v) { return v ? Human(*v) : "-"; };
  auto ratio = [](std::optional<double> a, std::optional<double> b) {
    char buf[32] = "-";
    if (a && b && *b > 0) std::snprintf(buf, sizeof buf, "%.3fx", *a / *b);
    return std::string(buf);
  };
  for (const PairSpec& p : kPairs) {
    const std::string arg = p.arg >= 0 ? std::to_string(p.arg) : "";
    const std::string baseline = CollectingReporter::Name(p.baseline, arg);
    const std::string our_name = CollectingReporter::Name(p.ours, arg);
    auto base = rep.Rate("items_per_second", baseline, p.threads);
    auto ours = rep.Rate("items_per_second", our_name, p.threads);
    auto base_cpu = rep.Rate("items_per_cpu_s", baseline, p.threads);
    auto ours_cpu = rep.Rate("items_per_cpu_s", our_name, p.threads);
    auto ours_user = rep.Rate("items_per_user_cpu_s", our_name, p.threads);
    if (!base && !ours) continue;  // filtered out
    any = true;
    std::string goal;
    if (p.goal > 0 && ours)
      goal = (*ours >= p.goal ? "MET (>= " : "NOT MET (< ") + Human(p.goal) +
             "/s)";
    if (p.ratio_goal > 0 && ours && base)
      goal =
          (*ours / *base >= p.ratio_goal ? "MET (ratio >= " : "NOT MET (< ") +
          ratio(p.ratio_goal, 1.0) + ")";
    std::printf("%-31s %3d | %9s %9s %7s | %9s %9s %7s | %9s | %s\n", p.what,
                p.threads, cell(base).c_str(), cell(ours).c_str(),
                ratio(ours, base).c_str(), cell(base_cpu).c_str(),
                cell(ours_cpu).c_str(), ratio(ours_cpu, base_cpu).c_str(),
                cell(ours_user).c_str(), goal.c_str());
  }
  if (!any) std::printf("(no benchmark pair ran)\n");
  std::printf(
      "ratio = ours / baseline (higher is better; 1.0 = as fast as the "
      "baseline).\n"
      "Columns: wall-clock items/s; items per CPU-second (user + system) of "
      "the benchmark threads, i.e. what one core does regardless of other\n"
      "load; ours/user: items per user-CPU-second, the ceiling of the code "
      "if syscalls (fcntl, pread, fsync) cost nothing.\n");
  // The checks' goal is per request: the difference of the two pairs' times
  // per item (1e6 / rate), wall clock for the verdict as in the table.
  auto base = rep.Rate("items_per_second", kChecksBaseline, 1);
  auto ours = rep.Rate("items_per_second", kChecksOurs, 1);
  if (base && ours && *base > 0 && *ours > 0) {
    const double added = 1e6 / *ours - 1e6 / *base;
    auto base_cpu = rep.Rate("items_per_cpu_s", kChecksBaseline, 1);
    auto ours_cpu = rep.Rate("items_per_cpu_s", kChecksOurs, 1);
    std::string per_cpu;
    if (base_cpu && ours_cpu && *base_cpu > 0 && *ours_cpu > 0) {
      char buf[64];
      std::snprintf(buf, sizeof buf, " (%.2f us of CPU)",
                    1e6 / *ours_cpu - 1e6 / *base_cpu);
      per_cpu = buf;
    }
    std::printf(
        "policy & consent checks add %.2f us per request%s: %.2f -> %.2f us "
        "per get; checks add <= %.0f us: %s\n",
        added, per_cpu.c_str(), 1e6 / *base, 1e6 / *ours, kChecksGoalMicros,
        added <= kChecksGoalMicros ? "MET" : "NOT MET");
  }
  std::printf("load average at end: %s (nproc %u)\n", LoadAverage().c_str(),
              std::thread::hardware_concurrency());
  for (const Env* env : {g_write_env, g_read_env, g_search_env}) {
    if (!env) continue;
    std::printf(
        "%s store: %zu preloaded records; record value %zu B, wrapped "
        "principal key %zu B, directory entry %zu B; in %s "
        "(synchronous=FULL)\n",
        env == g_write_env  ? "write"
        : env == g_read_env ? "read"
                            : "search",
        env->record_ids.size(), env->record_value_bytes, env->pkey_value_bytes,
        env->directory_value_bytes, env->dir.c_str());
  }
}

}  // namespace

int main(int argc, char** argv) {
  // Defaults unless given on the command line: 3 repetitions of every
  // benchmark, run in random interleaved order (so a baseline and its pair
  // see the same disk and load conditions on average), medians displayed.
  std::vector<char*> args(argv, argv + argc);
  auto has = [&](std::string_view flag) {
    return std::any_of(args.begin() + 1, args.end(), [&](char* a) {
      return std::string_view(a).starts_with(flag);
    });
  };
  static char reps[] = "--benchmark_repetitions=3";
  static char interleave[] = "--benchmark_enable_random_interleaving=true";
  static char aggregates[] = "--benchmark_display_aggregates_only=true";
  if (!has("--benchmark_repetitions")) args.push_back(reps);
  if (!has("--benchmark_enable_random_interleaving"))
    args.push_back(interleave);
  if (!has("--benchmark_display_aggregates_only") &&
      !has("--benchmark_report_aggregates_only"))
    args.push_back(aggregates);
  int n = static_cast<int>(args.size());
  args.push_back(nullptr);
  argv = args.data();
  argc = n;
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  RegisterAll();
  std::printf("load average at start: %s\n", LoadAverage().c_str());
  CollectingReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  PrintRatios(reporter);
  std::fflush(stdout);
  delete g_read_env;  // removes the temporary stores
  delete g_write_env;
  delete g_search_env;
  benchmark::Shutdown();
  return 0;
}
