#include "base/config.h"

#include <toml++/toml.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "base/clock.h"

namespace piivault {
namespace {

Status ConfigError(std::string msg) {
  return InvalidArgument("config: " + std::move(msg));
}

// The whole number at `node` (named `key` in messages) in lo..hi, or
// `fallback` when absent. Not a number, a fraction or out of range:
// a config error.
Result<int64_t> WholeNumber(toml::node_view<toml::node> node,
                            std::string_view key, int64_t lo, int64_t hi,
                            int64_t fallback) {
  if (!node) return fallback;
  auto n = node.value_exact<int64_t>();
  if (!n || *n < lo || *n > hi)
    return Err(ConfigError(std::string(key) + " must be a whole number in " +
                           std::to_string(lo) + ".." + std::to_string(hi)));
  return *n;
}

// An ISO 8601 duration within lo..hi (`bounds` says which, for the
// operator, `example` shows one); `fallback` when absent.
Result<std::chrono::seconds> BoundedDuration(
    toml::node_view<toml::node> node, std::string_view key,
    std::chrono::seconds lo, std::chrono::seconds hi, std::string_view bounds,
    std::string_view example, std::chrono::seconds fallback) {
  if (!node) return fallback;
  auto text = node.value<std::string>();
  auto d = text ? ParseIsoDuration(*text) : std::nullopt;
  if (!d || *d < lo || *d > hi)
    return Err(ConfigError(std::string(key) + " must be an ISO 8601 duration " +
                           std::string(bounds) + ", such as \"" +
                           std::string(example) + "\""));
  return *d;
}

// Each rate and burst is a whole number in 1..1000000 (limits cannot be
// turned off); a burst left out is one minute's worth of its rate.
Status ParseLimits(toml::node_view<toml::node> limits, LimitsConfig& out) {
  if (limits && !limits.is_table())
    return ConfigError("limits must be a table");
  auto read = [&](const char* name, int& value, int fallback) -> Status {
    PV_ASSIGN_OR_RETURN(
        int64_t n, WholeNumber(limits[name], std::string("limits.") + name, 1,
                               1'000'000, fallback));
    value = static_cast<int>(n);
    return Status::Ok();
  };
  PV_RETURN_IF_ERROR(read("failed_auth_per_minute", out.failed_auth_per_minute,
                          out.failed_auth_per_minute));
  PV_RETURN_IF_ERROR(read("failed_auth_burst", out.failed_auth_burst,
                          out.failed_auth_per_minute));
  PV_RETURN_IF_ERROR(
      read("denied_per_minute", out.denied_per_minute, out.denied_per_minute));
  PV_RETURN_IF_ERROR(
      read("denied_burst", out.denied_burst, out.denied_per_minute));
  return Status::Ok();
}

constexpr std::array<std::pair<std::string_view, LogLevel>, 7> kLogLevels{{
    {"trace", LogLevel::kTrace},
    {"debug", LogLevel::kDebug},
    {"info", LogLevel::kInfo},
    {"warn", LogLevel::kWarn},
    {"error", LogLevel::kError},
    {"critical", LogLevel::kCritical},
    {"off", LogLevel::kOff},
}};

// A misspelt level must not pass: spdlog reads any unknown name as "off",
// which would silently drop every log line, the access log included.
Result<LogLevel> ParseLogLevel(const toml::node_view<toml::node>& node) {
  if (!node) return LogLevel::kInfo;
  if (auto name = node.value<std::string>())
    for (auto& [n, level] : kLogLevels)
      if (n == *name) return level;
  return Err(ConfigError(
      "log.level must be one of trace, debug, info, warn, error, critical, "
      "off"));
}

}  // namespace

std::string ResolvePath(const std::string& dir, const std::string& path) {
  if (path.empty() || path.front() == '/') return path;
  return (std::filesystem::path(dir) / path).lexically_normal().string();
}

Status ParseListenAddress(std::string_view listen, ServerConfig& server) {
  auto colon = listen.rfind(':');
  if (colon == std::string_view::npos || colon == 0)
    return ConfigError("server.listen must be HOST:PORT");
  std::string host(listen.substr(0, colon));
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  std::string_view port_text = listen.substr(colon + 1);
  int port = -1;
  auto [end, ec] = std::from_chars(port_text.data(),
                                   port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() ||
      port < 0 || port > 65535)
    return ConfigError("server.listen has an invalid port");
  server.host = std::move(host);
  server.port = static_cast<uint16_t>(port);
  return Status::Ok();
}

bool IsRegionId(std::string_view id) {
  if (id.empty() || id.size() > 32) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

Result<Config> ParseConfig(std::string_view toml_text, std::string dir) {
  toml::table tbl;
  try {
    tbl = toml::parse(toml_text);
  } catch (const toml::parse_error& e) {
    std::ostringstream msg;
    msg << "invalid TOML at line " << e.source().begin.line << ": "
        << e.description();
    return Err(ConfigError(msg.str()));
  }
  Config cfg;
  cfg.dir = std::move(dir);

  if (auto* server = tbl["server"].as_table()) {
    auto& s = cfg.server;
    if (auto listen = (*server)["listen"].value<std::string>())
      PV_RETURN_IF_ERROR(ParseListenAddress(*listen, s));
    s.threads = (*server)["threads"].value_or(0);
    if (s.threads < 0 || s.threads > 256)
      return Err(ConfigError("server.threads must be 0..256"));
    PV_ASSIGN_OR_RETURN(
        int64_t handlers,
        WholeNumber((*server)["handler_threads"], "server.handler_threads", 1,
                    1024, s.handler_threads));
    s.handler_threads = static_cast<int>(handlers);
    int64_t limit = (*server)["body_limit"].value_or(int64_t{1} << 20);
    if (limit < 1024) return Err(ConfigError("server.body_limit too small"));
    s.body_limit = static_cast<std::size_t>(limit);
    PV_ASSIGN_OR_RETURN(
        int64_t connections,
        WholeNumber((*server)["max_connections"], "server.max_connections", 1,
                    1'000'000, s.max_connections));
    s.max_connections = static_cast<int>(connections);
    if (auto t = (*server)["read_timeout"].value<std::string>()) {
      auto d = ParseIsoDuration(*t);
      if (!d || d->count() <= 0)
        return Err(
            ConfigError("server.read_timeout must be an ISO 8601 duration"));
      s.read_timeout = *d;
    }
    s.tls_cert =
        ResolvePath(cfg.dir, (*server)["tls_cert"].value_or(std::string()));
    s.tls_key =
        ResolvePath(cfg.dir, (*server)["tls_key"].value_or(std::string()));
    if (s.tls_cert.empty() != s.tls_key.empty())
      return Err(ConfigError("server.tls_cert and server.tls_key go together"));
  }

  std::string seal_type = tbl["seal"]["type"].value_or(std::string("file"));
  if (seal_type != "file")
    return Err(ConfigError("seal.type must be \"file\""));
  auto key_file = tbl["seal"]["path"].value<std::string>();
  if (!key_file) return Err(ConfigError("seal.path is required"));
  cfg.master_key_file = ResolvePath(cfg.dir, *key_file);

  auto control = tbl["control"]["backend"].value<std::string>();
  if (!control) return Err(ConfigError("control.backend is required"));
  cfg.control_backend = *control;

  auto* regions = tbl["regions"].as_table();
  if (!regions || regions->empty())
    return Err(ConfigError("at least one [regions.<id>] is required"));
  std::set<std::string> backends;
  std::map<std::string, std::string> country_region;
  for (auto& [id, node] : *regions) {
    auto* r = node.as_table();
    if (!r)
      return Err(
          ConfigError("regions." + std::string(id.str()) + " must be a table"));
    RegionConfig region;
    region.id = std::string(id.str());
    if (!IsRegionId(region.id))
      return Err(ConfigError("region id \"" + region.id +
                             "\" must be 1-32 of a-z, 0-9 and '-'"));
    auto backend = (*r)["backend"].value<std::string>();
    if (!backend)
      return Err(ConfigError("regions." + region.id + ".backend is required"));
    region.backend = *backend;
    if (!backends.insert(region.backend).second ||
        region.backend == cfg.control_backend)
      return Err(ConfigError("regions." + region.id +
                             ".backend is shared with another store"));
    if (auto* countries = (*r)["countries"].as_array()) {
      for (auto& c : *countries) {
        auto code = c.value<std::string>();
        if (!code || code->size() != 2 || !std::isupper((*code)[0]) ||
            !std::isupper((*code)[1]))
          return Err(ConfigError("regions." + region.id +
                                 ".countries must be ISO 3166 alpha-2 codes"));
        // A country in two regions would make the locations report ambiguous.
        auto [it, fresh] = country_region.emplace(*code, region.id);
        if (!fresh)
          return Err(ConfigError("country " + *code +
                                 " is mapped to both regions." + it->second +
                                 " and regions." + region.id));
        region.countries.push_back(*code);
      }
    }
    if (region.countries.empty())
      return Err(
          ConfigError("regions." + region.id + ".countries is required"));
    cfg.regions.push_back(std::move(region));
  }
  PV_ASSIGN_OR_RETURN(int64_t pool,
                      WholeNumber(tbl["storage"]["pool_size"],
                                  "storage.pool_size", 1, 1024, 16));
  cfg.storage_pool_size = static_cast<std::size_t>(pool);
  PV_ASSIGN_OR_RETURN(
      int64_t cache_kib,
      WholeNumber(tbl["storage"]["sqlite_cache_kib"],
                  "storage.sqlite_cache_kib", 64, 1 << 20, 8192));
  cfg.storage_sqlite_cache_kib = static_cast<int>(cache_kib);
  using std::chrono::days;
  using std::chrono::hours;
  using std::chrono::minutes;
  using std::chrono::seconds;
  // Every bounded duration setting: where it goes, its bounds, an example.
  struct Setting {
    const char* section;
    const char* name;
    seconds* slot;
    seconds lo, hi;
    const char* bounds;
    const char* example;
  };
  for (const Setting& d : {
           Setting{"storage", "statement_timeout",
                   &cfg.storage_statement_timeout, seconds(0), hours(1),
                   "of at most one hour (\"PT0S\": none)", "PT5S"},
           Setting{"storage", "pool_wait_timeout",
                   &cfg.storage_pool_wait_timeout, seconds(1), hours(1),
                   "of at most one hour", "PT2S"},
           Setting{"scheduler", "interval", &cfg.scheduler_interval, seconds(1),
                   hours(1), "from one second to one hour", "PT1S"},
           Setting{"retention", "interval", &cfg.retention_interval, minutes(1),
                   days(1), "from one minute to one day", "PT1H"},
           Setting{"tenants", "return_period", &cfg.tenant_return_period,
                   kMinReturnPeriod, kMaxReturnPeriod,
                   "from one day to 365 days", "P30D"},
           Setting{"webhooks", "retry_backoff", &cfg.webhooks.retry_backoff,
                   seconds(1), days(1), "from one second to one day", "PT5S"},
           Setting{"webhooks", "max_backoff", &cfg.webhooks.max_backoff,
                   seconds(1), days(1), "from one second to one day", "PT1H"},
           Setting{"webhooks", "timeout", &cfg.webhooks.timeout, seconds(1),
                   minutes(5), "from one second to five minutes", "PT10S"},
           Setting{"webhooks", "lease", &cfg.webhooks.lease, seconds(1),
                   hours(1), "from one second to one hour", "PT1M"},
           Setting{"webhooks", "interval", &cfg.webhooks.interval, seconds(1),
                   hours(1), "from one second to one hour", "PT1S"},
           Setting{"compliance", "sub_processor_notice_period",
                   &cfg.sub_processor_notice_period, days(1), days(365),
                   "from one day to 365 days", "P30D"},
           Setting{"compliance", "incident_notice_deadline",
                   &cfg.incident_notice_deadline, hours(1), days(30),
                   "from one hour to 30 days", "PT72H"},
       }) {
    PV_ASSIGN_OR_RETURN(
        *d.slot, BoundedDuration(tbl[d.section][d.name],
                                 std::string(d.section) + "." + d.name, d.lo,
                                 d.hi, d.bounds, d.example, *d.slot));
  }
  if (auto retention = tbl["audit"]["retention"]) {
    PV_ASSIGN_OR_RETURN(
        cfg.audit_retention,
        BoundedDuration(retention, "audit.retention", days(1), seconds::max(),
                        "of at least one day", "P400D", seconds(0)));
  }
  PV_ASSIGN_OR_RETURN(int64_t attempts,
                      WholeNumber(tbl["webhooks"]["max_attempts"],
                                  "webhooks.max_attempts", 1, 100, 10));
  cfg.webhooks.max_attempts = static_cast<int>(attempts);
  PV_ASSIGN_OR_RETURN(
      int64_t workers,
      WholeNumber(tbl["webhooks"]["workers"], "webhooks.workers", 1, 256, 4));
  cfg.webhooks.workers = static_cast<int>(workers);
  cfg.webhooks.ca_file =
      ResolvePath(cfg.dir, tbl["webhooks"]["ca_file"].value_or(std::string()));
  PV_RETURN_IF_ERROR(ParseLimits(tbl["limits"], cfg.limits));
  PV_ASSIGN_OR_RETURN(cfg.log_level, ParseLogLevel(tbl["log"]["level"]));
  return cfg;
}

Result<Config> LoadConfigFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Err(FailedPrecondition("cannot read config file " + path));
  std::ostringstream text;
  text << in.rdbuf();
  auto abs = std::filesystem::absolute(path);
  return ParseConfig(text.str(), abs.parent_path().string());
}

std::string DefaultConfigToml() {
  return R"(# piivault deployment configuration.
# Relative paths are resolved against this file's directory.

[server]
# Plain HTTP is allowed on loopback addresses only; set tls_cert and tls_key
# (init wrote a self-signed pair for localhost) to serve TLS.
listen = "127.0.0.1:8200"
threads = 0                 # 0: one per core (+ pool_size with PostgreSQL)
handler_threads = 64        # for writes and scans: concurrent writes share commits
body_limit = 1048576        # bytes; larger requests get 413
read_timeout = "PT30S"      # idle and slow clients are closed after this
max_connections = 1024      # more wait in the backlog; keep below ulimit -n
# tls_cert = "tls/cert.pem"
# tls_key = "tls/key.pem"

[seal]
type = "file"
path = "master.key"         # 32 random bytes, mode 0600

[control]
# Tenants, identities, keyrings, schemas and registers.
backend = "sqlite://control.db"

# Each region keeps its principals' data in its own backend only.
[regions.eu]
countries = ["AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK"]
backend = "sqlite://eu.db"

[regions.us]
countries = ["US"]
backend = "sqlite://us.db"

[storage]
pool_size = 16              # connections per PostgreSQL backend
statement_timeout = "PT5S"  # a slower PostgreSQL statement answers 503
pool_wait_timeout = "PT2S"  # so does a wait this long for a free connection
sqlite_cache_kib = 8192     # page cache per SQLite connection (17 per store)

[audit]
# How long audit events are kept (ISO 27018 12.4.2). Unset: for the life of
# the deployment. Expired events are removed in whole bundles of 256 behind a
# signed checkpoint; heads and proofs stay valid (docs/operations/audit.md).
# retention = "P400D"

[scheduler]
# How often each serve process looks for due jobs (tenant disposal,
# retention); every node may, a lease lets one run each job
# (docs/operations/scheduler.md).
interval = "PT1S"

[retention]
# How often records older than their collection's retention (since their
# last update) are disposed of (docs/operations/retention.md).
interval = "PT1H"

[tenants]
# How long a terminated tenant may still read and export its data before it
# is disposed of, when the terminate request names no return_period; one day
# to 365 days (docs/operations/termination.md).
return_period = "P30D"

[webhooks]
# Notices to tenants (disclosures, sub-processor changes, breaches) are
# POSTed to each tenant's webhook, signed, at least once; a failed try is
# retried after a backoff doubling from retry_backoff to max_backoff, and a
# notice is a dead letter after max_attempts tries (docs/operations/webhooks.md).
max_attempts = 10
retry_backoff = "PT5S"
max_backoff = "PT1H"
timeout = "PT10S"           # a slower receiver fails the try
lease = "PT1M"              # a killed node's deliveries resume after this
workers = 4                 # tenants delivered to at once by each node
# ca_file = "webhook-ca.pem"  # trust this CA for receivers (default: system)

[compliance]
# How far ahead a new or changed sub-processor must be announced to the
# tenants with data in its regions (one day to 365 days), and by when after
# an incident's detection each affected tenant must be notified (one hour to
# 30 days) (docs/operations/sub-processors-and-incidents.md).
sub_processor_notice_period = "P30D"
incident_notice_deadline = "PT72H"

[limits]
# Failed authentications (401) per client address (IPv6: per /64). Once the
# burst is spent, every request from the address gets 429 rate_limited with
# Retry-After, a valid key included, until the rate has earned a unit back.
# Behind a proxy all clients share the proxy's address.
failed_auth_per_minute = 20
failed_auth_burst = 20
# 403 permission_denied answers per identity. Once spent, the identity's
# requests get 429 without running and without an audit event. Limits cannot
# be turned off; each value is 1..1000000.
denied_per_minute = 60
denied_burst = 60

[log]
level = "info"              # trace, debug, info, warn, error, critical or off
)";
}

}  // namespace piivault
