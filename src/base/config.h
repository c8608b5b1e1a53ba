// The deployment configuration (piivault.toml). Relative paths in the file
// are resolved against the directory that holds it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"

namespace piivault {

struct RegionConfig {
  std::string id;
  std::vector<std::string> countries;  // ISO 3166-1 alpha-2, uppercase
  std::string backend;                 // storage URL, e.g. "sqlite://eu.db"
};

struct ServerConfig {
  std::string host = "127.0.0.1";
  uint16_t port = 8200;
  int threads = 0;  // 0: cli::ServerThreads decides
  // Threads for the handlers that may block (writes, scans, streams). Each
  // blocked writer joins the store's next group commit, so more of them
  // under concurrent writes means fewer, larger commits.
  int handler_threads = 64;
  std::size_t body_limit = 1 << 20;
  std::chrono::seconds read_timeout{30};
  // Open client connections at most; more wait in the listen backlog until
  // one closes. Keep it below the open-file limit (ulimit -n).
  int max_connections = 1024;
  std::string tls_cert;  // both empty: plain HTTP (loopback only)
  std::string tls_key;
};

// [limits]: token buckets of the API (api/rate_limiter.h); each rate is per
// minute, each burst what may be spent at once. They cannot be turned off.
struct LimitsConfig {
  int failed_auth_per_minute = 20;  // 401s per client address (IPv6: /64)
  int failed_auth_burst = 20;
  int denied_per_minute = 60;  // 403 permission_denied per identity
  int denied_burst = 60;
};

// [webhooks]: delivery of notices to tenants' webhooks
// (compliance/webhook_dispatcher.h).
struct WebhooksConfig {
  int max_attempts = 10;  // tries of a notice before it is a dead letter
  std::chrono::seconds retry_backoff{5};  // after the first failed try
  std::chrono::seconds max_backoff{3600};
  std::chrono::seconds timeout{10};  // of each step of one delivery
  std::chrono::seconds lease{60};    // a killed node's round resumes after
  std::chrono::seconds interval{1};  // how often due notices are looked for
  int workers = 4;                   // tenants delivered to at once
  std::string ca_file;  // trust this CA for receivers (empty: the system's)
};

// [tenants] return_period, and the return_period of a terminate request
// (API.md): how long a terminating tenant has to take its data back before
// it is disposed of. Shorter than a day leaves no time to export (disposal
// earlier is the explicit dispose, with the tenant's confirmation); longer
// than a year keeps data of a customer that has left for too long.
inline constexpr std::chrono::seconds kMinReturnPeriod = std::chrono::days(1);
inline constexpr std::chrono::seconds kMaxReturnPeriod = std::chrono::days(365);

// [log] level: exactly these names, the threshold of the stderr log.
enum class LogLevel { kTrace, kDebug, kInfo, kWarn, kError, kCritical, kOff };

struct Config {
  std::string dir;  // directory of the config file, absolute
  ServerConfig server;
  std::string master_key_file;  // seal type "file"
  std::string control_backend;
  std::vector<RegionConfig> regions;   // ascending by id
  std::size_t storage_pool_size = 16;  // per PostgreSQL backend
  // [storage] sqlite_cache_kib: the page cache of each SQLite connection (a
  // store keeps its writer and up to 16 idle readers open).
  int storage_sqlite_cache_kib = 8192;
  // [storage] statement_timeout: a PostgreSQL statement running (or waiting
  // for a lock) longer is cancelled, and the request answers 503; zero: none.
  std::chrono::seconds storage_statement_timeout{5};
  // [storage] pool_wait_timeout: longest wait for a free PostgreSQL
  // connection before the request answers 503.
  std::chrono::seconds storage_pool_wait_timeout{2};
  // [audit] retention; none: audit logs are kept whole.
  std::optional<std::chrono::seconds> audit_retention;
  LimitsConfig limits;
  LogLevel log_level = LogLevel::kInfo;
  // [scheduler] interval: how often `serve` looks for due jobs
  // (lifecycle/scheduler.h); 1 s to 1 h.
  std::chrono::seconds scheduler_interval{1};
  // [retention] interval: how often collections' retention passes run
  // (lifecycle/retention.h); 1 min to 1 day.
  std::chrono::seconds retention_interval{3600};
  // [tenants] return_period: when a terminate request names none.
  std::chrono::seconds tenant_return_period = std::chrono::days(30);
  WebhooksConfig webhooks;
  // [compliance] sub_processor_notice_period: how far ahead of its
  // effective_at a sub-processor change must be announced (1 to 365 days).
  std::chrono::seconds sub_processor_notice_period = std::chrono::days(30);
  // [compliance] incident_notice_deadline: by when after detection each
  // affected tenant must be told of an incident (1 hour to 30 days).
  std::chrono::seconds incident_notice_deadline = std::chrono::hours(72);
};

// Parses TOML text. `dir` is where relative paths resolve.
Result<Config> ParseConfig(std::string_view toml_text, std::string dir);
Result<Config> LoadConfigFile(const std::string& path);

// The piivault.toml that `piivault init` writes.
std::string DefaultConfigToml();

// Makes `path` absolute relative to `dir`.
std::string ResolvePath(const std::string& dir, const std::string& path);

// Parses "HOST:PORT" ("[::1]:8200" for IPv6) into server.host/port.
Status ParseListenAddress(std::string_view listen, ServerConfig& server);

// Region ids: 1-32 characters of a-z, 0-9 and '-'.
bool IsRegionId(std::string_view id);

}  // namespace piivault
