#include "policy/access_policy.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace piivault::policy {
namespace {

boost::json::value Json(std::string_view text) {
  return boost::json::parse(text);
}

const std::vector<std::string> kFields = {"email", "phone", "ssn"};

TEST(AccessPolicyTest, DefaultDeny) {
  auto none = AccessPolicy::DenyAll();
  EXPECT_FALSE(
      none.Evaluate(Action::kRead, "service_delivery", "users", kFields));
  auto empty = AccessPolicy::Parse(Json(R"({"rules":[]})"));
  ASSERT_TRUE(empty.has_value());
  EXPECT_FALSE(
      empty->Evaluate(Action::kRead, "service_delivery", "users", kFields));
}

TEST(AccessPolicyTest, RuleGrantsOnlyItsPurposeCollectionActionAndFields) {
  auto p = AccessPolicy::Parse(Json(R"({"rules":[
      {"purposes":["service_delivery"],"collections":["users"],
       "fields":["email"],"actions":["read","search"],"transform":"plain"},
      {"purposes":["service_delivery"],"collections":["*"],
       "fields":["phone"],"actions":["read"],"transform":"mask"}]})"));
  ASSERT_TRUE(p.has_value()) << p.error().ToString();
  auto g = p->Evaluate(Action::kRead, "service_delivery", "users", kFields);
  ASSERT_TRUE(g.has_value());
  EXPECT_EQ(g->fields.size(), 2u);
  EXPECT_EQ(g->fields.at("email"), Transform::kPlain);
  EXPECT_EQ(g->fields.at("phone"), Transform::kMask);
  EXPECT_FALSE(g->fields.contains("ssn"));

  EXPECT_FALSE(
      p->Evaluate(Action::kWrite, "service_delivery", "users", kFields));
  EXPECT_FALSE(p->Evaluate(Action::kRead, "analytics", "users", kFields));
  auto other =
      p->Evaluate(Action::kRead, "service_delivery", "orders", kFields);
  ASSERT_TRUE(other.has_value());
  EXPECT_EQ(other->fields.size(), 1u);  // only the wildcard rule
}

TEST(AccessPolicyTest, PlainWinsOverMask) {
  auto p = AccessPolicy::Parse(Json(R"({"rules":[
      {"purposes":["p"],"collections":["c"],"actions":["read"],"transform":"mask"},
      {"purposes":["p"],"collections":["c"],"fields":["email"],"actions":["read"],"transform":"plain"}]})"));
  ASSERT_TRUE(p.has_value());
  auto g = p->Evaluate(Action::kRead, "p", "c", kFields);
  ASSERT_TRUE(g.has_value());
  EXPECT_EQ(g->fields.at("email"), Transform::kPlain);
  EXPECT_EQ(g->fields.at("ssn"), Transform::kMask);
}

// Plain text takes an explicit rule: without a transform a rule masks.
TEST(AccessPolicyTest, RulesWithoutATransformMask) {
  auto p = AccessPolicy::Parse(Json(R"({"rules":[
      {"purposes":["p"],"collections":["c"],"actions":["read"]}]})"));
  ASSERT_TRUE(p.has_value());
  auto g = p->Evaluate(Action::kRead, "p", "c", kFields);
  ASSERT_TRUE(g.has_value());
  for (auto& f : kFields) EXPECT_EQ(g->fields.at(f), Transform::kMask) << f;
}

TEST(AccessPolicyTest, RejectsMalformedPolicies) {
  for (
      const char* bad : {
          R"([])",
          R"({"rules":{}})",
          R"({"rules":[{"collections":["c"],"actions":["read"]}]})",
          R"({"rules":[{"purposes":[],"collections":["c"],"actions":["read"]}]})",
          R"({"rules":[{"purposes":["p"],"collections":["c"],"actions":["fly"]}]})",
          R"({"rules":[{"purposes":["p"],"collections":["c"],"actions":["read"],"transform":"rot13"}]})",
          R"({"rules":[{"purposes":["p"],"collections":["c"],"actions":["read"],"extra":1}]})",
          R"({"rules":[{"purposes":[1],"collections":["c"],"actions":["read"]}]})",
      }) {
    auto p = AccessPolicy::Parse(Json(bad));
    ASSERT_FALSE(p.has_value()) << bad;
    EXPECT_EQ(p.error().code(), StatusCode::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace piivault::policy
