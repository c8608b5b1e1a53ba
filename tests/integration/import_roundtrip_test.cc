// The whole return-and-transfer path on two deployments: a tenant exported
// on deployment A (encrypted to the recipient), imported into deployment B
// with its signed manifest, then exported from B: the purpose, collection,
// record and consent lines are A's but for times, and every token of A maps
// to B's token of the same record and field.
#include <chrono>
#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include "harness.h"

namespace it {
namespace {

struct Export {
  std::string status;  // GET …/exports/{id}, with the manifest
  std::string body;    // the download
};

// Starts an export of `t` and downloads it once its job completed.
Export RunExport(const ServerProcess& server, const Tenant& t,
                 const json::object& body = {}) {
  auto started =
      server.Call("POST", t.Base() + "/exports", Data(t.admin_key), body);
  EXPECT_EQ(started.status, 202) << started.Describe();
  const std::string id = Str(started.Json(), "id");
  // The scheduler of `serve` runs the job within its interval (1 s).
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(60);
  HttpResponse state;
  while (std::chrono::steady_clock::now() < deadline) {
    state = server.Call("GET", t.Base() + "/exports/" + id, Data(t.admin_key));
    if (Str(state.Json(), "state") != "running") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(Str(state.Json(), "state"), "completed") << state.Describe();
  auto download = server.Call("GET", t.Base() + "/exports/" + id + "/download",
                              Data(t.admin_key));
  EXPECT_EQ(download.status, 200) << download.Describe();
  return {state.body, download.body};
}

std::vector<json::object> ParseLines(const std::string& text) {
  std::vector<json::object> out;
  for (std::size_t start = 0; start < text.size();) {
    auto end = text.find('\n', start);
    if (end == std::string::npos) {
      ADD_FAILURE() << "the export does not end with a newline";
      break;
    }
    out.push_back(json::parse(text.substr(start, end - start)).as_object());
    start = end + 1;
  }
  return out;
}

// The lines of one kind, without the members that differ between
// deployments (times), serialized.
std::multiset<std::string> Kind(const std::vector<json::object>& lines,
                                std::string_view kind) {
  std::multiset<std::string> out;
  for (json::object line : lines) {
    if (Str(line, "kind") != kind) continue;
    line.erase("created_at");
    line.erase("updated_at");
    line.erase("at");
    out.insert(Serialize(line));
  }
  return out;
}

// Each principal's consent events in order (principals come in pseudonym
// order, which differs between deployments).
std::map<std::string, std::vector<std::string>> Ledgers(
    const std::vector<json::object>& lines) {
  std::map<std::string, std::vector<std::string>> out;
  for (json::object line : lines) {
    if (Str(line, "kind") != "consent") continue;
    line.erase("at");
    out[Str(line, "principal")].push_back(Serialize(line));
  }
  return out;
}

class ImportRoundTripTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(dir_.ok()) << dir_.error();
    ASSERT_TRUE(a_.init_ok());
    ASSERT_TRUE(b_.init_ok());
    ASSERT_TRUE(a_.Start());
    ASSERT_TRUE(b_.Start());
  }
  void TearDown() override {
    if (a_.running()) {
      EXPECT_EQ(a_.Stop(), 0) << a_.Log();
    }
    if (b_.running()) {
      EXPECT_EQ(b_.Stop(), 0) << b_.Log();
    }
  }
  RunResult Piivault(std::vector<std::string> args, const Headers& env = {}) {
    args.insert(args.begin(), PiivaultBin());
    return RunCommand(args, env, std::chrono::seconds(60));
  }

  piivault::testing::ScopedTempDir dir_;
  ServerProcess a_, b_;
};

TEST_F(ImportRoundTripTest, ExportImportExportGivesTheSameTenant) {
  // Deployment A: two collections, principals in two regions, a ledger
  // that granted, withdrew and granted again.
  Tenant a = SetUpTenant(a_, "acme");
  ASSERT_EQ(a_.Call("PUT", a.Base() + "/purposes/newsletter", Auth(a.admin_key),
                    json::object{{"category", "marketing"},
                                 {"description", "The monthly newsletter"}})
                .status,
            201);
  ASSERT_EQ(a_.Call("PUT", a.Base() + "/collections/notes", Auth(a.admin_key),
                    json::parse(R"({"fields":[{"name":"text","type":"string",)"
                                R"("required":true}],"retention":"P30D"})")
                        .as_object())
                .status,
            201);
  ASSERT_EQ(PostRecord(a_, a, "cust-1", EveryTypeValues()).status, 201);
  ASSERT_EQ(PostRecord(a_, a, "cust-2", EveryTypeValues(), "us").status, 201);
  ASSERT_EQ(a_.Call("POST", a.Base() + "/collections/notes/records",
                    Data(a.admin_key),
                    json::object{{"principal", "cust-1"},
                                 {"fields", json::object{{"text", "hello"}}}})
                .status,
            201);
  for (bool granted : {true, false, true})
    ASSERT_EQ(a_.Call("POST", a.Base() + "/principals/cust-1/consents",
                      Auth(a.admin_key),
                      json::object{{"purpose", "newsletter"},
                                   {"granted", granted},
                                   {"method", "web_form"}})
                  .status,
              201);
  ASSERT_EQ(a_.Call("POST", a.Base() + "/principals/cust-2/consents",
                    Auth(a.admin_key),
                    json::object{{"purpose", "marketing"}, {"granted", true}})
                .status,
            201);

  // Exported encrypted to the recipient, with its manifest and A's key.
  RunResult keygen =
      Piivault({"export", "keygen", "--out-private", dir_.File("r.key")});
  ASSERT_EQ(keygen.exit_code, 0) << keygen.err;
  const std::string recipient = keygen.out.substr(0, keygen.out.find('\n'));
  Export from_a =
      RunExport(a_, a, json::object{{"recipient_public_key", recipient}});
  WriteFile(dir_.File("a.pvts"), from_a.body);
  WriteFile(dir_.File("a.manifest"), from_a.status);
  auto key = a_.Call("GET", "/v1/audit/public-key", Auth(a.admin_key));
  ASSERT_EQ(key.status, 200) << key.Describe();

  // Deployment B: the tenant exists (its operator made it); imported.
  Tenant b = SetUpTenant(b_, "acme");
  RunResult imported = Piivault(
      {"import", "--in", dir_.File("a.pvts"), "--tenant", "acme",
       "--decrypt-key", dir_.File("r.key"), "--manifest",
       dir_.File("a.manifest"), "--public-key", Str(key.Json(), "public_key"),
       "--token-map", dir_.File("tokens"), "--server",
       "http://127.0.0.1:" + std::to_string(b_.port())},
      {{"PIIVAULT_TOKEN", b.admin_key}});
  ASSERT_EQ(imported.exit_code, 0) << imported.out << imported.err;

  // A's plain export and B's, compared line by line.
  const std::vector<json::object> lines_a = ParseLines(RunExport(a_, a).body);
  const std::vector<json::object> lines_b = ParseLines(RunExport(b_, b).body);
  ASSERT_FALSE(lines_a.empty());
  for (std::string_view kind : {"purpose", "collection", "record"})
    EXPECT_EQ(Kind(lines_a, kind), Kind(lines_b, kind)) << kind;
  EXPECT_EQ(Kind(lines_a, "record").size(), 3u);
  EXPECT_EQ(Ledgers(lines_a), Ledgers(lines_b));
  EXPECT_EQ(Ledgers(lines_a)["cust-1"].size(), 3u);

  // Tokens: A's, through the map, are B's for the same record and field.
  std::map<std::string, std::string> map;
  const std::string map_text = ReadFile(dir_.File("tokens"));
  for (auto& line : ParseLines(map_text))
    map[Str(line, "old")] = Str(line, "new");
  std::multiset<std::string> mapped;
  for (json::object line : lines_a) {
    if (Str(line, "kind") != "token") continue;
    ASSERT_TRUE(map.contains(Str(line, "token"))) << map_text;
    line["token"] = map[Str(line, "token")];
    mapped.insert(Serialize(line));
  }
  EXPECT_FALSE(mapped.empty());
  EXPECT_EQ(mapped, Kind(lines_b, "token"));
}

}  // namespace
}  // namespace it
