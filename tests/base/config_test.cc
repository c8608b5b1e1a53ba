#include "base/config.h"

#include <gtest/gtest.h>

#include <string>

namespace piivault {
namespace {

// The config `piivault init` writes, with the audit retention line set.
Result<Config> WithRetention(const std::string& line) {
  std::string toml = DefaultConfigToml();
  const std::string commented = "# retention = \"P400D\"";
  auto at = toml.find(commented);
  EXPECT_NE(at, std::string::npos);
  toml.replace(at, commented.size(), line);
  return ParseConfig(toml, "/tmp");
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

}  // namespace
}  // namespace piivault
