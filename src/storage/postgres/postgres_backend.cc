#include "storage/postgres/postgres_backend.h"

#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <limits>
#include <map>
#include <random>
#include <thread>
#include <unordered_map>
#include <utility>

#include "storage/key_range.h"

namespace piivault::storage {
namespace {

// Type OIDs (fixed in every PostgreSQL-compatible server) for the
// parameters, which libpq sends in binary form.
constexpr Oid kByteaOid = 17;
constexpr Oid kInt8Oid = 20;
constexpr Oid kByteaArrayOid = 1001;

// A bytea holds at most 1 GiB; this also keeps lengths within libpq's int.
constexpr std::size_t kMaxBytes = (std::size_t{1} << 30) - 1;

struct StmtDef {
  const char* name;
  const char* sql;
  int nparams;
  std::array<Oid, 3> types;
};

enum StmtId : std::size_t {
  kGet,
  kMultiGet,
  kScanBounded,
  kScanUnbounded,
  kSumBounded,
  kSumUnbounded,
  kBegin,
  kCommit,
  kRollback,
  kLockValue,
  kClaimAbsent,
  kPut,
  kDelete,
  kAdd,
  kDeleteCounters,
  kDeleteCountersAll,
  kNumStmts,
};

// Every statement the backend runs besides the CREATE TABLEs below. Keep them
// to what CockroachDB, YugabyteDB and Citus accept too, and keep
// docs/operations/postgresql.md in step.
constexpr std::array<StmtDef, kNumStmts> kStmts = {{
    {"pv_get", "SELECT v FROM piivault_kv WHERE k = $1", 1, {kByteaOid}},
    {"pv_multi_get",
     "SELECT k, v FROM piivault_kv WHERE k = ANY($1)",
     1,
     {kByteaArrayOid}},
    {"pv_scan",
     "SELECT k, v FROM piivault_kv WHERE k >= $1 AND k < $2 ORDER BY k "
     "LIMIT $3",
     3,
     {kByteaOid, kByteaOid, kInt8Oid}},
    {"pv_scan_all",
     "SELECT k, v FROM piivault_kv WHERE k >= $1 ORDER BY k LIMIT $2",
     2,
     {kByteaOid, kInt8Oid}},
    // SUM(bigint) is numeric; the cast keeps the result a binary int8.
    {"pv_sum",
     "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM piivault_counters "
     "WHERE k >= $1 AND k < $2",
     2,
     {kByteaOid, kByteaOid}},
    {"pv_sum_all",
     "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM piivault_counters "
     "WHERE k >= $1",
     1,
     {kByteaOid}},
    {"pv_begin", "BEGIN", 0, {}},
    {"pv_commit", "COMMIT", 0, {}},
    {"pv_rollback", "ROLLBACK", 0, {}},
    // A condition expecting a value: the row stays locked until the end of
    // the transaction, so the value we compare is the one we commit over.
    {"pv_lock",
     "SELECT v FROM piivault_kv WHERE k = $1 FOR UPDATE",
     1,
     {kByteaOid}},
    // A condition expecting absence: a returned row means the key was absent
    // and we now hold a placeholder row that blocks every concurrent insert
    // of the key until we commit or roll back; no row means it is present.
    {"pv_claim",
     "INSERT INTO piivault_kv (k, v) VALUES ($1, '') ON CONFLICT (k) DO "
     "NOTHING RETURNING k",
     1,
     {kByteaOid}},
    {"pv_put",
     "INSERT INTO piivault_kv (k, v) VALUES ($1, $2) ON CONFLICT (k) DO "
     "UPDATE SET v = excluded.v",
     2,
     {kByteaOid, kByteaOid}},
    {"pv_delete", "DELETE FROM piivault_kv WHERE k = $1", 1, {kByteaOid}},
    {"pv_add",
     "INSERT INTO piivault_counters (k, n) VALUES ($1, $2) ON CONFLICT (k) "
     "DO UPDATE SET n = piivault_counters.n + excluded.n",
     2,
     {kByteaOid, kInt8Oid}},
    {"pv_delete_counters",
     "DELETE FROM piivault_counters WHERE k >= $1 AND k < $2",
     2,
     {kByteaOid, kByteaOid}},
    {"pv_delete_counters_all",
     "DELETE FROM piivault_counters WHERE k >= $1",
     1,
     {kByteaOid}},
}};

constexpr std::array<const char*, 2> kCreateTables = {
    "CREATE TABLE IF NOT EXISTS piivault_kv "
    "(k BYTEA PRIMARY KEY, v BYTEA NOT NULL)",
    "CREATE TABLE IF NOT EXISTS piivault_counters "
    "(k BYTEA PRIMARY KEY, n BIGINT NOT NULL)",
};

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, ResultDeleter>;

// Up to three binary parameters of one statement call. Not copyable: the
// pointers may point into the object itself.
class Params {
 public:
  Params() = default;
  Params(const Params&) = delete;
  Params& operator=(const Params&) = delete;

  Params& Bytes(std::string_view v) {
    // A null pointer would send SQL NULL, so an empty value points at "".
    values_[n_] = v.empty() ? "" : v.data();
    lengths_[n_] = static_cast<int>(v.size());
    ++n_;
    return *this;
  }
  Params& Int8(int64_t x) {  // network byte order
    auto u = static_cast<uint64_t>(x);
    for (int i = 7; i >= 0; --i, u >>= 8) {
      ints_[n_][i] = static_cast<char>(u & 0xFF);
    }
    values_[n_] = ints_[n_].data();
    lengths_[n_] = 8;
    ++n_;
    return *this;
  }

  int count() const { return n_; }
  const char* const* values() const { return values_.data(); }
  const int* lengths() const { return lengths_.data(); }
  const int* formats() const { return formats_.data(); }

 private:
  static constexpr int kMax = 3;
  int n_ = 0;
  std::array<const char*, kMax> values_{};
  std::array<int, kMax> lengths_{};
  std::array<int, kMax> formats_{1, 1, 1};  // all binary
  std::array<std::array<char, 8>, kMax> ints_{};
};

void PutUint32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>((v >> shift) & 0xFF));
  }
}

// The binary wire form of a one-dimensional bytea[] without NULLs.
std::string ByteaArray(std::span<const std::string> items) {
  std::size_t size = 20;
  for (const std::string& s : items) size += 4 + s.size();
  std::string out;
  out.reserve(size);
  PutUint32(out, 1);  // dimensions
  PutUint32(out, 0);  // no NULLs
  PutUint32(out, kByteaOid);
  PutUint32(out, static_cast<uint32_t>(items.size()));
  PutUint32(out, 1);  // lower bound
  for (const std::string& s : items) {
    PutUint32(out, static_cast<uint32_t>(s.size()));
    out += s;
  }
  return out;
}

std::string_view Cell(const PGresult* r, int row, int col) {
  return {PQgetvalue(r, row, col),
          static_cast<std::size_t>(PQgetlength(r, row, col))};
}

// The server's SQLSTATE of a failed result ("" if none, e.g. for errors
// libpq made up itself). Checked to be five letters or digits, since it goes
// into messages.
std::string SqlState(const PGresult* r) {
  const char* s =
      r == nullptr ? nullptr : PQresultErrorField(r, PG_DIAG_SQLSTATE);
  if (s == nullptr) return {};
  std::string state(s);
  const bool valid =
      state.size() == 5 && std::all_of(state.begin(), state.end(), [](char c) {
        return std::isdigit(static_cast<unsigned char>(c)) ||
               std::isupper(static_cast<unsigned char>(c));
      });
  return valid ? state : std::string();
}

// States after which the server closes the connection, or that say it is
// gone: class 08 (connection exception) and 57P01-57P03 (shutdown, crash,
// cannot connect now).
bool IsConnectionState(std::string_view state) {
  return state.starts_with("08") || state == "57P01" || state == "57P02" ||
         state == "57P03";
}

// Conflicts that leave nothing applied and go away when the transaction is
// run again: serialization failure and deadlock.
bool IsConflictState(std::string_view state) {
  return state == "40001" || state == "40P01";
}

Status ConnectError() {
  return Unavailable("postgres: cannot connect (SQLSTATE 08001)");
}

Status ConnectionLost() {
  return Unavailable("postgres: connection lost (SQLSTATE 08006)");
}

Status PoolBusy() {
  return Unavailable(
      "postgres: no connection became free within the pool wait timeout");
}

Status OutcomeUnknown() {
  return Unavailable(
      "postgres: connection lost during COMMIT; the outcome of the write is "
      "unknown (SQLSTATE 08006)");
}

Status QueryError(const std::string& state) {
  if (state.empty()) return Internal("postgres: query failed (no SQLSTATE)");
  const std::string msg = "postgres: query failed (SQLSTATE " + state + ")";
  const std::string_view cls = std::string_view(state).substr(0, 2);
  // Transient: connection, conflicts, resources, operator intervention
  // (57014 is a statement cancelled by statement_timeout), system errors,
  // and a lock not granted within a lock_timeout the role may set (55P03).
  if (cls == "08" || cls == "40" || cls == "53" || cls == "57" || cls == "58" ||
      state == "55P03") {
    return Unavailable(msg);
  }
  // Data exceptions and program limits: a key or value the server refuses.
  if (cls == "22" || cls == "54") return InvalidArgument(msg);
  return Internal(msg);
}

bool Succeeded(const PGresult* r) {
  const ExecStatusType st = PQresultStatus(r);
  return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

// Sends everything libpq has buffered. Reads whatever the server sends
// meanwhile, so that neither side can block on a full socket buffer while
// the other waits for it (libpq's prescribed loop for pipelines).
bool FlushAll(PGconn* pg) {
  for (;;) {
    const int r = PQflush(pg);
    if (r <= 0) return r == 0;
    pollfd p{PQsocket(pg), POLLIN | POLLOUT, 0};
    if (::poll(&p, 1, -1) < 0 && errno != EINTR) return false;
    if ((p.revents & POLLIN) != 0 && PQconsumeInput(pg) == 0) return false;
  }
}

// An idle connection has nothing to read: the server speaks unprompted only
// when it is about to close the connection (a FATAL error after
// pg_terminate_backend, a shutdown or a restart). Such a connection is
// dropped rather than risked, since a write whose connection dies after its
// COMMIT was sent has an unknown outcome.
bool LooksHealthy(PGconn* pg) {
  if (PQstatus(pg) != CONNECTION_OK ||
      PQtransactionStatus(pg) != PQTRANS_IDLE ||
      PQpipelineStatus(pg) != PQ_PIPELINE_OFF) {
    return false;
  }
  pollfd p{PQsocket(pg), POLLIN, 0};
  int n;
  do {
    n = ::poll(&p, 1, 0);
  } while (n < 0 && errno == EINTR);
  return n == 0;
}

// Notices (e.g. "relation already exists, skipping") are not errors, and
// libpq would print them to stderr.
void IgnoreNotice(void*, const char*) {}

// Calls sent in pipeline mode and read back together: one round trip for
// all of them.
class Pipeline {
 public:
  explicit Pipeline(PGconn* pg) : pg_(pg) {
    // Non-blocking while sending, as libpq advises for pipelines.
    ok_ = PQenterPipelineMode(pg_) == 1 && PQsetnonblocking(pg_, 1) == 0;
  }
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  void Send(StmtId id, const Params& p) {
    ++calls_;
    if (!ok_) return;
    ok_ = PQsendQueryPrepared(pg_, kStmts[id].name, p.count(), p.values(),
                              p.lengths(), p.formats(),
                              /*resultFormat=*/1) == 1;
    if (ok_) ++queued_;
  }
  void Prepare(const StmtDef& s) {
    ++calls_;
    if (!ok_) return;
    ok_ = PQsendPrepare(pg_, s.name, s.sql, s.nparams, s.types.data()) == 1;
    if (ok_) ++queued_;
  }
  // A statement without parameters that is not prepared (a SET).
  void Statement(const std::string& sql) {
    ++calls_;
    if (!ok_) return;
    ok_ = PQsendQueryParams(pg_, sql.c_str(), 0, nullptr, nullptr, nullptr,
                            nullptr, /*resultFormat=*/1) == 1;
    if (ok_) ++queued_;
  }

  // Sends the calls with a Sync and reads one result per call, in order.
  // Fewer results than calls() means the connection broke; the connection
  // leaves pipeline mode only when everything was read.
  std::vector<PgResult> Finish() {
    std::vector<PgResult> out;
    if (!ok_ || PQpipelineSync(pg_) != 1 || !FlushAll(pg_)) return out;
    PQsetnonblocking(pg_, 0);  // PQgetResult waits for the replies
    out.reserve(queued_);
    for (std::size_t i = 0; i < queued_; ++i) {
      PgResult r(PQgetResult(pg_));
      if (r == nullptr) return out;
      out.push_back(std::move(r));
      if (PQstatus(pg_) != CONNECTION_OK) return out;
      // Each call's results end with a null.
      while (PgResult extra{PQgetResult(pg_)}) {
        if (PQstatus(pg_) != CONNECTION_OK) return out;
      }
    }
    PgResult sync(PQgetResult(pg_));
    if (sync != nullptr && PQresultStatus(sync.get()) == PGRES_PIPELINE_SYNC) {
      PQexitPipelineMode(pg_);
    }
    return out;
  }

  // Calls made, and calls libpq accepted (fewer once the connection broke).
  std::size_t calls() const { return calls_; }
  std::size_t queued() const { return queued_; }

 private:
  PGconn* pg_;
  bool ok_ = false;
  std::size_t calls_ = 0;
  std::size_t queued_ = 0;
};

// How a pipeline went: every call succeeded, a call failed with a server
// error (`state`), or the connection broke.
struct PipelineCheck {
  enum Kind { kOk, kQueryError, kLost } kind = kOk;
  std::size_t failed_call = 0;  // kQueryError, kLost: the first failed call
  std::string state;
};

PipelineCheck Check(PGconn* pg, const std::vector<PgResult>& results,
                    std::size_t calls) {
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (Succeeded(results[i].get())) continue;
    std::string state = SqlState(results[i].get());
    if (PQstatus(pg) != CONNECTION_OK || IsConnectionState(state)) {
      return {PipelineCheck::kLost, i, std::move(state)};
    }
    return {PipelineCheck::kQueryError, i, std::move(state)};
  }
  if (results.size() < calls) {
    return {PipelineCheck::kLost, results.size(), {}};
  }
  return {};
}

// The result of a statement run outside a pipeline, or its error.
Result<PgResult> Checked(PGconn* pg, PgResult r) {
  if (r == nullptr) return Err(ConnectionLost());
  if (!Succeeded(r.get())) {
    const std::string state = SqlState(r.get());
    if (PQstatus(pg) != CONNECTION_OK || IsConnectionState(state)) {
      return Err(ConnectionLost());
    }
    return Err(QueryError(state));
  }
  return r;
}

// Runs one prepared statement outside a pipeline.
Result<PgResult> Exec(PGconn* pg, StmtId id, const Params& p) {
  return Checked(pg, PgResult(PQexecPrepared(pg, kStmts[id].name, p.count(),
                                             p.values(), p.lengths(),
                                             p.formats(), /*resultFormat=*/1)));
}

// Rejects a result whose shape is not the statement's (a foreign table of
// the same name, say) before any cell is read.
Status CheckShape(const PGresult* r, int columns) {
  if (PQnfields(r) != columns) {
    return Internal("postgres: unexpected result shape");
  }
  for (int c = 0; c < columns; ++c) {
    if (PQfformat(r, c) != 1) {
      return Internal("postgres: unexpected result shape");
    }
  }
  for (int row = 0; row < PQntuples(r); ++row) {
    for (int c = 0; c < columns; ++c) {
      if (PQgetisnull(r, row, c)) {
        return Internal("postgres: unexpected NULL in result");
      }
    }
  }
  return Status::Ok();
}

Result<int64_t> Int8Cell(const PGresult* r) {
  if (PQntuples(r) != 1 || PQgetlength(r, 0, 0) != 8) {
    return Err(Internal("postgres: unexpected result shape"));
  }
  uint64_t u = 0;
  for (unsigned char c : Cell(r, 0, 0)) u = (u << 8) | c;
  return static_cast<int64_t>(u);
}

Status CheckSize(std::string_view bytes) {
  if (bytes.size() > kMaxBytes) {
    return InvalidArgument("key or value too large for the postgres backend");
  }
  return Status::Ok();
}

// Ports in the URL are checked here because libpq only checks them when it
// connects, which would turn a typo into kUnavailable.
bool ValidPortList(std::string_view ports) {
  while (true) {
    const std::size_t comma = ports.find(',');
    const std::string_view port = ports.substr(0, comma);
    if (!port.empty()) {  // an empty entry means the default port
      if (port.size() > 5 ||
          port.find_first_not_of("0123456789") != std::string_view::npos) {
        return false;
      }
      const int n = std::stoi(std::string(port));
      if (n < 1 || n > 65535) return false;
    }
    if (comma == std::string_view::npos) return true;
    ports.remove_prefix(comma + 1);
  }
}

void SleepBeforeRetry(int attempt) {
  // Exponential with jitter, so conflicting writers do not retry in step.
  thread_local std::minstd_rand rng{std::random_device{}()};
  const int cap_ms = 1 << std::min(attempt, 6);
  std::uniform_int_distribution<int> ms(0, cap_ms);
  std::this_thread::sleep_for(std::chrono::milliseconds(ms(rng)));
}

}  // namespace

struct PostgresBackend::Connection {
  PGconn* pg = nullptr;

  Connection() = default;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection() {
    if (pg != nullptr) PQfinish(pg);
  }

  bool Broken() const { return PQstatus(pg) != CONNECTION_OK; }

  // Ends a transaction left open by a failed or aborted write, so the
  // connection can go back to the pool (if this fails, it will not).
  void RollbackIfOpen() {
    if (PQstatus(pg) == CONNECTION_OK &&
        PQpipelineStatus(pg) == PQ_PIPELINE_OFF &&
        PQtransactionStatus(pg) != PQTRANS_IDLE) {
      (void)Exec(pg, kRollback, Params());
    }
  }
};

// A connection borrowed from the pool; returned (or closed, if it is no
// longer usable) on destruction.
class PostgresBackend::Lease {
 public:
  Lease(PostgresBackend* owner, std::unique_ptr<Connection> conn)
      : owner_(owner), conn_(std::move(conn)) {}
  Lease(Lease&& other) noexcept
      : owner_(other.owner_), conn_(std::move(other.conn_)) {}
  Lease& operator=(Lease&&) = delete;
  ~Lease() {
    if (conn_ != nullptr) owner_->Release(std::move(conn_));
  }
  Connection& operator*() const { return *conn_; }
  Connection* operator->() const { return conn_.get(); }

 private:
  PostgresBackend* owner_;
  std::unique_ptr<Connection> conn_;
};

// A batch reduced to what it does: the conditions, the final state of each
// key (later ops win) and the net delta of each counter, each sorted by key
// so that concurrent writers lock rows in the same order.
struct PostgresBackend::WritePlan {
  std::vector<const WriteBatch::Condition*> conditions;
  // nullptr: delete the key.
  std::map<std::string_view, const std::string*> kv;
  std::map<std::string_view, int64_t> counters;
};

Result<std::unique_ptr<PostgresBackend>> PostgresBackend::Open(
    std::string_view conninfo_url, const Options& options) {
  // Messages never echo the URL: it may carry a password.
  if (!conninfo_url.starts_with("postgresql://") &&
      !conninfo_url.starts_with("postgres://")) {
    return Err(InvalidArgument(
        "postgres: the URL must start with postgresql:// or postgres://"));
  }
  const Status invalid = InvalidArgument("postgres: invalid connection URL");
  if (conninfo_url.find('\0') != std::string_view::npos) return Err(invalid);
  char* errmsg = nullptr;
  PQconninfoOption* parsed =
      PQconninfoParse(std::string(conninfo_url).c_str(), &errmsg);
  PQfreemem(errmsg);  // may quote the URL, password included: never shown
  if (parsed == nullptr) return Err(invalid);

  std::vector<std::string> keywords;
  std::vector<std::string> values;
  bool has_timeout = false;
  bool has_fallback_name = false;
  bool ports_ok = true;
  for (const PQconninfoOption* o = parsed; o->keyword != nullptr; ++o) {
    if (o->val == nullptr) continue;  // only explicit options have a value
    const std::string_view keyword = o->keyword;
    if (keyword == "port") ports_ok = ValidPortList(o->val);
    if (keyword == "connect_timeout") has_timeout = true;
    if (keyword == "fallback_application_name") has_fallback_name = true;
    keywords.emplace_back(keyword);
    values.emplace_back(o->val);
  }
  PQconninfoFree(parsed);
  if (!ports_ok) return Err(invalid);
  if (!has_timeout) {
    keywords.emplace_back("connect_timeout");
    values.push_back(std::to_string(std::max(options.connect_timeout_s, 1)));
  }
  // Names our sessions in pg_stat_activity unless the URL names them.
  if (!has_fallback_name) {
    keywords.emplace_back("fallback_application_name");
    values.emplace_back("piivault");
  }

  Options opts = options;
  opts.pool_size = std::max<std::size_t>(opts.pool_size, 1);
  opts.pool_wait_timeout =
      std::max(opts.pool_wait_timeout, std::chrono::milliseconds(0));
  opts.statement_timeout =
      std::max(opts.statement_timeout, std::chrono::milliseconds(0));
  return std::unique_ptr<PostgresBackend>(
      new PostgresBackend(std::move(keywords), std::move(values), opts));
}

PostgresBackend::PostgresBackend(std::vector<std::string> keywords,
                                 std::vector<std::string> values,
                                 Options options)
    : keywords_(std::move(keywords)),
      values_(std::move(values)),
      options_(options) {}

PostgresBackend::~PostgresBackend() = default;

Result<std::unique_ptr<PostgresBackend::Connection>>
PostgresBackend::Connect() {
  std::vector<const char*> keywords;
  std::vector<const char*> values;
  for (std::size_t i = 0; i < keywords_.size(); ++i) {
    keywords.push_back(keywords_[i].c_str());
    values.push_back(values_[i].c_str());
  }
  keywords.push_back(nullptr);
  values.push_back(nullptr);

  auto conn = std::make_unique<Connection>();
  conn->pg = PQconnectdbParams(keywords.data(), values.data(),
                               /*expand_dbname=*/0);
  // libpq's message may name the host or user: it is not passed on.
  if (conn->pg == nullptr || PQstatus(conn->pg) != CONNECTION_OK) {
    return Err(ConnectError());
  }
  PQsetNoticeProcessor(conn->pg, IgnoreNotice, nullptr);
  PV_RETURN_IF_ERROR(Setup(*conn));
  return conn;
}

Status PostgresBackend::Setup(Connection& conn) {
  // The timeout is set in the same round trip as the statements (and set
  // again if that pipeline fails, which rolls it back), so preparing them on
  // a table someone holds locked is bounded too.
  const std::string set_timeout =
      options_.statement_timeout.count() > 0
          ? "SET statement_timeout = '" +
                std::to_string(options_.statement_timeout.count()) + "ms'"
          : std::string();
  auto prepare = [&]() -> PipelineCheck {
    Pipeline p(conn.pg);
    if (!set_timeout.empty()) p.Statement(set_timeout);
    for (const StmtDef& s : kStmts) p.Prepare(s);
    std::vector<PgResult> results = p.Finish();
    return Check(conn.pg, results, p.calls());
  };
  PipelineCheck check = prepare();
  if (check.kind == PipelineCheck::kOk) return Status::Ok();
  if (check.kind == PipelineCheck::kLost) return ConnectionLost();
  // Tables are created only when missing, so a role with no CREATE
  // privilege works on tables an administrator made.
  if (check.state != "42P01") {  // undefined_table
    return QueryError(check.state);
  }

  std::string create_state;
  {
    // One connection at a time: concurrent CREATE TABLE IF NOT EXISTS can
    // fail with a unique violation in PostgreSQL's catalog.
    std::lock_guard lock(schema_mu_);
    for (const char* sql : kCreateTables) {
      PgResult r(PQexec(conn.pg, sql));
      if (r == nullptr || conn.Broken()) return ConnectionLost();
      // Another process may have won the race; the prepare below decides.
      if (!Succeeded(r.get()) && create_state.empty()) {
        create_state = SqlState(r.get());
      }
    }
  }
  // The first pipeline failed partway; start again from no statements.
  PgResult dealloc(PQexec(conn.pg, "DEALLOCATE ALL"));
  if (dealloc == nullptr || !Succeeded(dealloc.get())) {
    return conn.Broken() ? ConnectionLost()
                         : QueryError(SqlState(dealloc.get()));
  }
  check = prepare();
  if (check.kind == PipelineCheck::kOk) return Status::Ok();
  if (check.kind == PipelineCheck::kLost) return ConnectionLost();
  // The CREATE's error (e.g. 42501, no privilege) says more than 42P01.
  return QueryError(create_state.empty() ? check.state : create_state);
}

Result<PostgresBackend::Lease> PostgresBackend::Acquire() {
  const auto deadline =
      std::chrono::steady_clock::now() + options_.pool_wait_timeout;
  // Declared before the lock, so dropped connections close after unlocking.
  std::vector<std::unique_ptr<Connection>> dropped;
  std::unique_lock lock(mu_);
  for (;;) {
    while (!idle_.empty()) {
      std::unique_ptr<Connection> conn = std::move(idle_.back());
      idle_.pop_back();
      if (LooksHealthy(conn->pg)) return Lease(this, std::move(conn));
      dropped.push_back(std::move(conn));
      --open_;
    }
    if (open_ < options_.pool_size) {
      if (std::chrono::steady_clock::now() < down_until_) {
        return Err(ConnectError());
      }
      ++open_;
      lock.unlock();
      Result<std::unique_ptr<Connection>> conn = Connect();
      lock.lock();
      if (!conn.has_value()) {
        --open_;
        down_until_ =
            std::chrono::steady_clock::now() + options_.reconnect_backoff;
        cv_.notify_all();  // waiters fail fast now rather than wait their turn
        return Err(std::move(conn).error());
      }
      down_until_ = {};
      return Lease(this, *std::move(conn));
    }
    // Every connection is busy, perhaps on a slow or locked database: wait
    // for one only so long, so callers do not pile up behind it.
    if (cv_.wait_until(lock, deadline) == std::cv_status::timeout &&
        idle_.empty() && open_ >= options_.pool_size) {
      return Err(PoolBusy());
    }
  }
}

void PostgresBackend::Release(std::unique_ptr<Connection> conn) {
  const bool reusable = !conn->Broken() &&
                        PQpipelineStatus(conn->pg) == PQ_PIPELINE_OFF &&
                        PQtransactionStatus(conn->pg) == PQTRANS_IDLE;
  if (!reusable) conn.reset();  // closed outside the lock
  std::lock_guard lock(mu_);
  if (reusable) {
    idle_.push_back(std::move(conn));
  } else {
    --open_;
  }
  cv_.notify_one();
}

template <typename T, typename F>
Result<T> PostgresBackend::RunRead(F&& read) {
  for (int attempt = 0;; ++attempt) {
    PV_ASSIGN_OR_RETURN(Lease conn, Acquire());
    Result<T> r = read(*conn);
    if (r.has_value() || attempt > 0 || !conn->Broken()) return r;
  }
}

Result<std::optional<std::string>> PostgresBackend::Get(std::string_view key) {
  PV_RETURN_IF_ERROR(CheckSize(key));
  return RunRead<std::optional<std::string>>(
      [&](Connection& c) -> Result<std::optional<std::string>> {
        PV_ASSIGN_OR_RETURN(PgResult r, Exec(c.pg, kGet, Params().Bytes(key)));
        PV_RETURN_IF_ERROR(CheckShape(r.get(), 1));
        if (PQntuples(r.get()) == 0) return std::nullopt;
        return std::optional<std::string>(Cell(r.get(), 0, 0));
      });
}

Result<std::vector<std::optional<std::string>>> PostgresBackend::MultiGet(
    std::span<const std::string> keys) {
  using Values = std::vector<std::optional<std::string>>;
  if (keys.empty()) return Values();
  if (keys.size() == 1) {
    PV_ASSIGN_OR_RETURN(std::optional<std::string> v, Get(keys[0]));
    return Values{std::move(v)};
  }
  std::size_t total = 0;
  for (const std::string& k : keys) {
    PV_RETURN_IF_ERROR(CheckSize(k));
    total += 4 + k.size();
  }
  if (total > kMaxBytes) {
    return Err(InvalidArgument("too many keys for one postgres MultiGet"));
  }
  // One statement, so one round trip and one snapshot; duplicates in the
  // array match their row once, and the rows come back in no useful order.
  const std::string array = ByteaArray(keys);
  return RunRead<Values>([&](Connection& c) -> Result<Values> {
    PV_ASSIGN_OR_RETURN(PgResult r,
                        Exec(c.pg, kMultiGet, Params().Bytes(array)));
    PV_RETURN_IF_ERROR(CheckShape(r.get(), 2));
    std::unordered_map<std::string_view, std::string_view> found;
    for (int row = 0; row < PQntuples(r.get()); ++row) {
      found.emplace(Cell(r.get(), row, 0), Cell(r.get(), row, 1));
    }
    Values out;
    out.reserve(keys.size());
    for (const std::string& k : keys) {
      auto it = found.find(k);
      if (it == found.end()) {
        out.emplace_back();
      } else {
        out.emplace_back(std::string(it->second));
      }
    }
    return out;
  });
}

Result<std::vector<KeyValue>> PostgresBackend::Scan(std::string_view prefix,
                                                    std::string_view start,
                                                    std::size_t limit) {
  using KeyValues = std::vector<KeyValue>;
  if (limit == 0) return KeyValues();
  PV_RETURN_IF_ERROR(CheckSize(prefix));
  PV_RETURN_IF_ERROR(CheckSize(start));
  // bytea compares as unsigned bytes, like std::string_view.
  const std::string_view from = start < prefix ? prefix : start;
  const std::optional<std::string> end = PrefixSuccessor(prefix);
  const auto lim = static_cast<int64_t>(std::min<std::size_t>(
      limit, static_cast<std::size_t>(std::numeric_limits<int64_t>::max())));
  return RunRead<KeyValues>([&](Connection& c) -> Result<KeyValues> {
    Params params;
    params.Bytes(from);
    if (end) params.Bytes(*end);
    params.Int8(lim);
    PV_ASSIGN_OR_RETURN(
        PgResult r, Exec(c.pg, end ? kScanBounded : kScanUnbounded, params));
    PV_RETURN_IF_ERROR(CheckShape(r.get(), 2));
    KeyValues out;
    out.reserve(static_cast<std::size_t>(PQntuples(r.get())));
    for (int row = 0; row < PQntuples(r.get()); ++row) {
      out.push_back({std::string(Cell(r.get(), row, 0)),
                     std::string(Cell(r.get(), row, 1))});
    }
    return out;
  });
}

Result<int64_t> PostgresBackend::SumCounters(std::string_view prefix) {
  PV_RETURN_IF_ERROR(CheckSize(prefix));
  const std::optional<std::string> end = PrefixSuccessor(prefix);
  return RunRead<int64_t>([&](Connection& c) -> Result<int64_t> {
    Params params;
    params.Bytes(prefix);
    if (end) params.Bytes(*end);
    PV_ASSIGN_OR_RETURN(PgResult r,
                        Exec(c.pg, end ? kSumBounded : kSumUnbounded, params));
    PV_RETURN_IF_ERROR(CheckShape(r.get(), 1));
    return Int8Cell(r.get());
  });
}

Status PostgresBackend::DeleteCounters(std::string_view prefix) {
  PV_RETURN_IF_ERROR(CheckSize(prefix));
  const std::optional<std::string> end = PrefixSuccessor(prefix);
  // One statement in its own transaction: safe to run again after a lost
  // connection, so it is retried like a read.
  auto deleted = RunRead<bool>([&](Connection& c) -> Result<bool> {
    Params params;
    params.Bytes(prefix);
    if (end) params.Bytes(*end);
    PV_RETURN_IF_ERROR(
        Exec(c.pg, end ? kDeleteCounters : kDeleteCountersAll, params));
    return true;
  });
  return deleted ? Status::Ok() : deleted.error();
}

Status PostgresBackend::Compact() {
  auto vacuumed = RunRead<bool>([&](Connection& c) -> Result<bool> {
    // VACUUM runs outside a transaction block, so not as a prepared
    // statement of the pool's pipeline.
    PgResult r(PQexec(c.pg, "VACUUM piivault_kv, piivault_counters"));
    if (r == nullptr || c.Broken()) return Err(ConnectionLost());
    if (!Succeeded(r.get())) return Err(QueryError(SqlState(r.get())));
    return true;
  });
  return vacuumed ? Status::Ok() : vacuumed.error();
}

Status PostgresBackend::Write(const WriteBatch& batch) {
  if (batch.empty()) return Status::Ok();
  WritePlan plan;
  for (const WriteBatch::Op& op : batch.ops()) {
    PV_RETURN_IF_ERROR(CheckSize(op.key));
    PV_RETURN_IF_ERROR(CheckSize(op.value));
    switch (op.kind) {
      case WriteBatch::Op::Kind::kPut:
        plan.kv[op.key] = &op.value;
        break;
      case WriteBatch::Op::Kind::kDelete:
        plan.kv[op.key] = nullptr;
        break;
      case WriteBatch::Op::Kind::kAdd: {
        int64_t& n = plan.counters[op.key];
        if (__builtin_add_overflow(n, op.delta, &n)) {
          return InvalidArgument("counter deltas overflow");
        }
        break;
      }
    }
  }
  for (const WriteBatch::Condition& cond : batch.conditions()) {
    PV_RETURN_IF_ERROR(CheckSize(cond.key));
    if (cond.expected_value) {
      PV_RETURN_IF_ERROR(CheckSize(*cond.expected_value));
    }
    plan.conditions.push_back(&cond);
    // The placeholder row claimed for an absence condition must not
    // survive the transaction: the key's final op replaces it, or else a
    // delete removes it.
    if (!cond.expected_value) plan.kv.try_emplace(cond.key, nullptr);
  }
  std::sort(plan.conditions.begin(), plan.conditions.end(),
            [](const auto* a, const auto* b) { return a->key < b->key; });

  bool reconnected = false;
  int conflicts = 0;
  for (;;) {
    PV_ASSIGN_OR_RETURN(Lease conn, Acquire());
    WriteOutcome outcome = TryWrite(*conn, plan);
    conn->RollbackIfOpen();
    switch (outcome.kind) {
      case WriteOutcome::kDone:
        return std::move(outcome.status);
      case WriteOutcome::kConflict:
        if (++conflicts > options_.max_conflict_retries) {
          return std::move(outcome.status);
        }
        SleepBeforeRetry(conflicts);
        break;
      case WriteOutcome::kLostBeforeCommit:
        // Nothing was committed: safe to run again, once, on a fresh
        // connection (a second loss means the server is really gone).
        if (reconnected) return std::move(outcome.status);
        reconnected = true;
        break;
    }
  }
}

PostgresBackend::WriteOutcome PostgresBackend::TryWrite(Connection& conn,
                                                        const WritePlan& plan) {
  auto failed = [&](const PipelineCheck& check) -> WriteOutcome {
    if (check.kind == PipelineCheck::kLost) {
      return {WriteOutcome::kLostBeforeCommit, ConnectionLost()};
    }
    if (IsConflictState(check.state)) {
      return {WriteOutcome::kConflict, QueryError(check.state)};
    }
    return {WriteOutcome::kDone, QueryError(check.state)};
  };

  // Round trip 1 (batches with conditions): begin, then check each
  // condition, locking its row or claiming its key.
  if (!plan.conditions.empty()) {
    Pipeline p(conn.pg);
    p.Send(kBegin, Params());
    for (const WriteBatch::Condition* cond : plan.conditions) {
      p.Send(cond->expected_value ? kLockValue : kClaimAbsent,
             Params().Bytes(cond->key));
    }
    const std::vector<PgResult> results = p.Finish();
    const PipelineCheck check = Check(conn.pg, results, p.calls());
    if (check.kind != PipelineCheck::kOk) return failed(check);
    for (std::size_t i = 0; i < plan.conditions.size(); ++i) {
      const PGresult* r = results[i + 1].get();
      const std::optional<std::string>& expected =
          plan.conditions[i]->expected_value;
      bool holds = PQntuples(r) == 1;
      if (holds && expected) {
        if (Status s = CheckShape(r, 1); !s.ok()) {
          return {WriteOutcome::kDone, std::move(s)};
        }
        holds = Cell(r, 0, 0) == *expected;
      }
      if (!holds) {
        // The caller's rollback also releases the locks and placeholders.
        return {WriteOutcome::kDone, Aborted("write condition does not hold")};
      }
    }
  }

  // The last round trip: the writes and COMMIT.
  Pipeline p(conn.pg);
  if (plan.conditions.empty()) p.Send(kBegin, Params());
  for (const auto& [key, value] : plan.kv) {
    if (value != nullptr) {
      p.Send(kPut, Params().Bytes(key).Bytes(*value));
    } else {
      p.Send(kDelete, Params().Bytes(key));
    }
  }
  for (const auto& [key, delta] : plan.counters) {
    // A counter never written is 0: a net zero adds nothing.
    if (delta != 0) p.Send(kAdd, Params().Bytes(key).Int8(delta));
  }
  const std::size_t commit_call = p.calls();
  const std::size_t queued_before_commit = p.queued();
  p.Send(kCommit, Params());
  const bool commit_queued = p.queued() > queued_before_commit;
  const std::vector<PgResult> results = p.Finish();
  const PipelineCheck check = Check(conn.pg, results, p.calls());
  if (check.kind == PipelineCheck::kOk) {
    // COMMIT of a transaction that failed reports ROLLBACK, not an error.
    if (std::string_view(PQcmdStatus(results[commit_call].get())) != "COMMIT") {
      return {WriteOutcome::kDone,
              Internal("postgres: transaction rolled back at COMMIT")};
    }
    return {WriteOutcome::kDone, Status::Ok()};
  }
  if (!commit_queued) return failed(check);  // COMMIT never left us
  // The server reported an error (it has a SQLSTATE; libpq's own "server
  // closed the connection" has none) before COMMIT: the transaction aborted
  // there and the server skipped the rest of the pipeline.
  const bool server_error =
      check.failed_call < results.size() && !check.state.empty();
  if (server_error && check.failed_call < commit_call) return failed(check);
  // COMMIT itself failed with a server error: not committed, unless the
  // error is about the connection or is CockroachDB's 40003 (statement
  // completion unknown).
  if (server_error && check.kind == PipelineCheck::kQueryError &&
      check.state != "40003") {
    return failed(check);
  }
  // Otherwise the connection broke with COMMIT on its way or done.
  return {WriteOutcome::kDone, OutcomeUnknown()};
}

}  // namespace piivault::storage

namespace piivault::storage {
namespace {

// Rows read per statement of a dump, and items sent per round trip of a
// replacement: enough to amortize the round trip, little to hold.
constexpr int64_t kDumpPage = 1000;
constexpr std::size_t kReplacePage = 1000;

// Runs one-off SQL with binary parameters (dumps and restores only; the
// statements of every request are prepared).
Result<PgResult> ExecSql(PGconn* pg, const char* sql, const Params& p) {
  return Checked(pg, PgResult(PQexecParams(pg, sql, p.count(), nullptr,
                                           p.values(), p.lengths(), p.formats(),
                                           /*resultFormat=*/1)));
}

}  // namespace

// One REPEATABLE READ, READ ONLY transaction is the snapshot; its rows are
// read a page at a time by key (each statement within statement_timeout).
Status PostgresBackend::Dump(const DumpSink& sink) {
  PV_ASSIGN_OR_RETURN(Lease conn, Acquire());
  auto dump = [&]() -> Status {
    PV_RETURN_IF_ERROR(
        ExecSql(conn->pg, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY",
                Params()));
    DumpItem item;
    auto pages = [&](const char* sql, auto&& fill) -> Status {
      std::string from;  // "": from the first key
      for (;;) {
        PV_ASSIGN_OR_RETURN(
            PgResult r,
            ExecSql(conn->pg, sql, Params().Bytes(from).Int8(kDumpPage)));
        PV_RETURN_IF_ERROR(CheckShape(r.get(), 2));
        const int rows = PQntuples(r.get());
        for (int row = 0; row < rows; ++row) {
          item.key = std::string(Cell(r.get(), row, 0));
          PV_RETURN_IF_ERROR(fill(r.get(), row));
          PV_RETURN_IF_ERROR(sink(item));
        }
        if (rows < kDumpPage) return Status::Ok();
        from = item.key;
        from.push_back('\0');  // the least key after it
      }
    };
    PV_RETURN_IF_ERROR(
        pages("SELECT k, v FROM piivault_kv WHERE k >= $1 ORDER BY k LIMIT $2",
              [&](const PGresult* r, int row) {
                item.value = std::string(Cell(r, row, 1));
                return Status::Ok();
              }));
    item.kind = DumpItem::Kind::kCounter;
    item.value.clear();
    PV_RETURN_IF_ERROR(pages(
        "SELECT k, n FROM piivault_counters WHERE k >= $1 ORDER BY k LIMIT $2",
        [&](const PGresult* r, int row) -> Status {
          if (PQgetlength(r, row, 1) != 8) {
            return Internal("postgres: unexpected result shape");
          }
          uint64_t u = 0;
          for (unsigned char c : Cell(r, row, 1)) u = (u << 8) | c;
          item.counter = static_cast<int64_t>(u);
          return Status::Ok();
        }));
    PV_RETURN_IF_ERROR(ExecSql(conn->pg, "COMMIT", Params()));
    return Status::Ok();
  };
  Status s = dump();
  conn->RollbackIfOpen();
  return s;
}

// One transaction: the tables are emptied, then the items go in a page per
// round trip (pipeline mode). The transaction has no statement_timeout, since
// emptying a large table may take longer than a request's statement may.
Status PostgresBackend::ReplaceAll(const DumpSource& source) {
  PV_ASSIGN_OR_RETURN(Lease conn, Acquire());
  auto replace = [&]() -> Status {
    for (const char* sql :
         {"BEGIN", "SET LOCAL statement_timeout = 0", "DELETE FROM piivault_kv",
          "DELETE FROM piivault_counters"}) {
      PV_RETURN_IF_ERROR(ExecSql(conn->pg, sql, Params()));
    }
    std::vector<DumpItem> page;
    for (bool more = true; more;) {
      page.clear();
      while (page.size() < kReplacePage) {
        DumpItem item;
        PV_ASSIGN_OR_RETURN(more, source(item));
        if (!more) break;
        PV_RETURN_IF_ERROR(CheckSize(item.key));
        PV_RETURN_IF_ERROR(CheckSize(item.value));
        page.push_back(std::move(item));
      }
      if (page.empty()) break;
      Pipeline p(conn->pg);
      for (const DumpItem& item : page) {
        if (item.kind == DumpItem::Kind::kRow) {
          p.Send(kPut, Params().Bytes(item.key).Bytes(item.value));
        } else {
          p.Send(kAdd, Params().Bytes(item.key).Int8(item.counter));
        }
      }
      const std::vector<PgResult> results = p.Finish();
      const PipelineCheck check = Check(conn->pg, results, p.calls());
      if (check.kind == PipelineCheck::kLost) return ConnectionLost();
      if (check.kind == PipelineCheck::kQueryError) {
        return QueryError(check.state);
      }
    }
    PV_ASSIGN_OR_RETURN(PgResult commit, ExecSql(conn->pg, "COMMIT", Params()));
    // COMMIT of a transaction that failed reports ROLLBACK, not an error.
    if (std::string_view(PQcmdStatus(commit.get())) != "COMMIT") {
      return Internal("postgres: transaction rolled back at COMMIT");
    }
    return Status::Ok();
  };
  Status s = replace();
  conn->RollbackIfOpen();
  return s;
}

}  // namespace piivault::storage
