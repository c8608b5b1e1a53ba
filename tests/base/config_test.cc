#include "base/config.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace piivault {
namespace {

// The config `piivault init` writes, with its line starting `original`
// replaced by `line`.
Result<Config> Replacing(const std::string& original, const std::string& line) {
  std::string toml = DefaultConfigToml();
  auto at = toml.find("\n" + original);
  EXPECT_NE(at, std::string::npos) << original;
  if (at == std::string::npos) return Err(Internal("no such line"));
  ++at;
  toml.replace(at, toml.find('\n', at) - at, line);
  return ParseConfig(toml, "/tmp");
}

// The config `piivault init` writes, with the audit retention line set.
Result<Config> WithRetention(const std::string& line) {
  return Replacing("# retention = \"P400D\"", line);
}

TEST(ConfigTest, AuditLogsAreKeptWholeUnlessARetentionIsSet) {
  auto config = ParseConfig(DefaultConfigToml(), "/tmp");
  ASSERT_TRUE(config.has_value()) << config.error().ToString();
  EXPECT_FALSE(config->audit_retention.has_value());
  auto set = WithRetention("retention = \"P400D\"");
  ASSERT_TRUE(set.has_value()) << set.error().ToString();
  EXPECT_EQ(set->audit_retention, std::chrono::days(400));
}

TEST(ConfigTest, AuditRetentionMustBeADurationOfAtLeastADay) {
  for (std::string bad : {"retention = \"PT1H\"", "retention = \"400 days\"",
                          "retention = 400", "retention = \"P0D\""}) {
    auto config = WithRetention(bad);
    ASSERT_FALSE(config.has_value()) << bad;
    EXPECT_NE(config.error().message().find("audit.retention"),
              std::string::npos)
        << config.error().ToString();
  }
}

// The config `piivault init` writes, with its max_connections line replaced.
Result<Config> WithMaxConnections(const std::string& line) {
  return Replacing("max_connections = 1024", line);
}

TEST(ConfigTest, MaxConnectionsDefaultsTo1024AndMustBePositive) {
  auto config = ParseConfig(DefaultConfigToml(), "/tmp");
  ASSERT_TRUE(config.has_value()) << config.error().ToString();
  EXPECT_EQ(config->server.max_connections, 1024);
  auto set = WithMaxConnections("max_connections = 8");
  ASSERT_TRUE(set.has_value()) << set.error().ToString();
  EXPECT_EQ(set->server.max_connections, 8);
  auto unset = WithMaxConnections("");
  ASSERT_TRUE(unset.has_value()) << unset.error().ToString();
  EXPECT_EQ(unset->server.max_connections, 1024);
  for (std::string bad :
       {"max_connections = 0", "max_connections = -5",
        "max_connections = \"many\"", "max_connections = 1.5"}) {
    auto config = WithMaxConnections(bad);
    ASSERT_FALSE(config.has_value()) << bad;
    EXPECT_NE(config.error().message().find("server.max_connections"),
              std::string::npos)
        << config.error().ToString();
  }
}

TEST(ConfigTest, HandlerThreadsDefaultTo64AndAreBounded) {
  auto config = ParseConfig(DefaultConfigToml(), "/tmp");
  ASSERT_TRUE(config.has_value()) << config.error().ToString();
  EXPECT_EQ(config->server.handler_threads, 64);
  auto set = Replacing("handler_threads = 64", "handler_threads = 8");
  ASSERT_TRUE(set.has_value()) << set.error().ToString();
  EXPECT_EQ(set->server.handler_threads, 8);
  auto unset = Replacing("handler_threads = 64", "");
  ASSERT_TRUE(unset.has_value()) << unset.error().ToString();
  EXPECT_EQ(unset->server.handler_threads, 64);
  for (std::string bad : {"handler_threads = 0", "handler_threads = 1025",
                          "handler_threads = \"many\""}) {
    auto config = Replacing("handler_threads = 64", bad);
    ASSERT_FALSE(config.has_value()) << bad;
    EXPECT_NE(config.error().message().find("server.handler_threads"),
              std::string::npos)
        << config.error().ToString();
  }
}

// The config `piivault init` writes, with the body of its [name] table
// replaced.
Result<Config> WithTable(const std::string& name, const std::string& body) {
  std::string toml = DefaultConfigToml();
  const auto at = toml.find("[" + name + "]");
  const auto end = toml.find("\n[", at + 1);
  EXPECT_NE(at, std::string::npos);
  EXPECT_NE(end, std::string::npos);
  toml.replace(at, end + 1 - at, "[" + name + "]\n" + body + "\n");
  return ParseConfig(toml, "/tmp");
}
Result<Config> WithStorage(const std::string& section) {
  return WithTable("storage", section);
}

TEST(ConfigTest, PostgresTimeoutsHaveDefaultsAndCanBeSet) {
  auto defaults = WithStorage("");
  ASSERT_TRUE(defaults.has_value()) << defaults.error().ToString();
  EXPECT_EQ(defaults->storage_statement_timeout, std::chrono::seconds(5));
  EXPECT_EQ(defaults->storage_pool_wait_timeout, std::chrono::seconds(2));
  auto written = ParseConfig(DefaultConfigToml(), "/tmp");
  ASSERT_TRUE(written.has_value()) << written.error().ToString();
  EXPECT_EQ(written->storage_statement_timeout, std::chrono::seconds(5));
  EXPECT_EQ(written->storage_pool_wait_timeout, std::chrono::seconds(2));
  auto set = WithStorage(
      "statement_timeout = \"PT30S\"\npool_wait_timeout = \"PT1S\"");
  ASSERT_TRUE(set.has_value()) << set.error().ToString();
  EXPECT_EQ(set->storage_statement_timeout, std::chrono::seconds(30));
  EXPECT_EQ(set->storage_pool_wait_timeout, std::chrono::seconds(1));
  auto none = WithStorage("statement_timeout = \"PT0S\"");
  ASSERT_TRUE(none.has_value()) << none.error().ToString();
  EXPECT_EQ(none->storage_statement_timeout, std::chrono::seconds(0));
}

// [storage] sqlite_cache_kib bounds the server's memory for SQLite stores.
TEST(ConfigTest, SqliteCacheSizeHasADefaultAndBounds) {
  auto defaults = WithStorage("");
  ASSERT_TRUE(defaults.has_value()) << defaults.error().ToString();
  EXPECT_EQ(defaults->storage_sqlite_cache_kib, 8192);
  auto set = WithStorage("sqlite_cache_kib = 1024");
  ASSERT_TRUE(set.has_value()) << set.error().ToString();
  EXPECT_EQ(set->storage_sqlite_cache_kib, 1024);
  for (std::string bad : {"sqlite_cache_kib = 63", "sqlite_cache_kib = \"8M\"",
                          "sqlite_cache_kib = 2000000"}) {
    auto config = WithStorage(bad);
    ASSERT_FALSE(config.has_value()) << bad;
    EXPECT_NE(config.error().message().find("storage.sqlite_cache_kib"),
              std::string::npos)
        << config.error().ToString();
  }
}

// [scheduler] interval: a second by default, 1 s to 1 h; [retention]
// interval: an hour by default, 1 min to 1 day.
TEST(ConfigTest, IntervalsHaveDefaultsAndBounds) {
  using std::chrono::seconds;
  struct Case {
    std::string section;
    seconds Config::*slot;
    seconds unset;
    std::string set;
    seconds value;
    std::vector<std::string> bad;
  };
  for (const Case& c : {Case{"scheduler",
                             &Config::scheduler_interval,
                             seconds(1),
                             "PT30S",
                             seconds(30),
                             {"interval = 1", "interval = \"PT0S\"",
                              "interval = \"PT2H\"", "interval = \"soon\""}},
                        Case{"retention",
                             &Config::retention_interval,
                             seconds(3600),
                             "PT10M",
                             seconds(600),
                             {"interval = \"PT30S\"", "interval = \"P2D\""}}}) {
    auto unset = WithTable(c.section, "");
    ASSERT_TRUE(unset.has_value()) << unset.error().ToString();
    EXPECT_EQ((*unset).*c.slot, c.unset) << c.section;
    auto set = WithTable(c.section, "interval = \"" + c.set + "\"");
    ASSERT_TRUE(set.has_value()) << set.error().ToString();
    EXPECT_EQ((*set).*c.slot, c.value) << c.section;
    for (const std::string& bad : c.bad) {
      auto config = WithTable(c.section, bad);
      ASSERT_FALSE(config.has_value()) << bad;
      EXPECT_NE(config.error().message().find(c.section + ".interval"),
                std::string::npos)
          << config.error().ToString();
    }
  }
}

TEST(ConfigTest, TenantReturnPeriodDefaultsToThirtyDaysWithinBounds) {
  auto unset = WithTable("tenants", "");
  ASSERT_TRUE(unset.has_value()) << unset.error().ToString();
  EXPECT_EQ(unset->tenant_return_period, std::chrono::days(30));
  auto set = WithTable("tenants", "return_period = \"P90D\"");
  ASSERT_TRUE(set.has_value()) << set.error().ToString();
  EXPECT_EQ(set->tenant_return_period, std::chrono::days(90));
  for (std::string bad :
       {"return_period = 30", "return_period = \"PT23H\"",
        "return_period = \"P366D\"", "return_period = \"a month\""}) {
    auto config = WithTable("tenants", bad);
    ASSERT_FALSE(config.has_value()) << bad;
    EXPECT_NE(config.error().message().find("tenants.return_period"),
              std::string::npos)
        << config.error().ToString();
  }
}

TEST(ConfigTest, WebhookDeliveryHasDefaultsAndBounds) {
  auto unset = WithTable("webhooks", "");
  ASSERT_TRUE(unset.has_value()) << unset.error().ToString();
  EXPECT_EQ(unset->webhooks.max_attempts, 10);
  EXPECT_EQ(unset->webhooks.retry_backoff, std::chrono::seconds(5));
  EXPECT_EQ(unset->webhooks.max_backoff, std::chrono::hours(1));
  EXPECT_EQ(unset->webhooks.timeout, std::chrono::seconds(10));
  EXPECT_EQ(unset->webhooks.lease, std::chrono::minutes(1));
  EXPECT_EQ(unset->webhooks.workers, 4);
  EXPECT_TRUE(unset->webhooks.ca_file.empty());
  auto set = WithTable("webhooks",
                       "max_attempts = 3\nretry_backoff = \"PT1S\"\n"
                       "lease = \"PT2S\"\nca_file = \"ca.pem\"");
  ASSERT_TRUE(set.has_value()) << set.error().ToString();
  EXPECT_EQ(set->webhooks.max_attempts, 3);
  EXPECT_EQ(set->webhooks.retry_backoff, std::chrono::seconds(1));
  EXPECT_EQ(set->webhooks.lease, std::chrono::seconds(2));
  EXPECT_TRUE(set->webhooks.ca_file.ends_with("/ca.pem"));
  for (std::string bad :
       {"max_attempts = 0", "max_attempts = 101", "workers = 0",
        "timeout = \"PT0S\"", "lease = \"P2D\"", "retry_backoff = 5"}) {
    auto config = WithTable("webhooks", bad);
    ASSERT_FALSE(config.has_value()) << bad;
    EXPECT_NE(config.error().message().find("webhooks."), std::string::npos)
        << config.error().ToString();
  }
}

TEST(ConfigTest, ComplianceNoticePeriodsDefaultAndStayWithinBounds) {
  auto unset = WithTable("compliance", "");
  ASSERT_TRUE(unset.has_value()) << unset.error().ToString();
  EXPECT_EQ(unset->sub_processor_notice_period, std::chrono::days(30));
  EXPECT_EQ(unset->incident_notice_deadline, std::chrono::hours(72));
  auto set = WithTable("compliance",
                       "sub_processor_notice_period = \"P60D\"\n"
                       "incident_notice_deadline = \"PT24H\"");
  ASSERT_TRUE(set.has_value()) << set.error().ToString();
  EXPECT_EQ(set->sub_processor_notice_period, std::chrono::days(60));
  EXPECT_EQ(set->incident_notice_deadline, std::chrono::hours(24));
  for (std::string bad : {"sub_processor_notice_period = \"PT23H\"",
                          "sub_processor_notice_period = \"P366D\"",
                          "incident_notice_deadline = \"PT59M\"",
                          "incident_notice_deadline = \"P31D\""}) {
    auto config = WithTable("compliance", bad);
    ASSERT_FALSE(config.has_value()) << bad;
    EXPECT_NE(config.error().message().find("compliance."), std::string::npos)
        << config.error().ToString();
  }
}

TEST(ConfigTest, PostgresTimeoutsMustBeDurations) {
  for (std::string bad :
       {"statement_timeout = 5", "statement_timeout = \"5 s\"",
        "statement_timeout = \"PT2H\"", "pool_wait_timeout = \"PT0S\"",
        "pool_wait_timeout = \"2\""}) {
    auto config = WithStorage(bad);
    ASSERT_FALSE(config.has_value()) << bad;
    EXPECT_NE(config.error().message().find("storage."), std::string::npos)
        << config.error().ToString();
  }
}

TEST(ConfigLimitsTest, DefaultsAndBurstsOfAMinutesWorth) {
  auto written = ParseConfig(DefaultConfigToml(), "/tmp");
  auto empty = WithTable("limits", "");
  for (auto* config : {&written, &empty}) {
    ASSERT_TRUE(config->has_value()) << config->error().ToString();
    EXPECT_EQ((*config)->limits.failed_auth_per_minute, 20);
    EXPECT_EQ((*config)->limits.failed_auth_burst, 20);
    EXPECT_EQ((*config)->limits.denied_per_minute, 60);
    EXPECT_EQ((*config)->limits.denied_burst, 60);
  }
  auto set = WithTable("limits",
                       "failed_auth_per_minute = 5\ndenied_per_minute = 7\n"
                       "denied_burst = 30");
  ASSERT_TRUE(set.has_value()) << set.error().ToString();
  EXPECT_EQ(set->limits.failed_auth_per_minute, 5);
  EXPECT_EQ(set->limits.failed_auth_burst, 5);
  EXPECT_EQ(set->limits.denied_per_minute, 7);
  EXPECT_EQ(set->limits.denied_burst, 30);
}

TEST(ConfigLimitsTest, LimitsCannotBeTurnedOff) {
  for (std::string bad :
       {"failed_auth_per_minute = 0", "failed_auth_burst = -1",
        "denied_per_minute = 1.5", "denied_burst = \"60\"",
        "denied_per_minute = 1000001"}) {
    auto config = WithTable("limits", bad);
    ASSERT_FALSE(config.has_value()) << bad;
    EXPECT_NE(config.error().message().find("limits."), std::string::npos)
        << config.error().ToString();
  }
}

TEST(ConfigTest, LogLevelIsOneOfTheDocumentedNames) {
  auto config = ParseConfig(DefaultConfigToml(), "/tmp");
  ASSERT_TRUE(config.has_value()) << config.error().ToString();
  EXPECT_EQ(config->log_level, LogLevel::kInfo);
  for (auto [name, level] : std::vector<std::pair<std::string, LogLevel>>{
           {"trace", LogLevel::kTrace},
           {"debug", LogLevel::kDebug},
           {"info", LogLevel::kInfo},
           {"warn", LogLevel::kWarn},
           {"error", LogLevel::kError},
           {"critical", LogLevel::kCritical},
           {"off", LogLevel::kOff}}) {
    auto set = Replacing("level = ", "level = \"" + name + "\"");
    ASSERT_TRUE(set.has_value()) << name << ": " << set.error().ToString();
    EXPECT_EQ(set->log_level, level) << name;
  }
}

// spdlog reads any name it does not know as "off": a typo would silently
// turn logging off, the access log included.
TEST(ConfigTest, AnUnknownLogLevelIsAConfigError) {
  for (std::string bad :
       {"level = \"infoo\"", "level = \"INFO\"", "level = \"warning\"",
        "level = \"err\"", "level = \"\"", "level = 2"}) {
    auto config = Replacing("level = ", bad);
    ASSERT_FALSE(config.has_value()) << bad;
    EXPECT_EQ(config.error().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(config.error().message().find("log.level"), std::string::npos)
        << config.error().ToString();
  }
}

}  // namespace
}  // namespace piivault
