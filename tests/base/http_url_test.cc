// ParseHttpUrl and IsLoopbackHost: what the HTTP clients connect to, and
// which hosts plain http may reach.
#include "base/http_url.h"

#include <gtest/gtest.h>

namespace piivault {
namespace {

TEST(HttpUrlTest, SplitsSchemeHostPortAndTarget) {
  auto u = ParseHttpUrl("https://hooks.example.com:8443/a/b?x=1");
  ASSERT_TRUE(u.has_value());
  EXPECT_TRUE(u->tls);
  EXPECT_EQ(u->host, "hooks.example.com");
  EXPECT_EQ(u->port, "8443");
  EXPECT_EQ(u->target, "/a/b?x=1");

  auto plain = ParseHttpUrl("http://127.0.0.1");
  ASSERT_TRUE(plain.has_value());
  EXPECT_FALSE(plain->tls);
  EXPECT_EQ(plain->port, "80");
  EXPECT_EQ(plain->target, "/");
  EXPECT_EQ(ParseHttpUrl("https://h.example")->port, "443");
  EXPECT_EQ(ParseHttpUrl("https://h.example?q")->target, "/?q");

  auto v6 = ParseHttpUrl("http://[::1]:9/x");
  ASSERT_TRUE(v6.has_value());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, "9");
}

TEST(HttpUrlTest, RefusesWhatIsNotAPlainHttpUrl) {
  for (const char* bad :
       {"ftp://h.example/", "h.example/", "https://", "https:///x",
        "https://u:p@h.example/", "https://h.example/#f",
        "https://h.example:0/", "https://h.example:65536/",
        "https://h.example:/", "https://h ex/", "https://h.example/\x01",
        "https://::1/", "https://[::1/", "https://h_ex.example/"}) {
    auto u = ParseHttpUrl(bad);
    EXPECT_FALSE(u.has_value()) << bad;
    if (!u) {
      EXPECT_EQ(u.error().code(), StatusCode::kInvalidArgument);
      // The message never echoes the URL.
      EXPECT_EQ(u.error().message().find("h.example"), std::string::npos);
    }
  }
}

TEST(HttpUrlTest, LoopbackOnlyByItsVeryForm) {
  for (const char* yes :
       {"localhost", "127.0.0.1", "127.1.2.3", "::1", "[::1]"})
    EXPECT_TRUE(IsLoopbackHost(yes)) << yes;
  for (const char* no :
       {"127.example.com", "127.0.0.1.example.com", "10.0.0.1", "128.0.0.1",
        "127.0.0", "127.0.0.256", "localhost.", "0.0.0.0", "::", ""})
    EXPECT_FALSE(IsLoopbackHost(no)) << no;
}

}  // namespace
}  // namespace piivault
