// SQLite-specific behaviour: persistence, pragmas, crash durability, group
// commit, file handling. The generic contract is in backend_conformance.h.
#include "storage/sqlite/sqlite_backend.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "backend_conformance.h"
#include "support/eventually.h"
#include "support/temp_dir.h"

namespace piivault::storage::testing {
namespace {

using piivault::testing::Eventually;
using piivault::testing::ScopedTempDir;

std::unique_ptr<SqliteBackend> OpenOrDie(const std::string& path) {
  auto db = SqliteBackend::Open(path);
  EXPECT_TRUE(db.has_value()) << db.error().ToString();
  return db.has_value() ? *std::move(db) : nullptr;
}

Status PutOne(Backend& db, std::string key, std::string value) {
  WriteBatch batch;
  batch.Put(std::move(key), std::move(value));
  return db.Write(batch);
}

// Runs one-row SQL on a raw connection of our own.
std::string RawQuery(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  std::string out = "<error>";
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) ==
      SQLITE_OK) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
      const unsigned char* text = sqlite3_column_text(stmt, 0);
      out = text != nullptr ? reinterpret_cast<const char*>(text) : "";
    }
    sqlite3_finalize(stmt);
  }
  sqlite3_close_v2(db);
  return out;
}

class SqliteBackendTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(dir_.ok()); }
  std::string DbPath() const { return dir_.File("vault.db"); }
  ScopedTempDir dir_;
};

// Reads a whole file as bytes ("" when it does not exist).
std::string FileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A deleted value must not survive in any file of the database once
// compacted: secure_delete zeroes freed pages, and the checkpoint truncates
// the log that still held the page images from before the delete.
TEST_F(SqliteBackendTest, CompactLeavesNoImageOfDeletedRows) {
  auto db = OpenOrDie(DbPath());
  ASSERT_NE(db, nullptr);
  const std::string marker = "deleted-value-7f3a9c";
  ASSERT_TRUE(PutOne(*db, "secret", marker).ok());
  ASSERT_TRUE(PutOne(*db, "kept", "live-value").ok());
  WriteBatch del;
  del.Delete("secret");
  ASSERT_TRUE(db->Write(del).ok());
  ASSERT_NE(FileBytes(DbPath() + "-wal").find(marker), std::string::npos)
      << "the log holds the deleted value until compacted";

  ASSERT_TRUE(db->Compact().ok());
  EXPECT_EQ(FileBytes(DbPath() + "-wal").size(), 0u);
  EXPECT_EQ(FileBytes(DbPath()).find(marker), std::string::npos);
  EXPECT_NE(FileBytes(DbPath()).find("live-value"), std::string::npos);
  EXPECT_EQ(db->Get("kept").value_or(std::nullopt), "live-value");
}

TEST_F(SqliteBackendTest, DataSurvivesCloseAndReopen) {
  {
    auto db = OpenOrDie(DbPath());
    ASSERT_NE(db, nullptr);
    WriteBatch batch;
    batch.Put(Bytes("k\0\xff"), Bytes("v\0\xff"));
    batch.Put("gone", "x");
    batch.Delete("gone");
    batch.Put("empty", "");
    ASSERT_TRUE(db->Write(batch).ok());
  }
  auto db = OpenOrDie(DbPath());
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(*db->Get(Bytes("k\0\xff")), Bytes("v\0\xff"));
  EXPECT_EQ(*db->Get("gone"), std::nullopt);
  EXPECT_EQ(*db->Get("empty"), "");
  // And through a URL relative to a base directory.
  db.reset();
  auto by_url = OpenBackend("sqlite://vault.db", dir_.path());
  ASSERT_TRUE(by_url.has_value()) << by_url.error().ToString();
  EXPECT_EQ(*(*by_url)->Get("empty"), "");
}

TEST_F(SqliteBackendTest, KeysAndValuesAreStoredAsBlobs) {
  auto db = OpenOrDie(DbPath());
  ASSERT_NE(db, nullptr);
  ASSERT_TRUE(PutOne(*db, "", "").ok());
  ASSERT_TRUE(PutOne(*db, "text-like", "also text").ok());
  EXPECT_EQ(RawQuery(DbPath(),
                     "SELECT group_concat(DISTINCT typeof(k) || '/' || "
                     "typeof(v)) FROM kv"),
            "blob/blob");
  // A rowid table: large values stay out of the key index's interior pages.
  EXPECT_EQ(
      RawQuery(DbPath(), "SELECT wr FROM pragma_table_list WHERE name = 'kv'"),
      "0");
}

// A store written when kv was a WITHOUT ROWID table opens with every row
// intact, converted to a rowid table.
TEST_F(SqliteBackendTest, AWithoutRowidStoreIsConvertedOnOpen) {
  {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(DbPath().c_str(), &raw), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(raw,
                           "PRAGMA journal_mode=WAL;"
                           "CREATE TABLE kv(k BLOB PRIMARY KEY, v BLOB NOT "
                           "NULL) WITHOUT ROWID;"
                           "INSERT INTO kv VALUES(x'6100ff', x'7600ff'),"
                           "(x'62', zeroblob(5000));",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(raw);
  }
  auto db = OpenOrDie(DbPath());
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(*db->Get(Bytes("a\0\xff")), Bytes("v\0\xff"));
  EXPECT_EQ(*db->Get("b"), std::string(5000, '\0'));
  EXPECT_EQ(
      RawQuery(DbPath(), "SELECT wr FROM pragma_table_list WHERE name = 'kv'"),
      "0");
  ASSERT_TRUE(PutOne(*db, "c", "new").ok());
  db.reset();
  db = OpenOrDie(DbPath());  // and once converted, it stays as it is
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(*db->Get("c"), "new");
  EXPECT_EQ(RawQuery(DbPath(), "SELECT count(*) FROM kv"), "3");
}

TEST_F(SqliteBackendTest, PragmasAreAsRequired) {
  auto db = OpenOrDie(DbPath());
  ASSERT_NE(db, nullptr);
  ASSERT_TRUE(PutOne(*db, "k", "v").ok());
  // journal_mode is a property of the file: visible to anyone who opens it.
  EXPECT_EQ(RawQuery(DbPath(), "PRAGMA journal_mode"), "wal");
  // The others are per connection: check both kinds of ours.
  for (bool on_writer : {false, true}) {
    SCOPED_TRACE(on_writer ? "writer" : "reader");
    EXPECT_EQ(db->PragmaForTesting("journal_mode", on_writer).value_or("?"),
              "wal");
    EXPECT_EQ(db->PragmaForTesting("secure_delete", on_writer).value_or("?"),
              "1");
    EXPECT_EQ(db->PragmaForTesting("synchronous", on_writer).value_or("?"),
              "2");  // FULL
    EXPECT_EQ(db->PragmaForTesting("trusted_schema", on_writer).value_or("?"),
              "0");
    EXPECT_NE(db->PragmaForTesting("busy_timeout", on_writer).value_or("0"),
              "0");
  }
  EXPECT_EQ(db->PragmaForTesting("query_only").value_or("?"), "1");
  EXPECT_EQ(db->PragmaForTesting("query_only", true).value_or("?"), "0");
  EXPECT_EQ(db->PragmaForTesting("bad name; DROP TABLE kv").error().code(),
            StatusCode::kInvalidArgument);
}

// [storage] sqlite_cache_kib reaches every connection of a store opened by
// URL: what bounds the server's page caches.
TEST_F(SqliteBackendTest, TheConfiguredPageCacheIsEveryConnections) {
  auto opened = OpenBackend(
      "sqlite://vault.db",
      BackendOptions{.base_dir = dir_.path(), .sqlite_cache_kib = 1024});
  ASSERT_TRUE(opened.has_value()) << opened.error().ToString();
  auto* db = dynamic_cast<SqliteBackend*>(opened->get());
  ASSERT_NE(db, nullptr);
  for (bool on_writer : {false, true}) {
    EXPECT_EQ(db->PragmaForTesting("cache_size", on_writer).value_or("?"),
              "-1024");
  }
}

TEST_F(SqliteBackendTest, DatabaseFilesAreOwnerOnly) {
  const mode_t old_umask = ::umask(022);
  {
    auto db = OpenOrDie(DbPath());
    ASSERT_NE(db, nullptr);
    ASSERT_TRUE(PutOne(*db, "k", "v").ok());
    for (const std::string& path :
         {DbPath(), DbPath() + "-wal", DbPath() + "-shm"}) {
      struct stat st {};
      ASSERT_EQ(::stat(path.c_str(), &st), 0) << path;
      EXPECT_EQ(st.st_mode & 0777, 0600u) << path;
    }
  }
  ::umask(old_umask);
}

TEST_F(SqliteBackendTest, MissingDirectoryIsUnavailable) {
  const std::string path = dir_.File("no/such/dir/vault.db");
  auto db = SqliteBackend::Open(path);
  ASSERT_FALSE(db.has_value());
  EXPECT_EQ(db.error().code(), StatusCode::kUnavailable);
  EXPECT_EQ(db.error().message().find("no/such"), std::string::npos);
  auto by_url = OpenBackend("sqlite://no/such/vault.db", dir_.path());
  ASSERT_FALSE(by_url.has_value());
  EXPECT_EQ(by_url.error().code(), StatusCode::kUnavailable);
}

TEST_F(SqliteBackendTest, NonDatabaseFileIsUnavailable) {
  std::string junk;
  for (int i = 0; i < 200; ++i) junk += "this is not an SQLite database. ";
  {
    std::ofstream out(DbPath(), std::ios::binary);
    out << junk;
  }
  auto db = SqliteBackend::Open(DbPath());
  ASSERT_FALSE(db.has_value());
  EXPECT_EQ(db.error().code(), StatusCode::kUnavailable);
  EXPECT_NE(db.error().message().find("sqlite"), std::string::npos)
      << db.error().message();
  // The file is left alone.
  std::ifstream in(DbPath(), std::ios::binary);
  std::string after((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(after, junk);
}

TEST_F(SqliteBackendTest, SymlinkedDatabaseIsRefused) {
  {
    auto db = OpenOrDie(DbPath());
    ASSERT_NE(db, nullptr);
  }
  const std::string link = dir_.File("link.db");
  ASSERT_EQ(::symlink(DbPath().c_str(), link.c_str()), 0);
  auto db = SqliteBackend::Open(link);
  ASSERT_FALSE(db.has_value());
  EXPECT_EQ(db.error().code(), StatusCode::kUnavailable);

  // A symlinked directory on the way is fine.
  ASSERT_EQ(::symlink(dir_.path().c_str(), dir_.File("dirlink").c_str()), 0);
  auto via_dir_link = SqliteBackend::Open(dir_.File("dirlink/vault.db"));
  ASSERT_TRUE(via_dir_link.has_value()) << via_dir_link.error().ToString();
}

TEST_F(SqliteBackendTest, PathMustNameAFile) {
  for (const std::string& path :
       {std::string(), dir_.path() + "/", dir_.File("."), dir_.File(".."),
        dir_.File("a") + std::string(1, '\0')}) {
    auto db = SqliteBackend::Open(path);
    ASSERT_FALSE(db.has_value()) << path;
    EXPECT_EQ(db.error().code(), StatusCode::kInvalidArgument) << path;
  }
  // A directory is not a database.
  auto dir = SqliteBackend::Open(dir_.path());
  ASSERT_FALSE(dir.has_value());
  EXPECT_EQ(dir.error().code(), StatusCode::kUnavailable);
}

TEST(OpenBackendTest, UrlSchemes) {
  ScopedTempDir dir;
  ASSERT_TRUE(dir.ok());
  EXPECT_TRUE(OpenBackend("memory:", "").has_value());

  auto relative = OpenBackend("sqlite://rel.db", dir.path());
  ASSERT_TRUE(relative.has_value()) << relative.error().ToString();
  EXPECT_EQ(::access(dir.File("rel.db").c_str(), F_OK), 0);

  const std::string abs_url = "sqlite://" + dir.File("abs.db");  // sqlite:///…
  auto absolute = OpenBackend(abs_url, "/nonexistent-base-dir");
  ASSERT_TRUE(absolute.has_value()) << absolute.error().ToString();
  EXPECT_EQ(::access(dir.File("abs.db").c_str(), F_OK), 0);

  auto trailing_slash = OpenBackend("sqlite://slash.db", dir.path() + "/");
  ASSERT_TRUE(trailing_slash.has_value());
  EXPECT_EQ(::access(dir.File("slash.db").c_str(), F_OK), 0);

  // Malformed PostgreSQL URLs are refused without echoing the password
  // (a well-formed one opens: the backend connects on first use).
  for (const char* url : {"postgres://user:hunter2@db/vault?no_such_option=1",
                          "postgresql://user:hunter2@[db/vault", "memory",
                          "memory://x", "", "sqlite:/x.db", "SQLITE://x.db",
                          "sqlite://", "mysql://user:hunter2@db/vault"}) {
    auto r = OpenBackend(url, dir.path());
    ASSERT_FALSE(r.has_value()) << url;
    EXPECT_EQ(r.error().code(), StatusCode::kInvalidArgument) << url;
    EXPECT_EQ(r.error().message().find("hunter2"), std::string::npos);
  }
  auto unknown = OpenBackend("mysql://user:hunter2@db/vault", "");
  EXPECT_EQ(unknown.error().message(), "unknown storage backend scheme");
}

// A child process writes and acknowledges each write through a pipe only
// after Write() returned OK; it is killed with SIGKILL mid-stream. Every
// acknowledged write must be there after reopening.
TEST_F(SqliteBackendTest, AcknowledgedWritesSurviveSigkill) {
  const std::string path = DbPath();
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(fds[0]);
    auto db = SqliteBackend::Open(path);
    if (!db.has_value()) ::_exit(2);
    for (std::uint32_t i = 0;; ++i) {
      WriteBatch batch;
      batch.Put("ack/" + std::to_string(i),
                std::string(64, 'v') + std::to_string(i));
      batch.Put("last", std::to_string(i));
      if (!(*db)->Write(batch).ok()) ::_exit(3);
      if (::write(fds[1], &i, sizeof i) != sizeof i) ::_exit(4);
    }
  }
  ::close(fds[1]);
  std::vector<std::uint32_t> acked;
  auto read_ack = [&] {
    std::uint32_t i;
    std::size_t got = 0;
    while (got < sizeof i) {
      const ssize_t n =
          ::read(fds[0], reinterpret_cast<char*>(&i) + got, sizeof i - got);
      if (n <= 0) return false;
      got += static_cast<std::size_t>(n);
    }
    acked.push_back(i);
    return true;
  };
  while (acked.size() < 100 && read_ack()) {
  }
  ::kill(pid, SIGKILL);
  int wstatus = 0;
  ASSERT_EQ(::waitpid(pid, &wstatus, 0), pid);
  while (read_ack()) {  // acks written before the kill
  }
  ::close(fds[0]);
  ASSERT_TRUE(WIFSIGNALED(wstatus))
      << "child exited early: " << WEXITSTATUS(wstatus);
  ASSERT_GE(acked.size(), 100u);

  auto db = OpenOrDie(path);
  ASSERT_NE(db, nullptr);
  std::vector<std::string> keys;
  for (std::uint32_t i : acked) keys.push_back("ack/" + std::to_string(i));
  auto values = db->MultiGet(keys);
  ASSERT_TRUE(values.has_value());
  for (std::size_t j = 0; j < acked.size(); ++j) {
    ASSERT_EQ((*values)[j], std::string(64, 'v') + std::to_string(acked[j]))
        << "acknowledged write " << acked[j] << " lost";
  }
  auto last = db->Get("last");
  ASSERT_TRUE(last.has_value() && last->has_value());
  EXPECT_GE(std::stoul(**last), acked.back());
}

TEST_F(SqliteBackendTest, GroupCommitGroupsConcurrentWriters) {
  auto db = OpenOrDie(DbPath());
  ASSERT_NE(db, nullptr);
  constexpr int kThreads = 16;
  constexpr int kWritesPerThread = 200;
  std::atomic<int> errors{0};
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kWritesPerThread; ++i) {
        const std::string key =
            "t" + std::to_string(t) + "/" + std::to_string(i);
        if (!PutOne(*db, key, "value").ok()) ++errors;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  constexpr std::uint64_t kWrites = kThreads * kWritesPerThread;
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(db->committed_batches(), kWrites);
  const std::uint64_t commits = db->committed_transactions();
  std::printf("[ info     ] %llu writes in %llu commits, %.0f writes/s\n",
              static_cast<unsigned long long>(kWrites),
              static_cast<unsigned long long>(commits), kWrites / seconds);
  EXPECT_LE(commits, kWrites / 2) << "writes were not grouped";
  auto all = db->Scan("t", "", kWrites + 1);
  ASSERT_TRUE(all.has_value());
  EXPECT_EQ(all->size(), kWrites);
}

TEST_F(SqliteBackendTest, FailedConditionInAGroupDoesNotAffectOthers) {
  // Many writers at once, half with a failing condition: the others commit.
  auto db = OpenOrDie(DbPath());
  ASSERT_NE(db, nullptr);
  ASSERT_TRUE(PutOne(*db, "exists", "1").ok());
  constexpr int kThreads = 16;
  std::vector<Status> results(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        WriteBatch batch;
        if (t % 2 == 1) batch.RequireAbsent("exists");
        batch.Put("w/" + std::to_string(t) + "/" + std::to_string(i), "x");
        const Status s = db->Write(batch);
        const StatusCode want =
            t % 2 == 1 ? StatusCode::kAborted : StatusCode::kOk;
        if (s.code() != want) results[t] = s;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_TRUE(results[t].ok()) << t << ": " << results[t].ToString();
  }
  auto all = db->Scan("w/", "", 1000);
  ASSERT_TRUE(all.has_value());
  EXPECT_EQ(all->size(), 8u * 20u);
  for (const KeyValue& kv : *all) {
    const int id = std::stoi(kv.key.substr(2, kv.key.find('/', 2) - 2));
    EXPECT_EQ(id % 2, 0) << kv.key;
  }
}

// Another process holding the write lock: writes wait for the busy timeout,
// then fail with kUnavailable without applying anything; reads go on; the
// backend recovers once the lock is released.
TEST_F(SqliteBackendTest, ForeignWriteLockGivesUnavailableThenRecovers) {
  SqliteBackend::Options options;
  options.busy_timeout_ms = 100;
  auto opened = SqliteBackend::Open(DbPath(), options);
  ASSERT_TRUE(opened.has_value()) << opened.error().ToString();
  SqliteBackend& db = **opened;
  ASSERT_TRUE(PutOne(db, "before", "1").ok());

  sqlite3* foreign = nullptr;
  ASSERT_EQ(sqlite3_open_v2(DbPath().c_str(), &foreign, SQLITE_OPEN_READWRITE,
                            nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(foreign, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr),
            SQLITE_OK);

  std::vector<Status> results(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      WriteBatch batch;
      batch.Put("blocked/" + std::to_string(t), "x");
      batch.Put("before", "overwritten");
      results[t] = db.Write(batch);
    });
  }
  for (std::thread& t : threads) t.join();
  for (const Status& s : results) {
    EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.ToString();
    EXPECT_EQ(s.message().rfind("sqlite: ", 0), 0u) << s.message();
  }
  EXPECT_EQ(*db.Get("before"), "1");  // reads are not blocked

  ASSERT_EQ(sqlite3_exec(foreign, "ROLLBACK", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close_v2(foreign);
  EXPECT_EQ(*db.Get("before"), "1");
  EXPECT_TRUE(db.Scan("blocked/", "", 10)->empty());
  EXPECT_TRUE(PutOne(db, "after", "2").ok());
  EXPECT_EQ(*db.Get("after"), "2");
}

TEST_F(SqliteBackendTest, ManyConcurrentReaders) {
  auto db = OpenOrDie(DbPath());
  ASSERT_NE(db, nullptr);
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(PutOne(*db, "r/" + std::to_string(i), std::to_string(i)).ok());
  }
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 24; ++t) {  // more than max_idle_readers
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        const int k = (i * 7 + t) % 50;
        auto v = db->Get("r/" + std::to_string(k));
        if (!v.has_value() || *v != std::to_string(k)) ++wrong;
        auto s = db->Scan("r/", "", 100);
        if (!s.has_value() || s->size() != 50) ++wrong;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
}

// Checkpoints (storage/sqlite/wal_checkpointer.h) -------------------------

std::uintmax_t FileSize(const std::string& path) {
  std::error_code ec;
  const std::uintmax_t size = std::filesystem::file_size(path, ec);
  return ec ? 0 : size;
}

// Writes `n` values of 8000 bytes (two overflow pages and a leaf each).
void WriteValues(Backend& db, std::string_view prefix, int n) {
  for (int i = 0; i < n; ++i) {
    ASSERT_TRUE(PutOne(db, std::string(prefix) + std::to_string(i),
                       std::string(8000, static_cast<char>('a' + i % 26)))
                    .ok());
  }
}

void ExpectValues(Backend& db, std::string_view prefix, int n) {
  for (int i = 0; i < n; ++i) {
    auto got = db.Get(std::string(prefix) + std::to_string(i));
    ASSERT_TRUE(got.has_value() && got->has_value()) << i;
    EXPECT_EQ(**got, std::string(8000, static_cast<char>('a' + i % 26)));
  }
}

// A store whose checkpoint thread wakes at `wake` frames, and whose commits
// checkpoint themselves from `limit` on.
std::unique_ptr<SqliteBackend> OpenCheckpointing(const std::string& path,
                                                 int wake, int limit) {
  SqliteBackend::Options options;
  options.checkpoint_wake_frames = wake;
  options.checkpoint_limit_frames = limit;
  auto opened = SqliteBackend::Open(path, options);
  EXPECT_TRUE(opened.has_value()) << opened.error().ToString();
  return opened ? *std::move(opened) : nullptr;
}

// The same, with an empty log and the checkpoint thread held.
std::unique_ptr<SqliteBackend> OpenHeld(const std::string& path, int wake,
                                        int limit) {
  std::unique_ptr<SqliteBackend> db = OpenCheckpointing(path, wake, limit);
  if (db == nullptr) return nullptr;
  EXPECT_TRUE(PutOne(*db, "first", "x").ok());
  EXPECT_TRUE(db->Compact().ok());  // the schema into the file
  db->PauseCheckpointsForTesting(true);
  return db;
}

// A commit that fills the log past the wake-up mark only wakes the
// checkpoint thread: with the thread held, nothing reaches the database file
// however many commits follow (below the limit); let go, it copies the log.
TEST_F(SqliteBackendTest, CommitsLeaveCheckpointsToTheirOwnThread) {
  auto db = OpenHeld(DbPath(), 50, 100000);
  ASSERT_NE(db, nullptr);
  const std::uintmax_t file_before = FileSize(DbPath());

  // ~1200 frames: past SQLite's own automatic checkpoint (1000) too.
  WriteValues(*db, "v/", 400);
  EXPECT_GT(FileSize(DbPath() + "-wal"), 50u * 4096);
  EXPECT_EQ(FileSize(DbPath()), file_before) << "a commit checkpointed";
  EXPECT_EQ(db->background_checkpoints(), 0u);

  db->PauseCheckpointsForTesting(false);
  EXPECT_TRUE(Eventually([&] { return db->background_checkpoints() > 0; }));
  EXPECT_GE(FileSize(DbPath()), file_before + 400u * 8000);
  ExpectValues(*db, "v/", 400);
}

// Should the thread fall behind, a commit that takes the log past the limit
// checkpoints itself, so the log stays bounded.
TEST_F(SqliteBackendTest, ACommitPastTheLimitCheckpointsItself) {
  auto db = OpenHeld(DbPath(), 50, 150);
  ASSERT_NE(db, nullptr);
  const std::uintmax_t file_before = FileSize(DbPath());

  WriteValues(*db, "v/", 200);
  EXPECT_EQ(db->background_checkpoints(), 0u);
  EXPECT_GT(FileSize(DbPath()), file_before + 100u * 8000)
      << "no commit checkpointed past the limit";
  ExpectValues(*db, "v/", 200);
}

// A compaction (erasure, disposal) never fails for meeting the checkpoint
// thread's own checkpoint: it waits for it.
TEST_F(SqliteBackendTest, CompactWaitsForTheCheckpointThread) {
  // A checkpoint after nearly every write.
  auto opened = OpenCheckpointing(DbPath(), 2, 8000);
  ASSERT_NE(opened, nullptr);
  SqliteBackend& db = *opened;
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int i = 0; !stop; ++i)
      ASSERT_TRUE(PutOne(db, "k" + std::to_string(i % 50),
                         std::string(8000, static_cast<char>('a' + i % 26)))
                      .ok());
  });
  // At least 100 compactions, among at least 100 of the thread's
  // checkpoints: a pause after each lets the thread run.
  int failed = 0;
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (int i = 0; (i < 100 || db.background_checkpoints() < 100) &&
                  std::chrono::steady_clock::now() < deadline;
       ++i) {
    failed += !db.Compact().ok();
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  stop = true;
  writer.join();
  EXPECT_EQ(failed, 0);
  EXPECT_GE(db.background_checkpoints(), 100u);
}

}  // namespace
}  // namespace piivault::storage::testing
