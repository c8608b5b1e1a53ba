// `piivault compliance verify`, offline (no server, no database), on a
// signed report made with the library (report_fixture_tool, as the server
// signs it) and edited copies; `compliance report` never overwrites a file.
// And the live report of a running server, as an auditor fetches it: it
// renders in headless Chromium, holds no PII, and its signed JSON form,
// written by `piivault compliance report`, verifies offline.
#include <filesystem>

#include "harness.h"

namespace it {
namespace {

class ComplianceCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(dir_.ok()) << dir_.error();
    RunResult r =
        RunCommand({REPORT_FIXTURE_TOOL, "json", dir_.File("report.json")});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    public_key_ = r.out;
    while (!public_key_.empty() && public_key_.back() == '\n')
      public_key_.pop_back();
    signed_ = json::parse(ReadFile(dir_.File("report.json"))).as_object();
  }

  RunResult Verify(const std::string& file, std::vector<std::string> key) {
    std::vector<std::string> args{PiivaultBin(), "compliance", "verify",
                                  dir_.File(file)};
    args.insert(args.end(), key.begin(), key.end());
    return RunCommand(args, {}, std::chrono::seconds(30));
  }
  RunResult VerifyEdited(const json::object& edited) {
    WriteFile(dir_.File("edited.json"), Serialize(edited));
    return Verify("edited.json", {"--public-key", public_key_});
  }

  piivault::testing::ScopedTempDir dir_;
  std::string public_key_;
  json::object signed_;
};

TEST_F(ComplianceCliTest, SignedReportVerifiesOffline) {
  RunResult r = Verify("report.json", {"--public-key", public_key_});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("verified"), std::string::npos) << r.out;

  // The key as GET /v1/audit/public-key gives it, in a file.
  WriteFile(dir_.File("key.json"),
            Serialize(json::object{{"key_id", signed_.at("key_id")},
                                   {"algorithm", "ed25519"},
                                   {"public_key", public_key_}}));
  r = Verify("report.json", {"--public-key-file", dir_.File("key.json")});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("verified"), std::string::npos) << r.out;
}

TEST_F(ComplianceCliTest, EditedReportFails) {
  json::object edited = signed_;
  auto& controls = edited.at("report").as_object().at("controls").as_array();
  for (auto& c : controls)
    if (c.as_object().at("status").as_string() == "nonconformity")
      c.as_object()["status"] = "implemented";
  ASSERT_NE(Serialize(edited), Serialize(signed_));
  RunResult r = VerifyEdited(edited);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(r.out.find("verified"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("signature does not hold"), std::string::npos) << r.err;

  edited = signed_;
  edited.at("report").as_object()["added"] = true;
  EXPECT_NE(VerifyEdited(edited).exit_code, 0);
  edited = signed_;
  edited["added"] = true;
  EXPECT_NE(VerifyEdited(edited).exit_code, 0);
}

TEST_F(ComplianceCliTest, WrongOrBadKeyFails) {
  RunResult other =
      RunCommand({REPORT_FIXTURE_TOOL, "json", dir_.File("other.json")});
  ASSERT_EQ(other.exit_code, 0) << other.err;
  RunResult r = Verify("report.json", {"--public-key", other.out});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(r.out.find("verified"), std::string::npos) << r.out;
  EXPECT_NE(Verify("report.json", {"--public-key", "bm90IGEga2V5"}).exit_code,
            0);
  EXPECT_NE(Verify("report.json", {}).exit_code, 0);  // no key at all
  EXPECT_NE(Verify("missing.json", {"--public-key", public_key_}).exit_code, 0);
}

TEST_F(ComplianceCliTest, ReportNeverOverwritesAFile) {
  WriteFile(dir_.File("kept.html"), "kept");
  RunResult r = RunCommand(
      {PiivaultBin(), "compliance", "report", "--out", dir_.File("kept.html"),
       "--server", "http://127.0.0.1:" + std::to_string(FreePort())},
      {}, std::chrono::seconds(30));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(ReadFile(dir_.File("kept.html")), "kept");
}

// The live report of a deployment holding distinctive personal data.
class LiveReportTest : public ServerTest {};

TEST_F(LiveReportTest, RendersInChromiumHoldsNoPiiAndVerifiesOffline) {
  Tenant t = SetUpTenant(server_, "acme");
  auto stored =
      PostRecord(server_, t, "principal-Quixotewright-8812", EveryTypeValues());
  ASSERT_EQ(stored.status, 201) << stored.Describe();
  auto auditor =
      server_.Call("POST", "/v1/identities", Auth(server_.admin_key()),
                   json::object{{"name", "auditor"}, {"role", "auditor"}});
  ASSERT_EQ(auditor.status, 201) << auditor.Describe();
  const std::string key = Str(auditor.Json(), "api_key");

  auto html = server_.Call("GET", "/v1/compliance/report", Auth(key));
  ASSERT_EQ(html.status, 200) << html.Describe();
  EXPECT_NE(html.Header("content-type").find("text/html"), std::string::npos);
  auto soa = server_.Call("GET", "/v1/compliance/soa", Auth(key));
  ASSERT_EQ(soa.status, 200) << soa.Describe();
  auto signed_report =
      server_.Call("GET", "/v1/compliance/report?format=json", Auth(key));
  ASSERT_EQ(signed_report.status, 200) << signed_report.Describe();

  // No PII: none of the stored values, nor the principal id, anywhere.
  std::vector<std::string> distinctive{"principal-Quixotewright-8812"};
  for (auto& [name, value] : EveryTypeValues())
    if (value.is_string()) distinctive.emplace_back(value.as_string());
  for (const std::string& v : distinctive) {
    EXPECT_FALSE(ContainsIgnoreCase(html.body, v)) << v;
    EXPECT_FALSE(ContainsIgnoreCase(signed_report.body, v)) << v;
  }

  // In a real browser: every control and status of the SoA, no request but
  // the page, no script; the screenshot is kept as an artefact.
  std::filesystem::create_directories(PIIVAULT_ARTIFACTS_DIR);
  const std::string base = std::string(PIIVAULT_ARTIFACTS_DIR) +
                           "/live-report-" + std::string(BackendUnderTest());
  WriteFile(base + ".html", html.body);
  WriteFile(base + ".soa.json", soa.body);
  RunResult browser =
      RunCommand({"/usr/bin/env", "node",
                  std::string(PIIVAULT_WEB_DIR) + "/report_render.mjs",
                  base + ".html", base + ".soa.json", base + ".png"},
                 {}, std::chrono::seconds(120));
  EXPECT_EQ(browser.exit_code, 0) << browser.out << browser.err;
  EXPECT_NE(browser.out.find("PASS"), std::string::npos) << browser.out;

  // The signed form, as the CLI writes it, verifies with the public key
  // alone; the server's own answer is the same document.
  const std::string out = server_.root() + "/report.json";
  RunResult written = RunCommand(
      {PiivaultBin(), "compliance", "report", "--out", out, "--format", "json",
       "--server", "http://127.0.0.1:" + std::to_string(server_.port()),
       "--token", key});
  ASSERT_EQ(written.exit_code, 0) << written.out << written.err;
  auto public_key = server_.Call("GET", "/v1/audit/public-key", Auth(key));
  ASSERT_EQ(public_key.status, 200);
  RunResult verified =
      RunCommand({PiivaultBin(), "compliance", "verify", out, "--public-key",
                  Str(public_key.Json(), "public_key")});
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
  EXPECT_NE(verified.out.find("verified"), std::string::npos);
  auto document = json::parse(ReadFile(out));
  document.as_object().at("report").as_object()["standard"] = "edited";
  WriteFile(out + ".edited", Serialize(document));
  EXPECT_NE(RunCommand({PiivaultBin(), "compliance", "verify", out + ".edited",
                        "--public-key", Str(public_key.Json(), "public_key")})
                .exit_code,
            0);
}

}  // namespace
}  // namespace it
