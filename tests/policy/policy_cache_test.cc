// The parsed-policy cache: one parse per identity and policy document, and
// a changed document is parsed again at once, so an edit applies to the
// very next request.
#include "policy/policy_cache.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace piivault::policy {
namespace {

namespace json = boost::json;

json::value Doc(std::string_view transform) {
  return json::parse(
      R"({"rules":[{"purposes":["service_delivery"],"collections":["people"],)"
      R"("fields":["email"],"actions":["read"],"transform":")" +
      std::string(transform) + R"("}]})");
}

Transform EmailTransform(const AccessPolicy& policy) {
  auto grant =
      policy.Evaluate(Action::kRead, "service_delivery", "people", {"email"});
  EXPECT_TRUE(grant.has_value());
  return grant ? grant->fields.at("email") : Transform::kMask;
}

TEST(PolicyCacheTest, ReusesTheParseUntilTheDocumentChanges) {
  PolicyCache cache;
  auto first = cache.Get("id_app", Doc("plain"));
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(EmailTransform(**first), Transform::kPlain);
  auto again = cache.Get("id_app", Doc("plain"));
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->get(), first->get());  // not parsed again

  auto edited = cache.Get("id_app", Doc("mask"));
  ASSERT_TRUE(edited.has_value());
  EXPECT_NE(edited->get(), first->get());
  EXPECT_EQ(EmailTransform(**edited), Transform::kMask);
  // Another identity with the first document gets its own entry.
  auto other = cache.Get("id_other", Doc("plain"));
  ASSERT_TRUE(other.has_value());
  EXPECT_EQ(EmailTransform(**other), Transform::kPlain);
  EXPECT_EQ(EmailTransform(**cache.Get("id_app", Doc("mask"))),
            Transform::kMask);
}

TEST(PolicyCacheTest, InvalidDocumentsAreErrorsAndNotCached) {
  PolicyCache cache;
  json::value bad = json::parse(R"({"rules":[{"actions":["fly"]}]})");
  auto r = cache.Get("id_app", bad);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(cache.Get("id_app", bad).has_value());
  EXPECT_TRUE(cache.Get("id_app", Doc("plain")).has_value());
}

// Past its capacity the cache starts over; every lookup still answers the
// identity's own current policy.
TEST(PolicyCacheTest, ManyIdentitiesEachGetTheirOwnPolicy) {
  PolicyCache cache;
  for (int i = 0; i < 10'000; ++i) {
    std::string transform = i % 2 ? "plain" : "mask";
    auto p = cache.Get("id_" + std::to_string(i), Doc(transform));
    ASSERT_TRUE(p.has_value());
    ASSERT_EQ(EmailTransform(**p),
              i % 2 ? Transform::kPlain : Transform::kMask);
  }
  EXPECT_EQ(EmailTransform(**cache.Get("id_1", Doc("plain"))),
            Transform::kPlain);
}

}  // namespace
}  // namespace piivault::policy
