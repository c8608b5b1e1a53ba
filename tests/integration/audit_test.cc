// The audit log from outside: events over HTTP, signed heads and proofs, and
// `piivault audit export` / `audit verify` catching every kind of tampering
// with the stored rows.
#include <cstdio>
#include <functional>

#include "harness.h"

namespace it {
namespace {

using AuditTest = ServerTest;

std::string EntryKey(int index) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "audit/t/acme/e/%016x", index);
  return buf;
}

class AuditFlow {
 public:
  AuditFlow(ServerProcess& server, const Tenant& tenant)
      : server_(server), tenant_(tenant) {}

  std::string File(const std::string& name) {
    return server_.root() + "/" + name;
  }
  std::string Server() {
    return "http://127.0.0.1:" + std::to_string(server_.port());
  }
  RunResult Export(const std::string& out) {
    return RunCommand({PiivaultBin(), "audit", "export", "--tenant", "acme",
                       "--out", out, "--server", Server(), "--token",
                       tenant_.admin_key});
  }
  RunResult Verify(const std::string& file, const std::string& previous = "") {
    std::vector<std::string> args = {PiivaultBin(),  "audit",
                                     "verify",       file,
                                     "--public-key", File("key.json")};
    if (!previous.empty()) {
      args.push_back("--previous-head");
      args.push_back(previous);
    }
    return RunCommand(args);
  }
  void SaveKeyAndHead(const std::string& head_file) {
    auto key =
        server_.Call("GET", "/v1/audit/public-key", Auth(tenant_.admin_key));
    ASSERT_EQ(key.status, 200) << key.Describe();
    WriteFile(File("key.json"), key.body);
    auto head = server_.Call("GET", tenant_.Base() + "/audit/head",
                             Auth(tenant_.admin_key));
    ASSERT_EQ(head.status, 200) << head.Describe();
    WriteFile(File(head_file), head.body);
  }

 private:
  ServerProcess& server_;
  const Tenant& tenant_;
};

TEST_F(AuditTest, EventsHeadsAndProofsOverHttp) {
  Tenant t = SetUpTenant(server_, "acme");
  auto created =
      PostRecord(server_, t, "Principal-A", {{"email", "a@example.org"}});
  ASSERT_EQ(created.status, 201);
  std::string rid = Str(created.Json(), "id");
  ASSERT_EQ(server_.Call("GET", t.Record(rid), Data(t.admin_key)).status, 200);
  ASSERT_EQ(
      server_.Call("GET", t.Record(rid), Auth(t.admin_key, "nope")).status,
      400);

  auto events = server_.Call("GET", t.Base() + "/audit/events?limit=100",
                             Auth(t.admin_key));
  ASSERT_EQ(events.status, 200) << events.Describe();
  auto& list = Array(events.Json(), "events");
  // Collection set-up, create, read, and the refused read: in order.
  ASSERT_GE(list.size(), 3u);
  auto& read = list[list.size() - 2];
  EXPECT_EQ(Str(read, "action"), "records.get");
  EXPECT_EQ(Str(read, "record"), rid);
  EXPECT_EQ(Str(read, "outcome"), "ok");
  EXPECT_EQ(Str(read, "purpose"), "service_delivery");
  EXPECT_EQ(Str(read, "region"), "eu");
  EXPECT_EQ(Str(list.back(), "outcome"), "error");
  EXPECT_EQ(events.body.find("Principal-A"), std::string::npos);
  EXPECT_EQ(events.body.find("a@example.org"), std::string::npos);
  // Filtered by principal (its id is turned into the pseudonym server-side).
  auto mine = server_.Call(
      "GET",
      t.Base() + "/audit/events?principal=Principal-A&action=records.get",
      Auth(t.admin_key));
  ASSERT_EQ(mine.status, 200);
  EXPECT_EQ(Array(mine.Json(), "events").size(), 1u);

  auto head = server_.Call("GET", t.Base() + "/audit/head", Auth(t.admin_key));
  ASSERT_EQ(head.status, 200) << head.Describe();
  int64_t size = Member(head.Json(), "tree_size").as_int64();
  EXPECT_EQ(size, static_cast<int64_t>(list.size()));
  EXPECT_EQ(Str(head.Json(), "root_hash").size(), 64u);
  auto inclusion = server_.Call(
      "GET",
      t.Base() +
          "/audit/proof/inclusion?index=1&tree_size=" + std::to_string(size),
      Auth(t.admin_key));
  ASSERT_EQ(inclusion.status, 200) << inclusion.Describe();
  EXPECT_EQ(Str(inclusion.Json(), "leaf_hash").size(), 64u);
  auto consistency = server_.Call(
      "GET",
      t.Base() +
          "/audit/proof/consistency?first=1&second=" + std::to_string(size),
      Auth(t.admin_key));
  EXPECT_EQ(consistency.status, 200) << consistency.Describe();
  // Out of range or inverted: 400.
  for (std::string bad : {"/audit/proof/inclusion?index=99&tree_size=2",
                          "/audit/proof/inclusion?index=0&tree_size=9999",
                          "/audit/proof/consistency?first=3&second=2",
                          "/audit/proof/consistency?first=0&second=2",
                          "/audit/proof/inclusion?index=x&tree_size=2"})
    EXPECT_TRUE(IsError(server_.Call("GET", t.Base() + bad, Auth(t.admin_key)),
                        400, "invalid_argument"))
        << bad;
  // The operator log is the operator's and the auditor's, not a tenant's.
  EXPECT_EQ(
      server_.Call("GET", "/v1/operator/audit/head", Auth(server_.admin_key()))
          .status,
      200);
  EXPECT_TRUE(
      IsError(server_.Call("GET", "/v1/operator/audit/head", Auth(t.admin_key)),
              403, "permission_denied"));
}

TEST_F(AuditTest, OfflineVerificationCatchesEveryTampering) {
  Tenant t = SetUpTenant(server_, "acme");
  for (int i = 0; i < 4; ++i)
    ASSERT_EQ(PostRecord(server_, t, "P-" + std::to_string(i),
                         {{"email", std::to_string(i) + "@example.org"}})
                  .status,
              201);
  AuditFlow flow(server_, t);
  flow.SaveKeyAndHead("earlier-head.json");
  for (int i = 4; i < 7; ++i)
    ASSERT_EQ(PostRecord(server_, t, "P-" + std::to_string(i),
                         {{"email", std::to_string(i) + "@example.org"}})
                  .status,
              201);

  // Intact: the log verifies, and only grew since the saved head.
  ASSERT_EQ(flow.Export(flow.File("good.json")).exit_code, 0);
  auto good =
      flow.Verify(flow.File("good.json"), flow.File("earlier-head.json"));
  EXPECT_EQ(good.exit_code, 0) << good.out << good.err;
  EXPECT_NE(good.out.find("ok: "), std::string::npos);

  const Rows original = server_.StoreRows("control");
  auto restore = [&] {
    for (int i = 0; i < 8; ++i) {
      auto it = original.find(EntryKey(i));
      if (it != original.end())
        server_.StorePut("control", it->first, it->second);
    }
  };
  struct Case {
    std::string name;
    std::function<void()> tamper;
    int first_bad;
  };
  std::vector<Case> cases = {
      {"modified", [&] { server_.StorePut("control", EntryKey(3), "forged"); },
       3},
      {"removed", [&] { server_.StoreDelete("control", EntryKey(2)); }, 2},
      {"reordered",
       [&] {
         server_.StorePut("control", EntryKey(4), original.at(EntryKey(5)));
         server_.StorePut("control", EntryKey(5), original.at(EntryKey(4)));
       },
       4},
  };
  for (auto& c : cases) {
    SCOPED_TRACE(c.name);
    c.tamper();
    std::string file = flow.File(c.name + ".json");
    ASSERT_EQ(flow.Export(file).exit_code, 0);
    auto verdict = flow.Verify(file);
    EXPECT_EQ(verdict.exit_code, 1) << verdict.out;
    EXPECT_NE(
        verdict.out.find("first bad index: " + std::to_string(c.first_bad)),
        std::string::npos)
        << verdict.out;
    restore();
  }

  // An edited export file (a well-formed entry saying otherwise): the
  // stored leaf hashes name the entry.
  std::string text = ReadFile(flow.File("good.json"));
  const std::string ok = R"("outcome\":\"ok)", no = R"("outcome\":\"error)";
  auto at = text.find(ok);
  ASSERT_NE(at, std::string::npos);
  text.replace(at, ok.size(), no);
  WriteFile(flow.File("edited.json"), text);
  auto edited = flow.Verify(flow.File("edited.json"));
  EXPECT_EQ(edited.exit_code, 1);
  EXPECT_NE(edited.out.find("was modified"), std::string::npos) << edited.out;

  // Truncated: the last entries and the size rewound, the head re-signed by
  // the server for the shorter log. Only the saved head can tell.
  ASSERT_EQ(server_.Stop(), 0);
  int size = 0;
  while (original.contains(EntryKey(size))) ++size;
  for (int i = 2; i < size; ++i) server_.StoreDelete("control", EntryKey(i));
  server_.StorePut("control", "audit/t/acme/size",
                   std::string("\0\0\0\0\0\0\0\x02", 8));
  server_.StoreDelete("control", "audit/t/acme/head");
  ASSERT_TRUE(server_.Start());
  ASSERT_EQ(flow.Export(flow.File("short.json")).exit_code, 0);
  auto shortened =
      flow.Verify(flow.File("short.json"), flow.File("earlier-head.json"));
  EXPECT_EQ(shortened.exit_code, 1) << shortened.out;
  EXPECT_NE(shortened.out.find("first bad index: 2"), std::string::npos)
      << shortened.out;
}

// An export is read a page at a time: no request returns more entries than
// its limit (at most 4096), "next" leads through the log, and `audit export`
// joins the pages into one whole export that verifies.
TEST_F(AuditTest, ExportIsPagedAndTheCliJoinsThePages) {
  Tenant t = SetUpTenant(server_, "acme");
  for (int i = 0; i < 6; ++i)
    ASSERT_EQ(PostRecord(server_, t, "P-" + std::to_string(i),
                         {{"email", std::to_string(i) + "@example.org"}})
                  .status,
              201);
  const std::string url = t.Base() + "/audit/export";
  auto first = server_.Call("GET", url + "?limit=4", Auth(t.admin_key));
  ASSERT_EQ(first.status, 200) << first.Describe();
  const json::value& head = Member(first.Json(), "head");
  ASSERT_TRUE(Member(head, "tree_size").is_number()) << first.body;
  const auto size = Member(head, "tree_size").to_number<uint64_t>();
  ASSERT_GE(size, 8u);
  EXPECT_EQ(Array(first.Json(), "entries").size(), 4u);
  EXPECT_EQ(Array(first.Json(), "leaf_hashes").size(), 4u);
  EXPECT_EQ(Member(first.Json(), "next"), json::value(4));

  // Following "next" reads every entry once, in order, a page at a time.
  uint64_t from = 4;
  for (int pages = 0; from < size; ++pages) {
    ASSERT_LT(pages, 10) << "next never reached the end";
    auto page =
        server_.Call("GET", url + "?limit=4&from=" + std::to_string(from),
                     Auth(t.admin_key));
    ASSERT_EQ(page.status, 200) << page.Describe();
    EXPECT_EQ(Member(page.Json(), "from"), json::value(from));
    const std::size_t n = Array(page.Json(), "entries").size();
    ASSERT_GE(n, 1u);
    ASSERT_LE(n, 4u);
    EXPECT_EQ(Array(page.Json(), "leaf_hashes").size(), n);
    from += n;
    const json::value& next = Member(page.Json(), "next");
    if (!next.is_null()) {
      EXPECT_EQ(next, json::value(from));
    }
  }
  for (const char* bad : {"?limit=0", "?limit=4097", "?from=1000000"}) {
    EXPECT_TRUE(IsError(server_.Call("GET", url + bad, Auth(t.admin_key)), 400,
                        "invalid_argument"))
        << bad;
  }

  AuditFlow flow(server_, t);
  flow.SaveKeyAndHead("head.json");
  RunResult exported =
      RunCommand({PiivaultBin(), "audit", "export", "--tenant", "acme", "--out",
                  flow.File("paged.json"), "--page-size", "3", "--server",
                  flow.Server(), "--token", t.admin_key});
  ASSERT_EQ(exported.exit_code, 0) << exported.out << exported.err;
  auto verified = flow.Verify(flow.File("paged.json"), flow.File("head.json"));
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
  const json::value whole = json::parse(ReadFile(flow.File("paged.json")));
  EXPECT_GE(Array(whole, "entries").size(), size);
  EXPECT_EQ(Array(whole, "entries").size(),
            Member(Member(whole, "head"), "tree_size").to_number<uint64_t>());
  // A page saved on its own is not taken for a whole export.
  auto page = server_.Call("GET", url + "?from=2", Auth(t.admin_key));
  ASSERT_EQ(page.status, 200) << page.Describe();
  WriteFile(flow.File("page.json"), page.body);
  auto partial = flow.Verify(flow.File("page.json"));
  EXPECT_EQ(partial.exit_code, 1) << partial.out << partial.err;
}

// No response leaves without its audit event: with the control store, where
// the audit log lives, refusing writes (for SQLite each write waits out the
// server's 5 s busy timeout: ~25 s in all), a read answers 503 `unavailable`
// with no PII, and a create changes nothing anywhere (every other endpoint:
// tests/api, AppAuditTest). Once the log can be written again, service
// resumes.
TEST_F(AuditTest, FailsClosedOverHttpWhenTheLogCannotBeWritten) {
  Tenant t = SetUpTenant(server_, "acme");
  auto created =
      PostRecord(server_, t, "Principal-Fail",
                 {{"email", "ann.fail@example.org"}, {"ssn", "219-09-9999"}});
  ASSERT_EQ(created.status, 201) << created.Describe();
  const std::string rid = Str(created.Json(), "id");
  ASSERT_EQ(PostRecord(server_, t, "Principal-Us",
                       {{"email", "us.fail@example.org"}}, "us")
                .status,
            201);
  auto data_rows = [&] {
    Rows control = server_.StoreRows("control");
    std::erase_if(control,
                  [](auto& kv) { return kv.first.starts_with("audit"); });
    return std::vector<Rows>{control, server_.StoreRows("eu"),
                             server_.StoreRows("us")};
  };
  const auto before = data_rows();
  const int64_t events = server_.StoreCountPrefix("control", "audit/t/acme/e/");

  server_.StoreRefuseWrites("control", true);
  auto read = server_.Call("GET", t.Record(rid), Data(t.admin_key));
  EXPECT_TRUE(IsError(read, 503, "unavailable")) << read.Describe();
  for (const char* pii :
       {"ann.fail", "219-09-9999", "219099999", "Principal-Fail"})
    EXPECT_FALSE(ContainsIgnoreCase(read.body, pii)) << read.body;
  // Another record of a known principal would be written to its region
  // only, so only the write-ahead event stops it. The server tries its
  // write more than once, each try waiting out the busy timeout, hence the
  // patient connection.
  HttpConnection patient(server_.port(), std::chrono::seconds(90));
  auto create = patient.Send(
      "POST", t.Records(), Data(t.admin_key),
      Serialize(json::object{
          {"principal", "Principal-Fail"},
          {"fields", json::object{{"email", "second@example.org"}}}}));
  EXPECT_TRUE(IsError(create, 503, "unavailable")) << create.Describe();
  EXPECT_EQ(data_rows(), before);
  EXPECT_EQ(server_.StoreCountPrefix("control", "audit/t/acme/e/"), events);

  server_.StoreRefuseWrites("control", false);
  auto again = server_.Call("GET", t.Record(rid), Data(t.admin_key));
  ASSERT_EQ(again.status, 200) << again.Describe();
  EXPECT_EQ(Str(Member(again.Json(), "fields"), "email"),
            "ann.fail@example.org");
}

}  // namespace
}  // namespace it
