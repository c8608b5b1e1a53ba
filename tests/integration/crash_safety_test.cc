// Crash safety under concurrent write load (issue 15): eight writers create,
// update and record consents on keep-alive connections; once a few hundred
// writes are acknowledged the server is killed with SIGKILL mid-load and
// restarted on the same stores. Every acknowledged write must then read back
// exactly as sent (by id, by search and in its principal's view), every
// unacknowledged one must be wholly there or wholly absent, and the audit
// logs must verify against the heads signed just before the kill and hold an
// event for every write that took effect. Three kill/restart cycles, each on
// the data of the ones before, so a recovered store is recovered again.
#include <atomic>
#include <cstdio>
#include <optional>
#include <random>
#include <set>
#include <thread>

#include "harness.h"

namespace it {
namespace {

using namespace std::chrono_literals;

constexpr int kWriters = 8;
constexpr int kPrincipalsPerWriter = 3;
constexpr int kCycles = 3;
constexpr int kMinAcknowledged = 300;  // per cycle, before the kill
constexpr const char* kConsentPurpose = "marketing";

// What a record holds: the three fields every write of this test sends.
struct Content {
  std::string note;
  std::string email;  // searchable, unique per write
  int64_t count = 0;

  json::object Fields() const {
    return {{"note", note}, {"email", email}, {"count", count}};
  }
  // Whether `fields` (as read back) is exactly this content, nothing more.
  bool Matches(const json::value& fields) const {
    if (!fields.is_object() || fields.as_object().size() != 3) return false;
    const json::value& c = Member(fields, "count");
    return Str(fields, "note") == note && Str(fields, "email") == email &&
           c.is_number() && c.to_number<int64_t>() == count;
  }
};

// One state a record may be in: absent (no content), or a content reached
// after `updates` updates took effect.
struct Version {
  std::optional<Content> content;
  int updates = 0;
};

// A record as the writers know it. While its last write is unacknowledged it
// has two candidate versions (before and after that write); the check after
// a restart finds which one the store holds and settles it to that one.
struct TrackedRecord {
  std::string id;  // empty until known (an unacknowledged create)
  std::string principal;
  std::vector<Version> candidates;
  std::vector<std::string> emails;  // every e-mail ever sent for it

  bool Settled() const { return candidates.size() == 1; }
  bool Present() const { return Settled() && candidates[0].content; }
};

struct TrackedConsent {
  std::string principal;
  std::string evidence;  // unique per write, identifies it in the history
  bool granted = false;
  std::optional<bool> present;  // unknown while unacknowledged and unchecked
};

// One writer's principals, records and consents, kept across cycles.
struct Writer {
  int index = 0;
  int64_t next_op = 0;
  std::vector<std::string> principals;
  std::vector<TrackedRecord> records;
  std::vector<TrackedConsent> consents;
  std::vector<std::string> unexpected;  // answers that were neither 2xx nor
                                        // a cut connection
};

// A keep-alive connection that reconnects when the server closed it; a
// request whose connection was cut gets status 0 and is not sent again.
class Client {
 public:
  explicit Client(uint16_t port) : port_(port) {}

  HttpResponse Send(std::string_view method, const std::string& path,
                    const Headers& headers, std::string_view body = {}) {
    if (!conn_ || !conn_->connected())
      conn_ = std::make_unique<HttpConnection>(port_);
    HttpResponse r = conn_->Send(method, path, headers, body);
    if (r.status == 0) conn_.reset();
    return r;
  }
  // Reads are idempotent: one more try on a fresh connection.
  HttpResponse Read(std::string_view method, const std::string& path,
                    const Headers& headers, std::string_view body = {}) {
    HttpResponse r = Send(method, path, headers, body);
    return r.status == 0 ? Send(method, path, headers, body) : r;
  }

 private:
  uint16_t port_;
  std::unique_ptr<HttpConnection> conn_;
};

class CrashSafetyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.init_ok());
    ASSERT_TRUE(server_.Start());
    tenant_ = SetUpTenant(server_, "acme");
    ASSERT_FALSE(tenant_.admin_key.empty());
    for (int w = 0; w < kWriters; ++w) {
      Writer& writer = writers_[w];
      writer.index = w;
      for (int p = 0; p < kPrincipalsPerWriter; ++p)
        writer.principals.push_back("w" + std::to_string(w) + "-p" +
                                    std::to_string(p));
    }
  }
  void TearDown() override {
    if (server_.running()) {
      EXPECT_EQ(server_.Stop(), 0) << server_.Log();
    }
  }

  // Runs `writer` until `stop` or until the server is gone.
  void Write(Writer& writer, int cycle, std::atomic<bool>& stop,
             std::atomic<int>& acknowledged) {
    Client client(server_.port());
    const Headers headers = Data(tenant_.admin_key);
    while (!stop.load()) {
      const int64_t n = writer.next_op++;
      const std::string tag = "c" + std::to_string(cycle) + ".w" +
                              std::to_string(writer.index) + ".n" +
                              std::to_string(n);
      const std::string& principal =
          writer.principals[n % kPrincipalsPerWriter];
      const Content content{"note " + tag + " " + std::string(n % 40, 'x'),
                            tag + "@crash.example.org",
                            cycle * 1000000 + writer.index * 10000 + n};
      HttpResponse r;
      std::vector<std::size_t> patchable;
      for (std::size_t i = 0; i < writer.records.size(); ++i)
        if (writer.records[i].Present()) patchable.push_back(i);
      if (n % 7 == 5) {
        TrackedConsent consent{principal, "crash " + tag, n % 2 == 0, {}};
        r = client.Send(
            "POST", tenant_.Base() + "/principals/" + principal + "/consents",
            headers,
            Serialize(json::object{{"purpose", kConsentPurpose},
                                   {"granted", consent.granted},
                                   {"method", "web form"},
                                   {"evidence", consent.evidence}}));
        if (r.status == 201) consent.present = true;
        writer.consents.push_back(std::move(consent));
      } else if (n % 4 == 3 && !patchable.empty()) {
        TrackedRecord& record =
            writer.records[patchable[(n * 7) % patchable.size()]];
        const Version before = record.candidates[0];
        const Version after{content, before.updates + 1};
        record.emails.push_back(content.email);
        r = client.Send("PATCH", tenant_.Record(record.id), headers,
                        Serialize(json::object{{"fields", content.Fields()}}));
        if (r.status == 200 && Str(r.Json(), "id") == record.id)
          record.candidates = {after};
        else
          record.candidates = {before, after};
      } else {
        TrackedRecord record{"", principal, {}, {content.email}};
        r = client.Send("POST", tenant_.Records(), headers,
                        Serialize(json::object{{"principal", principal},
                                               {"fields", content.Fields()}}));
        record.id = r.status == 201 ? Str(r.Json(), "id") : "";
        if (!record.id.empty())
          record.candidates = {Version{content, 0}};
        else
          record.candidates = {Version{}, Version{content, 0}};
        writer.records.push_back(std::move(record));
      }
      if (r.status >= 200 && r.status < 300) {
        acknowledged.fetch_add(1);
      } else if (r.status != 0) {
        writer.unexpected.push_back(r.Describe());
        return;
      } else if (!HttpConnection(server_.port(), 2s).connected()) {
        // The server is gone. (A probe may still reach its listening
        // socket while the kill tears it down: then the next request
        // fails, unacknowledged, and this probe finds it gone.)
        return;
      }
    }
  }

  // Checks writer `w`'s records and consents against the restarted server
  // and settles what was unacknowledged to what the store holds.
  void Check(Writer& writer) {
    Client client(server_.port());
    const Headers headers = Data(tenant_.admin_key);
    auto search = [&](const std::string& email) {
      return client.Read(
          "POST", tenant_.Search(), headers,
          Serialize(json::object{{"match", json::object{{"email", email}}}}));
    };
    for (TrackedRecord& record : writer.records) {
      SCOPED_TRACE("record " + record.id + " of " + record.principal +
                   ", first e-mail " + record.emails.front());
      // The current e-mail's search finds the record (this is how an
      // unacknowledged create is found); every other one finds nothing.
      std::optional<json::value> found;
      for (const std::string& email : record.emails) {
        HttpResponse r = search(email);
        ASSERT_EQ(r.status, 200) << r.Describe();
        const json::array& hits = Array(r.Json(), "records");
        ASSERT_LE(hits.size(), 1u) << "one e-mail, several records: " << r.body;
        if (hits.empty()) continue;
        EXPECT_FALSE(found) << "found by two e-mails: " << r.body;
        found = hits[0];
        if (record.id.empty()) record.id = Str(hits[0], "id");
        EXPECT_EQ(Str(hits[0], "id"), record.id) << r.body;
        EXPECT_EQ(Str(Member(hits[0], "fields"), "email"), email) << r.body;
      }
      std::optional<json::value> read;
      if (!record.id.empty()) {
        HttpResponse r = client.Read("GET", tenant_.Record(record.id), headers);
        ASSERT_TRUE(r.status == 200 || r.status == 404) << r.Describe();
        if (r.status == 200) read = r.Json();
      }
      ASSERT_EQ(found.has_value(), read.has_value())
          << "search and read disagree: "
          << (found ? Serialize(*found) : "no search hit") << " / "
          << (read ? Serialize(*read) : "no record");
      // Exactly one candidate: absent, or its content to the byte, in the
      // read and in the search hit alike.
      std::vector<Version> matching;
      for (const Version& v : record.candidates) {
        if (!v.content ? !read
                       : read && v.content->Matches(Member(*read, "fields")) &&
                             v.content->Matches(Member(*found, "fields")) &&
                             Str(*read, "principal") == record.principal)
          matching.push_back(v);
      }
      ASSERT_EQ(matching.size(), 1u)
          << (read ? Serialize(*read) : "absent") << " is none of the "
          << record.candidates.size() << " states it may be in";
      if (record.candidates.size() > 1)
        ++(matching[0].content ? unacknowledged_there_
                               : unacknowledged_absent_);
      record.candidates = matching;
    }

    for (const std::string& principal : writer.principals) {
      SCOPED_TRACE("principal " + principal);
      // The principal's view lists exactly the records that are there:
      // none without its search entry, no stray or half-made one.
      HttpResponse view = client.Read(
          "GET", tenant_.Base() + "/principals/" + principal, headers);
      ASSERT_EQ(view.status, 200) << view.Describe();
      std::map<std::string, const TrackedRecord*> expected;
      for (const TrackedRecord& record : writer.records)
        if (record.principal == principal && record.Present())
          expected[record.id] = &record;
      std::set<std::string> listed;
      for (const json::value& r : Array(view.Json(), "records")) {
        listed.insert(Str(r, "id"));
        auto it = expected.find(Str(r, "id"));
        ASSERT_NE(it, expected.end()) << "a record nobody wrote: " << r;
        EXPECT_TRUE(
            it->second->candidates[0].content->Matches(Member(r, "fields")))
            << r;
      }
      EXPECT_EQ(listed.size(), expected.size()) << view.body;

      // Consents: each acknowledged one once in the history as sent, each
      // unacknowledged one once or not at all, nothing else; the current
      // state is the last one there.
      HttpResponse consents = client.Read(
          "GET", tenant_.Base() + "/principals/" + principal + "/consents",
          headers);
      ASSERT_EQ(consents.status, 200) << consents.Describe();
      std::map<std::string, std::vector<bool>> history;
      for (const json::value& e : Array(consents.Json(), "history")) {
        EXPECT_EQ(Str(e, "purpose"), kConsentPurpose) << e;
        const json::value& granted = Member(e, "granted");
        history[Str(e, "evidence")].push_back(granted.is_bool() &&
                                              granted.as_bool());
      }
      std::optional<bool> last;
      std::size_t present = 0;
      for (TrackedConsent& consent : writer.consents) {
        if (consent.principal != principal) continue;
        auto it = history.find(consent.evidence);
        const bool there = it != history.end();
        if (consent.present) {
          EXPECT_EQ(there, *consent.present) << consent.evidence;
        } else {
          ++(there ? unacknowledged_there_ : unacknowledged_absent_);
        }
        consent.present = there;
        if (!there) continue;
        ++present;
        EXPECT_EQ(it->second, std::vector<bool>{consent.granted})
            << consent.evidence;
        last = consent.granted;
      }
      EXPECT_EQ(history.size(), present) << consents.body;
      const json::value& current =
          Member(Member(consents.Json(), "current"), kConsentPurpose);
      if (last) {
        EXPECT_EQ(current, json::value(*last)) << consents.body;
      }
    }
  }

  // One line per cycle, to see what a run covered: writes in all, and how
  // the unacknowledged ones turned out.
  void Summarize(int cycle, int acknowledged) {
    int records = 0, present = 0, consents = 0;
    for (const Writer& writer : writers_) {
      for (const TrackedRecord& record : writer.records) {
        ++records;
        if (record.Present()) ++present;
      }
      for (const TrackedConsent& consent : writer.consents)
        if (*consent.present) ++consents;
    }
    std::printf(
        "cycle %d: %d writes acknowledged before the kill; in all %d records "
        "tracked, %d there, %d consents there; unacknowledged writes so far "
        "found there %d, absent %d\n",
        cycle, acknowledged, records, present, consents,
        unacknowledged_there_.load(), unacknowledged_absent_.load());
  }

  // Every event of the tenant's log, in order.
  std::vector<json::value> TenantEvents() {
    std::vector<json::value> out;
    Client client(server_.port());
    for (uint64_t from = 0;;) {
      HttpResponse r = client.Read("GET",
                                   tenant_.Base() + "/audit/events?limit=1000" +
                                       "&from=" + std::to_string(from),
                                   Auth(tenant_.admin_key));
      EXPECT_EQ(r.status, 200) << r.Describe();
      if (r.status != 200) return out;
      for (const json::value& e : Array(r.Json(), "events")) out.push_back(e);
      const json::value& next = Member(r.Json(), "next");
      if (next.is_null()) return out;
      from = next.to_number<uint64_t>();
    }
  }

  // Every write that took effect has its event with outcome ok (write-ahead:
  // an unacknowledged write that took effect too).
  void CheckAuditEvents() {
    std::map<std::string, int> creates, updates;    // record id -> ok events
    std::map<std::string, int> consents;            // pseudonym -> ok events
    std::map<std::string, std::string> pseudonyms;  // record id -> pseudonym
    for (const json::value& e : TenantEvents()) {
      if (Str(e, "outcome") != "ok") continue;
      const std::string action = Str(e, "action");
      if (action == "records.create") {
        ++creates[Str(e, "record")];
        pseudonyms[Str(e, "record")] = Str(e, "principal_pseudonym");
      } else if (action == "records.update") {
        ++updates[Str(e, "record")];
      } else if (action == "principals.consents.record") {
        ++consents[Str(e, "principal_pseudonym")];
      }
    }
    for (const Writer& writer : writers_) {
      std::map<std::string, std::string> pseudonym_of;  // principal ->
      for (const TrackedRecord& record : writer.records) {
        if (!record.Present()) continue;
        EXPECT_EQ(creates[record.id], 1) << "create of " << record.id;
        EXPECT_GE(updates[record.id], record.candidates[0].updates)
            << "updates of " << record.id;
        pseudonym_of[record.principal] = pseudonyms[record.id];
      }
      for (const std::string& principal : writer.principals) {
        int present = 0;
        for (const TrackedConsent& consent : writer.consents)
          if (consent.principal == principal && *consent.present) ++present;
        ASSERT_FALSE(pseudonym_of[principal].empty()) << principal;
        EXPECT_GE(consents[pseudonym_of[principal]], present)
            << "consents of " << principal;
      }
    }
  }

  // Exports `log` ("--tenant acme" or "--operator") with the CLI and
  // verifies it offline, also as an extension of `previous_head`.
  void VerifyLog(const std::vector<std::string>& log, const std::string& key,
                 const std::string& previous_head, const std::string& name) {
    const std::string out = server_.root() + "/" + name + ".json";
    std::vector<std::string> args = {PiivaultBin(), "audit", "export"};
    args.insert(args.end(), log.begin(), log.end());
    args.insert(
        args.end(),
        {"--out", out, "--server",
         "http://127.0.0.1:" + std::to_string(server_.port()), "--token", key});
    RunResult exported = RunCommand(args);
    ASSERT_EQ(exported.exit_code, 0) << exported.out << exported.err;
    RunResult verified = RunCommand(
        {PiivaultBin(), "audit", "verify", out, "--public-key",
         server_.root() + "/key.json", "--previous-head", previous_head});
    EXPECT_EQ(verified.exit_code, 0)
        << name << ": " << verified.out << verified.err;
  }

  // Saves the signed heads of both logs, to check what the next start
  // serves against them.
  void SaveHeads(int cycle) {
    Client client(server_.port());
    HttpResponse tenant = client.Read("GET", tenant_.Base() + "/audit/head",
                                      Auth(tenant_.admin_key));
    HttpResponse op = client.Read("GET", "/v1/operator/audit/head",
                                  Auth(server_.admin_key()));
    ASSERT_EQ(tenant.status, 200) << tenant.Describe();
    ASSERT_EQ(op.status, 200) << op.Describe();
    WriteFile(HeadFile("tenant", cycle), tenant.body);
    WriteFile(HeadFile("operator", cycle), op.body);
  }
  std::string HeadFile(const std::string& log, int cycle) {
    return server_.root() + "/" + log + "-head-" + std::to_string(cycle) +
           ".json";
  }

  ServerProcess server_;
  Tenant tenant_;
  Writer writers_[kWriters];
  std::atomic<int> unacknowledged_there_{0}, unacknowledged_absent_{0};
};

TEST_F(CrashSafetyTest, KilledUnderWriteLoadLosesNoAcknowledgedWrite) {
  auto key =
      server_.Call("GET", "/v1/audit/public-key", Auth(tenant_.admin_key));
  ASSERT_EQ(key.status, 200) << key.Describe();
  WriteFile(server_.root() + "/key.json", key.body);
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 random(seed);

  for (int cycle = 0; cycle < kCycles; ++cycle) {
    SCOPED_TRACE("cycle " + std::to_string(cycle));
    // Load, and a kill at a point that differs from run to run.
    const int kill_after =
        kMinAcknowledged + static_cast<int>(random() % kMinAcknowledged / 2);
    std::atomic<bool> stop{false};
    std::atomic<int> acknowledged{0}, running{kWriters};
    std::vector<std::thread> threads;
    for (Writer& writer : writers_)
      threads.emplace_back([&, w = &writer] {
        Write(*w, cycle, stop, acknowledged);
        --running;
      });
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (acknowledged.load() < kill_after && running.load() == kWriters &&
           std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(1ms);
    const bool loaded = acknowledged.load() >= kill_after;
    // Heads signed under load: the restarted logs must extend them.
    SaveHeads(cycle);
    server_.Kill();
    stop = true;
    for (auto& t : threads) t.join();
    for (const Writer& writer : writers_)
      ASSERT_EQ(writer.unexpected, std::vector<std::string>{})
          << "writer " << writer.index;
    ASSERT_TRUE(loaded) << acknowledged.load()
                        << " writes acknowledged in 20 s";

    ASSERT_TRUE(server_.Start());
    {
      std::vector<std::thread> checks;
      for (Writer& writer : writers_)
        checks.emplace_back([&, w = &writer] { Check(*w); });
      for (auto& t : checks) t.join();
    }
    if (HasFailure()) return;
    Summarize(cycle, acknowledged.load());
    CheckAuditEvents();
    VerifyLog({"--tenant", tenant_.id}, tenant_.admin_key,
              HeadFile("tenant", cycle), "tenant-" + std::to_string(cycle));
    VerifyLog({"--operator"}, server_.admin_key(), HeadFile("operator", cycle),
              "operator-" + std::to_string(cycle));
    if (HasFailure()) return;
  }
}

}  // namespace
}  // namespace it
