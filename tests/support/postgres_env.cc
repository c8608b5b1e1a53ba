#include "support/postgres_env.h"

#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <thread>

namespace piivault::testing {
namespace {

constexpr char kRequired[] =
    "PostgreSQL is required: run the tests through ctest (fixture postgres) "
    "or start a server with `scripts/start-postgres ENVFILE` and set "
    "PIIVAULT_TEST_PG_ENV=ENVFILE";

struct ConnCloser {
  void operator()(PGconn* c) const { PQfinish(c); }
};
struct ResultCloser {
  void operator()(PGresult* r) const { PQclear(r); }
};
using Conn = std::unique_ptr<PGconn, ConnCloser>;
using Result = std::unique_ptr<PGresult, ResultCloser>;

void IgnoreNotice(void*, const char*) {}

PgResult<Conn> Connect(std::string_view url) {
  Conn conn(PQconnectdb(std::string(url).c_str()));
  if (conn == nullptr || PQstatus(conn.get()) != CONNECTION_OK) {
    return std::unexpected(
        std::string("cannot connect to the test PostgreSQL: ") +
        (conn ? PQerrorMessage(conn.get()) : "out of memory"));
  }
  PQsetNoticeProcessor(conn.get(), IgnoreNotice, nullptr);
  return conn;
}

bool Succeeded(const PGresult* r) {
  return r != nullptr && (PQresultStatus(r) == PGRES_COMMAND_OK ||
                          PQresultStatus(r) == PGRES_TUPLES_OK);
}

std::string QueryFailed(PGconn* conn) {
  return std::string("test PostgreSQL query failed: ") + PQerrorMessage(conn);
}

// Runs `sql` with text parameters; the (last) result, or the error. Without
// parameters `sql` may hold several statements.
PgResult<Result> Exec(PGconn* conn, std::string_view sql,
                      const std::vector<std::string>& params = {}) {
  std::vector<const char*> values;
  for (const std::string& p : params) values.push_back(p.c_str());
  const std::string text(sql);
  Result r(params.empty()
               ? PQexec(conn, text.c_str())
               : PQexecParams(conn, text.c_str(),
                              static_cast<int>(values.size()), nullptr,
                              values.data(), nullptr, nullptr, 0));
  if (!Succeeded(r.get())) return std::unexpected(QueryFailed(conn));
  return r;
}

std::string QuoteIdent(PGconn* conn, std::string_view ident) {
  char* quoted = PQescapeIdentifier(conn, ident.data(), ident.size());
  std::string out = quoted == nullptr ? std::string() : quoted;
  PQfreemem(quoted);
  return out;
}

}  // namespace

PgResult<std::string> TestPostgresUrl() {
  const char* env = std::getenv("PIIVAULT_TEST_PG_ENV");
  if (env == nullptr || *env == '\0') {
    return std::unexpected(std::string(kRequired) +
                           " (PIIVAULT_TEST_PG_ENV is not set)");
  }
  std::ifstream in(env);
  if (!in) {
    return std::unexpected(std::string(kRequired) + " (cannot read " + env +
                           ": did postgres_start fail?)");
  }
  constexpr std::string_view kKey = "PIIVAULT_TEST_PG_URL=";
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with(kKey) && line.size() > kKey.size()) {
      return line.substr(kKey.size());
    }
  }
  return std::unexpected(std::string(kRequired) + " (" + env +
                         " has no PIIVAULT_TEST_PG_URL line)");
}

std::string WithDatabase(std::string_view url, std::string_view dbname) {
  const std::size_t scheme = url.find("://");
  const std::size_t authority =
      scheme == std::string_view::npos ? 0 : scheme + 3;
  const std::size_t path = url.find_first_of("/?", authority);
  const std::size_t query = path == std::string_view::npos
                                ? std::string_view::npos
                                : url.find('?', path);
  std::string out(url.substr(0, path));
  out += '/';
  out += dbname;
  if (query != std::string_view::npos) out += url.substr(query);
  return out;
}

PgResult<TestDatabase> CreateTestDatabase(std::string_view server_url) {
  static std::atomic<int> counter{0};
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  TestDatabase db;
  db.name = "pvtest_" + std::to_string(::getpid()) + "_" +
            std::to_string(micros) + "_" + std::to_string(counter++);
  auto conn = Connect(server_url);
  if (!conn) return std::unexpected(conn.error());
  auto r =
      Exec(conn->get(), "CREATE DATABASE " + QuoteIdent(conn->get(), db.name));
  if (!r) return std::unexpected(r.error());
  db.url = WithDatabase(server_url, db.name);
  return db;
}

PgResult<void> DropTestDatabase(std::string_view server_url,
                                std::string_view dbname) {
  auto conn = Connect(server_url);
  if (!conn) return std::unexpected(conn.error());
  auto r =
      Exec(conn->get(), "DROP DATABASE IF EXISTS " +
                            QuoteIdent(conn->get(), dbname) + " WITH (FORCE)");
  if (!r) return std::unexpected(r.error());
  return {};
}

PgResult<std::vector<std::vector<std::string>>> QueryRows(
    std::string_view url, std::string_view sql) {
  auto conn = Connect(url);
  if (!conn) return std::unexpected(conn.error());
  auto r = Exec(conn->get(), sql);
  if (!r) return std::unexpected(r.error());
  std::vector<std::vector<std::string>> rows;
  const PGresult* res = r->get();
  for (int row = 0; row < PQntuples(res); ++row) {
    std::vector<std::string>& cols = rows.emplace_back();
    for (int c = 0; c < PQnfields(res); ++c) {
      cols.emplace_back(PQgetvalue(res, row, c),
                        static_cast<std::size_t>(PQgetlength(res, row, c)));
    }
  }
  return rows;
}

PgResult<int> TerminateConnections(std::string_view server_url,
                                   std::string_view dbname) {
  auto conn = Connect(server_url);
  if (!conn) return std::unexpected(conn.error());
  // The timeout makes pg_terminate_backend wait until the session is gone,
  // so the caller sees its sockets closed.
  auto r =
      Exec(conn->get(),
           "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 10000))"
           " FROM pg_stat_activity"
           " WHERE datname = $1 AND pid <> pg_backend_pid()",
           {std::string(dbname)});
  if (!r) return std::unexpected(r.error());
  return std::atoi(PQgetvalue(r->get(), 0, 0));
}

struct HeldSession::Conn {
  std::unique_ptr<PGconn, ConnCloser> pg;
};

HeldSession::HeldSession(std::unique_ptr<Conn> conn) : conn_(std::move(conn)) {}
HeldSession::~HeldSession() = default;

PgResult<std::unique_ptr<HeldSession>> HeldSession::Start(
    std::string_view url, std::string_view sql) {
  auto conn = Connect(url);
  if (!conn) return std::unexpected(conn.error());
  auto r = Exec(conn->get(), sql);
  if (!r) return std::unexpected(r.error());
  return std::unique_ptr<HeldSession>(
      new HeldSession(std::make_unique<Conn>(Conn{*std::move(conn)})));
}

bool WaitForLockWaiters(std::string_view server_url, std::string_view dbname,
                        std::string_view app, int count,
                        std::chrono::milliseconds wait) {
  auto conn = Connect(server_url);
  if (!conn) return false;
  const auto deadline = std::chrono::steady_clock::now() + wait;
  do {
    auto r = Exec(conn->get(),
                  "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 "
                  "AND application_name = $2 AND wait_event_type = 'Lock'",
                  {std::string(dbname), std::string(app)});
    if (r && std::atoi(PQgetvalue(r->get(), 0, 0)) >= count) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  } while (std::chrono::steady_clock::now() < deadline);
  return false;
}

}  // namespace piivault::testing
