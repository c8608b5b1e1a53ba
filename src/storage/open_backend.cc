#include <memory>
#include <string>
#include <string_view>

#include "storage/backend.h"
#include "storage/memory/memory_backend.h"
#include "storage/postgres/postgres_backend.h"
#include "storage/sqlite/sqlite_backend.h"

namespace piivault::storage {

bool IsNetworkedBackend(std::string_view url) {
  return url.starts_with("postgresql://") || url.starts_with("postgres://");
}

// Error messages never echo the URL: later schemes may carry credentials.
Result<std::unique_ptr<Backend>> OpenBackend(std::string_view url,
                                             const BackendOptions& options) {
  const std::string_view base_dir = options.base_dir;
  if (url == "memory:") {
    return std::unique_ptr<Backend>(std::make_unique<MemoryBackend>());
  }
  constexpr std::string_view kSqlite = "sqlite://";
  if (url.starts_with(kSqlite)) {
    const std::string_view path = url.substr(kSqlite.size());
    if (path.empty()) return Err(InvalidArgument("sqlite URL has no path"));
    std::string full;
    if (path.front() == '/' || base_dir.empty()) {
      full = path;  // "sqlite:///abs/path", or relative to the working dir
    } else {
      full = base_dir;
      if (full.back() != '/') full += '/';
      full += path;
    }
    SqliteBackend::Options sqlite_options;
    sqlite_options.cache_size_kib = options.sqlite_cache_kib;
    PV_ASSIGN_OR_RETURN(std::unique_ptr<SqliteBackend> backend,
                        SqliteBackend::Open(full, sqlite_options));
    return std::unique_ptr<Backend>(std::move(backend));
  }
  if (IsNetworkedBackend(url)) {
    PostgresBackend::Options pg_options;
    pg_options.pool_size = options.pool_size;
    pg_options.pool_wait_timeout = options.pool_wait_timeout;
    pg_options.statement_timeout = options.statement_timeout;
    PV_ASSIGN_OR_RETURN(std::unique_ptr<PostgresBackend> backend,
                        PostgresBackend::Open(url, pg_options));
    return std::unique_ptr<Backend>(std::move(backend));
  }
  return Err(InvalidArgument("unknown storage backend scheme"));
}

}  // namespace piivault::storage
