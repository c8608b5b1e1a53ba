#include "storage/sqlite/sqlite_backend.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <utility>

#include "storage/key_range.h"

namespace piivault::storage {
namespace {

// Messages name the SQLite error only: never a key, a value or the path.
Status SqliteError(int rc) {
  return Unavailable(std::string("sqlite: ") + sqlite3_errstr(rc));
}

Status ErrnoError(std::string_view what, int err) {
  return Unavailable(std::string("sqlite: ") + std::string(what) + ": " +
                     std::strerror(err));
}

// Binds `v` as a BLOB (never TEXT, which sorts differently, and never NULL:
// sqlite3_bind_blob with a null pointer would bind NULL).
int BindBlob(sqlite3_stmt* stmt, int index, std::string_view v) {
  if (v.empty()) return sqlite3_bind_zeroblob(stmt, index, 0);
  return sqlite3_bind_blob64(stmt, index, v.data(), v.size(), SQLITE_STATIC);
}

std::string ColumnBytes(sqlite3_stmt* stmt, int column) {
  // sqlite3_column_blob first, then sqlite3_column_bytes (as documented).
  const void* data = sqlite3_column_blob(stmt, column);
  const int size = sqlite3_column_bytes(stmt, column);
  if (data == nullptr || size <= 0) return std::string();
  return std::string(static_cast<const char*>(data),
                     static_cast<std::size_t>(size));
}

// Resets a cached statement when it goes out of scope, which also ends the
// implicit read transaction of a SELECT and drops SQLITE_STATIC pointers.
class StmtReset {
 public:
  explicit StmtReset(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~StmtReset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  StmtReset(const StmtReset&) = delete;
  StmtReset& operator=(const StmtReset&) = delete;

 private:
  sqlite3_stmt* stmt_;
};

bool UnsignedLess(std::string_view a, std::string_view b) {
  const std::size_t n = std::min(a.size(), b.size());
  if (n != 0) {
    const int c = std::memcmp(a.data(), b.data(), n);
    if (c != 0) return c < 0;
  }
  return a.size() < b.size();
}

enum StmtId : std::size_t {
  kGet,
  kScanBounded,
  kScanUnbounded,
  kBegin,
  kBeginImmediate,
  kCommit,
  kRollback,
  kPut,
  kDelete,
  kAdd,
  kSumBounded,
  kSumUnbounded,
  kDeleteCountersBounded,
  kDeleteCountersUnbounded,
  kNumStmts,
};

constexpr std::array<const char*, kNumStmts> kSql = {
    "SELECT v FROM kv WHERE k = ?1",
    "SELECT k, v FROM kv WHERE k >= ?1 AND k < ?2 ORDER BY k LIMIT ?3",
    "SELECT k, v FROM kv WHERE k >= ?1 ORDER BY k LIMIT ?2",
    "BEGIN",
    "BEGIN IMMEDIATE",
    "COMMIT",
    "ROLLBACK",
    "INSERT INTO kv(k, v) VALUES(?1, ?2) "
    "ON CONFLICT(k) DO UPDATE SET v = excluded.v",
    "DELETE FROM kv WHERE k = ?1",
    "INSERT INTO counters(k, n) VALUES(?1, ?2) "
    "ON CONFLICT(k) DO UPDATE SET n = n + excluded.n",
    "SELECT COALESCE(SUM(n), 0) FROM counters WHERE k >= ?1 AND k < ?2",
    "SELECT COALESCE(SUM(n), 0) FROM counters WHERE k >= ?1",
    "DELETE FROM counters WHERE k >= ?1 AND k < ?2",
    "DELETE FROM counters WHERE k >= ?1",
};

std::size_t BatchBytes(const WriteBatch& batch) {
  std::size_t n = 0;
  for (const WriteBatch::Op& op : batch.ops()) {
    n += op.key.size() + op.value.size();
  }
  return n;
}

}  // namespace

struct SqliteBackend::Connection {
  sqlite3* db = nullptr;
  std::array<sqlite3_stmt*, kNumStmts> stmts{};

  Connection() = default;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection() {
    for (sqlite3_stmt* s : stmts) sqlite3_finalize(s);  // null is a no-op
    sqlite3_close_v2(db);
  }

  // The cached prepared statement `id`, prepared on first use.
  Result<sqlite3_stmt*> Stmt(StmtId id) {
    if (stmts[id] == nullptr) {
      const int rc = sqlite3_prepare_v3(
          db, kSql[id], -1, SQLITE_PREPARE_PERSISTENT, &stmts[id], nullptr);
      if (rc != SQLITE_OK) return Err(SqliteError(rc));
    }
    return stmts[id];
  }

  // Runs a cached statement that returns no rows.
  Status Exec(StmtId id) {
    PV_ASSIGN_OR_RETURN(sqlite3_stmt * stmt, Stmt(id));
    StmtReset reset(stmt);
    const int rc = sqlite3_step(stmt);
    if (rc != SQLITE_DONE) return SqliteError(rc);
    return Status::Ok();
  }

  // Runs one-off SQL (setup only).
  Status ExecSql(const char* sql) {
    const int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) return SqliteError(rc);
    return Status::Ok();
  }

  // The first column of the first row of one-off SQL, as text.
  Result<std::string> QueryText(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr);
    if (rc != SQLITE_OK) return Err(SqliteError(rc));
    std::string out;
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
      const unsigned char* text = sqlite3_column_text(stmt, 0);
      if (text != nullptr) out = reinterpret_cast<const char*>(text);
      rc = SQLITE_OK;
    } else if (rc == SQLITE_DONE) {
      rc = SQLITE_OK;
    }
    sqlite3_finalize(stmt);
    if (rc != SQLITE_OK) return Err(SqliteError(rc));
    return out;
  }

  // Ends an open transaction, if any (after an error).
  void RollbackIfActive() {
    if (db != nullptr && sqlite3_get_autocommit(db) == 0) {
      (void)Exec(kRollback);
    }
  }

  Result<std::optional<std::string>> Get(std::string_view key) {
    PV_ASSIGN_OR_RETURN(sqlite3_stmt * stmt, Stmt(kGet));
    StmtReset reset(stmt);
    int rc = BindBlob(stmt, 1, key);
    if (rc != SQLITE_OK) return Err(SqliteError(rc));
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
      return std::optional<std::string>(ColumnBytes(stmt, 0));
    if (rc == SQLITE_DONE) return std::optional<std::string>();
    return Err(SqliteError(rc));
  }
};

namespace {

using Connection = SqliteBackend::Connection;

// Stores written before kv became a rowid table are converted once, in one
// transaction: a crash leaves either the old table or the new one.
Status MigrateKvToRowid(Connection& conn) {
  PV_ASSIGN_OR_RETURN(
      std::string without_rowid,
      conn.QueryText("SELECT wr FROM pragma_table_list WHERE name = 'kv' AND "
                     "schema = 'main'"));
  if (without_rowid != "1") return Status::Ok();
  Status s = conn.ExecSql(
      "BEGIN IMMEDIATE;"
      "CREATE TABLE kv_rowid(k BLOB PRIMARY KEY, v BLOB NOT NULL);"
      "INSERT INTO kv_rowid(k, v) SELECT k, v FROM kv ORDER BY k;"
      "DROP TABLE kv;"
      "ALTER TABLE kv_rowid RENAME TO kv;"
      "COMMIT;");
  if (!s.ok()) (void)conn.ExecSql("ROLLBACK;");
  return s;
}

// Opens and configures one connection to an existing file.
Result<std::unique_ptr<Connection>> OpenConnection(
    const std::string& path, const SqliteBackend::Options& options,
    bool writer) {
  auto conn = std::make_unique<Connection>();
  // NOMUTEX: a connection is only ever used by one thread at a time (the
  // reader pool and the write queue guarantee it). No CREATE: Open() creates
  // the file itself with mode 0600. NOFOLLOW: refuse a symlinked file (the
  // directory part was canonicalized by Open()).
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
#ifdef SQLITE_OPEN_NOFOLLOW
  flags |= SQLITE_OPEN_NOFOLLOW;
#endif
#ifdef SQLITE_OPEN_EXRESCODE
  flags |= SQLITE_OPEN_EXRESCODE;
#endif
  int rc = sqlite3_open_v2(path.c_str(), &conn->db, flags, nullptr);
  if (rc != SQLITE_OK) return Err(SqliteError(rc));
  sqlite3_extended_result_codes(conn->db, 1);
  sqlite3_busy_timeout(conn->db, options.busy_timeout_ms);

  // The file is untrusted: harden against a crafted or corrupted database
  // (no extensions, no schema-invoked functions, no triggers or views, no
  // writes to the schema or shadow tables).
  sqlite3_db_config(conn->db, SQLITE_DBCONFIG_DEFENSIVE, 1, nullptr);
  sqlite3_db_config(conn->db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0,
                    nullptr);
#ifdef SQLITE_DBCONFIG_TRUSTED_SCHEMA
  sqlite3_db_config(conn->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, nullptr);
#endif
  sqlite3_db_config(conn->db, SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, nullptr);
  sqlite3_db_config(conn->db, SQLITE_DBCONFIG_ENABLE_VIEW, 0, nullptr);

  // No mmap (the default): another process truncating the file would crash
  // us with SIGBUS instead of returning an error.
  PV_RETURN_IF_ERROR(
      conn->ExecSql("PRAGMA secure_delete=ON;"
                    "PRAGMA synchronous=FULL;"
                    "PRAGMA cell_size_check=ON;"
                    "PRAGMA temp_store=MEMORY;"));
  PV_RETURN_IF_ERROR(
      conn->ExecSql(("PRAGMA cache_size=-" +
                     std::to_string(std::max(options.cache_size_kib, 64)))
                        .c_str()));
  if (writer) {
    // journal_mode is persistent in the file; it reads the header, so this is
    // also where a non-database file is detected.
    PV_ASSIGN_OR_RETURN(std::string mode,
                        conn->QueryText("PRAGMA journal_mode=WAL"));
    if (mode != "wal") {
      return Err(Unavailable("sqlite: cannot enable WAL journal mode"));
    }
    // Truncate the -wal file back to at most 64 MiB after checkpoints.
    // kv is a rowid table with an index on k, not WITHOUT ROWID: its values
    // (sealed documents, audit entries) are often larger than a b-tree cell
    // holds, and in a WITHOUT ROWID table every interior cell carries a
    // whole row, so each lookup would read overflow pages on its way down.
    PV_RETURN_IF_ERROR(conn->ExecSql(
        "PRAGMA journal_size_limit=67108864;"
        "CREATE TABLE IF NOT EXISTS kv("
        "k BLOB PRIMARY KEY, v BLOB NOT NULL);"
        "CREATE TABLE IF NOT EXISTS counters("
        "k BLOB PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;"));
    PV_RETURN_IF_ERROR(MigrateKvToRowid(*conn));
    // Prepare the statements now so a wrong schema fails Open().
    for (StmtId id :
         {kGet, kPut, kDelete, kAdd, kBeginImmediate, kCommit, kRollback}) {
      PV_RETURN_IF_ERROR(conn->Stmt(id));
    }
  } else {
    PV_RETURN_IF_ERROR(conn->ExecSql("PRAGMA query_only=ON;"));
  }
  return conn;
}

// Resolves the directory part of `path` (which may contain symlinks) to an
// absolute canonical path, keeping the file name as given: SQLite then opens
// with NOFOLLOW, which refuses a symlink anywhere in the name, so only a
// symlinked database file itself is refused. An absolute name also can never
// be read as a "file:" URI.
Result<std::pair<std::string, std::string>> ResolvePath(
    const std::string& path) {
  std::string dir = ".";
  std::string base = path;
  if (auto slash = path.rfind('/'); slash != std::string::npos) {
    dir = slash == 0 ? "/" : path.substr(0, slash);
    base = path.substr(slash + 1);
  }
  if (base.empty() || base == "." || base == "..") {
    return Err(InvalidArgument("sqlite database path names no file"));
  }
  char* real = ::realpath(dir.c_str(), nullptr);
  if (real == nullptr) {
    return Err(ErrnoError("cannot open database directory", errno));
  }
  std::string real_dir(real);
  std::free(real);
  std::string file = real_dir == "/" ? "/" + base : real_dir + "/" + base;
  return std::make_pair(std::move(real_dir), std::move(file));
}

// Creates `file` with mode 0600 if it does not exist, and makes the new
// directory entry durable.
Status CreateFileIfMissing(const std::string& dir, const std::string& file) {
  const int fd = ::open(
      file.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return Status::Ok();
    return ErrnoError("cannot create database file", errno);
  }
  ::close(fd);
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return Status::Ok();
}

}  // namespace

// A read connection borrowed from the pool; returned on destruction.
class SqliteBackend::ReaderLease {
 public:
  ReaderLease(SqliteBackend* owner, std::unique_ptr<Connection> conn)
      : owner_(owner), conn_(std::move(conn)) {}
  ReaderLease(ReaderLease&& other) noexcept
      : owner_(other.owner_), conn_(std::move(other.conn_)) {}
  ReaderLease& operator=(ReaderLease&&) = delete;
  ~ReaderLease() {
    if (conn_ != nullptr) owner_->ReleaseReader(std::move(conn_));
  }
  Connection* operator->() const { return conn_.get(); }

 private:
  SqliteBackend* owner_;
  std::unique_ptr<Connection> conn_;
};

struct SqliteBackend::Writer {
  explicit Writer(const WriteBatch* b) : batch(b) {}
  const WriteBatch* batch;
  Status status;      // set by the group leader
  bool done = false;  // GUARDED_BY(write_mu_)
  std::condition_variable cv;
};

Result<std::unique_ptr<SqliteBackend>> SqliteBackend::Open(
    const std::string& path, const Options& options) {
  if (path.empty() || path.find('\0') != std::string::npos) {
    return Err(InvalidArgument("invalid sqlite database path"));
  }
  PV_ASSIGN_OR_RETURN(auto resolved, ResolvePath(path));
  auto& [dir, fs_path] = resolved;
  PV_RETURN_IF_ERROR(CreateFileIfMissing(dir, fs_path));
  PV_ASSIGN_OR_RETURN(std::unique_ptr<Connection> writer,
                      OpenConnection(fs_path, options, /*writer=*/true));
  PV_ASSIGN_OR_RETURN(std::unique_ptr<Connection> checkpoint_conn,
                      OpenConnection(fs_path, options, /*writer=*/false));
  PV_ASSIGN_OR_RETURN(std::unique_ptr<ChangeStamps> stamps,
                      ChangeStamps::Open(fs_path + "-stamps"));
  return std::unique_ptr<SqliteBackend>(
      new SqliteBackend(std::move(fs_path), options, std::move(writer),
                        std::move(checkpoint_conn), std::move(stamps)));
}

SqliteBackend::SqliteBackend(std::string path, Options options,
                             std::unique_ptr<Connection> writer,
                             std::unique_ptr<Connection> checkpoint_conn,
                             std::unique_ptr<ChangeStamps> stamps)
    : path_(std::move(path)),
      options_(options),
      max_blob_bytes_(static_cast<std::size_t>(
          sqlite3_limit(writer->db, SQLITE_LIMIT_LENGTH, -1))),
      stamps_(std::move(stamps)),
      writer_conn_(std::move(writer)),
      checkpoint_conn_(std::move(checkpoint_conn)),
      checkpointer_(std::make_unique<WalCheckpointer>(
          writer_conn_->db, checkpoint_conn_->db,
          options_.checkpoint_wake_frames, options_.checkpoint_limit_frames)) {}

SqliteBackend::~SqliteBackend() {
  // The checkpoint thread first; then the other connections, so the write
  // connection closes last and checkpoints.
  checkpointer_.reset();
  checkpoint_conn_.reset();
  idle_readers_.clear();
  writer_conn_.reset();
}

Result<SqliteBackend::ReaderLease> SqliteBackend::AcquireReader() {
  {
    std::lock_guard lock(readers_mu_);
    if (!idle_readers_.empty()) {
      std::unique_ptr<Connection> conn = std::move(idle_readers_.back());
      idle_readers_.pop_back();
      return ReaderLease(this, std::move(conn));
    }
  }
  PV_ASSIGN_OR_RETURN(std::unique_ptr<Connection> conn,
                      OpenConnection(path_, options_, /*writer=*/false));
  return ReaderLease(this, std::move(conn));
}

void SqliteBackend::ReleaseReader(std::unique_ptr<Connection> conn) {
  conn->RollbackIfActive();
  if (sqlite3_get_autocommit(conn->db) == 0) return;  // unusable: close it
  std::lock_guard lock(readers_mu_);
  if (idle_readers_.size() < options_.max_idle_readers) {
    idle_readers_.push_back(std::move(conn));
    return;
  }
  // Otherwise `conn` closes when it goes out of scope.
}

Result<std::optional<std::string>> SqliteBackend::Get(std::string_view key) {
  PV_ASSIGN_OR_RETURN(ReaderLease reader, AcquireReader());
  return reader->Get(key);
}

Result<std::vector<std::optional<std::string>>> SqliteBackend::MultiGet(
    std::span<const std::string> keys) {
  std::vector<std::optional<std::string>> out;
  if (keys.empty()) return out;
  out.reserve(keys.size());
  PV_ASSIGN_OR_RETURN(ReaderLease reader, AcquireReader());
  if (keys.size() == 1) {
    PV_ASSIGN_OR_RETURN(std::optional<std::string> v, reader->Get(keys[0]));
    out.push_back(std::move(v));
    return out;
  }
  // One read transaction: every key is read from the same snapshot.
  PV_RETURN_IF_ERROR(reader->Exec(kBegin));
  for (const std::string& key : keys) {
    auto v = reader->Get(key);
    if (!v.has_value()) {
      reader->RollbackIfActive();
      return Err(std::move(v).error());
    }
    out.push_back(*std::move(v));
  }
  Status s = reader->Exec(kCommit);
  if (!s.ok()) {
    reader->RollbackIfActive();
    return Err(std::move(s));
  }
  return out;
}

Result<std::vector<KeyValue>> SqliteBackend::Scan(std::string_view prefix,
                                                  std::string_view start,
                                                  std::size_t limit) {
  std::vector<KeyValue> out;
  if (limit == 0) return out;
  const std::string_view from = UnsignedLess(start, prefix) ? prefix : start;
  const std::optional<std::string> end = PrefixSuccessor(prefix);
  // LIMIT takes a signed 64-bit value; a negative one would mean "no limit".
  const auto max_limit =
      static_cast<std::size_t>(std::numeric_limits<sqlite3_int64>::max());
  const auto lim = static_cast<sqlite3_int64>(std::min(limit, max_limit));

  PV_ASSIGN_OR_RETURN(ReaderLease reader, AcquireReader());
  PV_ASSIGN_OR_RETURN(sqlite3_stmt * stmt,
                      reader->Stmt(end ? kScanBounded : kScanUnbounded));
  StmtReset reset(stmt);
  int rc = BindBlob(stmt, 1, from);
  if (rc == SQLITE_OK) {
    rc = end ? BindBlob(stmt, 2, *end) : sqlite3_bind_int64(stmt, 2, lim);
  }
  if (rc == SQLITE_OK && end) rc = sqlite3_bind_int64(stmt, 3, lim);
  if (rc != SQLITE_OK) return Err(SqliteError(rc));
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    out.push_back({ColumnBytes(stmt, 0), ColumnBytes(stmt, 1)});
  }
  if (rc != SQLITE_DONE) return Err(SqliteError(rc));
  return out;
}

Result<int64_t> SqliteBackend::SumCounters(std::string_view prefix) {
  const std::optional<std::string> end = PrefixSuccessor(prefix);
  PV_ASSIGN_OR_RETURN(ReaderLease reader, AcquireReader());
  PV_ASSIGN_OR_RETURN(sqlite3_stmt * stmt,
                      reader->Stmt(end ? kSumBounded : kSumUnbounded));
  StmtReset reset(stmt);
  int rc = BindBlob(stmt, 1, prefix);
  if (rc == SQLITE_OK && end) rc = BindBlob(stmt, 2, *end);
  if (rc != SQLITE_OK) return Err(SqliteError(rc));
  rc = sqlite3_step(stmt);
  if (rc != SQLITE_ROW)
    return Err(SqliteError(rc == SQLITE_DONE ? SQLITE_ERROR : rc));
  return static_cast<int64_t>(sqlite3_column_int64(stmt, 0));
}

Status SqliteBackend::Write(const WriteBatch& batch) {
  if (batch.empty()) return Status::Ok();
  // Refuse what SQLite would refuse mid-transaction, so that one oversized
  // batch does not fail the whole group it would be committed with.
  for (const WriteBatch::Op& op : batch.ops()) {
    if (op.key.size() > max_blob_bytes_ || op.value.size() > max_blob_bytes_) {
      return InvalidArgument("key or value too large for the sqlite backend");
    }
  }
  for (const WriteBatch::Condition& cond : batch.conditions()) {
    if (cond.key.size() > max_blob_bytes_) {
      return InvalidArgument("key too large for the sqlite backend");
    }
  }
  // Other processes' caches of these keys stop trusting their stamps from
  // before the commit until after it.
  const std::uint64_t slots = ChangeStamps::SlotsOf(batch);
  stamps_->BeginWrite(slots);
  Status s = CommitInGroup(batch);
  stamps_->EndWrite(slots);
  return s;
}

std::optional<std::uint64_t> SqliteBackend::ChangeStamp(std::string_view key) {
  return stamps_->Stamp(key);
}

Status SqliteBackend::CommitInGroup(const WriteBatch& batch) {
  Writer w(&batch);
  std::unique_lock lock(write_mu_);
  write_queue_.push_back(&w);
  w.cv.wait(lock, [&] { return w.done || write_queue_.front() == &w; });
  if (w.done) return std::move(w.status);  // a leader committed our batch

  // We lead: take our batch and those queued behind it, up to the limits.
  std::vector<Writer*> group;
  std::size_t bytes = 0;
  for (Writer* x : write_queue_) {
    const std::size_t size = BatchBytes(*x->batch);
    if (!group.empty() && (group.size() >= options_.max_group_batches ||
                           bytes + size > options_.max_group_bytes)) {
      break;
    }
    group.push_back(x);
    bytes += size;
  }
  lock.unlock();
  CommitGroup(group);  // new arrivals queue meanwhile and form the next group
  lock.lock();

  for (std::size_t i = 0; i < group.size(); ++i) {
    Writer* x = write_queue_.front();
    write_queue_.pop_front();
    if (x != &w) {
      x->done = true;
      // Notify under the lock: the follower destroys `x` once it sees done.
      x->cv.notify_one();
    }
  }
  if (!write_queue_.empty()) write_queue_.front()->cv.notify_one();
  return std::move(w.status);
}

void SqliteBackend::CommitGroup(std::span<Writer* const> group) {
  std::lock_guard conn_lock(writer_conn_mu_);
  Connection& conn = *writer_conn_;
  auto fail_all = [&](Status s) {
    conn.RollbackIfActive();
    for (Writer* x : group) x->status = s;
  };
  auto run = [&](sqlite3_stmt* stmt) {
    const int rc = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    return rc;
  };

  if (Status s = conn.Exec(kBeginImmediate); !s.ok()) return fail_all(s);
  auto put = conn.Stmt(kPut);
  auto del = conn.Stmt(kDelete);
  auto add = conn.Stmt(kAdd);
  if (!put.has_value()) return fail_all(put.error());
  if (!del.has_value()) return fail_all(del.error());
  if (!add.has_value()) return fail_all(add.error());

  std::uint64_t ok_batches = 0;
  for (Writer* x : group) {
    const WriteBatch& batch = *x->batch;
    bool holds = true;
    for (const WriteBatch::Condition& cond : batch.conditions()) {
      auto current = conn.Get(cond.key);
      if (!current.has_value()) return fail_all(current.error());
      if (*current != cond.expected_value) {
        holds = false;
        break;
      }
    }
    if (!holds) {
      x->status = Aborted("write condition does not hold");
      continue;
    }
    for (const WriteBatch::Op& op : batch.ops()) {
      sqlite3_stmt* stmt = nullptr;
      int rc = SQLITE_OK;
      switch (op.kind) {
        case WriteBatch::Op::Kind::kPut:
          stmt = *put;
          rc = BindBlob(stmt, 1, op.key);
          if (rc == SQLITE_OK) rc = BindBlob(stmt, 2, op.value);
          break;
        case WriteBatch::Op::Kind::kDelete:
          stmt = *del;
          rc = BindBlob(stmt, 1, op.key);
          break;
        case WriteBatch::Op::Kind::kAdd:
          stmt = *add;
          rc = BindBlob(stmt, 1, op.key);
          if (rc == SQLITE_OK) rc = sqlite3_bind_int64(stmt, 2, op.delta);
          break;
      }
      rc = rc == SQLITE_OK ? run(stmt) : rc;
      if (rc != SQLITE_DONE) {
        sqlite3_reset(stmt);
        sqlite3_clear_bindings(stmt);
        return fail_all(SqliteError(rc));
      }
    }
    x->status = Status::Ok();
    ++ok_batches;
  }

  if (Status s = conn.Exec(kCommit); !s.ok()) return fail_all(s);
  committed_transactions_.fetch_add(1, std::memory_order_relaxed);
  committed_batches_.fetch_add(ok_batches, std::memory_order_relaxed);
}

namespace {

// A one-off statement (dumps and restores only), finalized when it goes.
class OneOffStmt {
 public:
  OneOffStmt() = default;
  ~OneOffStmt() { sqlite3_finalize(stmt_); }
  OneOffStmt(const OneOffStmt&) = delete;
  OneOffStmt& operator=(const OneOffStmt&) = delete;
  Status Prepare(sqlite3* db, const char* sql) {
    const int rc = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr);
    return rc == SQLITE_OK ? Status::Ok() : SqliteError(rc);
  }
  sqlite3_stmt* get() const { return stmt_; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

// Steps `sql` to its end, handing each row to `row`.
template <typename F>
Status EachRow(sqlite3* db, const char* sql, F&& row) {
  OneOffStmt stmt;
  PV_RETURN_IF_ERROR(stmt.Prepare(db, sql));
  int rc;
  while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
    PV_RETURN_IF_ERROR(row(stmt.get()));
  }
  return rc == SQLITE_DONE ? Status::Ok() : SqliteError(rc);
}

}  // namespace

// One read transaction on one pooled read connection is the snapshot; the
// statements step through the tables, so only one row is held at a time.
Status SqliteBackend::Dump(const DumpSink& sink) {
  PV_ASSIGN_OR_RETURN(ReaderLease reader, AcquireReader());
  PV_RETURN_IF_ERROR(reader->Exec(kBegin));
  DumpItem item;
  Status s = EachRow(reader->db, "SELECT k, v FROM kv ORDER BY k",
                     [&](sqlite3_stmt* stmt) {
                       item.key = ColumnBytes(stmt, 0);
                       item.value = ColumnBytes(stmt, 1);
                       return sink(item);
                     });
  if (s.ok()) {
    item.kind = DumpItem::Kind::kCounter;
    item.value.clear();
    s = EachRow(reader->db, "SELECT k, n FROM counters ORDER BY k",
                [&](sqlite3_stmt* stmt) {
                  item.key = ColumnBytes(stmt, 0);
                  item.counter = sqlite3_column_int64(stmt, 1);
                  return sink(item);
                });
  }
  if (s.ok()) s = reader->Exec(kCommit);
  if (!s.ok()) reader->RollbackIfActive();
  return s;
}

Status SqliteBackend::ReplaceAll(const DumpSource& source) {
  // It may change any key.
  stamps_->BeginWrite(ChangeStamps::kAllSlots);
  Status s = ReplaceAllLocked(source);
  stamps_->EndWrite(ChangeStamps::kAllSlots);
  return s;
}

// One write transaction on the write connection, which commit groups wait
// for meanwhile; a failure anywhere rolls it back.
Status SqliteBackend::ReplaceAllLocked(const DumpSource& source) {
  std::lock_guard conn_lock(writer_conn_mu_);
  Connection& conn = *writer_conn_;
  auto replace = [&]() -> Status {
    PV_RETURN_IF_ERROR(conn.Exec(kBeginImmediate));
    PV_RETURN_IF_ERROR(conn.ExecSql("DELETE FROM kv; DELETE FROM counters;"));
    PV_ASSIGN_OR_RETURN(sqlite3_stmt * put, conn.Stmt(kPut));
    PV_ASSIGN_OR_RETURN(sqlite3_stmt * add, conn.Stmt(kAdd));
    DumpItem item;
    for (;;) {
      PV_ASSIGN_OR_RETURN(bool more, source(item));
      if (!more) break;
      if (item.key.size() > max_blob_bytes_ ||
          item.value.size() > max_blob_bytes_) {
        return InvalidArgument("key or value too large for the sqlite backend");
      }
      const bool row = item.kind == DumpItem::Kind::kRow;
      sqlite3_stmt* stmt = row ? put : add;
      StmtReset reset(stmt);
      int rc = BindBlob(stmt, 1, item.key);
      if (rc == SQLITE_OK) {
        rc = row ? BindBlob(stmt, 2, item.value)
                 : sqlite3_bind_int64(stmt, 2, item.counter);
      }
      if (rc == SQLITE_OK) rc = sqlite3_step(stmt);
      if (rc != SQLITE_DONE) return SqliteError(rc);
    }
    return conn.Exec(kCommit);
  };
  Status s = replace();
  if (!s.ok()) conn.RollbackIfActive();
  return s;
}

Status SqliteBackend::DeleteCounters(std::string_view prefix) {
  const std::optional<std::string> end = PrefixSuccessor(prefix);
  std::lock_guard conn_lock(writer_conn_mu_);
  PV_ASSIGN_OR_RETURN(sqlite3_stmt * stmt,
                      writer_conn_->Stmt(end ? kDeleteCountersBounded
                                             : kDeleteCountersUnbounded));
  StmtReset reset(stmt);
  int rc = BindBlob(stmt, 1, prefix);
  if (rc == SQLITE_OK && end) rc = BindBlob(stmt, 2, *end);
  if (rc == SQLITE_OK) rc = sqlite3_step(stmt);
  if (rc != SQLITE_DONE) return SqliteError(rc);
  return Status::Ok();
}

Status SqliteBackend::Compact() {
  std::lock_guard conn_lock(writer_conn_mu_);
  auto no_background_checkpoint = checkpointer_->HoldOff();
  // One row: busy (1 when readers kept the checkpoint from finishing), the
  // log's frames, and the frames checkpointed.
  PV_ASSIGN_OR_RETURN(std::string busy, writer_conn_->QueryText(
                                            "PRAGMA wal_checkpoint(TRUNCATE)"));
  if (busy != "0")
    return Unavailable("sqlite: readers kept the log from being truncated");
  return Status::Ok();
}

Result<std::string> SqliteBackend::PragmaForTesting(std::string_view name,
                                                    bool on_writer) {
  if (name.empty() || !std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || c == '_';
      })) {
    return Err(InvalidArgument("bad pragma name"));
  }
  const std::string sql = "PRAGMA " + std::string(name);
  if (on_writer) {
    std::lock_guard conn_lock(writer_conn_mu_);
    return writer_conn_->QueryText(sql);
  }
  PV_ASSIGN_OR_RETURN(ReaderLease reader, AcquireReader());
  return reader->QueryText(sql);
}

}  // namespace piivault::storage
