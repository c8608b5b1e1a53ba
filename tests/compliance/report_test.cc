#include "compliance/report.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <string>

#include "base/encoding.h"
#include "report_fixture.h"

namespace piivault::compliance {
namespace {

namespace json = boost::json;
using testing::ReportFixture;

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return s;
}

TEST(ReportHtmlTest, ShowsEveryControlWithItsStatus) {
  const json::object soa = ReportFixture();
  const std::string html = RenderReportHtml(soa);
  for (const auto& c : soa.at("controls").as_array()) {
    const auto& control = c.as_object();
    for (std::string_view key : {"id", "id_2014", "status"})
      EXPECT_NE(html.find(std::string(control.at(key).as_string())),
                std::string::npos)
          << control.at("id").as_string() << " " << key;
  }
  // The reason of each nonconformity, in the summary ahead of the table.
  const auto reason = html.find("a breach notice is past its deadline");
  ASSERT_NE(reason, std::string::npos);
  EXPECT_LT(reason, html.find("Statement of Applicability"));
  EXPECT_NE(html.find("2026-12-15"), std::string::npos);  // next_audit_due
  EXPECT_NE(html.find("Example Certification Body"), std::string::npos);
  EXPECT_NE(html.find("No PII is printed by operator staff."),
            std::string::npos);
}

TEST(ReportHtmlTest, RendersNestedEvidenceReadably) {
  const std::string html = RenderReportHtml(ReportFixture());
  // An object as a definition list, an array of objects as a table.
  EXPECT_NE(html.find("<dt>disclosures_by_state</dt><dd><dl><dt>received</dt>"
                      "<dd>1</dd>"),
            std::string::npos);
  EXPECT_NE(html.find("<th>region</th><th>countries</th><th>principals</th>"),
            std::string::npos);
  EXPECT_NE(html.find("<li>DE</li><li>FR</li>"), std::string::npos);
}

TEST(ReportHtmlTest, IsSelfContainedWithoutScript) {
  const std::string html = Lower(RenderReportHtml(ReportFixture()));
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("http://"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
  EXPECT_EQ(html.find(" src="), std::string::npos);
  EXPECT_EQ(html.find("url("), std::string::npos);
  EXPECT_EQ(html.find("@import"), std::string::npos);
  EXPECT_NE(html.find("@media print"), std::string::npos);
  EXPECT_NE(html.find("default-src 'none'"), std::string::npos);
}

TEST(ReportHtmlTest, EscapesEveryStringOfTheDocument) {
  const std::string hostile = "<script>alert('x')</script>\"&";
  const std::string escaped =
      "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&quot;&amp;";
  json::object soa = ReportFixture();
  auto& control = soa.at("controls").as_array().at(0).as_object();
  control["title"] = hostile;
  control["status"] = hostile;
  control["evidence"] = json::object{
      {hostile, json::array{hostile, json::object{{hostile, hostile}}}}};
  soa["standard"] = hostile;
  soa["generated_at"] = hostile;
  soa["in_scope_services"] = json::array{json::object{{"service", hostile}}};
  soa["declarations"] = json::array{hostile};
  soa["audits"] = json::array{json::object{{hostile, hostile}}};
  soa["next_audit_due"] = hostile;
  soa["nonconformities"] = json::array{
      json::object{{"control", hostile}, {"reasons", json::array{hostile}}}};

  const std::string html = RenderReportHtml(soa);
  EXPECT_EQ(Lower(html).find("<script"), std::string::npos);
  EXPECT_EQ(html.find("alert('x')"), std::string::npos);
  std::size_t count = 0;
  for (auto at = html.find(escaped); at != std::string::npos;
       at = html.find(escaped, at + 1))
    ++count;
  // Title (page and header twice for the standard), generated_at twice, the
  // control's title, status (badge and count), evidence key, item, nested
  // key and value, service, declaration, audit key and value, next due,
  // nonconformity control and reason.
  EXPECT_GE(count, 18u);
}

TEST(ReportSignatureTest, SignedReportVerifies) {
  const auto key = crypto::Ed25519Key::Generate();
  const json::object signed_report = SignReport(ReportFixture(), key);
  EXPECT_EQ(signed_report.at("algorithm").as_string(), "ed25519");
  EXPECT_EQ(signed_report.at("key_id").as_string(), key.key_id());
  EXPECT_EQ(signed_report.at("report"), ReportFixture());
  EXPECT_TRUE(VerifyReport(signed_report, key.public_key()).ok());
  // What is signed is the canonical form: the same document with its
  // members in another order, as another serializer writes it, verifies.
  json::object reordered;
  const json::object& report = signed_report.at("report").as_object();
  for (auto it = report.end(); it != report.begin();) {
    --it;
    reordered[it->key()] = it->value();
  }
  json::object copy = signed_report;
  copy["report"] = reordered;
  EXPECT_NE(json::serialize(copy), json::serialize(signed_report));
  EXPECT_TRUE(
      VerifyReport(json::parse(json::serialize(copy)), key.public_key()).ok());
}

class EditedReportTest : public ::testing::Test {
 protected:
  StatusCode Verify(const json::object& edited) {
    return VerifyReport(json::parse(json::serialize(edited)), key_.public_key())
        .code();
  }
  const crypto::Ed25519Key key_ = crypto::Ed25519Key::Generate();
  json::object signed_ = SignReport(ReportFixture(), key_);
  json::object& report_ = signed_.at("report").as_object();
};

TEST_F(EditedReportTest, ChangedStatusFails) {
  report_.at("controls").as_array().at(2).as_object()["status"] = "implemented";
  EXPECT_EQ(Verify(signed_), StatusCode::kDataLoss);
}

TEST_F(EditedReportTest, DroppedNonconformityFails) {
  report_["nonconformities"] = json::array{};
  EXPECT_EQ(Verify(signed_), StatusCode::kDataLoss);
}

TEST_F(EditedReportTest, ChangedSignatureByteFails) {
  std::string sig = *Base64Decode(signed_.at("signature").as_string());
  sig[10] = static_cast<char>(sig[10] ^ 0x01);
  signed_["signature"] = Base64Encode(sig);
  EXPECT_EQ(Verify(signed_), StatusCode::kDataLoss);
}

TEST_F(EditedReportTest, MemberAddedToTheReportFails) {
  report_["note"] = "added later";
  EXPECT_EQ(Verify(signed_), StatusCode::kDataLoss);
}

TEST_F(EditedReportTest, MemberAddedBesideTheReportFails) {
  signed_["note"] = "added later";
  EXPECT_EQ(Verify(signed_), StatusCode::kInvalidArgument);
}

TEST_F(EditedReportTest, OtherAlgorithmOrMalformedSignatureFails) {
  json::object other = signed_;
  other["algorithm"] = "ED25519";
  EXPECT_EQ(Verify(other), StatusCode::kInvalidArgument);
  other = signed_;
  other["signature"] = "not base64!";
  EXPECT_EQ(Verify(other), StatusCode::kInvalidArgument);
  other = signed_;
  other.erase("key_id");
  EXPECT_EQ(Verify(other), StatusCode::kInvalidArgument);
}

TEST_F(EditedReportTest, AnotherKeyFails) {
  const auto other = crypto::Ed25519Key::Generate();
  EXPECT_EQ(VerifyReport(signed_, other.public_key()).code(),
            StatusCode::kFailedPrecondition);
  // Claiming the other key's id does not help: its signature does not hold.
  signed_["key_id"] = other.key_id();
  EXPECT_EQ(VerifyReport(signed_, other.public_key()).code(),
            StatusCode::kDataLoss);
  EXPECT_EQ(VerifyReport(signed_, "short").code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace piivault::compliance
