// `piivault compliance verify`, offline (no server, no database), on a
// signed report made with the library (report_fixture_tool, as the server
// signs it) and edited copies; `compliance report` never overwrites a file.
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

}  // namespace
}  // namespace it
